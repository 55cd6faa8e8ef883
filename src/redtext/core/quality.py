"""Quality control: questions whose answers are known, mixed into the ordinary rounds.

From the seed: a seed text with its own label (the right answer is yes) and with its *hardest*
wrong label — the one a classifier that never saw the text ranks highest among the wrong labels
(the nearest other label's centroid): the right answer is no. Such
questions look exactly like the others (a text is never shown as an example in its own
question). Their answers measure the expert's ``tpr`` and ``fpr`` on plausible wrong labels —
exactly where an expert's errors sit (:mod:`.evidence`).

One negative is asked for every positive: the false-positive rate weighs every "yes", and the
true-positive rate is what the audit's correction is most sensitive to (with most delivered
labels right, the estimate moves almost one for one with it).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Check:
    """A known-answer question: seed row ``row`` asked about ``label``; ``positive`` = the right answer is yes."""

    row: int
    label: int
    positive: bool


def centroids(X: np.ndarray, y: np.ndarray, n_labels: int, *, allowed: np.ndarray | None = None) -> np.ndarray:
    """Unit centroids of the labels (rows of zeros for labels with no rows or not ``allowed``)."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    sums = np.zeros((n_labels, X.shape[1]))
    np.add.at(sums, y, X)
    cent = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    if allowed is not None:
        cent[~np.asarray(allowed, dtype=bool)] = 0.0
    return cent


def hardest_wrong_labels(X: np.ndarray, y: np.ndarray, n_labels: int, *, allowed: np.ndarray | None = None,
                         block: int = 4096) -> np.ndarray:
    """For each labelled row, the wrong label (among ``allowed``, a bool per label) whose centroid
    is nearest — a nearest-centroid classifier that never saw the row."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    sums = np.zeros((n_labels, X.shape[1]))
    np.add.at(sums, y, X)
    counts = np.bincount(y, minlength=n_labels).astype(np.float64)
    cent = sums / np.maximum(counts, 1.0)[:, None]
    cent /= np.maximum(np.linalg.norm(cent, axis=1, keepdims=True), 1e-12)
    sims_empty = counts == 0
    if allowed is not None:
        sims_empty = sims_empty | ~np.asarray(allowed, dtype=bool)
    out = np.empty(len(y), dtype=np.int64)
    for a in range(0, len(y), block):
        xb, yb = X[a:a + block], y[a:a + block]
        sims = xb @ cent.T
        sims[:, sims_empty] = -np.inf
        sims[np.arange(len(yb)), yb] = -np.inf   # the right label is not a candidate for "wrong"
        out[a:a + block] = np.argmax(sims, axis=1)
    return out


def plan_checks(X_seed: np.ndarray, y_seed: np.ndarray, n_labels: int, seed: int,
                allowed: np.ndarray | None = None) -> list[Check]:
    """Every known-answer question the seed offers, in the order they are asked: a shuffled seed,
    each text once, a positive and a negative in turn. With ``allowed`` (a bool per label:
    the labels the expert may be asked about) only those labels' texts and wrong labels."""
    y_seed = np.asarray(y_seed, dtype=np.int64)
    rows = np.arange(len(y_seed)) if allowed is None else np.flatnonzero(np.asarray(allowed, dtype=bool)[y_seed])
    n_allowed = n_labels if allowed is None else int(np.asarray(allowed, dtype=bool).sum())
    if n_allowed < 2 or len(rows) == 0:
        return []
    rng = np.random.default_rng([int(seed), 17])
    order = rows[rng.permutation(len(rows))]
    wrong = hardest_wrong_labels(X_seed, y_seed, n_labels, allowed=allowed)
    checks = []
    for k, i in enumerate(order):
        i = int(i)
        if k % 2 == 0:
            checks.append(Check(i, int(y_seed[i]), True))
        else:
            checks.append(Check(i, int(wrong[i]), False))
    return checks


def schedule(total: int, rounds_hint: int, round_no: int, done: int) -> int:
    """Known-answer questions for round ``round_no``: 40 % of them in round 0 (the rates weigh
    every later answer), the rest spread over the next rounds."""
    if total <= 0 or done >= total:
        return 0
    if round_no == 0:
        return min(total, max(1, int(round(0.4 * total))))
    later = max(1, rounds_hint - 1)
    return min(total - done, max(1, -(-(total - int(round(0.4 * total))) // later)))
