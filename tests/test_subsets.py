"""Tests for redtext.core.subsets: per-subset training sets, subset classifiers and the ensemble."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from redtext.core.vectors import normalize_rows
from redtext.core.subsets import SubsetEnsemble, SubsetModel, assemble_training_set, fit_one as _fit_one

# --------------------------------------------------------------------------- helpers

N_LABELS = 6
CLASS_SIZES = {0: 3, 1: 4, 2: 5, 3: 2, 4: 6, 5: 1}


def tagged_data(seed: int = 0):
    """Rows whose first column is the row index, so every training row can be traced back."""
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.full(n, lab) for lab, n in CLASS_SIZES.items()])
    y = y[rng.permutation(len(y))]
    X = np.column_stack([np.arange(len(y), dtype=np.float32), rng.normal(size=(len(y), 2))]).astype(np.float32)
    return X, y


def source_rows(rows: np.ndarray) -> np.ndarray:
    return rows[:, 0].round().astype(int)


def assemble(X, y, subset, *, noise_factor=2.0, seed=0, **kw):
    return assemble_training_set(X, y, subset, N_LABELS, noise_factor=noise_factor,
                                 rng=np.random.default_rng(seed), **kw)


def clusters(n_labels=6, per_label=20, dim=16, seed=0):
    """Unit-norm examples around the first ``n_labels`` axes."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_labels), per_label)
    X = normalize_rows(np.eye(dim)[y] + 0.15 * rng.normal(size=(len(y), dim)))
    return X, y


def far_cluster(n=20, dim=16, axis=10, seed=1):
    """Unit-norm points along an axis no label uses."""
    rng = np.random.default_rng(seed)
    return normalize_rows(np.eye(dim)[[axis] * n] + 0.03 * rng.normal(size=(n, dim)))


SUBSETS = [[0, 3], [1, 4], [2, 5]]

# --------------------------------------------------------------------------- assemble_training_set


def test_positives_are_the_subsets_rows_with_local_targets_in_subset_order():
    X, y = tagged_data()
    subset = [4, 1, 3]
    rows, targets, weights, has_noise = assemble(X, y, subset)
    assert has_noise
    pos_idx = np.flatnonzero(np.isin(y, subset))
    n_pos = len(pos_idx)
    assert n_pos == 6 + 4 + 2
    np.testing.assert_array_equal(rows[:n_pos], X[pos_idx])
    expected_local = np.array([subset.index(lab) for lab in y[pos_idx]])
    np.testing.assert_array_equal(targets[:n_pos], expected_local)
    # everything after the positives is NOISE (local index n)
    assert np.all(targets[n_pos:] == len(subset))
    assert len(rows) == len(targets) == len(weights)
    # no positive row is ever labelled NOISE
    noise_sources = source_rows(rows[targets == len(subset)])
    assert not np.isin(noise_sources, pos_idx).any()


@pytest.mark.parametrize("noise_factor,expected", [(0.3, 1), (1.0, 4), (1.5, 6), (2.0, 8), (2.6, 10)])
def test_noise_count_is_noise_factor_times_mean_class_size(noise_factor, expected):
    X, y = tagged_data()
    subset = [4, 1, 3]  # class sizes 6, 4, 2 -> mean 4
    _, targets, _, has_noise = assemble(X, y, subset, noise_factor=noise_factor)
    assert has_noise
    assert int((targets == len(subset)).sum()) == expected


def test_noise_rows_never_come_from_the_subsets_own_labels():
    X, y = tagged_data()
    for subset in ([4, 1, 3], [0], [2, 5], [0, 1, 2, 3, 4]):
        for seed in range(5):
            rows, targets, _, _ = assemble(X, y, subset, noise_factor=3.0, seed=seed)
            src = source_rows(rows[targets == len(subset)])
            assert len(src) > 0
            assert not np.isin(y[src], subset).any(), f"subset {subset}: NOISE drawn from its own labels"
            # the NOISE rows are copies of real rows
            np.testing.assert_array_equal(rows[targets == len(subset)], X[src])


