"""Content-hash cache for embeddings, in SQLite, shared across runs and processes."""
from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Sequence

import numpy as np

from .base import embed_with_progress

_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    model TEXT NOT NULL,
    key   BLOB NOT NULL,
    vec   BLOB NOT NULL,
    PRIMARY KEY (model, key)
) WITHOUT ROWID;
"""


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


class EmbeddingCache:
    """Vectors keyed by (embedder name, sha256 of the text)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(self.path), timeout=60)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._conn.commit()

    def get_many(self, model: str, keys: Sequence[bytes], dim: int | None = None) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        keys = list(keys)
        for start in range(0, len(keys), 900):
            chunk = keys[start:start + 900]
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                f"SELECT key, vec FROM embeddings WHERE model=? AND key IN ({marks})", [model, *chunk])
            for key, vec in rows:
                arr = np.frombuffer(vec, dtype=np.float32)
                if dim is None or arr.shape[0] == dim:
                    found[bytes(key)] = arr
        return found

    def put_many(self, model: str, items: Sequence[tuple[bytes, np.ndarray]]) -> None:
        with self._conn:
            self._conn.executemany(
                "INSERT OR REPLACE INTO embeddings(model, key, vec) VALUES (?,?,?)",
                [(model, k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items])

    def close(self) -> None:
        self._conn.close()


class CachedEmbedder:
    """Wraps an embedder so each distinct text is embedded once per model."""

    def __init__(self, embedder, cache: EmbeddingCache, *, progress: bool = True):
        self.embedder = embedder
        self.cache = cache
        self.progress = progress
        self.name = embedder.name
        self.hits = 0
        self.misses = 0

    @property
    def dim(self) -> int:
        return self.embedder.dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        keys = [text_key(t) for t in texts]
        found = self.cache.get_many(self.name, list(dict.fromkeys(keys)))
        lengths = {v.shape[0] for v in found.values()}
        if len(found) < len(set(keys)) or len(lengths) != 1:
            dim = self.dim  # loads the model only when something must be embedded
            found = {k: v for k, v in found.items() if v.shape[0] == dim}
        else:
            dim = lengths.pop()
        out = np.empty((len(texts), dim), dtype=np.float32)
        missing: dict[bytes, str] = {}
        for i, k in enumerate(keys):
            v = found.get(k)
            if v is None:
                missing.setdefault(k, texts[i])
            else:
                out[i] = v
        self.hits += len(texts) - sum(1 for k in keys if k in missing)
        if missing:
            miss_keys = list(missing)
            miss_texts = [missing[k] for k in miss_keys]
            self.misses += len(miss_texts)
            vecs = embed_with_progress(self.embedder, miss_texts, progress=self.progress,
                                       description=f"embedding {len(miss_texts)} texts")
            self.cache.put_many(self.name, list(zip(miss_keys, vecs)))
            new = dict(zip(miss_keys, vecs))
            for i, k in enumerate(keys):
                if k in new:
                    out[i] = new[k]
        return out
