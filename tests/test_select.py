"""Tests for redtext.select: uncertainty scores and budgeted selection."""

from __future__ import annotations

import math

import numpy as np
import pytest

from redtext.core.select import UNCERTAINTY, entropy, margin, select

# --------------------------------------------------------------------------- entropy


@pytest.mark.parametrize("n_labels", [2, 3, 10, 1000])
def test_entropy_of_uniform_rows_is_log_n_labels(n_labels):
    scores = np.full((4, n_labels), 1.0 / n_labels)
    np.testing.assert_allclose(entropy(scores), math.log(n_labels), rtol=1e-9)


def test_entropy_of_one_hot_rows_is_zero():
    scores = np.eye(5)[[0, 3, 4]]
    np.testing.assert_array_equal(entropy(scores), 0.0)


def test_entropy_known_value():
    p = np.array([[0.5, 0.25, 0.25]])
    expected = -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25))
    np.testing.assert_allclose(entropy(p), [expected], rtol=1e-12)


def test_entropy_normalises_rows_first():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(6), size=8)
    scale = rng.uniform(0.01, 50.0, size=(8, 1))
    np.testing.assert_allclose(entropy(p * scale), entropy(p), rtol=1e-9)
    # unnormalised uniform row still gives log(L)
    np.testing.assert_allclose(entropy(np.full((1, 4), 0.1)), [math.log(4)], rtol=1e-9)


def test_entropy_orders_rows_by_uncertainty():
    scores = np.array([[0.98, 0.01, 0.01], [0.6, 0.3, 0.1], [0.34, 0.33, 0.33]])
    u = entropy(scores)
    assert u[0] < u[1] < u[2]


def test_entropy_of_zero_row_is_finite():
    u = entropy(np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.0]]))
    assert np.all(np.isfinite(u))
    np.testing.assert_allclose(u[1], math.log(2))


# --------------------------------------------------------------------------- margin


def test_margin_values():
    scores = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0], [0.6, 0.3, 0.1], [0.1, 0.2, 0.7]])
    np.testing.assert_allclose(margin(scores), [1.0, 0.0, 0.7, 0.5], atol=1e-12)


def test_margin_normalises_rows_first():
    scores = np.array([[3.0, 1.0, 0.0, 0.0]])  # -> 0.75, 0.25
    np.testing.assert_allclose(margin(scores), [0.5], atol=1e-12)
    np.testing.assert_allclose(margin(scores * 7), margin(scores), atol=1e-12)


def test_margin_with_one_label_is_zero():
    np.testing.assert_array_equal(margin(np.array([[1.0], [0.3]])), [0.0, 0.0])


def test_uncertainty_registry():
    assert UNCERTAINTY["entropy"] is entropy
    assert UNCERTAINTY["margin"] is margin


# --------------------------------------------------------------------------- select


def test_select_top_k_most_uncertain_first():
    u = np.array([0.1, 0.9, 0.5, 0.7, 0.3, 0.8])
    np.testing.assert_array_equal(select(u, 3), [1, 5, 3])
    np.testing.assert_array_equal(select(u, 1), [1])


def test_select_k_larger_than_pool_returns_everything_sorted():
    u = np.array([0.2, 0.9, 0.5])
    np.testing.assert_array_equal(select(u, 10), [1, 2, 0])


def test_select_respects_eligible_mask():
    u = np.array([0.1, 0.9, 0.5, 0.7, 0.3, 0.8])
    eligible = np.array([True, False, True, True, True, False])
    picked = select(u, 3, eligible=eligible)
    np.testing.assert_array_equal(picked, [3, 2, 4])
    assert eligible[picked].all()


@pytest.mark.parametrize("k", [0, -1])
def test_select_nonpositive_k_returns_empty(k):
    picked = select(np.array([0.3, 0.2]), k)
    assert picked.shape == (0,)
    assert np.issubdtype(picked.dtype, np.integer)


