"""Growing a trained model: new labels placed into subsets, only the changed subsets retrained.

``redtext add-classes`` and ``redtext retrain`` start from a saved model bundle. The bundle
keeps its training rows (texts, labels, vectors), so the subsets that must change can be
retrained without the original run, while every other subset keeps its classifier exactly —
old labels keep their behaviour.

Placement follows the partition's own rule: new labels, the most confusable first, each go
into the subset with room whose most similar member is *least* similar to it. A new subset
is opened when no subset has room, or when every subset with room already holds a label
more similar to the newcomer than any pair the existing partition put together (the worst
conflict the partition accepted is the bar).
"""
from __future__ import annotations

import numpy as np


def place_labels(vectors: np.ndarray, subsets: list[list[int]], new_labels: list[int],
                 subset_size: int | None) -> tuple[list[list[int]], set[int]]:
    """Place ``new_labels`` (indices into ``vectors``) into ``subsets``.

    Returns the new subsets (existing ones keep their order and members; new ones come
    last) and the set of subset numbers that changed (took a label or are new)."""
    subsets = [list(s) for s in subsets]
    changed: set[int] = set()
    if not new_labels:
        return subsets, changed
    vectors = np.asarray(vectors, dtype=np.float64)
    if subset_size is None:  # one flat classifier: it takes every label
        subsets[0].extend(new_labels)
        subsets[0].sort()
        return subsets, {0}
    sim = vectors @ vectors.T
    # the worst within-subset similarity the existing partition accepted
    bar = -np.inf
    for s in subsets:
        if len(s) > 1:
            block = sim[np.ix_(s, s)].copy()
            np.fill_diagonal(block, -np.inf)
            bar = max(bar, float(block.max()))
    new = np.asarray(new_labels, dtype=np.int64)
    old = np.setdiff1d(np.concatenate([np.asarray(s, dtype=np.int64) for s in subsets] or [np.zeros(0, np.int64)]),
                       new)
    closeness = sim[np.ix_(new, old)].max(axis=1) if len(old) else np.zeros(len(new))
    for label in new[np.argsort(-closeness, kind="stable")]:
        label = int(label)
        best, best_cost = None, np.inf
        for g, members in enumerate(subsets):
            if len(members) >= subset_size:
                continue
            cost = float(sim[label, members].max()) if members else -np.inf
            if cost < best_cost or (cost == best_cost and best is not None and len(members) < len(subsets[best])):
                best, best_cost = g, cost
        if best is None or (np.isfinite(bar) and best_cost > bar):
            subsets.append([label])
            changed.add(len(subsets) - 1)
        else:
            subsets[best].append(label)
            subsets[best].sort()
            changed.add(best)
    return subsets, changed


def subsets_holding(subsets: list[list[int]], labels) -> set[int]:
    """Numbers of the subsets that hold any of ``labels``."""
    wanted = set(int(x) for x in labels)
    return {g for g, members in enumerate(subsets) if wanted.intersection(members)}
