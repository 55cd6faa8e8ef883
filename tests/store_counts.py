"""Counting what a run's store holds, as the tests check it against report.json: one question a
call, a choice question's rows (one per candidate, sharing ``question``) counted once."""
from __future__ import annotations

#: the number of questions among a set of ``verdicts`` rows
QUESTIONS = "COUNT(DISTINCT COALESCE(question, seq))"


def questions_in(conn) -> int:
    """The questions stored in ``conn``'s ``verdicts`` (every kind: label, check, audit)."""
    return conn.execute(f"SELECT {QUESTIONS} FROM verdicts").fetchone()[0]
