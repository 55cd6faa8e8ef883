"""Tests for redtext.core.predict.combine: ranked candidates from side-by-side subset scores."""

from __future__ import annotations

import numpy as np
import pytest

from redtext.core.predict import Predictions, combine
from redtext.core.select import entropy, margin


def random_scores(n=50, n_labels=12, seed=0):
    # distinct values (no ties) so the ranking is unambiguous
    rng = np.random.default_rng(seed)
    return rng.random((n, n_labels)).astype(np.float32) * 0.9 + 0.01


def test_candidates_are_the_top_labels_best_first():
    scores = random_scores()
    pred = combine(scores, n_candidates=5)
    assert isinstance(pred, Predictions)
    assert len(pred) == 50
    assert pred.candidates.shape == (50, 5)
    expected = np.argsort(-scores, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(pred.candidates, expected)


def test_candidate_scores_descending_and_match_proba():
    scores = random_scores(seed=1)
    pred = combine(scores, n_candidates=4)
    assert pred.candidate_scores.shape == (50, 4)
    assert np.all(np.diff(pred.candidate_scores, axis=1) <= 0)
    np.testing.assert_allclose(pred.candidate_scores,
                               np.take_along_axis(pred.proba, pred.candidates, axis=1))
    # no label outside the candidates beats the last candidate
    for row in range(50):
        others = np.setdiff1d(np.arange(12), pred.candidates[row])
        assert pred.proba[row, others].max() <= pred.candidate_scores[row, -1]


def test_label_is_first_candidate_and_confidence_its_normalised_probability():
    scores = random_scores(seed=2)
    pred = combine(scores)
    np.testing.assert_array_equal(pred.label, pred.candidates[:, 0])
    np.testing.assert_array_equal(pred.label, scores.argmax(axis=1))
    expected_conf = scores.max(axis=1) / scores.sum(axis=1)
    np.testing.assert_allclose(pred.confidence, expected_conf, rtol=1e-5)
    np.testing.assert_allclose(pred.proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(pred.proba, scores / scores.sum(axis=1, keepdims=True), rtol=1e-5)


def test_small_example():
    scores = np.array([[0.1, 0.6, 0.2, 0.1], [0.5, 0.0, 0.0, 0.3]], dtype=np.float32)
    pred = combine(scores, n_candidates=2)
    np.testing.assert_array_equal(pred.candidates, [[1, 2], [0, 3]])
    np.testing.assert_allclose(pred.candidate_scores, [[0.6, 0.2], [0.625, 0.375]], rtol=1e-6)
    np.testing.assert_array_equal(pred.label, [1, 0])
    np.testing.assert_allclose(pred.confidence, [0.6, 0.625], rtol=1e-6)


def test_all_noise_passed_through():
    scores = random_scores(n=6, seed=3)
    flags = np.array([True, False, False, True, False, True])
    pred = combine(scores, flags)
    np.testing.assert_array_equal(pred.all_noise, flags)
    assert pred.all_noise.dtype == bool
    # flagged texts still get candidates and a label
    assert pred.candidates[flags].shape == (3, 5)
    np.testing.assert_array_equal(pred.label[flags], scores[flags].argmax(axis=1))


def test_all_noise_defaults_to_false():
    pred = combine(random_scores(n=7, seed=4))
    assert pred.all_noise.shape == (7,)
    assert not pred.all_noise.any()


@pytest.mark.parametrize("n_candidates", [3, 4, 100])
def test_n_candidates_at_least_n_labels_ranks_every_label(n_candidates):
    scores = random_scores(n=20, n_labels=3, seed=5)
    pred = combine(scores, n_candidates=n_candidates)
    assert pred.candidates.shape == (20, 3)
    for row in pred.candidates:
        assert sorted(row.tolist()) == [0, 1, 2]
    np.testing.assert_array_equal(pred.candidates, np.argsort(-scores, axis=1, kind="stable"))
    assert np.all(np.diff(pred.candidate_scores, axis=1) <= 0)


def test_single_candidate():
    scores = random_scores(seed=6)
    pred = combine(scores, n_candidates=1)
    assert pred.candidates.shape == (50, 1)
    np.testing.assert_array_equal(pred.candidates[:, 0], scores.argmax(axis=1))


def test_uncertainty_of_the_combined_distribution():
    scores = random_scores(seed=7)
    pred = combine(scores)
    np.testing.assert_allclose(pred.uncertainty, entropy(pred.proba), rtol=1e-6)
    pred_m = combine(scores, uncertainty="margin")
    np.testing.assert_allclose(pred_m.uncertainty, margin(pred_m.proba), rtol=1e-6)
    assert not np.allclose(pred.uncertainty, pred_m.uncertainty)


def test_zero_row_does_not_produce_nan():
    scores = np.array([[0.0, 0.0, 0.0], [0.2, 0.5, 0.3]], dtype=np.float32)
    pred = combine(scores, n_candidates=2)
    assert np.all(np.isfinite(pred.proba))
    assert np.all(np.isfinite(pred.confidence))
    assert pred.label[1] == 1


@pytest.mark.parametrize("name", ["gain", "reach"])
def test_top3_uncertainties_match_the_dense_score_in_both_paths(name):
    from redtext.core.predict import predict_compact
    from redtext.core.select import UNCERTAINTY

    rng = np.random.default_rng(3)
    scores = rng.dirichlet(np.ones(12) * 0.3, size=40).astype(np.float32)
    pred = combine(scores, uncertainty=name)
    np.testing.assert_allclose(pred.uncertainty, UNCERTAINTY[name](pred.proba), rtol=1e-5)

    class Model:
        def predict_proba(self, X, return_noise=False):
            return (scores[X[:, 0].astype(int)], np.zeros(len(X), dtype=bool))

    compact = predict_compact(Model(), np.arange(40, dtype=np.float32)[:, None], uncertainty=name)
    np.testing.assert_allclose(compact.uncertainty, pred.uncertainty, rtol=1e-5)
    np.testing.assert_array_equal(compact.candidates, pred.candidates)
