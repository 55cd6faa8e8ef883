"""The trainer of one fit: owns what every round's training shares.

The loop retrains the classifiers every round. What stays the same across those rounds lives
here, set once: the label subsets, the NOISE sub-classes (k-means on label vectors, clustered
on the first training and reused), and — when a model is grown — the subset classifiers that
are kept exactly as they were (``frozen``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .subsets import SubsetEnsemble


@dataclass(frozen=True)
class Negatives:
    """The expert's rejections as hard negatives: rows, the rejected label of each, and the label
    the expert later accepted for the same text (-1 when none)."""

    X: np.ndarray
    label: np.ndarray
    true: np.ndarray

    @staticmethod
    def none(dim: int) -> "Negatives":
        return Negatives(np.zeros((0, dim), dtype=np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64))


class Trainer:
    def __init__(self, subsets: list[list[int]], n_labels: int, *, label_vectors: np.ndarray, C: float,
                 noise_factor: float, noise_clusters: int, random_state: int, n_jobs: int | None, backend=None,
                 frozen: dict | None = None):
        self.subsets = [list(s) for s in subsets]
        self.n_labels = n_labels
        self.label_vectors = label_vectors
        self.C = C
        self.noise_factor = noise_factor
        self.noise_clusters = noise_clusters
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.backend = backend
        self.frozen = dict(frozen or {})     # subset number -> SubsetModel kept as it is
        self._noise_groups = None

    def fit(self, X: np.ndarray, y: np.ndarray, negatives: Negatives | None = None,
            weights: np.ndarray | None = None) -> SubsetEnsemble:
        """Classifiers for every subset, trained on ``(X, y)`` and the hard negatives."""
        train = [g for g in range(len(self.subsets)) if g not in self.frozen]
        ens = SubsetEnsemble([self.subsets[g] for g in train], self.n_labels, noise_factor=self.noise_factor,
                             C=self.C, random_state=self.random_state, n_jobs=self.n_jobs,
                             noise_clusters=self.noise_clusters, label_vectors=self.label_vectors,
                             backend=self.backend)
        if self._noise_groups is not None:
            ens.noise_groups_ = self._noise_groups
        neg = negatives if negatives is not None and len(negatives.label) else None
        ens.fit(X, y, sample_weight=weights, neg_X=None if neg is None else neg.X,
                neg_label=None if neg is None else neg.label, neg_true=None if neg is None else neg.true)
        self._noise_groups = getattr(ens, "noise_groups_", None)
        if not self.frozen:
            return ens
        fitted = dict(zip(train, ens.models_))
        full = SubsetEnsemble(self.subsets, self.n_labels, backend=self.backend)
        full.models_ = [self.frozen[g] if g in self.frozen else fitted[g] for g in range(len(self.subsets))]
        full.n_features_in_ = ens.n_features_in_
        return full
