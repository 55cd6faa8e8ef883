"""``run.db``: the one SQLite file of a run folder, and the only module that knows its tables.

What it holds: the run's config, its texts and label descriptions, every expert answer (with
the round it came in), the round figures, the delivered predictions, what the expert spent
across processes, the embedding cache of the run's texts, the review queue of ``--expert
review`` and the answers a person gave in the terminal. Every table is created and migrated
here (:mod:`.schema`'s migrations, applied in order; ``PRAGMA user_version`` records how far), and every
other module reads and writes it through :class:`Store`.

WAL mode, one transaction per write. An answer is committed *before* the loop uses it, so a
killed run loses at most the batch in flight, and a resumed run replays answered questions
without asking the expert again. :meth:`Store.open_readonly` gives reports and exports a view
that can never change the file.
"""
from __future__ import annotations

import json
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from ..errors import InputError
from .person_answers import PersonAnswers
from .schema import REQUIRED, SCHEMA_VERSION, migrate


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


def _connect_readonly(path: Path, threads: bool) -> sqlite3.Connection:
    """A connection that never writes: read-write with ``query_only`` where the folder allows it
    (closing it then tidies the write-ahead log away, as the writer's own close does), read-only
    where it does not (a read-only folder or file)."""
    uri = path.resolve().as_uri()
    try:
        conn = sqlite3.connect(uri + "?mode=rw", uri=True, timeout=60, isolation_level=None,
                               check_same_thread=not threads)
    except sqlite3.OperationalError:
        conn = sqlite3.connect(uri + "?mode=ro", uri=True, timeout=60, isolation_level=None,
                               check_same_thread=not threads)
    conn.execute("PRAGMA query_only = ON")
    return conn


@dataclass
class RunSnapshot:
    """Everything stored about one run, read in one transaction (reports and exports)."""

    run_id: int
    runs_in_store: int
    status: str
    stop_reason: str | None
    created: float
    updated: float
    config: dict
    rounds: list                     # metrics dicts, ordered by round
    seed_ids: list
    seed_texts: list
    seed_labels: list
    pool_ids: list
    pool_texts: list
    descriptions: dict
    verdicts: list                   # (seq, round, text, label, verdict: 1 | 0 | None, expert, kind)
    questions: dict                  # kind -> questions asked (a choice question's rows count once)
    round_questions: dict            # round -> (binary questions, choice questions), every kind
    predictions: list                # (idx, label, confidence, source, candidates [[label, score], ...])
    usage: tuple | None              # (http_calls, cost), None when not recorded


