"""A run's journal in its ``run.db``: every answer, round and spending total, through the store."""
from __future__ import annotations

from ..io.store import Store


class StoreJournal:
    """:class:`redtext.core.journal.Journal` on run ``run_id`` of ``store``."""

    def __init__(self, store: Store, run_id: int):
        self.store = store
        self.run_id = run_id

    def answers(self, *, again: bool = False):
        return self.store.verdicts(self.run_id, again=again)

    def record(self, items, *, expert: str, round_no: int, kind: str = "label", sizes=None, again=None) -> None:
        self.store.record_verdicts(self.run_id, items, expert=expert, round_no=round_no, kind=kind, sizes=sizes,
                                   again=again)

    def spent(self) -> tuple[int, float, int, int]:
        return self.store.usage(self.run_id)

    def record_spent(self, http_calls: int, cost: float, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        self.store.save_usage(self.run_id, http_calls, cost, prompt_tokens, completion_tokens)

    def record_round(self, round_no: int, metrics: dict) -> None:
        self.store.record_round(self.run_id, round_no, metrics)
