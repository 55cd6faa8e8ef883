"""The loop's stopping rules (redtext.core.stop): every reason, its order, and where it holds back."""
from __future__ import annotations

import pytest

from redtext.core.stop import MIN_TEXTS_FOR_GAIN, STOP_REASONS, StopRules, gain_window, stop_reason


def rnd(uncertain, texts_asked=10, accepted=5):
    return {"uncertain": uncertain, "texts_asked": texts_asked, "accepted": accepted}


RULES = StopRules(budget=100, max_rounds=5, min_gain=0.1, patience=2)


def test_every_reason_has_an_explanation():
    assert set(STOP_REASONS) == {"budget", "round_cap", "saturated", "no_gain", "pool_exhausted", "no_budget",
                                 "expert_limit"}


def test_going_on_while_nothing_fires():
    rounds = [rnd(100), rnd(90), rnd(80)]
    assert stop_reason(RULES, rounds, 30, can_ask=True) is None


def test_no_budget():
    assert stop_reason(StopRules(budget=0), [rnd(100)], 0, can_ask=True) == "no_budget"


def test_budget_spent():
    assert stop_reason(RULES, [rnd(100), rnd(90)], 100, can_ask=True) == "budget"
    assert stop_reason(RULES, [rnd(100), rnd(90)], 99, can_ask=True) is None


def test_round_cap_counts_trained_rounds():
    falling = [rnd(100 - 10 * i) for i in range(6)]
    assert stop_reason(RULES, falling, 50, can_ask=True) == "round_cap"          # rounds 0..5 > max_rounds 5
    assert stop_reason(RULES, falling[:5], 40, can_ask=True) is None


def test_pool_exhausted_when_nothing_is_left_or_the_last_round_got_no_answer():
    assert stop_reason(RULES, [rnd(100), rnd(90)], 10, can_ask=False) == "pool_exhausted"
    assert stop_reason(RULES, [rnd(100), rnd(90)], 10, can_ask=True, last_round_idle=True) == "pool_exhausted"


def test_expert_limit_comes_first():
    rounds = [rnd(100), rnd(100), rnd(100)]  # saturated too, and the budget is spent
    assert stop_reason(RULES, rounds, 100, can_ask=False, expert_exhausted=True, last_round_idle=True) \
        == "expert_limit"


def test_no_gain_needs_enough_asked_texts():
    few = [rnd(100, texts_asked=5, accepted=0), rnd(90, texts_asked=5, accepted=0), rnd(80)]
    assert 10 < MIN_TEXTS_FOR_GAIN
    assert stop_reason(RULES, few, 20, can_ask=True) is None
    many = [rnd(100, texts_asked=20, accepted=1), rnd(90, texts_asked=20, accepted=1), rnd(80)]
    assert stop_reason(RULES, many, 40, can_ask=True) == "no_gain"            # 2 / 40 = 5 % < 10 %
    # the current round's asking figures are not known yet and never counted
    assert gain_window(RULES, many[:-1]) == (2, 40)


def test_no_gain_looks_at_the_last_rounds_that_asked_only():
    rounds = [rnd(100, 20, 0), rnd(95, 20, 0), rnd(90, 20, 10), rnd(85, 20, 10), rnd(80)]
    assert stop_reason(RULES, rounds, 80, can_ask=True) is None               # the last two asking rounds: 50 %


@pytest.mark.parametrize("counts,stops", [([100, 100, 100], True), ([100, 99, 100], False),
                                          ([100, 101, 102], True), ([100, 100], False)])
def test_saturated_when_the_uncertain_count_stops_falling(counts, stops):
    rounds = [rnd(c) for c in counts]
    assert (stop_reason(RULES, rounds, 10, can_ask=True) == "saturated") is stops


def test_saturation_needs_enough_asked_texts_so_small_budgets_do_not_stop_on_noise():
    """A person answering 3 questions a round: the uncertain count wobbles (1860 → 1847 → 1852)
    by retraining noise; that is not saturation until the rounds asked enough texts."""
    few = [rnd(1860, texts_asked=3, accepted=2), rnd(1847, texts_asked=3, accepted=2), rnd(1852)]
    assert stop_reason(RULES, few, 6, can_ask=True) is None
    many = [rnd(1860, texts_asked=15, accepted=9), rnd(1860, texts_asked=15, accepted=9), rnd(1862)]
    assert stop_reason(RULES, many, 30, can_ask=True) == "saturated"