def test_noise_sampled_without_replacement_when_enough_rows():
    X, y = tagged_data()
    subset = [4, 1, 3]  # 9 rows outside, 8 needed
    rows, targets, _, _ = assemble(X, y, subset, noise_factor=2.0)
    src = source_rows(rows[targets == 3])
    assert len(src) == 8
    assert len(set(src.tolist())) == 8


def test_noise_oversampled_with_replacement_when_too_few_rows():
    X, y = tagged_data()
    subset = [0, 1, 2, 4]  # sizes 3, 4, 5, 6 -> mean 4.5 -> 9 NOISE rows; only 3 rows outside
    rows, targets, _, has_noise = assemble(X, y, subset, noise_factor=2.0)
    assert has_noise
    src = source_rows(rows[targets == len(subset)])
    assert len(src) == 9
    outside = set(np.flatnonzero(~np.isin(y, subset)).tolist())
    assert set(src.tolist()) <= outside
    assert len(set(src.tolist())) < len(src)  # repeats


def test_no_noise_class_without_outside_rows_or_with_zero_factor():
    X, y = tagged_data()
    rows, targets, _, has_noise = assemble(X, y, list(range(N_LABELS)))
    assert not has_noise
    assert len(rows) == len(y) and targets.max() == N_LABELS - 1
    rows, targets, _, has_noise = assemble(X, y, [4, 1, 3], noise_factor=0.0)
    assert not has_noise
    assert len(rows) == 12 and targets.max() == 2


def test_sample_weights_apply_to_positives_and_noise_weighs_one():
    X, y = tagged_data()
    sw = np.linspace(0.1, 2.0, len(y))
    subset = [4, 1, 3]
    rows, targets, weights, _ = assemble(X, y, subset, sample_weight=sw)
    pos = targets < len(subset)
    np.testing.assert_allclose(weights[pos], sw[source_rows(rows[pos])])
    np.testing.assert_array_equal(weights[~pos], 1.0)


def neg_data():
    neg_X = np.column_stack([1000 + np.arange(5), np.zeros((5, 2))]).astype(np.float32)
    neg_label = np.array([4, 0, 1, 3, 5])
    return neg_X, neg_label


def neg_sources(rows, targets, n):
    src = source_rows(rows[targets == n])
    return sorted(int(s) - 1000 for s in src if s >= 1000)


def test_hard_negatives_go_only_to_the_subset_of_the_rejected_label():
    X, y = tagged_data()
    neg_X, neg_label = neg_data()
    got = {}
    for subset in ([4, 1, 3], [0, 2, 5]):
        rows, targets, _, _ = assemble(X, y, subset, neg_X=neg_X, neg_label=neg_label)
        got[tuple(subset)] = neg_sources(rows, targets, len(subset))
        # hard negatives are NOISE, never positives
        assert not (source_rows(rows[targets < len(subset)]) >= 1000).any()
    assert got[(4, 1, 3)] == [0, 2, 3]
    assert got[(0, 2, 5)] == [1, 4]


def test_hard_negatives_add_to_the_sampled_noise():
    X, y = tagged_data()
    neg_X, neg_label = neg_data()
    _, t_plain, _, _ = assemble(X, y, [4, 1, 3])
    _, t_neg, _, _ = assemble(X, y, [4, 1, 3], neg_X=neg_X, neg_label=neg_label)
    assert (t_neg == 3).sum() == (t_plain == 3).sum() + 3


def test_hard_negative_skipped_when_its_true_label_is_in_the_same_subset():
    X, y = tagged_data()
    neg_X, neg_label = neg_data()
    # rejected for 1 but truly 3 (same subset) -> skipped; rejected for 3 but truly 0 -> kept;
    # rejected for 4 with unknown truth (-1) -> kept
    neg_true = np.array([-1, -1, 3, 0, 2])
    rows, targets, _, _ = assemble(X, y, [4, 1, 3], neg_X=neg_X, neg_label=neg_label, neg_true=neg_true)
    assert neg_sources(rows, targets, 3) == [0, 3]
    # for the other subset: rejected for 5 but truly 2 (same subset) -> skipped
    rows, targets, _, _ = assemble(X, y, [0, 2, 5], neg_X=neg_X, neg_label=neg_label, neg_true=neg_true)
    assert neg_sources(rows, targets, 3) == [1]


