"""Every subset classifier applied at once, block by block (:class:`FusedScorer`)."""
from __future__ import annotations

import numpy as np


def top_rows(scorer: "FusedScorer", X, *, n_candidates: int, uncertainty: str):
    return scorer.top(np.asarray(X, dtype=np.float32), n_candidates=n_candidates, uncertainty=uncertainty)


class FusedScorer:
    """Every subset classifier as one weight matrix.

    Column ``j * S + g`` holds slot ``j`` of subset ``g`` (``S`` subsets): slots ``0..nmax-1``
    are the subset's labels, the rest its NOISE sub-classes; slots a subset does not use have
    zero weights and a ``-inf`` bias, so they vanish in the softmax. One matrix product scores
    a block of rows for all subsets, and each subset's softmax is a reduction over the middle
    axis of a ``(rows, slots, S)`` view. Gives what :meth:`SubsetModel.proba` gives, model by
    model (up to float rounding).
    """

    #: floats of the per-block logit matrix (rows × columns); bounds memory and stays cache-friendly
    BLOCK_FLOATS = 4_000_000

    def __init__(self, models, n_labels: int):
        models = list(models)
        S = len(models)
        if S == 0:
            raise ValueError("no subset models")
        parts = []
        for m in models:
            coef = np.asarray(m.coef, dtype=np.float32)
            intercept = np.asarray(m.intercept, dtype=np.float32).reshape(-1)
            if coef.shape[0] == 1:  # a binary model stored sklearn-style: [label, NOISE] = [-z/2, z/2]
                coef = np.vstack([-coef, coef]) / 2
                intercept = np.r_[-intercept, intercept] / 2
            parts.append((np.asarray(m.labels, dtype=np.int64), coef, intercept))
        dim = parts[0][1].shape[1]
        nmax = max(len(lab) for lab, _, _ in parts)
        rmax = max(c.shape[0] - len(lab) for lab, c, _ in parts)
        slots = nmax + rmax
        W = np.zeros((slots, S, dim), dtype=np.float32)
        b = np.full((slots, S), -np.inf, dtype=np.float32)
        label_col = np.full(n_labels, -1, dtype=np.int64)
        for g, (lab, coef, intercept) in enumerate(parts):
            n = len(lab)
            W[:n, g] = coef[:n]
            b[:n, g] = intercept[:n]
            r = coef.shape[0] - n
            W[nmax:nmax + r, g] = coef[n:]
            b[nmax:nmax + r, g] = intercept[n:]
            label_col[lab] = np.arange(n) * S + g  # a label in two subsets: the later one wins
        self.n_subsets = S
        self.n_labels = n_labels
        self.nmax = nmax
        self.slots = slots
        # float64 products, rounded to float32 at the end: a float32 matrix product gives a row a
        # result that depends (in the last bits) on where the row sits in its block, so the same
        # text classified among other texts could score differently; in float64 the rounding to
        # float32 hides that — a text's scores depend on the text alone (BENCHMARKS: ~3x the
        # product's time, a small share of a round)
        self.WT = np.ascontiguousarray(W.reshape(slots * S, dim).T, dtype=np.float64)
        self.bias = b.reshape(slots * S).astype(np.float64)
        self.covered = np.flatnonzero(label_col >= 0)
        self.label_col = label_col[self.covered]
        self.label_subset = self.label_col % S
        self.all_covered = len(self.covered) == n_labels
        self.every_subset_has_noise = all(bool(m.has_noise) for m in models)

    def block_rows(self) -> int:
        """Rows per block: a power of two that divides :data:`~redtext.core.parallel.ALIGN_ROWS`, so
        a backend that cuts the rows into multiples of it scores every row in the same block as
        this process does."""
        from .parallel import ALIGN_ROWS

        fit = max(64, self.BLOCK_FLOATS // (2 * self.slots * self.n_subsets))  # float64: half the rows
        return min(ALIGN_ROWS, 1 << (fit.bit_length() - 1))

    def _block(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(scores (B, L) float32, all_noise (B,)) for one block of rows."""
        B = X.shape[0]
        S = self.n_subsets
        Z = np.asarray(X, dtype=np.float64) @ self.WT
        Z += self.bias
        Z3 = Z.reshape(B, self.slots, S)
        Z3 -= Z3.max(axis=1, keepdims=True)
        np.exp(Z, out=Z)
        total = Z3.sum(axis=1)                                   # (B, S): each subset's softmax denominator
        if self.slots > self.nmax and self.every_subset_has_noise:
            noise = Z3[:, self.nmax:, :].sum(axis=1)
            labels_max = Z3[:, :self.nmax, :].max(axis=1)
            # a subset "says NOISE" when its NOISE sum beats every one of its labels (argmax, labels first)
            all_noise = (noise > labels_max).all(axis=1)
        else:
            all_noise = np.zeros(B, dtype=bool)
        picked = Z[:, self.label_col]
        picked /= total[:, self.label_subset]
        picked = picked.astype(np.float32)
        if self.all_covered:
            return picked, all_noise
        scores = np.zeros((B, self.n_labels), dtype=np.float32)
        scores[:, self.covered] = picked
        return scores, all_noise

    def _each_block(self, n: int, work) -> None:
        from .parallel import each_block

        each_block(n, self.block_rows(), work)

    def scores(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Dense ``(N, L)`` scores and the all-NOISE flags, computed block by block."""
        n = X.shape[0]
        scores = np.empty((n, self.n_labels), dtype=np.float32)
        all_noise = np.empty(n, dtype=bool)

        def work(start, end):
            scores[start:end], all_noise[start:end] = self._block(X[start:end])

        self._each_block(n, work)
        return scores, all_noise

    def top(self, X: np.ndarray, *, n_candidates: int, uncertainty: str):
        """Compact predictions for every row: (candidates, candidate_scores, uncertainty, all_noise)."""
        from .predict import combine_block

        n = X.shape[0]
        k = max(1, min(n_candidates, self.n_labels))
        cands = np.empty((n, k), dtype=np.int64)
        cand_scores = np.empty((n, k), dtype=np.float32)
        unc = np.empty(n, dtype=np.float64)
        all_noise = np.empty(n, dtype=bool)

        def work(start, end):
            s, all_noise[start:end] = self._block(X[start:end])
            _, cands[start:end], cand_scores[start:end], unc[start:end] = combine_block(
                s, n_candidates=n_candidates, uncertainty=uncertainty, keep_proba=False)

        self._each_block(n, work)
        return cands, cand_scores, unc, all_noise
