"""One classifier per label subset, each with an extra NOISE class.

For a subset of ``n`` labels the classifier has ``n + 1`` classes: its labels plus NOISE.
NOISE rows are drawn from the other subsets' examples, oversampled (with replacement when
there are too few) to ``noise_factor`` × the subset's mean class size, plus the *hard
negatives* the expert produced: pool texts it rejected for one of this subset's labels.
Subsets train in parallel across processes (joblib/loky).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression

NOISE = "__noise__"


@dataclass
class SubsetModel:
    """A fitted subset classifier reduced to plain arrays (cheap to ship, save and apply)."""

    labels: np.ndarray      # global label indices, in column order
    coef: np.ndarray        # (n_classes, dim)
    intercept: np.ndarray   # (n_classes,)
    has_noise: bool         # last column is NOISE

    def proba(self, X: np.ndarray) -> np.ndarray:
        logits = X @ self.coef.T + self.intercept
        if logits.shape[1] == 1:  # binary problem stored sklearn-style
            logits = np.hstack([-logits, logits]) / 2
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=1, keepdims=True)
        return logits


def assemble_training_set(X, y, subset, n_labels, *, noise_factor, rng, neg_X=None, neg_label=None,
                          neg_true=None, sample_weight=None):
    """Rows, local targets and weights for one subset. Local targets ``0..n-1`` are the
    subset's labels in order; ``n`` is NOISE."""
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
    if has_noise:
        mean_size = len(pos_idx) / n
        n_noise = max(1, int(round(noise_factor * mean_size)))
        pick = rng.choice(out_idx, size=n_noise, replace=n_noise > len(out_idx))
        rows.append(X[pick])
        targets.append(np.full(len(pick), n))
        weights.append(np.ones(len(pick)))
        if neg_X is not None and len(neg_X):
            lab = np.asarray(neg_label, dtype=np.int64)
            true = np.asarray(neg_true, dtype=np.int64) if neg_true is not None else np.full(len(lab), -1)
            # a rejected text is NOISE for the subset of the rejected label, unless the
            # expert since placed it under another label of the same subset
            true_in = (true >= 0) & (local[np.maximum(true, 0)] >= 0)
            mine = (local[lab] >= 0) & ~true_in
            if mine.any():
                rows.append(neg_X[mine])
                targets.append(np.full(int(mine.sum()), n))
                weights.append(np.ones(int(mine.sum())))
    return np.vstack(rows), np.concatenate(targets), np.concatenate(weights), has_noise


def _fit_one(X, t, w, C, max_iter, labels, has_noise):
    classes = np.unique(t)
    if len(classes) == 1:  # degenerate: a single class seen; constant model
        n_cols = len(labels) + (1 if has_noise else 0)
        coef = np.zeros((n_cols, X.shape[1]), dtype=np.float32)
        intercept = np.full(n_cols, -30.0, dtype=np.float32)
        intercept[classes[0]] = 0.0
        return SubsetModel(labels, coef, intercept, has_noise)
    clf = LogisticRegression(C=C, max_iter=max_iter)
    clf.fit(X, t, sample_weight=w)
    n_cols = len(labels) + (1 if has_noise else 0)
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
    return SubsetModel(np.asarray(labels), coef, intercept, has_noise)


def default_n_jobs() -> int:
    env = os.environ.get("REDTEXT_JOBS")
    if env:
        return max(1, int(env))
    return max(1, os.cpu_count() or 1)


class SubsetEnsemble(BaseEstimator):
    """The per-subset classifiers of R.E.D., scikit-learn style.

    ``fit(X, y)`` takes embeddings and global label indices; ``predict_proba`` returns the
    ``(N, L)`` scores (each label's probability from its own subset's classifier, side by
    side) and, with ``return_noise=True``, whether every subset's classifier chose NOISE.
    """

    def __init__(self, subsets, n_labels, noise_factor=2.0, C=10.0, max_iter=1000,
                 random_state=0, n_jobs=None):
        self.subsets = subsets
        self.n_labels = n_labels
        self.noise_factor = noise_factor
        self.C = C
        self.max_iter = max_iter
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X, y, *, sample_weight=None, neg_X=None, neg_label=None, neg_true=None):
        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y, dtype=np.int64)
        jobs = []
        for i, subset in enumerate(self.subsets):
            rng = np.random.default_rng([int(self.random_state), i])
            Xs, ts, ws, has_noise = assemble_training_set(
                X, y, subset, self.n_labels, noise_factor=self.noise_factor, rng=rng, neg_X=neg_X,
                neg_label=neg_label, neg_true=neg_true, sample_weight=sample_weight)
            jobs.append((Xs, ts, ws, self.C, self.max_iter, np.asarray(subset), has_noise))
        n_jobs = self.n_jobs if self.n_jobs is not None else default_n_jobs()
        n_jobs = min(n_jobs, len(jobs))
        if n_jobs > 1:
            from joblib import Parallel, delayed

            self.models_ = Parallel(n_jobs=n_jobs, backend="loky")(delayed(_fit_one)(*j) for j in jobs)
        else:
            self.models_ = [_fit_one(*j) for j in jobs]
        self.n_features_in_ = X.shape[1]
        return self

    def predict_proba(self, X, *, return_noise: bool = False):
        X = np.asarray(X, dtype=np.float32)
        scores = np.zeros((X.shape[0], self.n_labels), dtype=np.float32)
        all_noise = np.ones(X.shape[0], dtype=bool)
        for m in self.models_:
            p = m.proba(X)
            scores[:, m.labels] = p[:, :len(m.labels)]
            if m.has_noise:
                all_noise &= p.argmax(axis=1) == len(m.labels)
            else:
                all_noise[:] = False
        return (scores, all_noise) if return_noise else scores