def test_select_nothing_eligible_returns_empty():
    picked = select(np.array([0.3, 0.2, 0.9]), 2, eligible=np.zeros(3, dtype=bool))
    assert picked.shape == (0,)
    picked = select(np.array([0.3, 0.2, 0.9]), 2, groups=np.array([0, 1, 2]), eligible=np.zeros(3, dtype=bool))
    assert picked.shape == (0,)


def test_select_empty_input_returns_empty():
    assert select(np.zeros(0), 5).shape == (0,)


def test_select_with_groups_spreads_across_groups():
    # group 0 holds the four most uncertain texts; groups 1 and 2 are a little less uncertain
    u = np.array([0.99, 0.98, 0.97, 0.96, 0.90, 0.89, 0.85, 0.10])
    g = np.array([0, 0, 0, 0, 1, 1, 2, 3])
    without = select(u, 3)
    np.testing.assert_array_equal(without, [0, 1, 2])
    picked = select(u, 3, groups=g, pool_factor=2.0)  # shortlist: the 6 most uncertain (groups 0, 1)
    # round 1: each group's most uncertain (0 from group 0, 4 from group 1), then round 2
    np.testing.assert_array_equal(picked, [0, 4, 1])
    picked = select(u, 3, groups=g, pool_factor=3.0)  # shortlist of 7 reaches group 2
    np.testing.assert_array_equal(picked, [0, 4, 6])


def test_select_with_groups_only_draws_from_the_shortlist():
    u = np.array([0.99, 0.98, 0.97, 0.96, 0.10])
    g = np.array([0, 0, 0, 0, 1])
    # the lone group-1 text is far down the ranking: a shortlist of 2×2=4 excludes it
    np.testing.assert_array_equal(select(u, 2, groups=g, pool_factor=2.0), [0, 1])
    # with a long enough shortlist it gets its turn
    np.testing.assert_array_equal(select(u, 2, groups=g, pool_factor=3.0), [0, 4])


def test_select_with_groups_respects_eligible():
    u = np.array([0.99, 0.98, 0.97, 0.96, 0.95, 0.94])
    g = np.array([0, 1, 0, 1, 2, 2])
    eligible = np.array([False, True, True, False, True, True])
    picked = select(u, 3, groups=g, eligible=eligible)
    assert eligible[picked].all()
    np.testing.assert_array_equal(picked, [1, 2, 4])


def test_select_with_groups_fuzz_no_duplicates_never_more_than_k():
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(0, 60))
        u = rng.random(n)
        g = rng.integers(0, int(rng.integers(1, 8)), size=n)
        eligible = rng.random(n) < rng.uniform(0.2, 1.0)
        k = int(rng.integers(0, 20))
        pf = float(rng.uniform(0.5, 4.0))
        picked = select(u, k, groups=g, eligible=eligible, pool_factor=pf)
        n_eligible = int(eligible.sum())
        assert len(picked) == min(k, n_eligible)
        assert len(set(picked.tolist())) == len(picked)
        assert eligible[picked].all()
        if len(picked):
            # drawn from the shortlist of the most uncertain eligible texts
            order = np.flatnonzero(eligible)[np.argsort(-u[eligible], kind="stable")]
            shortlist = order[:max(k, int(np.ceil(pf * k)))]
            assert set(picked.tolist()) <= set(shortlist.tolist())
            # every group present in the shortlist is served before any group gets a second turn
            n_groups = len(set(g[shortlist].tolist()))
            first = picked[:min(len(picked), n_groups)]
            assert len(set(g[first].tolist())) == len(first)


# --------------------------------------------------------------------------- expected gain


def test_gain_is_expected_corrections_per_call():
    from redtext.core.select import gain

    # ask the best candidate, then the 2nd on a "no", then the 3rd: a correction happens when the
    # 2nd or 3rd is right; calls expected = 1 + P(1st wrong) + P(1st and 2nd wrong)
    scores = np.array([[0.5, 0.3, 0.2, 0.0], [0.9, 0.05, 0.05, 0.0], [0.4, 0.4, 0.1, 0.1]])
    expected = [0.5 / (1 + 0.5 + 0.2), 0.1 / (1 + 0.1 + 0.05), 0.5 / (1 + 0.6 + 0.2)]
    np.testing.assert_allclose(gain(scores), expected, rtol=1e-9)


