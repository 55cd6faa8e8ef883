"""The embedding cache: vectors keyed by (embedder name, sha256 of the text), in SQLite.

A cache file of its own (``redtext bench`` keeps one in ``$REDTEXT_CACHE/embeddings.db``) or
the ``embeddings`` table of a run's ``run.db`` (which :mod:`redtext.io.store` creates, from
:data:`SCHEMA`, and hands out with :meth:`~redtext.io.store.Store.embedding_cache`). A vector,
once stored, is kept: writing the same key again changes nothing (``INSERT OR IGNORE``), so
what a cache returns never depends on what ran before.
"""
from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Sequence

import numpy as np

SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    model TEXT NOT NULL,
    key   BLOB NOT NULL,
    vec   BLOB NOT NULL,
    PRIMARY KEY (model, key)
) WITHOUT ROWID
"""


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class EmbeddingCache:
    """``EmbeddingCache(path)`` opens (and creates) a cache file; ``EmbeddingCache(connection=conn)``
    works in a store's open connection, whose owner created the table."""

    def __init__(self, path: str | Path | None = None, *, connection: sqlite3.Connection | None = None):
        if connection is not None:
            self._conn, self._own = connection, False
            return
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(self.path), timeout=60, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(SCHEMA)
        self._own = True

    def get_many(self, model: str, keys: Sequence[bytes], dim: int | None = None) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        keys = list(keys)
        for start in range(0, len(keys), 900):
            chunk = keys[start:start + 900]
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(f"SELECT key, vec FROM embeddings WHERE model=? AND key IN ({marks})",
                                      [model, *chunk])
            for key, vec in rows:
                arr = np.frombuffer(vec, dtype=np.float32)
                if dim is None or arr.shape[0] == dim:
                    found[bytes(key)] = arr
        return found

    def put_many(self, model: str, items: Sequence[tuple[bytes, np.ndarray]]) -> None:
        """Store vectors not stored yet (one transaction); a key already stored keeps its vector."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.executemany("INSERT OR IGNORE INTO embeddings(model, key, vec) VALUES (?,?,?)",
                                   [(model, k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items])
        except BaseException:
            if self._conn.in_transaction:  # SQLite may have rolled back already (a full disk)
                self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def close(self) -> None:
        if self._own:
            self._conn.close()
