"""Combine subset outputs into ranked candidates, a label, a confidence and an uncertainty."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .select import UNCERTAINTY


@dataclass
class Predictions:
    """What the classifiers say about N texts over L labels (label indices, not names)."""

    proba: np.ndarray        # (N, L) combined scores normalised per row
    candidates: np.ndarray   # (N, k) label indices, best first
    candidate_scores: np.ndarray  # (N, k)
    label: np.ndarray        # (N,) chosen label index (the best candidate)
    confidence: np.ndarray   # (N,) probability of the chosen label
    uncertainty: np.ndarray  # (N,) entropy (or margin) of the combined distribution
    all_noise: np.ndarray    # (N,) True when every subset's classifier said NOISE

    def __len__(self) -> int:
        return len(self.label)


def combine(scores: np.ndarray, all_noise: np.ndarray | None = None, *, n_candidates: int = 5,
            uncertainty: str = "entropy") -> Predictions:
    """Rank candidates from side-by-side subset scores.

    ``scores`` holds each label's probability from its own subset's classifier;
    ``all_noise`` marks texts for which every subset's classifier chose NOISE. Such a text every subset calls NOISE still gets ranked
    candidates and a label (the best guess), flagged with ``all_noise``.
    """
    scores = np.asarray(scores, dtype=np.float32)
    n, n_labels = scores.shape
    total = scores.sum(axis=1, keepdims=True)
    total[total <= 0] = 1.0
    proba = scores / total
    k = min(n_candidates, n_labels)
    if k < n_labels:
        part = np.argpartition(-proba, k - 1, axis=1)[:, :k]
    else:
        part = np.tile(np.arange(n_labels), (n, 1))
    part_scores = np.take_along_axis(proba, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    candidates = np.take_along_axis(part, order, axis=1)
    cand_scores = np.take_along_axis(part_scores, order, axis=1)
    all_noise = np.zeros(n, dtype=bool) if all_noise is None else np.asarray(all_noise, dtype=bool)
    return Predictions(proba=proba, candidates=candidates, candidate_scores=cand_scores,
                       label=candidates[:, 0], confidence=cand_scores[:, 0],
                       uncertainty=UNCERTAINTY[uncertainty](proba), all_noise=all_noise)