def test_same_rng_seed_gives_same_training_set():
    X, y = tagged_data()
    a = assemble(X, y, [4, 1, 3], seed=3)
    b = assemble(X, y, [4, 1, 3], seed=3)
    for u, v in zip(a[:3], b[:3]):
        np.testing.assert_array_equal(u, v)


# --------------------------------------------------------------------------- SubsetEnsemble


def test_fit_and_predict_proba_shapes_and_accuracy():
    X, y = clusters()
    ens = SubsetEnsemble(SUBSETS, N_LABELS, n_jobs=1).fit(X, y)
    assert len(ens.models_) == 3
    assert ens.n_features_in_ == X.shape[1]
    scores = ens.predict_proba(X)
    assert scores.shape == (len(X), N_LABELS)
    assert np.all(scores >= 0) and np.all(scores <= 1)
    assert (scores.argmax(axis=1) == y).mean() > 0.95
    scores2, noise = ens.predict_proba(X[:7], return_noise=True)
    assert scores2.shape == (7, N_LABELS) and noise.shape == (7,) and noise.dtype == bool


def test_each_label_column_comes_from_its_subset_model():
    X, y = clusters()
    ens = SubsetEnsemble(SUBSETS, N_LABELS, n_jobs=1).fit(X, y)
    Xq = np.vstack([X[::7], far_cluster(5)])
    scores = ens.predict_proba(Xq)
    covered = np.zeros(N_LABELS, dtype=int)
    for subset, model in zip(SUBSETS, ens.models_):
        np.testing.assert_array_equal(model.labels, subset)
        assert model.has_noise
        p = model.proba(Xq)
        assert p.shape == (len(Xq), len(subset) + 1)
        np.testing.assert_allclose(scores[:, subset], p[:, :len(subset)], rtol=1e-6)
        # a subset's label columns leave room for its NOISE column
        assert np.all(scores[:, subset].sum(axis=1) < 1.0)
        covered[subset] += 1
    assert covered.tolist() == [1] * N_LABELS


def test_return_noise_flags_only_texts_every_subset_calls_noise():
    X, y = clusters()
    ens = SubsetEnsemble(SUBSETS, N_LABELS, n_jobs=1).fit(X, y)
    far = far_cluster(20)
    _, noise_far = ens.predict_proba(far, return_noise=True)
    assert noise_far.all()
    _, noise_known = ens.predict_proba(X, return_noise=True)
    assert not noise_known.any()
    # flags agree with the subset models' own argmax
    both = np.vstack([X[::5], far])
    _, noise = ens.predict_proba(both, return_noise=True)
    expected = np.ones(len(both), dtype=bool)
    for m in ens.models_:
        expected &= m.proba(both).argmax(axis=1) == len(m.labels)
    np.testing.assert_array_equal(noise, expected)


def test_flat_ensemble_has_no_noise_and_never_flags_all_noise():
    X, y = clusters()
    flat = SubsetEnsemble([list(range(N_LABELS))], N_LABELS, n_jobs=1).fit(X, y)
    assert len(flat.models_) == 1
    model = flat.models_[0]
    assert not model.has_noise
    assert model.coef.shape == (N_LABELS, X.shape[1])
    Xq = np.vstack([X, far_cluster(20)])
    scores, noise = flat.predict_proba(Xq, return_noise=True)
    assert not noise.any()
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-5)


def test_hard_negatives_teach_every_subset_noise():
    X, y = clusters()
    # a region the expert rejected for every label
    rng = np.random.default_rng(5)
    centre = normalize_rows(np.eye(16)[[0]] + np.eye(16)[[1]] + np.eye(16)[[2]])
    region = normalize_rows(centre + 0.05 * rng.normal(size=(60, 16)))
    neg_X = np.repeat(region[:30], N_LABELS, axis=0)
    neg_label = np.tile(np.arange(N_LABELS), 30)
    plain = SubsetEnsemble(SUBSETS, N_LABELS, n_jobs=1).fit(X, y)
    taught = SubsetEnsemble(SUBSETS, N_LABELS, n_jobs=1).fit(X, y, neg_X=neg_X, neg_label=neg_label)
    _, noise_plain = plain.predict_proba(region[30:], return_noise=True)
    _, noise_taught = taught.predict_proba(region[30:], return_noise=True)
    assert noise_taught.mean() > 0.9
    assert noise_taught.mean() > noise_plain.mean()
    _, noise_known = taught.predict_proba(X, return_noise=True)
    assert noise_known.mean() < 0.05


