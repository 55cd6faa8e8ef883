"""The tables of ``run.db`` and how a file written by an older redtext is brought up to date:
:data:`MIGRATIONS`, applied in order, ``PRAGMA user_version`` recording how far. Only
:mod:`redtext.io.store` (the file's one owner) calls :func:`migrate`."""
from __future__ import annotations

import sqlite3

from ..errors import InputError


def _script(conn: sqlite3.Connection, sql: str) -> None:
    """Run statements one by one (``executescript`` would COMMIT the open transaction)."""
    for statement in sql.split(";"):
        if statement.strip():
            conn.execute(statement)


def _m1(conn: sqlite3.Connection) -> None:
    _script(conn, """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        created REAL NOT NULL,
        updated REAL NOT NULL,
        status TEXT NOT NULL,            -- running | done | failed
        config TEXT NOT NULL,            -- JSON, never holds secrets
        stop_reason TEXT
    );
    CREATE TABLE texts (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        role TEXT NOT NULL,              -- seed | pool
        idx INTEGER NOT NULL,
        id TEXT NOT NULL,
        text TEXT NOT NULL,
        label TEXT,
        PRIMARY KEY (run_id, role, idx)
    );
    CREATE TABLE descriptions (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        label TEXT NOT NULL,
        description TEXT NOT NULL,
        PRIMARY KEY (run_id, label)
    );
    CREATE TABLE verdicts (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        text TEXT NOT NULL,
        label TEXT NOT NULL,
        verdict INTEGER,                 -- 1 yes, 0 no, NULL abstained
        expert TEXT NOT NULL,
        round INTEGER NOT NULL,
        seq INTEGER NOT NULL,            -- order in which answers arrived
        asked_at REAL NOT NULL,
        PRIMARY KEY (run_id, text, label)
    );
    CREATE TABLE rounds (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        round INTEGER NOT NULL,
        metrics TEXT NOT NULL,           -- JSON
        PRIMARY KEY (run_id, round)
    );
    CREATE TABLE predictions (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        idx INTEGER NOT NULL,
        label TEXT NOT NULL,
        confidence REAL NOT NULL,
        source TEXT NOT NULL,            -- expert | classifier | seed
        candidates TEXT NOT NULL,        -- JSON [[label, score], ...]
        PRIMARY KEY (run_id, idx)
    );
    """)


def _m2(conn: sqlite3.Connection) -> None:
    _script(conn, """
    CREATE TABLE run_usage (
        run_id INTEGER PRIMARY KEY REFERENCES runs(id),
        http_calls INTEGER NOT NULL,     -- across every process of the run (hard limits carry over)
        cost REAL NOT NULL
    )
    """)


def _m3(conn: sqlite3.Connection) -> None:
    """The tables other modules used to create on their own: the embedding cache, the review
    queue, and a person's answers (kept in ``verdict_cache`` by older versions: copied over)."""
    from .embed_cache import SCHEMA as EMBEDDINGS

    _script(conn, EMBEDDINGS)
    _script(conn, """
    CREATE TABLE IF NOT EXISTS review_queue (
        key TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        text_id TEXT NOT NULL,
        text TEXT NOT NULL,
        label TEXT NOT NULL,
        description TEXT,
        examples TEXT NOT NULL,          -- JSON list
        status TEXT NOT NULL,            -- pending | answered
        verdict INTEGER,                 -- 1 yes, 0 no, NULL skipped
        queued REAL NOT NULL,
        answered REAL
    );
    CREATE TABLE IF NOT EXISTS answer_log (
        key TEXT PRIMARY KEY,            -- a question asked in the terminal
        verdict INTEGER,                 -- 1 yes, 0 no, NULL skipped
        created REAL NOT NULL
    )
    """)
    old = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='verdict_cache'").fetchone()
    if old:
        conn.execute("INSERT OR IGNORE INTO answer_log(key, verdict, created) "
                     "SELECT key, verdict, created FROM verdict_cache")


