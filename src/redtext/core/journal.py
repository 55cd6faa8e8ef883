"""Where the loop keeps the expert's answers: every answer is recorded before it is used, and
answers recorded by an earlier process of the same run are replayed instead of asked again.

The loop talks to a :class:`Journal`; :class:`MemoryJournal` keeps answers for one fit (the
Python API's default); :class:`redtext.app.journal.StoreJournal` keeps them in a run's
``run.db`` (what ``redtext run`` and ``redtext resume`` use).
"""
from __future__ import annotations

from typing import Iterable, Protocol

from .questions import Verdict


class Journal(Protocol):
    def answers(self, *, again: bool = False) -> dict[tuple[str, str], Verdict]:
        """Every recorded answer of this run: ``(text, label) -> verdict`` — the first answer about
        each label, or (``again``) the answers about labels offered again in a choice after a "no"."""

    def record(self, items: Iterable[tuple[str, str, Verdict]], *, expert: str, round_no: int,
               kind: str = "label", sizes: list[int] | None = None, again: list[bool] | None = None) -> None:
        """Persist ``(text, label, verdict)`` answers (all or none) — before the loop uses them;
        ``kind`` is ``label`` (the loop's questions), ``check`` (known answers) or ``audit``;
        ``sizes``: rows per question (a choice question has one per candidate; ``None``: one each);
        ``again``: a flag per row, true for a label offered again after a "no" to it."""

    def spent(self) -> tuple[int, float, int, int]:
        """HTTP calls, money, prompt and completion tokens the run's expert spent in earlier
        processes (hard limits carry over; reports count the whole run)."""

    def record_spent(self, http_calls: int, cost: float, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        """Persist the run's total spending so far."""

    def record_round(self, round_no: int, metrics: dict) -> None:
        """Persist one round's figures."""


class MemoryJournal:
    """Answers kept in memory for the length of one fit."""

    def __init__(self):
        self._answers: dict[tuple[str, str], Verdict] = {}
        self._again: dict[tuple[str, str], Verdict] = {}
        self._spent = (0, 0.0, 0, 0)
        self.rounds: dict[int, dict] = {}

    def answers(self, *, again: bool = False) -> dict[tuple[str, str], Verdict]:
        return dict(self._again if again else self._answers)

    def record(self, items, *, expert: str, round_no: int, kind: str = "label", sizes=None, again=None) -> None:
        items = list(items)
        for (text, label, verdict), flag in zip(items, again or [False] * len(items)):
            (self._again if flag else self._answers)[(text, label)] = verdict

    def spent(self) -> tuple[int, float, int, int]:
        return self._spent

    def record_spent(self, http_calls: int, cost: float, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        self._spent = (int(http_calls), float(cost), int(prompt_tokens), int(completion_tokens))

    def record_round(self, round_no: int, metrics: dict) -> None:
        self.rounds[round_no] = dict(metrics)