def test_n_jobs_one_and_two_give_identical_results():
    X, y = clusters()
    one = SubsetEnsemble(SUBSETS, N_LABELS, n_jobs=1, random_state=3).fit(X, y)
    two = SubsetEnsemble(SUBSETS, N_LABELS, n_jobs=2, random_state=3).fit(X, y)
    for a, b in zip(one.models_, two.models_):
        np.testing.assert_array_equal(a.labels, b.labels)
        np.testing.assert_array_equal(a.coef, b.coef)
        np.testing.assert_array_equal(a.intercept, b.intercept)
        assert a.has_noise == b.has_noise
    Xq = np.vstack([X, far_cluster(10)])
    s1, n1 = one.predict_proba(Xq, return_noise=True)
    s2, n2 = two.predict_proba(Xq, return_noise=True)
    np.testing.assert_array_equal(s1, s2)
    np.testing.assert_array_equal(n1, n2)


def test_same_random_state_refits_identically():
    X, y = clusters()
    a = SubsetEnsemble(SUBSETS, N_LABELS, n_jobs=1, random_state=7).fit(X, y)
    b = SubsetEnsemble(SUBSETS, N_LABELS, n_jobs=1, random_state=7).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


# --------------------------------------------------------------------------- SubsetModel.proba


def test_subset_model_proba_rows_sum_to_one():
    X, y = clusters()
    Xq = np.vstack([X, far_cluster(10)])
    for subsets in (SUBSETS, [[0], [1, 2, 3, 4, 5]], [[i] for i in range(N_LABELS)]):
        ens = SubsetEnsemble(subsets, N_LABELS, n_jobs=1).fit(X, y)
        for subset, m in zip(subsets, ens.models_):
            p = m.proba(Xq)
            assert p.shape == (len(Xq), len(subset) + 1)
            np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
            assert np.all(p >= 0)


def test_single_label_subset_is_binary_label_vs_noise():
    X, y = clusters()
    ens = SubsetEnsemble([[i] for i in range(N_LABELS)], N_LABELS, n_jobs=1).fit(X, y)
    scores, noise = ens.predict_proba(X, return_noise=True)
    for lab, m in enumerate(ens.models_):
        assert m.coef.shape == (2, X.shape[1])
        p = m.proba(X)
        # the label wins on its own examples, NOISE wins on the others
        assert (p[y == lab].argmax(axis=1) == 0).mean() > 0.95
        assert (p[y != lab].argmax(axis=1) == 1).mean() > 0.95
    assert (scores.argmax(axis=1) == y).mean() > 0.95
    assert not noise.any()


def test_binary_fit_matches_sklearn_probabilities():
    X, y = clusters()
    rows, t, w, has_noise = assemble_training_set(X, y, [2], N_LABELS, noise_factor=2.0,
                                                  rng=np.random.default_rng(0))
    model = _fit_one(rows, t, w, 10.0, 1000, np.array([2]), has_noise)
    ref = LogisticRegression(C=10.0, max_iter=1000).fit(rows, t, sample_weight=w)
    np.testing.assert_allclose(model.proba(X), ref.predict_proba(X), atol=1e-5)


def test_multiclass_fit_matches_sklearn_probabilities():
    X, y = clusters()
    rows, t, w, has_noise = assemble_training_set(X, y, [1, 4], N_LABELS, noise_factor=2.0,
                                                  rng=np.random.default_rng(0))
    model = _fit_one(rows, t, w, 10.0, 1000, np.array([1, 4]), has_noise)
    ref = LogisticRegression(C=10.0, max_iter=1000).fit(rows, t, sample_weight=w)
    np.testing.assert_allclose(model.proba(X), ref.predict_proba(X), atol=1e-5)


