"""SQLite persistence for runs: texts, config, rounds, every expert verdict, predictions.

WAL mode, one transaction per write. A verdict is committed *before* the loop uses it, so a
killed run loses at most the answer in flight, and :meth:`Store.verdict` lets a resumed run
replay answered questions without asking the expert again. Schema changes are a list of
small migration functions applied in order (``PRAGMA user_version`` records how far).
"""
from __future__ import annotations

import json
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Sequence

from .errors import InputError


def run_db_path(run_dir: str | Path) -> Path:
    """``run_dir/run.db`` of a run folder, or a one-line :class:`InputError` saying what is wrong."""
    run_dir = Path(run_dir)
    hint = "give the --out folder of a run made by `redtext run`"
    if not run_dir.exists():
        raise InputError(f"{run_dir} does not exist; {hint}")
    if not run_dir.is_dir():
        raise InputError(f"{run_dir} is a file, not a run folder; {hint}")
    db = run_dir / "run.db"
    if not db.is_file():
        raise InputError(f"{run_dir} holds no run (no run.db); {hint}")
    return db


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


MIGRATIONS = [_m1, _m2]
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise InputError(f"store was written by a newer redtext (schema {version} > {SCHEMA_VERSION}); "
                         "upgrade redtext to open it")
    for number in range(version, SCHEMA_VERSION):
        conn.execute("BEGIN IMMEDIATE")
        try:
            MIGRATIONS[number](conn)
            conn.execute(f"PRAGMA user_version = {number + 1}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


class Store:
    """One SQLite file (``:memory:`` for throwaway runs) holding one or more runs."""

    def __init__(self, path: str | Path = ":memory:"):
        self.path = str(path)
        try:
            self.conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            migrate(self.conn)
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{self.path} is not a redtext store ({exc}); point at a run folder "
                             "made by `redtext run`, or remove the file") from None
        self._seq = self.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM verdicts").fetchone()[0]

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def _tx(self):
        """One explicit transaction: all of the block's writes land, or none do."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- runs -------------------------------------------------------------------------
    def create_run(self, config: dict) -> int:
        now = time.time()
        with self._tx():
            cur = self.conn.execute(
                "INSERT INTO runs(created, updated, status, config) VALUES (?,?,?,?)",
                (now, now, "running", json.dumps(config, sort_keys=True)))
        return int(cur.lastrowid)

    def latest_run(self) -> int | None:
        row = self.conn.execute("SELECT MAX(id) FROM runs").fetchone()
        return None if row[0] is None else int(row[0])

    def run_info(self, run_id: int) -> dict:
        row = self.conn.execute("SELECT status, config, stop_reason FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            raise InputError(f"store {self.path} has no run {run_id}")
        return {"status": row[0], "config": json.loads(row[1]), "stop_reason": row[2]}

    def update_config(self, run_id: int, config: dict) -> None:
        with self._tx():
            self.conn.execute("UPDATE runs SET config=?, updated=? WHERE id=?",
                              (json.dumps(config, sort_keys=True), time.time(), run_id))

    def set_status(self, run_id: int, status: str, stop_reason: str | None = None) -> None:
        with self._tx():
            self.conn.execute("UPDATE runs SET status=?, stop_reason=COALESCE(?, stop_reason), updated=? WHERE id=?",
                              (status, stop_reason, time.time(), run_id))

    # -- texts ------------------------------------------------------------------------
    def add_texts(self, run_id: int, role: str, ids: Sequence[str], texts: Sequence[str],
                  labels: Sequence[str] | None = None) -> None:
        labels = labels if labels is not None else [None] * len(texts)
        with self._tx():
            self.conn.executemany(
                "INSERT INTO texts(run_id, role, idx, id, text, label) VALUES (?,?,?,?,?,?)",
                ((run_id, role, i, ids[i], texts[i], labels[i]) for i in range(len(texts))))

    def texts(self, run_id: int, role: str) -> tuple[list[str], list[str], list[str | None]]:
        rows = self.conn.execute("SELECT id, text, label FROM texts WHERE run_id=? AND role=? ORDER BY idx",
                                 (run_id, role)).fetchall()
        return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]

    def add_descriptions(self, run_id: int, descriptions: dict[str, str]) -> None:
        with self._tx():
            self.conn.executemany("INSERT OR REPLACE INTO descriptions(run_id, label, description) VALUES (?,?,?)",
                                  ((run_id, k, v) for k, v in descriptions.items()))

    def descriptions(self, run_id: int) -> dict[str, str]:
        return dict(self.conn.execute("SELECT label, description FROM descriptions WHERE run_id=?", (run_id,)))

    # -- verdicts ---------------------------------------------------------------------
    def verdicts(self, run_id: int) -> dict[tuple[str, str], bool | None]:
        rows = self.conn.execute("SELECT text, label, verdict FROM verdicts WHERE run_id=? ORDER BY seq", (run_id,))
        return {(t, lab): (None if v is None else bool(v)) for t, lab, v in rows}

    def record_verdicts(self, run_id: int, items: Iterable[tuple[str, str, bool | None]], *,
                        expert: str, round_no: int) -> None:
        """Persist answers (one transaction) — call before using them."""
        now = time.time()
        rows = []
        for text, label, verdict in items:
            self._seq += 1
            rows.append((run_id, text, label, None if verdict is None else int(verdict), expert, round_no,
                         self._seq, now))
        with self._tx():
            self.conn.executemany(
                "INSERT INTO verdicts(run_id, text, label, verdict, expert, round, seq, asked_at) "
                "VALUES (?,?,?,?,?,?,?,?)", rows)

    def count_verdicts(self, run_id: int) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM verdicts WHERE run_id=?", (run_id,)).fetchone()[0]

    # -- expert spending across processes ---------------------------------------------
    def usage(self, run_id: int) -> tuple[int, float]:
        row = self.conn.execute("SELECT http_calls, cost FROM run_usage WHERE run_id=?", (run_id,)).fetchone()
        return (0, 0.0) if row is None else (int(row[0]), float(row[1]))

    def save_usage(self, run_id: int, http_calls: int, cost: float) -> None:
        with self._tx():
            self.conn.execute("INSERT OR REPLACE INTO run_usage(run_id, http_calls, cost) VALUES (?,?,?)",
                              (run_id, int(http_calls), float(cost)))

    # -- rounds and predictions -------------------------------------------------------
    def record_round(self, run_id: int, round_no: int, metrics: dict) -> None:
        with self._tx():
            self.conn.execute("INSERT OR REPLACE INTO rounds(run_id, round, metrics) VALUES (?,?,?)",
                              (run_id, round_no, json.dumps(metrics, sort_keys=True)))

    def rounds(self, run_id: int) -> list[dict]:
        rows = self.conn.execute("SELECT metrics FROM rounds WHERE run_id=? ORDER BY round", (run_id,))
        return [json.loads(r[0]) for r in rows]

    def record_predictions(self, run_id: int, rows: Iterable[tuple[int, str, float, str, list]]) -> None:
        with self._tx():
            self.conn.execute("DELETE FROM predictions WHERE run_id=?", (run_id,))
            self.conn.executemany(
                "INSERT INTO predictions(run_id, idx, label, confidence, source, candidates) VALUES (?,?,?,?,?,?)",
                ((run_id, i, lab, float(c), src, json.dumps(cands)) for i, lab, c, src, cands in rows))
