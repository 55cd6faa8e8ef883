"""A small deterministic embedder: hashed character n-grams.

No model, no randomness, instant: used by the unit tests and for quick trials
(``--embedder hashing``). Texts that share character n-grams get similar vectors, so
it carries enough signal for tests that check the pipeline learns something.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .base import normalize_rows


class HashingEmbedder:
    def __init__(self, dim: int = 256, ngram_range: tuple[int, int] = (2, 4)):
        self.dim = dim
        self.ngram_range = ngram_range
        self.name = f"hashing-{dim}-{ngram_range[0]}-{ngram_range[1]}"
        self._vectorizer = None

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self._vectorizer is None:
            from sklearn.feature_extraction.text import HashingVectorizer

            self._vectorizer = HashingVectorizer(
                n_features=self.dim, analyzer="char_wb", ngram_range=self.ngram_range,
                alternate_sign=False, norm=None, lowercase=True)
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        x = self._vectorizer.transform(list(texts)).toarray().astype(np.float32)
        x = np.sqrt(x)  # damp frequent n-grams
        return normalize_rows(x)