class Store(PersonAnswers):
    """One SQLite file (``:memory:`` for throwaway runs) holding one or more runs."""

    def __init__(self, path: str | Path = ":memory:", *, threads: bool = False, _readonly: bool = False):
        self.path = str(path)
        self.readonly = _readonly
        try:
            if _readonly:
                self.conn = _connect_readonly(Path(self.path), threads)
                try:
                    self._check_schema()
                except BaseException:
                    self.conn.close()  # closing tidies the write-ahead log away
                    raise
            else:
                self.conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=not threads)
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=NORMAL")
                self.conn.execute("PRAGMA foreign_keys=ON")
                migrate(self.conn)
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{self.path} cannot be read as a redtext store ({' '.join(str(exc).split())}); point "
                             "at a run folder made by `redtext run`, or remove the file") from None
        self._seq = self.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM verdicts").fetchone()[0]

    @classmethod
    def open_readonly(cls, path: str | Path) -> "Store":
        """A view of an existing ``run.db`` that cannot change it (reports, exports)."""
        return cls(path, _readonly=True)

    def _check_schema(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise InputError(f"{self.path} was written by a newer redtext (schema {version} > {SCHEMA_VERSION}); "
                             "upgrade redtext to open it")
        tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        missing = [t for t in REQUIRED if t not in tables]
        if version < 1 or missing:
            raise InputError(f"{self.path} is not a redtext run store (no {', '.join(missing) or 'schema'}); "
                             "point at a run folder made by `redtext run`")

    def close(self) -> None:
        """Close; a writer first folds its write-ahead log into the file (the folder stays tidy)."""
        try:
            if not self.readonly and self.path != ":memory:":
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            pass
        self.conn.close()

    @contextmanager
    def _tx(self):
        """One explicit transaction: all of the block's writes land, or none do."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            if self.conn.in_transaction:  # SQLite may have rolled back already (a full disk)
                self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- runs -------------------------------------------------------------------------------------
    def create_run(self, config: dict) -> int:
        now = time.time()
        with self._tx():
            cur = self.conn.execute("INSERT INTO runs(created, updated, status, config) VALUES (?,?,?,?)",
                                    (now, now, "running", json.dumps(config, sort_keys=True)))
        return int(cur.lastrowid)

    def latest_run(self) -> int | None:
        row = self.conn.execute("SELECT MAX(id) FROM runs").fetchone()
        return None if row[0] is None else int(row[0])

    def run_info(self, run_id: int) -> dict:
        row = self.conn.execute("SELECT status, config, stop_reason FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            raise InputError(f"store {self.path} has no run {run_id}")
        try:
            config = json.loads(row[1])
        except ValueError:
            config = None
        if not isinstance(config, dict):
            raise InputError(f"{self.path}: the config of run {run_id} is damaged (not a JSON object); "
                             "start a new run")
        return {"status": row[0], "config": config, "stop_reason": row[2]}

    def update_config(self, run_id: int, config: dict) -> None:
        with self._tx():
            self.conn.execute("UPDATE runs SET config=?, updated=? WHERE id=?",
                              (json.dumps(config, sort_keys=True), time.time(), run_id))

    def set_status(self, run_id: int, status: str, stop_reason: str | None = None) -> None:
        with self._tx():
            self.conn.execute("UPDATE runs SET status=?, stop_reason=COALESCE(?, stop_reason), updated=? WHERE id=?",
                              (status, stop_reason, time.time(), run_id))

    # -- texts ------------------------------------------------------------------------------------
    def add_texts(self, run_id: int, role: str, ids: Sequence[str], texts: Sequence[str],
                  labels: Sequence[str] | None = None) -> None:
        labels = labels if labels is not None else [None] * len(texts)
        with self._tx():
            self.conn.executemany("INSERT INTO texts(run_id, role, idx, id, text, label) VALUES (?,?,?,?,?,?)",
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

    # -- answers ----------------------------------------------------------------------------------
    def verdicts(self, run_id: int, *, again: bool = False) -> dict[tuple[str, str], bool | None]:
        """``(text, label) -> verdict`` of the run, in arrival order: the first answer about each
        label, or (``again``) the answers of labels offered again after a "no" (:func:`_m8`)."""
        rows = self.conn.execute("SELECT text, label, verdict FROM verdicts WHERE run_id=? AND again=? ORDER BY seq",
                                 (run_id, int(again)))
        return {(t, lab): (None if v is None else bool(v)) for t, lab, v in rows}

    def record_verdicts(self, run_id: int, items: Iterable[tuple[str, str, bool | None]], *,
                        expert: str, round_no: int, kind: str = "label", sizes=None, again=None) -> None:
        """Persist answers (one transaction) — call before using them. ``kind``: ``label`` (the
        loop's questions about pool texts), ``check`` (known-answer questions) or ``audit``;
        ``sizes``: rows per question, in order (a choice question answers for each candidate;
        ``None``: one row each); ``again``: a flag per row, true for a label offered again in a
        choice after the expert's "no" to it (``None``: none was)."""
        now = time.time()
        items = list(items)
        sizes = [1] * len(items) if sizes is None else list(sizes)
        if sum(sizes) != len(items):
            raise ValueError(f"{len(items)} answer rows for questions of {sum(sizes)} rows")
        flags = [False] * len(items) if again is None else [bool(a) for a in again]
        if len(flags) != len(items):
            raise ValueError(f"{len(flags)} again flags for {len(items)} answer rows")
        rows, k = [], 0
        for size in sizes:
            first = self._seq + 1
            for (text, label, verdict), flag in zip(items[k:k + size], flags[k:k + size]):
                self._seq += 1
                rows.append((run_id, text, label, None if verdict is None else int(verdict), expert, round_no,
                             self._seq, now, kind, first if size > 1 else None, int(flag)))
            k += size
        with self._tx():
            self.conn.executemany("INSERT INTO verdicts(run_id, text, label, verdict, expert, round, seq, asked_at, "
                                  "kind, question, again) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)

    def round_questions(self, run_id: int) -> dict[int, tuple[int, int]]:
        """round -> (binary questions, choice questions) of the run, every kind: a choice question
        once (its rows share ``question``). An old store, without the column, asked binary ones only."""
        if not self._has_column("verdicts", "question"):
            return {int(r): (int(n), 0) for r, n in self.conn.execute(
                "SELECT round, COUNT(*) FROM verdicts WHERE run_id=? GROUP BY round", (run_id,))}
        out: dict[int, tuple[int, int]] = {}
        for rnd, choice, n in self.conn.execute(
                "SELECT round, question IS NOT NULL, COUNT(DISTINCT COALESCE(question, seq)) FROM verdicts "
                "WHERE run_id=? GROUP BY round, question IS NOT NULL", (run_id,)):
            b, c = out.get(int(rnd), (0, 0))
            out[int(rnd)] = (b, c + int(n)) if choice else (b + int(n), c)
        return out

    def choice_questions(self, run_id: int) -> int:
        """The run's choice questions (every kind), each once."""
        return sum(c for _, c in self.round_questions(run_id).values())

    def count_verdicts(self, run_id: int) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM verdicts WHERE run_id=?", (run_id,)).fetchone()[0]

    def usage(self, run_id: int) -> tuple[int, float, int, int]:
        """The run's expert spending over every process: HTTP calls, cost, prompt and completion tokens."""
        row = self.conn.execute("SELECT http_calls, cost, prompt_tokens, completion_tokens FROM run_usage "
                                "WHERE run_id=?", (run_id,)).fetchone()
        return (0, 0.0, 0, 0) if row is None else (int(row[0]), float(row[1]), int(row[2]), int(row[3]))

    def save_usage(self, run_id: int, http_calls: int, cost: float, prompt_tokens: int = 0,
                   completion_tokens: int = 0) -> None:
        with self._tx():
            self.conn.execute("INSERT OR REPLACE INTO run_usage(run_id, http_calls, cost, prompt_tokens, "
                              "completion_tokens) VALUES (?,?,?,?,?)",
                              (run_id, int(http_calls), float(cost), int(prompt_tokens), int(completion_tokens)))

    # -- rounds and predictions ---------------------------------------------------------------------
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

    def snapshot(self, run_id: int | None = None) -> RunSnapshot:
        """Everything about ``run_id`` (the latest run by default), read in one transaction."""
        self.conn.execute("BEGIN")
        try:
            return self._snapshot(run_id)
        except (ValueError, TypeError) as exc:
            raise InputError(f"{self.path} holds unreadable run data ({' '.join(str(exc).split())}); it is damaged "
                             "or not from redtext") from None
        finally:
            self.conn.execute("COMMIT")

    def _snapshot(self, run_id):
        row = self.conn.execute("SELECT MAX(id), COUNT(*) FROM runs").fetchone()
        if row[0] is None:
            raise InputError(f"{self.path} holds no run; start one with `redtext run`")
        run_id = int(row[0]) if run_id is None else run_id
        status, config, stop_reason, created, updated = self.conn.execute(
            "SELECT status, config, stop_reason, created, updated FROM runs WHERE id=?", (run_id,)).fetchone()
        config = json.loads(config)
        rounds = self.rounds(run_id)
        if not isinstance(config, dict) or not all(isinstance(r, dict) for r in rounds):
            raise ValueError("config or rounds are not JSON objects")
        seed = self.texts(run_id, "seed")
        pool = self.texts(run_id, "pool")
        kind = "kind" if self._has_column("verdicts", "kind") else "'label'"
        group = "COALESCE(question, seq)" if self._has_column("verdicts", "question") else "seq"
        # a choice question's candidates that were seen but not picked (NULL beside a pick) say
        # nothing one by one: the snapshot leaves them out
        unpicked = ("AND NOT (question IS NOT NULL AND verdict IS NULL AND EXISTS (SELECT 1 FROM verdicts p WHERE "
                    "p.run_id=verdicts.run_id AND p.question=verdicts.question AND p.verdict=1))"
                    if group != "seq" else "")
        verdicts = [(int(s), int(r), t, lab, None if v is None else int(v), e, k) for s, r, t, lab, v, e, k in
                    self.conn.execute(f"SELECT seq, round, text, label, verdict, expert, {kind} FROM verdicts "
                                      f"WHERE run_id=? {unpicked} ORDER BY seq", (run_id,))]
        questions = dict(self.conn.execute(f"SELECT {kind}, COUNT(DISTINCT {group}) FROM verdicts WHERE run_id=? "
                                           f"GROUP BY {kind}", (run_id,)).fetchall())
        predictions = [(int(i), lab, float(c), src, json.loads(cands)) for i, lab, c, src, cands in self.conn.execute(
            "SELECT idx, label, confidence, source, candidates FROM predictions WHERE run_id=? ORDER BY idx",
            (run_id,))]
        has_usage = self.conn.execute("SELECT 1 FROM sqlite_master WHERE name='run_usage'").fetchone()
        usage = None
        if has_usage:
            u = self.conn.execute("SELECT http_calls, cost FROM run_usage WHERE run_id=?", (run_id,)).fetchone()
            usage = None if u is None else (int(u[0]), float(u[1]))
        return RunSnapshot(run_id=run_id, runs_in_store=int(row[1]), status=str(status), stop_reason=stop_reason,
                           created=float(created), updated=float(updated), config=config, rounds=rounds,
                           seed_ids=seed[0], seed_texts=seed[1], seed_labels=seed[2], pool_ids=pool[0],
                           pool_texts=pool[1], descriptions=self.descriptions(run_id), verdicts=verdicts,
                           questions=questions, round_questions=self.round_questions(run_id), predictions=predictions,
                           usage=usage)

    def _has_column(self, table: str, column: str) -> bool:
        return any(r[1] == column for r in self.conn.execute(f"PRAGMA table_info({table})"))

    # -- the embedding cache of the run's texts ------------------------------------------------------
    def embedding_cache(self):
        from .embed_cache import EmbeddingCache

        return EmbeddingCache(connection=self.conn)
