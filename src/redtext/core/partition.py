"""Label vectors and the partition of the label space into dissimilar subsets.

Every label joins exactly one subset of at most ``subset_size`` labels. Labels are placed
one at a time, the most confusable first, each into the subset (with room) whose most
similar member is *least* similar to it — so near-identical labels end up in different
subsets, where their classifiers never have to tell them apart from each other. Similarity
is cosine between label vectors (:func:`redtext.core.vectors.label_vectors`), optionally after a
UMAP reduction (the article's choice; off by default, it measured no gain). Everything is
vectorised: O(L² · L/n) arithmetic in numpy, no Python-level pair lookups.
"""
from __future__ import annotations

import math

import numpy as np

from .vectors import normalize_rows


def reduce_vectors(vectors: np.ndarray, *, method: str | None = "umap", n_components: int = 10,
                   random_state: int = 0) -> np.ndarray:
    """Optionally reduce label vectors before measuring similarity (UMAP, cosine metric)."""
    n = vectors.shape[0]
    if method in (None, "none") or n <= n_components + 2:
        return vectors
    if method == "umap":
        import warnings

        import umap

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reducer = umap.UMAP(n_components=n_components, n_neighbors=min(15, n - 1),
                                metric="cosine", random_state=random_state, init="random",
                                n_jobs=1)
            return reducer.fit_transform(vectors).astype(np.float32)
    raise ValueError(f"unknown reduction {method!r}; use 'umap' or None")


def _subset_sizes(n_labels: int, n_subsets: int) -> np.ndarray:
    """Balanced target sizes: ``q`` or ``q + 1`` labels each."""
    q, r = divmod(n_labels, n_subsets)
    return np.array([q + 1] * r + [q] * (n_subsets - r), dtype=np.int64)


def _refine(sim: np.ndarray, assign: np.ndarray, n_subsets: int, max_swaps: int) -> np.ndarray:
    """Swap labels between subsets while that lowers the worst within-subset similarity."""
    n = len(assign)
    for _ in range(max_swaps):
        same = assign[:, None] == assign[None, :]
        np.fill_diagonal(same, False)
        conflict = np.where(same, sim, -np.inf).max(axis=1)       # each label's closest subset-mate
        i = int(np.argmax(conflict))
        worst = conflict[i]
        a = assign[i]
        # for every other label j (in subset b != a): i's closest mate in b without j,
        # and j's closest mate in a without i
        member = np.zeros((n_subsets, n), dtype=bool)
        member[assign, np.arange(n)] = True
        sims_i = np.where(member, sim[i][None, :], -np.inf)          # (m, n): i vs members of each subset
        top2 = -np.sort(-sims_i, axis=1)[:, :2]
        arg1 = np.argmax(sims_i, axis=1)
        b = assign
        i_in_b = np.where(arg1[b] == np.arange(n), top2[b, 1], top2[b, 0])
        mask_a = (assign == a)
        mask_a[i] = False
        j_in_a = np.where(mask_a[None, :], sim, -np.inf).max(axis=1)
        cost = np.maximum(i_in_b, j_in_a)
        cost[assign == a] = np.inf
        j = int(np.argmin(cost))
        if not cost[j] < worst - 1e-9:
            break
        assign[i], assign[j] = assign[j], a
    return assign


def partition_labels(vectors: np.ndarray, subset_size: int | None, *, reduce: str | None = None,
                     random_state: int = 0, max_swaps: int | None = None) -> list[list[int]]:
    """Split label indices ``0..L-1`` into subsets of at most ``subset_size`` dissimilar labels.

    Greedy placement (most confusable label first, each into the open subset whose most
    similar member is least similar to it), then swaps between subsets while they lower the
    worst within-subset similarity. Sizes are balanced (they differ by at most one).
    ``subset_size=None`` (or ≥ L) gives one subset holding every label: a flat classifier.
    Deterministic for a given ``random_state``.
    """
    n_labels = vectors.shape[0]
    if subset_size is None or subset_size >= n_labels:
        return [list(range(n_labels))]
    if subset_size < 1:
        raise ValueError("subset_size must be at least 1")
    n_subsets = math.ceil(n_labels / subset_size)
    targets = _subset_sizes(n_labels, n_subsets)
    space = reduce_vectors(vectors, method=reduce, random_state=random_state)
    space = normalize_rows(space - space.mean(axis=0)) if reduce not in (None, "none") else normalize_rows(space)
    sim = (space @ space.T).astype(np.float64)
    np.fill_diagonal(sim, -np.inf)
    # most confusable labels first; ties broken by a seeded shuffle
    rng = np.random.default_rng(random_state)
    tiebreak = rng.permutation(n_labels)
    order = np.lexsort((tiebreak, -sim.max(axis=1)))
    np.fill_diagonal(sim, 1.0)
    worst = np.full((n_labels, n_subsets), -np.inf, dtype=np.float64)  # max sim label->subset
    sizes = np.zeros(n_subsets, dtype=np.int64)
    assign = np.empty(n_labels, dtype=np.int64)
    for label in order:
        cost = worst[label].copy()
        cost[sizes >= targets] = np.inf
        # least-similar open subset; among equals (e.g. empty subsets) the emptiest one
        target = int(np.lexsort((sizes, cost))[0])
        assign[label] = target
        sizes[target] += 1
        np.maximum(worst[:, target], sim[:, label], out=worst[:, target])
    np.fill_diagonal(sim, -np.inf)
    assign = _refine(sim, assign, n_subsets, max_swaps if max_swaps is not None else 2 * n_labels)
    return [sorted(np.flatnonzero(assign == g).tolist()) for g in range(n_subsets)]
