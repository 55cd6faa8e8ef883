"""Combine subset outputs into ranked candidates, a label, a confidence and an uncertainty."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .select import UNCERTAINTY, gain_from_top3, reach_from_top3

#: rows per block when combining: the block's temporaries stay in cache and memory stays bounded
_BLOCK_FLOATS = 2_000_000


@dataclass
class Predictions:
    """What the classifiers say about N texts over L labels (label indices, not names)."""

    proba: np.ndarray | None  # (N, L) combined scores normalised per row; None when computed compactly
    candidates: np.ndarray   # (N, k) label indices, best first
    candidate_scores: np.ndarray  # (N, k)
    label: np.ndarray        # (N,) chosen label index (the best candidate)
    confidence: np.ndarray   # (N,) probability of the chosen label
    uncertainty: np.ndarray  # (N,) entropy (or margin) of the combined distribution
    all_noise: np.ndarray    # (N,) True when every subset's classifier said NOISE

    def __len__(self) -> int:
        return len(self.label)


def _top_k(proba: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best columns of each row, best first; equal scores in column order (as a stable
    sort would give)."""
    n, n_labels = proba.shape
    if k >= n_labels or 4 * k > n_labels:
        cands = np.argsort(-proba, axis=1, kind="stable")[:, :k]
        return cands, np.take_along_axis(proba, cands, axis=1)
    rows = np.arange(n)
    work = proba.copy()
    cands = np.empty((n, k), dtype=np.int64)
    scores = np.empty((n, k), dtype=proba.dtype)
    for j in range(k):
        best = work.argmax(axis=1)
        cands[:, j] = best
        scores[:, j] = proba[rows, best]
        work[rows, best] = -np.inf
    return cands, scores


def combine_block(scores: np.ndarray, *, n_candidates: int = 5, uncertainty: str = "entropy",
                  keep_proba: bool = True):
    """``(proba or None, candidates, candidate_scores, uncertainty)`` for one block of rows.

    The margin, runner-up, gain and reach uncertainties come from the two (three) best candidates and the row total,
    with the same arithmetic :func:`redtext.select.margin` applies to the whole row."""
    scores = np.asarray(scores, dtype=np.float32)
    n_labels = scores.shape[1]
    total = scores.sum(axis=1, keepdims=True)
    total[total <= 0] = 1.0
    proba = scores / total
    k = min(n_candidates, n_labels)
    uncertainty_fn = UNCERTAINTY[uncertainty]
    from_top = uncertainty in ("margin", "runner_up", "gain", "reach") and n_labels >= 2
    n_top = 3 if uncertainty in ("gain", "reach") else 2
    cands, cand_scores = _top_k(proba, max(k, min(n_top, n_labels)) if from_top else k)
    if from_top:
        row_total = proba.astype(np.float64).sum(axis=1)
        row_total[row_total == 0] = 1.0
        first = cand_scores[:, 0].astype(np.float64) / row_total
        second = cand_scores[:, 1].astype(np.float64) / row_total
        if uncertainty in ("gain", "reach"):
            third = cand_scores[:, 2].astype(np.float64) / row_total if n_labels >= 3 else np.zeros(len(first))
            unc = (gain_from_top3 if uncertainty == "gain" else reach_from_top3)(first, second, third)
        else:
            unc = 1.0 - (first - second) if uncertainty == "margin" else second
        cands, cand_scores = cands[:, :k], cand_scores[:, :k]
    else:
        unc = uncertainty_fn(proba)
    return (proba if keep_proba else None), cands, cand_scores, np.asarray(unc, dtype=np.float64)


def combine(scores: np.ndarray, all_noise: np.ndarray | None = None, *, n_candidates: int = 5,
            uncertainty: str = "entropy") -> Predictions:
    """Rank candidates from side-by-side subset scores.

    ``scores`` holds each label's probability from its own subset's classifier;
    ``all_noise`` marks texts for which every subset's classifier chose NOISE. Such a text still
    gets ranked candidates and a label (the best guess), flagged with ``all_noise``.
    """
    scores = np.asarray(scores, dtype=np.float32)
    n, n_labels = scores.shape
    k = min(n_candidates, n_labels)
    proba = np.empty((n, n_labels), dtype=np.float32)
    candidates = np.empty((n, k), dtype=np.int64)
    cand_scores = np.empty((n, k), dtype=np.float32)
    unc = np.empty(n, dtype=np.float64)

    def work(start, end):
        proba[start:end], candidates[start:end], cand_scores[start:end], unc[start:end] = combine_block(
            scores[start:end], n_candidates=n_candidates, uncertainty=uncertainty)

    from .parallel import each_block

    each_block(n, max(1, _BLOCK_FLOATS // max(1, n_labels)), work)
    all_noise = np.zeros(n, dtype=bool) if all_noise is None else np.asarray(all_noise, dtype=bool)
    return Predictions(proba=proba, candidates=candidates, candidate_scores=cand_scores,
                       label=candidates[:, 0], confidence=cand_scores[:, 0],
                       uncertainty=unc, all_noise=all_noise)


def predict_compact(model, X: np.ndarray, *, n_candidates: int = 5, uncertainty: str = "entropy") -> Predictions:
    """:func:`combine` of ``model.predict_proba(X)`` without the dense ``(N, L)`` matrix.

    Uses ``model.predict_top`` when the model has it (a :class:`~redtext.core.subsets.SubsetEnsemble`),
    otherwise row blocks of ``predict_proba``. The result's ``proba`` is None."""
    X = np.asarray(X, dtype=np.float32)
    if hasattr(model, "predict_top"):
        candidates, cand_scores, unc, all_noise = model.predict_top(X, n_candidates=n_candidates,
                                                                    uncertainty=uncertainty)
    else:
        parts = []
        step = 8192
        for start in range(0, max(1, X.shape[0]), step):
            scores, noise = model.predict_proba(X[start:start + step], return_noise=True)
            _, c, s, u = combine_block(scores, n_candidates=n_candidates, uncertainty=uncertainty, keep_proba=False)
            parts.append((c, s, u, np.asarray(noise, dtype=bool)))
        candidates, cand_scores, unc, all_noise = (np.concatenate(z) for z in zip(*parts))
    return Predictions(proba=None, candidates=candidates, candidate_scores=cand_scores,
                       label=candidates[:, 0], confidence=cand_scores[:, 0],
                       uncertainty=np.asarray(unc, dtype=np.float64), all_noise=np.asarray(all_noise, dtype=bool))


def calibrated(pred: Predictions, n_labels: int, sharpness: float) -> Predictions:
    """``pred`` with its probabilities calibrated by ``sharpness`` (the power the expert's answers
    measured, :func:`redtext.core.evidence.fit_sharpness`): the candidates' scores and the
    confidence as a run delivers them; the dense ``proba`` (when present) renormalised to the same
    power. Labels and candidates' order do not change."""
    from dataclasses import replace

    from .evidence import sharpen

    if sharpness == 1.0:
        return pred
    scores = sharpen(pred.candidate_scores, n_labels, sharpness).astype(pred.candidate_scores.dtype)
    proba = None
    if pred.proba is not None:
        proba = sharpen(pred.proba, n_labels, sharpness).astype(pred.proba.dtype)
    return replace(pred, candidate_scores=scores, confidence=scores[:, 0].copy(), proba=proba)
