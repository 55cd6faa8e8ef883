"""One classifier per label subset, each with an extra NOISE class.

For a subset of ``n`` labels the classifier has ``n + 1`` classes: its labels plus NOISE.
NOISE rows are drawn from the other subsets' examples, oversampled (with replacement when
there are too few) to ``noise_factor`` × the subset's mean class size, plus the *hard
negatives* the expert produced: pool texts it rejected for one of this subset's labels.
Subsets train in parallel across processes (joblib/loky).

Prediction runs every subset classifier at once: their weights are stacked into one matrix
(:class:`redtext.core.scoring.FusedScorer`) so a block of rows costs one matrix product, and row
blocks keep the memory bounded — :meth:`SubsetEnsemble.predict_top` returns only each row's best
candidates, never the dense ``(N, L)`` score matrix.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression

NOISE = "__noise__"


@dataclass
class SubsetModel:
    """A fitted subset classifier reduced to plain arrays (cheap to ship, save and apply)."""

    labels: np.ndarray      # global label indices, in column order
    coef: np.ndarray        # (n_labels + n_noise, dim)
    intercept: np.ndarray   # (n_labels + n_noise,)
    has_noise: bool         # the columns after the labels are NOISE
    n_noise: int = 1        # NOISE sub-classes (their probabilities are summed)

    def proba(self, X: np.ndarray) -> np.ndarray:
        """``(N, n_labels + 1)``: the subset's labels, then NOISE (all sub-classes summed); computed
        in float64 like :class:`~redtext.core.scoring.FusedScorer`, returned as float32."""
        logits = np.asarray(X, dtype=np.float64) @ np.asarray(self.coef, dtype=np.float64).T + self.intercept
        if logits.shape[1] == 1:  # a binary model stored sklearn-style (one row for the second class)
            logits = np.hstack([-logits, logits]) / 2
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=1, keepdims=True)
        n = len(self.labels)
        if self.has_noise and logits.shape[1] > n + 1:
            logits = np.hstack([logits[:, :n], logits[:, n:].sum(axis=1, keepdims=True)])
        return logits.astype(np.float32)


def assemble_training_set(X, y, subset, n_labels, *, noise_factor, rng, neg_X=None, neg_label=None,
                          neg_true=None, sample_weight=None, noise_groups=None, noise_centroids=None):
    """Rows, local targets and weights for one subset. Local targets ``0..n-1`` are the
    subset's labels in order; ``n`` is NOISE.

    With ``noise_groups`` (label index -> NOISE sub-class, for the labels outside the
    subset), NOISE is split into coherent sub-classes ``n, n+1, ...`` so a linear model can
    carve out "everything else": every out-of-subset row is used (at most
    ``4 × noise_factor × mean class size`` per sub-class, drawn at random), weighted so each
    sub-class weighs ``noise_factor`` mean classes on average. Hard negatives go to the
    sub-class whose centroid is nearest.
    """
    subset = np.asarray(subset)
    n = len(subset)
    local = np.full(n_labels, -1, dtype=np.int64)
    local[subset] = np.arange(n)
    in_subset = local[y] >= 0
    pos_idx = np.flatnonzero(in_subset)
    rows = [X[pos_idx]]
    targets = [local[y[pos_idx]]]
    weights = [np.ones(len(pos_idx)) if sample_weight is None else sample_weight[pos_idx]]
    out_idx = np.flatnonzero(~in_subset)
    has_noise = len(out_idx) > 0 and noise_factor > 0
    if has_noise and noise_groups is not None:
        mean_size = max(1.0, len(pos_idx) / n)  # a label with no rows yet (open world's "no label")
        groups = np.asarray(noise_groups)[y[out_idx]]
        n_groups = int(groups.max()) + 1
        cap = max(1, int(math.ceil(4 * noise_factor * mean_size)))
        picks = []
        for g in range(n_groups):
            members = out_idx[groups == g]
            picks.append(members if len(members) <= cap else rng.choice(members, size=cap, replace=False))
        pick = np.concatenate(picks)
        rows.append(X[pick])
        targets.append(n + np.asarray(noise_groups)[y[pick]])
        weights.append(np.full(len(pick), noise_factor * mean_size * n_groups / max(1, len(pick))))
    elif has_noise:
        mean_size = max(1.0, len(pos_idx) / n)
        n_noise = max(1, int(round(noise_factor * mean_size)))
        pick = rng.choice(out_idx, size=n_noise, replace=n_noise > len(out_idx))
        rows.append(X[pick])
        targets.append(np.full(len(pick), n))
        weights.append(np.ones(len(pick)))
    if has_noise and neg_X is not None and len(neg_X):
        lab = np.asarray(neg_label, dtype=np.int64)
        true = np.asarray(neg_true, dtype=np.int64) if neg_true is not None else np.full(len(lab), -1)
        # a rejected text is NOISE for the subset of the rejected label, unless the
        # expert since placed it under another label of the same subset
        true_in = (true >= 0) & (local[np.maximum(true, 0)] >= 0)
        mine = (local[lab] >= 0) & ~true_in
        if mine.any():
            rows.append(neg_X[mine])
            if noise_groups is not None and noise_centroids is not None:
                targets.append(n + np.argmax(neg_X[mine] @ np.asarray(noise_centroids).T, axis=1))
            else:
                targets.append(np.full(int(mine.sum()), n))
            weights.append(np.ones(int(mine.sum())))
    return np.vstack(rows), np.concatenate(targets), np.concatenate(weights), has_noise


def fit_one(X, t, w, C, max_iter, labels, has_noise, n_noise=1):
    classes = np.unique(t)
    n_noise = n_noise if has_noise else 0
    n_cols = len(labels) + n_noise
    if len(classes) == 1:  # degenerate: a single class seen; constant model
        coef = np.zeros((n_cols, X.shape[1]), dtype=np.float32)
        intercept = np.full(n_cols, -30.0, dtype=np.float32)
        intercept[classes[0]] = 0.0
        return SubsetModel(labels, coef, intercept, has_noise, max(1, n_noise))
    from .parallel import one_thread

    # lbfgs stops when the largest gradient entry is under ``tol``; at zero that entry shrinks as
    # 1/labels, so scikit-learn's 1e-4 ends a 3,000-label fit before its first step (n_iter 0,
    # chance accuracy, benchmarks/label_scale.py); scaled from 1,000 labels on
    clf = LogisticRegression(C=C, max_iter=max_iter, tol=1e-4 * min(1.0, 1000 / n_cols))
    # one thread: on these small problems BLAS/OpenMP threads cost far more than they give
    # (8× slower measured on 2 busy cores), and a worker process per subset already uses the cores
    import warnings

    with one_thread(), warnings.catch_warnings():
        # few rows per class (one-example labels) make scikit-learn wonder whether y is a regression target
        warnings.filterwarnings("ignore", message="The number of unique classes is greater than 50%")
        clf.fit(X, t, sample_weight=w)
    coef = np.zeros((n_cols, X.shape[1]), dtype=np.float32)
    intercept = np.full(n_cols, -30.0, dtype=np.float32)  # classes with no rows: never predicted
    if clf.coef_.shape[0] == 1:  # binary: sklearn stores one row for classes_[1]
        coef[clf.classes_[1]] = clf.coef_[0] / 2
        coef[clf.classes_[0]] = -clf.coef_[0] / 2
        intercept[clf.classes_[1]] = clf.intercept_[0] / 2
        intercept[clf.classes_[0]] = -clf.intercept_[0] / 2
    else:
        coef[clf.classes_] = clf.coef_
        intercept[clf.classes_] = clf.intercept_
    return SubsetModel(np.asarray(labels), coef, intercept, has_noise, max(1, n_noise))


def noise_groups_for(subset, label_vectors: np.ndarray, n_clusters: int, random_state: int):
    """Cluster the labels outside ``subset`` into NOISE sub-classes (k-means on label vectors).

    Returns (label -> sub-class with -1 inside the subset, unit centroids)."""
    from sklearn.cluster import KMeans

    n_labels = label_vectors.shape[0]
    others = np.setdiff1d(np.arange(n_labels), np.asarray(subset))
    groups = np.full(n_labels, -1, dtype=np.int64)
    k = min(n_clusters, len(others))
    if k <= 1:
        groups[others] = 0
        centroids = label_vectors[others].mean(axis=0, keepdims=True)
    else:
        km = KMeans(n_clusters=k, n_init=3, random_state=random_state).fit(label_vectors[others])
        groups[others] = km.labels_
        centroids = km.cluster_centers_
    centroids = centroids / np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    return groups, centroids.astype(np.float32)


def _noise_groups_chunk(subsets, label_vectors, n_clusters, random_state):
    """``noise_groups_for`` for several subsets, single-threaded: k-means on a thousand label
    vectors is far faster on one thread than with a thread pool per call (and it is
    deterministic then); the subsets themselves run in parallel across processes."""
    from .parallel import one_thread

    with one_thread():
        return [noise_groups_for(s, label_vectors, n_clusters, random_state) for s in subsets]


class SubsetEnsemble(BaseEstimator):
    """The per-subset classifiers of R.E.D., scikit-learn style.

    ``fit(X, y)`` takes embeddings and global label indices; ``predict_proba`` returns the
    ``(N, L)`` scores (each label's probability from its own subset's classifier, side by
    side) and, with ``return_noise=True``, whether every subset's classifier chose NOISE.
    """

    def __init__(self, subsets, n_labels, noise_factor=2.0, C=10.0, max_iter=1000,
                 random_state=0, n_jobs=None, noise_clusters=0, label_vectors=None, backend=None):
        self.subsets = subsets
        self.backend = backend
        self.n_labels = n_labels
        self.noise_clusters = noise_clusters
        self.label_vectors = label_vectors
        self.noise_factor = noise_factor
        self.C = C
        self.max_iter = max_iter
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X, y, *, sample_weight=None, neg_X=None, neg_label=None, neg_true=None):
        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y, dtype=np.int64)
        # NOISE sub-classes for subsets that leave labels out (a flat classifier has no NOISE)
        use_groups = bool(self.noise_clusters and self.noise_clusters > 1
                          and any(len(s) < self.n_labels for s in self.subsets))
        if use_groups and not hasattr(self, "noise_groups_"):
            if self.label_vectors is None:
                raise ValueError("noise_clusters needs label_vectors")
            self.noise_groups_ = self._noise_groups()
        # built one at a time as the backend takes them: at 1000 labels the 125 training sets
        # together weigh ~0.5 GB, one of them ~4 MB
        jobs = _TrainingJobs(self, X, y, sample_weight=sample_weight, neg_X=neg_X, neg_label=neg_label,
                             neg_true=neg_true, use_groups=use_groups)
        self.models_ = self._backend().map(fit_one, jobs, self._n_jobs())
        self.n_features_in_ = X.shape[1]
        return self

    def _n_jobs(self) -> int:
        from .parallel import default_n_jobs

        return self.n_jobs if self.n_jobs is not None else default_n_jobs()

    def _noise_groups(self) -> list:
        """NOISE sub-classes for every subset: k-means per subset, chunks of subsets in parallel."""
        lv = np.asarray(self.label_vectors)
        subsets = list(self.subsets)
        n_jobs = self._n_jobs()
        n_chunks = max(1, min(len(subsets), 4 * n_jobs))
        size = math.ceil(len(subsets) / n_chunks)
        chunks = [subsets[i:i + size] for i in range(0, len(subsets), size)]
        jobs = [(chunk, lv, self.noise_clusters, self.random_state) for chunk in chunks]
        return [g for part in self._backend().map(_noise_groups_chunk, jobs, n_jobs) for g in part]

    def _backend(self):
        return self.backend if self.backend is not None else _InProcess()

    def predict_proba(self, X, *, return_noise: bool = False):
        X = np.asarray(X, dtype=np.float32)
        scores, all_noise = self._backend().predict(self._scores, X)
        return (scores, all_noise) if return_noise else scores

    def predict_top(self, X, *, n_candidates: int = 5, uncertainty: str = "margin"):
        """``(candidates, candidate_scores, uncertainty, all_noise)`` for every row of ``X`` —
        what :func:`redtext.predict.combine` makes of :meth:`predict_proba`, computed block by
        block so the ``(N, L)`` scores never exist at once (memory stays linear in N)."""
        from functools import partial

        from .scoring import top_rows

        X = np.asarray(X, dtype=np.float32)
        fn = partial(top_rows, self._fused(), n_candidates=n_candidates, uncertainty=uncertainty)
        return self._backend().predict(fn, X)

    def _fused(self):
        from .scoring import FusedScorer

        key = (self.n_labels, tuple(id(m) for m in self.models_))
        cached = self.__dict__.get("_fused_cache")
        if cached is None or cached[0] != key:
            cached = (key, FusedScorer(self.models_, self.n_labels))
            self.__dict__["_fused_cache"] = cached
        return cached[1]

    def __getstate__(self):  # the fused weights are rebuilt where needed, never shipped twice
        state = dict(self.__dict__)
        state.pop("_fused_cache", None)
        return state

    def _scores(self, X):
        """(scores, all_noise) for a block of rows, in this process."""
        return self._fused().scores(np.asarray(X, dtype=np.float32))


class _TrainingJobs(Sequence):
    """The ``_fit_one`` argument tuples of an ensemble's subsets, each assembled when it is taken
    (a lazy sequence: a backend that consumes jobs one by one never holds them all)."""

    def __init__(self, ens: "SubsetEnsemble", X, y, *, sample_weight, neg_X, neg_label, neg_true, use_groups):
        self.ens = ens
        self.X, self.y = X, y
        self.kw = dict(sample_weight=sample_weight, neg_X=neg_X, neg_label=neg_label, neg_true=neg_true)
        self.use_groups = use_groups

    def __len__(self) -> int:
        return len(self.ens.subsets)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        i %= len(self)
        ens = self.ens
        subset = ens.subsets[i]
        rng = np.random.default_rng([int(ens.random_state), i])
        groups, centroids = ens.noise_groups_[i] if self.use_groups else (None, None)
        Xs, ts, ws, has_noise = assemble_training_set(
            self.X, self.y, subset, ens.n_labels, noise_factor=ens.noise_factor, rng=rng, noise_groups=groups,
            noise_centroids=centroids, **self.kw)
        n_noise = int(groups.max()) + 1 if groups is not None else 1
        return (Xs, ts, ws, ens.C, ens.max_iter, np.asarray(subset), has_noise, n_noise)


class _InProcess:
    """The default place to run: training in local processes, prediction in this one."""

    def map(self, fn, jobs, n_jobs):
        from .parallel import local_map

        return local_map(fn, jobs, n_jobs)

    def predict(self, predict_fn, X):
        return predict_fn(X)