def test_gain_with_two_labels_and_unnormalised_rows():
    from redtext.core.select import gain

    np.testing.assert_allclose(gain(np.array([[6.0, 4.0]])), [0.4 / 1.4], rtol=1e-9)
    assert gain(np.array([[1.0]]))[0] == 0.0


def test_gain_prefers_a_likely_runner_up_over_a_hopeless_spread():
    from redtext.core.select import gain

    flat = np.full((1, 100), 0.01)          # 870-label style: nobody likely, questions mostly "no"
    close = np.array([[0.5, 0.45, 0.05] + [0.0] * 97])
    assert gain(close)[0] > 3 * gain(flat)[0]
    # margin ranks the hopeless row as the most uncertain; gain does not
    assert margin(flat)[0] > margin(close)[0]


def test_reach_is_margin_times_the_mass_of_the_asked_candidates():
    from redtext.core.select import reach

    scores = np.array([[0.5, 0.5, 0.0, 0.0], [0.9, 0.1, 0.0, 0.0], [0.4, 0.3, 0.2, 0.1]])
    np.testing.assert_allclose(reach(scores), [1.0, 0.2, 0.9 * 0.9], rtol=1e-9)
    # with few labels the top three hold all the mass: reach ranks exactly like margin
    rng = np.random.default_rng(0)
    three = rng.dirichlet(np.ones(3), size=50)
    np.testing.assert_allclose(reach(three), margin(three), rtol=1e-9)
    # spread thin over 100 labels: margin calls it maximally uncertain, reach sees no question can settle it
    flat = np.full((1, 100), 0.01)
    close = np.array([[0.5, 0.45, 0.05] + [0.0] * 97])
    assert margin(flat)[0] > margin(close)[0]
    assert reach(close)[0] > 10 * reach(flat)[0]
    assert reach(np.array([[1.0]]))[0] == 0.0


@pytest.mark.parametrize("name", ["reach", "gain", "margin", "runner_up", "entropy"])
def test_every_uncertainty_is_registered_and_finite(name):
    u = UNCERTAINTY[name](np.random.default_rng(1).dirichlet(np.ones(7), size=9))
    assert u.shape == (9,) and np.all(np.isfinite(u))


def _clusters(n_labels, per_label, spread, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_labels, 16))
    X = np.repeat(centres, per_label, axis=0) + spread * rng.normal(size=(n_labels * per_label, 16))
    return X / np.linalg.norm(X, axis=1, keepdims=True), np.repeat(np.arange(n_labels), per_label)


def test_top3_recall_is_a_leave_one_out_estimate():
    from redtext.core.select import top3_recall

    X, y = _clusters(20, 5, 0.05)
    assert top3_recall(X, y, 20) == 1.0          # tight clusters: always among the 3 nearest centroids
    X, y = _clusters(20, 5, 0.05)
    shuffled = np.random.default_rng(1).permutation(y)
    assert top3_recall(X, shuffled, 20) < 0.4    # labels unrelated to the vectors: about 3 in 20
    # a label with a single example cannot be left out of its own centroid: skipped, not counted
    assert top3_recall(X[:6], np.array([0, 0, 1, 1, 2, 3]), 4) == 1.0
    assert top3_recall(X[:2], np.array([0, 1]), 2) is None
    # the estimate does not depend on the block size
    X, y = _clusters(30, 4, 0.8)
    assert top3_recall(X, y, 30, block=7) == top3_recall(X, y, 30)


def test_auto_picks_margin_when_candidates_usually_hold_the_label_else_runner_up():
    from redtext.core.select import AUTO_MIN_TOP3_RECALL, resolve_auto

    X, y = _clusters(20, 5, 0.05)
    name, recall = resolve_auto(X, y, 20)
    assert name == "margin" and recall == 1.0
    name, recall = resolve_auto(X, np.random.default_rng(1).permutation(y), 20)
    assert name == "runner_up" and recall < AUTO_MIN_TOP3_RECALL
    assert resolve_auto(X[:2], np.array([0, 1]), 2) == ("margin", None)  # nothing to judge by
