"""Unit vectors: row normalisation and one vector per label."""
from __future__ import annotations

import numpy as np


def normalize_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (all-zero rows stay zero), as float32."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return x / norms


def label_vectors(X: np.ndarray, y: np.ndarray, n_labels: int) -> np.ndarray:
    """One unit vector per label: the mean of its examples' embeddings (zero for a label with none)."""
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    sums = np.zeros((n_labels, X.shape[1]), dtype=np.float64)
    np.add.at(sums, y, X)
    counts = np.bincount(y, minlength=n_labels).astype(np.float64)
    return normalize_rows(sums / np.maximum(counts, 1)[:, None]).astype(np.float32)
