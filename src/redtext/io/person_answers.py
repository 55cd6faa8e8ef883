"""The part of :class:`~redtext.io.store.Store` that holds a person's answers: the review queue
(``redtext review``) and the terminal expert's answer log. Their tables are created and migrated
by :mod:`redtext.io.store`, their one owner; this mixin only reads and writes them."""
from __future__ import annotations

import json
import time
from typing import Sequence


class PersonAnswers:
    """Mixed into :class:`~redtext.io.store.Store` (which provides ``conn`` and ``_tx``)."""

    def queue_questions(self, rows: Sequence[tuple[str, str, str, str, str | None, list[str]]]) -> None:
        """Queue ``(key, text_id, text, label, description, examples)`` questions (known keys are kept);
        a choice question's ``examples`` is ``{"choices": [{label, description, examples}, ...]}``."""
        with self._tx():
            seq = self.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM review_queue").fetchone()[0]
            self.conn.executemany(
                "INSERT OR IGNORE INTO review_queue(key, seq, text_id, text, label, description, examples, status, "
                "queued) VALUES (?,?,?,?,?,?,?,'pending',?)",
                [(k, seq + n + 1, tid, t, lab, d, json.dumps(ex if isinstance(ex, dict) else list(ex)), time.time())
                 for n, (k, tid, t, lab, d, ex) in enumerate(rows)])

    def queued_answers(self, keys: Sequence[str], *, raw: bool = False) -> dict[str, tuple[str, bool | int | None]]:
        """``key -> (status, verdict)`` for queued questions (``raw``: the stored number — a choice
        question's candidate, 0 for none of them)."""
        out = {}
        for start in range(0, len(keys), 900):
            chunk = list(keys[start:start + 900])
            marks = ",".join("?" * len(chunk))
            for k, s, v in self.conn.execute(
                    f"SELECT key, status, verdict FROM review_queue WHERE key IN ({marks})", chunk):
                out[k] = (s, None if v is None else int(v) if raw else bool(v))
        return out

    def take_answers(self, keys: Sequence[str], *, raw: bool = False) -> list | None:
        """The verdicts of ``keys`` once every one is answered, marking them used (from then on
        they cannot be undone); None while any is still pending. One transaction, so an undo
        either lands before (the question is pending again) or is refused."""
        with self._tx():
            rows = self.queued_answers(keys, raw=raw)
            if not all(rows.get(k, ("pending",))[0] in ("answered", "used") for k in keys):
                return None
            for start in range(0, len(keys), 900):
                chunk = list(keys[start:start + 900])
                self.conn.execute(f"UPDATE review_queue SET status='used' WHERE status='answered' AND key IN "
                                  f"({','.join('?' * len(chunk))})", chunk)
        return [rows[k][1] for k in keys]

    def undo_queued(self, key: str) -> bool:
        """Put an answered question back in the queue, unless the run already used its answer."""
        with self._tx():
            cur = self.conn.execute("UPDATE review_queue SET status='pending', verdict=NULL, answered=NULL "
                                    "WHERE key=? AND status='answered'", (key,))
        return cur.rowcount > 0

    def run_state(self) -> tuple[str | None, str | None]:
        """(status, stop_reason) of the latest run, (None, None) when there is none."""
        row = self.conn.execute("SELECT status, stop_reason FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        return (None, None) if row is None else (row[0], row[1])

    def next_queued(self) -> tuple[dict | None, int, int]:
        """The oldest pending question (or None), and the pending and answered counts."""
        row = self.conn.execute("SELECT key, text, label, description, examples FROM review_queue "
                                "WHERE status='pending' ORDER BY seq LIMIT 1").fetchone()
        pending = self.conn.execute("SELECT COUNT(*) FROM review_queue WHERE status='pending'").fetchone()[0]
        answered = self.conn.execute("SELECT COUNT(*) FROM review_queue "
                                     "WHERE status IN ('answered', 'used')").fetchone()[0]
        question = None
        if row is not None:
            shown = json.loads(row[4])
            question = {"key": row[0], "text": row[1], "label": row[2], "description": row[3], "examples": shown}
            if isinstance(shown, dict):  # a choice question: its candidates, in the order shown
                question.update(label=None, examples=[], choices=shown["choices"])
        return question, int(pending), int(answered)

    def answer_queued(self, key: str, verdict: bool | int | None) -> bool:
        """Record a person's answer to a pending question (a choice question's: the candidate's
        number, 0 for none of them); False when it is not pending."""
        with self._tx():
            cur = self.conn.execute("UPDATE review_queue SET status='answered', verdict=?, answered=? "
                                    "WHERE key=? AND status='pending'",
                                    (None if verdict is None else int(verdict), time.time(), key))
        return cur.rowcount > 0

    def logged_answer(self, key: str) -> tuple[bool, bool | None]:
        row = self.conn.execute("SELECT verdict FROM answer_log WHERE key=?", (key,)).fetchone()
        return (False, None) if row is None else (True, None if row[0] is None else bool(row[0]))

    def log_answer(self, key: str, verdict: bool | None) -> None:
        with self._tx():
            self.conn.execute("INSERT OR REPLACE INTO answer_log(key, verdict, created) VALUES (?,?,?)",
                              (key, None if verdict is None else int(verdict), time.time()))

    def logged_choice(self, key: str) -> tuple[bool, int | None]:
        """A choice answer logged by :meth:`log_choice`: the candidate's number (0: none of them;
        ``None``: skipped)."""
        row = self.conn.execute("SELECT verdict FROM answer_log WHERE key=?", (key,)).fetchone()
        return (False, None) if row is None else (True, None if row[0] is None else int(row[0]))

    def log_choice(self, key: str, number: int | None) -> None:
        with self._tx():
            self.conn.execute("INSERT OR REPLACE INTO answer_log(key, verdict, created) VALUES (?,?,?)",
                              (key, None if number is None else int(number), time.time()))

    def unlog_answer(self, key: str) -> None:
        with self._tx():
            self.conn.execute("DELETE FROM answer_log WHERE key=?", (key,))
