"""Texts that occur more than once in a pool: the first copy stands for all of them."""
from __future__ import annotations

import numpy as np


def duplicate_groups(texts: list[str]) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """``rep[i]``: the first index holding text ``i``; and for each text that occurs more than
    once, representative -> all its indices (ascending). One sort, not one scan per text."""
    first: dict[str, int] = {}
    rep = np.empty(len(texts), dtype=np.int64)
    for i, t in enumerate(texts):
        rep[i] = first.setdefault(t, i)
    dup = np.flatnonzero(rep != np.arange(len(texts)))
    if len(dup) == 0:
        return rep, {}
    idx = np.flatnonzero(np.isin(rep, np.unique(rep[dup])))
    order = idx[np.argsort(rep[idx], kind="stable")]
    keys = rep[order]
    starts = np.r_[0, np.flatnonzero(np.diff(keys)) + 1]
    return rep, {int(keys[a]): order[a:b] for a, b in zip(starts, np.r_[starts[1:], len(order)])}
