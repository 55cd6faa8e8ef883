"""The stopping rules of the delegation loop, as one pure function: :func:`stop_reason`.

After each round is trained and predicted the loop asks whether to go on. The rules, in the
order they are checked (the first that fires is the reason recorded):

- ``expert_limit``: the expert reached its own hard limit (calls, cost, a person quitting)
  during the last round;
- ``pool_exhausted``: the last round could not ask anything, or no text is left to ask about;
- ``no_budget``: the budget is 0 (classifier labels only);
- ``budget``: the calls reached the budget;
- ``round_cap``: more than ``max_rounds`` rounds were trained;
- ``no_gain``: over the last ``patience`` rounds that asked, the share of asked texts the
  expert accepted (or, in the open world, settled as fitting no label) fell under ``min_gain`` (judged once at least :data:`MIN_TEXTS_FOR_GAIN`
  texts were asked);
- ``saturated``: for ``patience`` rounds in a row the count of uncertain pool texts did not
  fall by more than ``min_drop`` (a share) — judged once those rounds asked at least
  :data:`MIN_TEXTS_FOR_GAIN` texts, so a small budget is not stopped by noise.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

STOP_REASONS = {
    "budget": "the expert budget is spent",
    "round_cap": "the round cap was reached",
    "saturated": "the count of uncertain pool texts stopped falling",
    "no_gain": "the share of asked texts the expert accepted fell under the threshold",
    "pool_exhausted": "no pool text is left to ask about",
    "no_budget": "the budget is 0: classifier labels only",
    "expert_limit": "the expert stopped answering (its own hard limit, or a person quit)",
}

#: the no_gain and saturated rules need at least this many asked texts to judge by
MIN_TEXTS_FOR_GAIN = 20


@dataclass(frozen=True)
class StopRules:
    budget: int                 # hard cap on expert calls
    max_rounds: int = 20
    min_gain: float = 0.05
    min_drop: float = 0.0
    patience: int = 2


def stop_reason(rules: StopRules, rounds: Sequence[dict], calls: int, *, can_ask: bool,
                expert_exhausted: bool = False, last_round_idle: bool = False) -> str | None:
    """Why the loop stops now, or None to go on.

    ``rounds`` are the metrics of every round so far, the current one last (each with
    ``texts_asked``, ``accepted`` and ``uncertain``; the current one's asking figures are not
    known yet and are not read); ``calls`` the expert calls so far; ``can_ask`` whether any
    text is left to ask about; ``expert_exhausted`` whether the expert hit its own limit in the
    last round; ``last_round_idle`` whether the last round tried to ask and got no answer."""
    if expert_exhausted:
        return "expert_limit"
    if last_round_idle:
        return "pool_exhausted"
    if rules.budget <= 0:
        return "no_budget"
    if calls >= rules.budget:
        return "budget"
    if len(rounds) > rules.max_rounds:
        return "round_cap"
    if not can_ask:
        return "pool_exhausted"
    asked_rounds = [r for r in rounds[:-1] if r["texts_asked"] > 0][-rules.patience:]
    asked = sum(r["texts_asked"] for r in asked_rounds)
    if asked >= MIN_TEXTS_FOR_GAIN and sum(_found(r) for r in asked_rounds) / asked < rules.min_gain:
        return "no_gain"
    # saturation needs evidence too: a round that asked 3 texts cannot move the uncertain count
    # beyond the noise of retraining, so the rounds it looks at must have asked enough texts
    window = rounds[-(rules.patience + 1):-1]
    if len(rounds) > rules.patience and sum(r["texts_asked"] for r in window) >= MIN_TEXTS_FOR_GAIN:
        counts = [r["uncertain"] for r in rounds[-(rules.patience + 1):]]
        if all(b >= a * (1 - rules.min_drop) for a, b in zip(counts, counts[1:])):
            return "saturated"
    return None


def gain_window(rules: StopRules, rounds: Sequence[dict]) -> tuple[int, int]:
    """``(accepted, asked)`` over the rounds the ``no_gain`` rule looks at (for reports)."""
    asked_rounds = [r for r in rounds if r["texts_asked"] > 0][-rules.patience:]
    return sum(_found(r) for r in asked_rounds), sum(r["texts_asked"] for r in asked_rounds)


def _found(r: dict) -> int:
    """What a round learnt: labels the expert accepted, and (open world) texts it settled as
    fitting no label — both are answers that change what is delivered."""
    return r["accepted"] + r.get("none_found", 0)
