"""The verdict cache and call log of model-backed experts, in SQLite.

Key = sha256 of (model, parameters, prompt version, label, text, context) — a stable hash,
never Python's ``hash()``. Only real answers are cached (yes, no, or an abstention after a
malformed reply); transport errors never are. Every request and reply is logged (without
any API key) with its token usage, cost and latency. Shared across runs and processes: WAL
mode, short transactions.

This module is the only owner of that file: its tables are created and migrated here
(:data:`MIGRATIONS`, ``PRAGMA user_version`` records how far; files written before versions
were recorded hold the tables of version 1).
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path

_V1 = [
    """CREATE TABLE IF NOT EXISTS verdict_cache (
        key TEXT PRIMARY KEY,
        verdict INTEGER,              -- 1 yes, 0 no, NULL abstained
        confidence REAL,
        created REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS text_cache (
        key TEXT PRIMARY KEY,
        text TEXT NOT NULL,
        created REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS expert_calls (
        id INTEGER PRIMARY KEY,
        key TEXT,
        model TEXT NOT NULL,
        prompt_version TEXT NOT NULL,
        request TEXT NOT NULL,        -- JSON body sent (never holds the API key)
        reply TEXT,
        status TEXT NOT NULL,         -- ok | malformed | error
        error TEXT,
        prompt_tokens INTEGER,
        completion_tokens INTEGER,
        cost REAL,
        latency_s REAL,
        created REAL NOT NULL
    )""",
]


def cache_key(*, model: str, params: dict, prompt_version: str, label: str, text: str, context: dict) -> str:
    blob = json.dumps({"model": model, "params": params, "prompt": prompt_version, "label": label, "text": text,
                       "context": context}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


MIGRATIONS = [_V1]


def _migrate(conn: sqlite3.Connection, path) -> None:
    from ..errors import InputError
    from ..io.schema import apply_migrations

    def step(statements):
        return lambda c: [c.execute(statement) for statement in statements]

    apply_migrations(conn, [step(m) for m in MIGRATIONS], lambda version: InputError(
        f"{path} was written by a newer redtext (verdict cache version {version}); upgrade redtext, or point "
        "--cache at another file"))


class VerdictCache:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(str(self.path), timeout=60, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        _migrate(self.conn, self.path)

    def get(self, key: str):
        """``(found, verdict, confidence)``."""
        row = self.conn.execute("SELECT verdict, confidence FROM verdict_cache WHERE key=?", (key,)).fetchone()
        if row is None:
            return False, None, None
        return True, (None if row[0] is None else bool(row[0])), row[1]

    def put(self, key: str, verdict: bool | None, confidence: float | None) -> None:
        self.conn.execute("INSERT OR REPLACE INTO verdict_cache(key, verdict, confidence, created) VALUES (?,?,?,?)",
                          (key, None if verdict is None else int(verdict), confidence, time.time()))

    def get_text(self, key: str) -> str | None:
        row = self.conn.execute("SELECT text FROM text_cache WHERE key=?", (key,)).fetchone()
        return None if row is None else row[0]

    def put_text(self, key: str, text: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO text_cache(key, text, created) VALUES (?,?,?)", (key, text, time.time()))

    def log_call(self, *, key: str | None, model: str, prompt_version: str, request: dict, reply: str | None,
                 status: str, error: str | None = None, prompt_tokens: int | None = None,
                 completion_tokens: int | None = None, cost: float | None = None, latency_s: float | None = None):
        self.conn.execute(
            "INSERT INTO expert_calls(key, model, prompt_version, request, reply, status, error, prompt_tokens, "
            "completion_tokens, cost, latency_s, created) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (key, model, prompt_version, json.dumps(request, ensure_ascii=False), reply, status, error,
             prompt_tokens, completion_tokens, cost, latency_s, time.time()))

    def usage(self) -> dict:
        row = self.conn.execute("SELECT COUNT(*), COALESCE(SUM(prompt_tokens),0), COALESCE(SUM(completion_tokens),0), "
                                "COALESCE(SUM(cost),0) FROM expert_calls").fetchone()
        return {"calls": row[0], "prompt_tokens": row[1], "completion_tokens": row[2], "cost": row[3]}

    def close(self) -> None:
        self.conn.close()