def _m4(conn: sqlite3.Connection) -> None:
    """What each answer was for: the loop's question (label), a known-answer check, or the audit."""
    conn.execute("ALTER TABLE verdicts ADD COLUMN kind TEXT NOT NULL DEFAULT 'label'")


def _m5(conn: sqlite3.Connection) -> None:
    """A delivered label may be NULL: the text fits none of the labels (open world)."""
    _script(conn, """
    CREATE TABLE predictions_new (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        idx INTEGER NOT NULL,
        label TEXT,                      -- NULL: fits none of the labels
        confidence REAL NOT NULL,
        source TEXT NOT NULL,            -- expert | classifier | seed
        candidates TEXT NOT NULL,        -- JSON [[label, score], ...]
        PRIMARY KEY (run_id, idx)
    );
    INSERT INTO predictions_new SELECT run_id, idx, label, confidence, source, candidates FROM predictions;
    DROP TABLE predictions;
    ALTER TABLE predictions_new RENAME TO predictions
    """)


def _m6(conn: sqlite3.Connection) -> None:
    """Rows that answer one choice question together: each carries the seq of the question's first
    row (NULL: the row is a question of its own, a binary one)."""
    conn.execute("ALTER TABLE verdicts ADD COLUMN question INTEGER")


def _m7(conn: sqlite3.Connection) -> None:
    """The expert's tokens over every process of a run, beside its HTTP calls and cost."""
    conn.execute("ALTER TABLE run_usage ADD COLUMN prompt_tokens INTEGER NOT NULL DEFAULT 0")
    conn.execute("ALTER TABLE run_usage ADD COLUMN completion_tokens INTEGER NOT NULL DEFAULT 0")


def _m8(conn: sqlite3.Connection) -> None:
    """A label may be answered twice about a text: when first asked (a binary question, or offered
    in a choice) and once more, offered again in the choice question that follows the expert's
    "no" to it (``again`` 1). The key takes ``again`` in."""
    _script(conn, """
    CREATE TABLE verdicts_new (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        text TEXT NOT NULL,
        label TEXT NOT NULL,
        verdict INTEGER,                 -- 1 yes, 0 no, NULL abstained
        expert TEXT NOT NULL,
        round INTEGER NOT NULL,
        seq INTEGER NOT NULL,            -- order in which answers arrived
        asked_at REAL NOT NULL,
        kind TEXT NOT NULL DEFAULT 'label',
        question INTEGER,
        again INTEGER NOT NULL DEFAULT 0,  -- 1: the label offered again after a "no" to it
        PRIMARY KEY (run_id, text, label, again)
    );
    INSERT INTO verdicts_new(run_id, text, label, verdict, expert, round, seq, asked_at, kind, question)
        SELECT run_id, text, label, verdict, expert, round, seq, asked_at, kind, question FROM verdicts;
    DROP TABLE verdicts;
    ALTER TABLE verdicts_new RENAME TO verdicts
    """)


MIGRATIONS = [_m1, _m2, _m3, _m4, _m5, _m6, _m7, _m8]
SCHEMA_VERSION = len(MIGRATIONS)
REQUIRED = ("runs", "texts", "descriptions", "verdicts", "rounds", "predictions")


def migrate(conn: sqlite3.Connection) -> None:
    """Bring a run.db up to :data:`SCHEMA_VERSION`."""
    apply_migrations(conn, MIGRATIONS, lambda version: InputError(
        f"store was written by a newer redtext (schema {version} > {SCHEMA_VERSION}); upgrade redtext to open it"))


def apply_migrations(conn: sqlite3.Connection, steps, too_new) -> None:
    """Apply ``steps`` (functions of the connection) from the file's ``PRAGMA user_version`` on,
    each in its own transaction with the version it reaches; ``too_new(version)`` is the error
    for a file written by a newer redtext. Shared by every SQLite file redtext owns."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(steps):
        raise too_new(version)
    for number in range(version, len(steps)):
        conn.execute("BEGIN IMMEDIATE")
        try:
            steps[number](conn)
            conn.execute(f"PRAGMA user_version = {number + 1}")
        except BaseException:
            if conn.in_transaction:  # SQLite may have rolled back already (a full disk)
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