def test_sklearn_style_single_row_binary_model_is_a_sigmoid():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(1, 4)).astype(np.float32)
    b = np.array([0.3], dtype=np.float32)
    m = SubsetModel(labels=np.array([7]), coef=w, intercept=b, has_noise=True)
    X = rng.normal(size=(50, 4)).astype(np.float32)
    p = m.proba(X)
    assert p.shape == (50, 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    z = X @ w[0] + b[0]
    np.testing.assert_allclose(p[:, 1], 1 / (1 + np.exp(-z)), atol=1e-5)


# --------------------------------------------------------------------------- NOISE sub-classes


def test_noise_groups_cluster_only_out_of_subset_labels():
    from redtext.core.subsets import noise_groups_for

    X, y = clusters(n_labels=6, per_label=5)
    lv = normalize_rows(np.stack([X[y == c].mean(axis=0) for c in range(6)]))
    groups, centroids = noise_groups_for([0, 3], lv, n_clusters=2, random_state=0)
    assert groups[0] == -1 and groups[3] == -1
    assert sorted(set(groups[[1, 2, 4, 5]].tolist())) == [0, 1]
    assert centroids.shape == (2, lv.shape[1])
    np.testing.assert_allclose(np.linalg.norm(centroids, axis=1), 1.0, atol=1e-5)


def test_noise_subclasses_targets_weights_and_hard_negatives():
    X, y = clusters(n_labels=6, per_label=10)
    subset = [0, 3]
    groups = np.array([-1, 0, 1, -1, 0, 1])
    centroids = normalize_rows(np.stack([X[np.isin(y, [1, 4])].mean(0), X[np.isin(y, [2, 5])].mean(0)]))
    neg_X = X[y == 2][:3]  # rejected for label 0; they sit in sub-class 1's region
    rows, targets, weights, has_noise = assemble_training_set(
        X, y, subset, 6, noise_factor=2.0, rng=np.random.default_rng(0), noise_groups=groups,
        noise_centroids=centroids, neg_X=neg_X, neg_label=np.array([0, 0, 0]), neg_true=np.array([-1, -1, -1]))
    assert has_noise
    n_pos = int(np.isin(y, subset).sum())
    noise_t = targets[n_pos:-3]
    # every out-of-subset row is used (cap 4 × 2 × 10 = 80 ≥ 20 per sub-class), in its label's sub-class
    assert len(noise_t) == int((~np.isin(y, subset)).sum())
    expected = 2 + groups[y[~np.isin(y, subset)]]
    assert sorted(noise_t.tolist()) == sorted(expected.tolist())
    # the NOISE side weighs noise_factor × mean class size per sub-class
    np.testing.assert_allclose(weights[n_pos:-3].sum(), 2.0 * 10 * 2, rtol=1e-6)
    assert targets[-3:].tolist() == [3, 3, 3]  # hard negatives: nearest sub-class (labels 2 and 5)


def test_ensemble_with_noise_subclasses_reports_one_noise_column():
    X, y = clusters(n_labels=6, per_label=20)
    lv = normalize_rows(np.stack([X[y == c].mean(axis=0) for c in range(6)]))
    ens = SubsetEnsemble(SUBSETS, 6, noise_clusters=2, label_vectors=lv, n_jobs=1).fit(X, y)
    for m in ens.models_:
        assert m.n_noise == 2 and m.coef.shape[0] == len(m.labels) + 2
        p = m.proba(X[:5])
        assert p.shape == (5, len(m.labels) + 1)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
    scores = ens.predict_proba(X)
    assert (scores.argmax(axis=1) == y).mean() > 0.95


def test_a_flat_fit_over_thousands_of_labels_takes_steps():
    """scikit-learn's default tolerance ends lbfgs before its first step at 3,000 labels (the
    gradient at zero shrinks as 1/labels): every coefficient stayed zero and the model was at chance."""
    rng = np.random.default_rng(0)
    n_labels, dim = 3000, 384
    centres = normalize_rows(rng.normal(size=(n_labels, dim)))
    y = np.arange(n_labels)
    X = normalize_rows(centres[y] + rng.normal(0, 0.02, (n_labels, dim)))
    model = _fit_one(X, y, np.ones(n_labels), 10.0, 2, np.arange(n_labels), False)
    assert np.abs(model.coef).max() > 0
    assert np.mean(np.argmax(X @ model.coef.T + model.intercept, axis=1) == y) > 0.9
