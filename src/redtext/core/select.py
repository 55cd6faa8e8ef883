"""Uncertainty scores and budgeted selection — plain functions (modAL style).

Scoring and selection are separate: ``entropy``/``margin`` turn a score matrix into one
uncertainty per text; ``select`` picks which texts to ask about.
"""
from __future__ import annotations

import numpy as np


def _as_distribution(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    total = scores.sum(axis=1, keepdims=True)
    total[total == 0] = 1.0
    return scores / total


def entropy(scores: np.ndarray) -> np.ndarray:
    """Shannon entropy (nats) of each row, after normalising the row to sum to 1."""
    p = _as_distribution(scores)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(p > 0, np.log(p), 0.0)
    return -(p * logs).sum(axis=1)


def margin(scores: np.ndarray) -> np.ndarray:
    """Uncertainty as ``1 - (p1 - p2)``: 1 when the top two candidates tie, 0 when one wins outright."""
    p = _as_distribution(scores)
    if p.shape[1] < 2:
        return np.zeros(p.shape[0])
    top2 = -np.partition(-p, 1, axis=1)[:, :2]
    return 1.0 - (top2[:, 0] - top2[:, 1])


def runner_up(scores: np.ndarray) -> np.ndarray:
    """The normalised probability of the second-best candidate: the expected number of
    corrections one question about this text buys (a "no" to the best candidate moves the
    label to the runner-up; a "yes" to the runner-up fixes the label outright)."""
    p = _as_distribution(scores)
    if p.shape[1] < 2:
        return np.zeros(p.shape[0])
    return -np.partition(-p, 1, axis=1)[:, 1]


def gain_from_top3(p1: np.ndarray, p2: np.ndarray, p3: np.ndarray) -> np.ndarray:
    """:func:`gain` from each row's three best normalised probabilities."""
    p1, p2, p3 = (np.asarray(v, dtype=np.float64) for v in (p1, p2, p3))
    calls = 1.0 + (1.0 - p1) + np.clip(1.0 - p1 - p2, 0.0, None)
    return (p2 + p3) / calls


def reach_from_top3(p1: np.ndarray, p2: np.ndarray, p3: np.ndarray) -> np.ndarray:
    """:func:`reach` from each row's three best normalised probabilities."""
    p1, p2, p3 = (np.asarray(v, dtype=np.float64) for v in (p1, p2, p3))
    return (1.0 - (p1 - p2)) * np.clip(p1 + p2 + p3, 0.0, 1.0)


def reach(scores: np.ndarray) -> np.ndarray:
    """Margin uncertainty times the chance the expert can settle the text at all:
    ``(1 - (p1 - p2)) × (p1 + p2 + p3)``, the second factor being the probability that the
    gold label is among the (at most three) candidates the loop asks about. With tens of labels
    the top three hold nearly all the mass and this ranks like ``margin``; with hundreds of
    labels, where ``margin`` is near 1 for every text whose probability is spread thin, it
    prefers texts a question can actually resolve."""
    top = _top3(scores)
    return reach_from_top3(top[:, 0], top[:, 1], top[:, 2])


def _top3(scores: np.ndarray) -> np.ndarray:
    p = _as_distribution(scores)
    n = p.shape[0]
    top = -np.sort(-p, axis=1)[:, :3]
    if top.shape[1] < 3:
        top = np.hstack([top, np.zeros((n, 3 - top.shape[1]))])
    return top


def gain(scores: np.ndarray) -> np.ndarray:
    """Expected corrections per expert call when the loop asks about a text's candidates best
    first and stops at the first "yes" (at most three questions): a correction happens when the
    2nd or 3rd candidate is right, and the calls expected are ``1 + P(1st wrong) + P(1st and 2nd
    wrong)``. Unlike ``margin``, a text whose probability is spread thin over many labels scores
    low — questions about it are mostly answered "no" — which matters with hundreds of labels."""
    top = _top3(scores)
    return gain_from_top3(top[:, 0], top[:, 1], top[:, 2])


UNCERTAINTY = {"entropy": entropy, "margin": margin, "runner_up": runner_up, "gain": gain, "reach": reach}


#: ``auto`` uses margin while at least this share of seed texts has its label among the 3 nearest centroids
AUTO_MIN_TOP3_RECALL = 0.75


def top3_recall(X: np.ndarray, y: np.ndarray, n_labels: int, *, block: int = 4096) -> float | None:
    """Leave-one-out estimate of how often a text's label is among its three best candidates:
    each labelled row against every label's centroid, its own label's centroid recomputed without
    it. Rows of labels with a single example are skipped; None when no row is left."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if len(y) == 0 or n_labels < 2:
        return None
    sums = np.zeros((n_labels, X.shape[1]))
    np.add.at(sums, y, X)
    counts = np.bincount(y, minlength=n_labels).astype(np.float64)
    cent = sums / np.maximum(counts, 1.0)[:, None]
    cent /= np.maximum(np.linalg.norm(cent, axis=1, keepdims=True), 1e-12)
    cent[counts == 0] = 0.0
    hits, used = 0, 0
    for a in range(0, len(y), block):
        xb, yb = X[a:a + block], y[a:a + block]
        keep = counts[yb] > 1
        if not keep.any():
            continue
        xb, yb = xb[keep], yb[keep]
        sims = xb @ cent.T
        own = (sums[yb] - xb) / (counts[yb] - 1.0)[:, None]
        own_sim = np.einsum("ij,ij->i", xb, own) / np.maximum(np.linalg.norm(own, axis=1), 1e-12)
        sims[np.arange(len(yb)), yb] = own_sim
        # the label is in the top 3 when fewer than 3 other labels score above it
        hits += int(((sims > own_sim[:, None]).sum(axis=1) < 3).sum())
        used += len(yb)
    return hits / used if used else None


def resolve_auto(X_seed: np.ndarray, y_seed: np.ndarray, n_labels: int) -> tuple[str, float | None]:
    """The selection score ``auto`` stands for, and the recall estimate it rests on.

    Margin asks about texts whose two best candidates are close — worth a question only when the
    right label is usually among the candidates asked. When a leave-one-out check on the seed
    (:func:`top3_recall`) finds it outside the top three for more than a quarter of texts, as with
    870 fine-grained occupations (0.67), margin spends the budget on texts no question can settle,
    and ranking by the runner-up's probability — the chance the next question corrects the label —
    wins (BENCHMARKS.md). On clinc150 and banking77 the estimate is 0.80–0.99 from 3 to 30
    examples per label, and margin wins there."""
    recall = top3_recall(X_seed, y_seed, n_labels)
    if recall is None or recall >= AUTO_MIN_TOP3_RECALL:
        return "margin", recall
    return "runner_up", recall


def select(uncertainty: np.ndarray, k: int, *, groups: np.ndarray | None = None,
           eligible: np.ndarray | None = None, pool_factor: float = 2.0) -> np.ndarray:
    """Indices of up to ``k`` texts to send to the expert, most useful first.

    Without ``groups``: the ``k`` most uncertain eligible texts. With ``groups`` (e.g. the
    subset of each text's top candidate): among the ``pool_factor × k`` most uncertain
    texts, take them round-robin across groups — each group's most uncertain first — so no
    subset starves while a few noisy ones hog the budget.
    """
    u = np.asarray(uncertainty, dtype=np.float64)
    idx = np.arange(len(u)) if eligible is None else np.flatnonzero(eligible)
    if k <= 0 or len(idx) == 0:
        return np.zeros(0, dtype=np.int64)
    order = idx[np.argsort(-u[idx], kind="stable")]
    if groups is None:
        return order[:k]
    shortlist = order[:max(k, int(np.ceil(pool_factor * k)))]
    g = np.asarray(groups)[shortlist]
    # rank of each text inside its group (0 = the group's most uncertain)
    rank = np.empty(len(shortlist), dtype=np.int64)
    sort_g = np.argsort(g, kind="stable")
    g_sorted = g[sort_g]
    starts = np.r_[0, np.flatnonzero(np.diff(g_sorted)) + 1]
    counts = np.diff(np.r_[starts, len(g_sorted)])
    rank[sort_g] = np.arange(len(g_sorted)) - np.repeat(starts, counts)
    picked = shortlist[np.lexsort((np.arange(len(shortlist)), rank))]
    return picked[:k]
