"""Label vectors and the partition of the label space into dissimilar subsets.

Every label joins exactly one subset of at most ``subset_size`` labels. Labels are placed
one at a time, the most confusable first, each into the subset (with room) whose most
similar member is *least* similar to it — so near-identical labels end up in different
subsets, where their classifiers never have to tell them apart from each other. Similarity
is cosine between label vectors, optionally after a UMAP reduction. Everything is
vectorised: O(L² · L/n) arithmetic in numpy, no Python-level pair lookups.
"""
from __future__ import annotations

import math

import numpy as np

from .embed.base import normalize_rows


def label_vectors(X: np.ndarray, y: np.ndarray, n_labels: int, *,
                  description_vectors: np.ndarray | None = None,
                  description_weight: float = 0.0) -> np.ndarray:
    """One unit vector per label: the mean of its examples, optionally blended with the
    embedding of its description (rows of ``description_vectors`` that are all zero mean
    "no description" and leave the mean alone)."""
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y)
    sums = np.zeros((n_labels, X.shape[1]), dtype=np.float64)
    np.add.at(sums, y, X)
    counts = np.bincount(y, minlength=n_labels).astype(np.float64)
    means = sums / np.maximum(counts, 1)[:, None]
    means = normalize_rows(means)
    if description_vectors is not None and description_weight > 0:
        d = np.asarray(description_vectors, dtype=np.float32)
        has = np.linalg.norm(d, axis=1) > 0
        blended = means.copy()
        blended[has] = (1 - description_weight) * means[has] + description_weight * normalize_rows(d[has])
        means = normalize_rows(blended)
    return means.astype(np.float32)


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


def partition_labels(vectors: np.ndarray, subset_size: int | None, *, reduce: str | None = "umap",
                     random_state: int = 0) -> list[list[int]]:
    """Split label indices ``0..L-1`` into subsets of at most ``subset_size`` dissimilar labels.

    ``subset_size=None`` (or ≥ L) gives one subset holding every label: a flat classifier.
    Deterministic for a given ``random_state``.
    """
    n_labels = vectors.shape[0]
    if subset_size is None or subset_size >= n_labels:
        return [list(range(n_labels))]
    if subset_size < 1:
        raise ValueError("subset_size must be at least 1")
    n_subsets = math.ceil(n_labels / subset_size)
    capacity = math.ceil(n_labels / n_subsets)  # balanced sizes, never above subset_size
    space = reduce_vectors(vectors, method=reduce, random_state=random_state)
    space = normalize_rows(space - space.mean(axis=0)) if reduce not in (None, "none") else normalize_rows(space)
    sim = space @ space.T
    np.fill_diagonal(sim, -np.inf)
    # most confusable labels first; ties broken by a seeded shuffle
    rng = np.random.default_rng(random_state)
    tiebreak = rng.permutation(n_labels)
    order = np.lexsort((tiebreak, -sim.max(axis=1)))
    np.fill_diagonal(sim, 1.0)
    worst = np.full((n_labels, n_subsets), -np.inf, dtype=np.float64)  # max sim label->subset
    sizes = np.zeros(n_subsets, dtype=np.int64)
    members: list[list[int]] = [[] for _ in range(n_subsets)]
    for label in order:
        cost = worst[label].copy()
        cost[sizes >= capacity] = np.inf
        # least-similar subset; among equals (e.g. empty subsets) the fullest-but-open one
        target = int(np.lexsort((-sizes, cost))[0])
        members[target].append(int(label))
        sizes[target] += 1
        np.maximum(worst[:, target], sim[:, label], out=worst[:, target])
    return [sorted(m) for m in members if m]
