"""The embedder protocol."""
from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from ..core.vectors import normalize_rows  # noqa: F401  (embedders normalise with it)


@runtime_checkable
class Embedder(Protocol):
    """Anything that maps texts to vectors.

    ``name`` identifies the model *and* any setting that changes its vectors; it is part of
    every cache key, so two embedders with the same name must give the same vectors.
    ``encode`` returns an ``(len(texts), dim)`` float32 array of L2-normalised rows.
    """

    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def embed_with_progress(embedder: Embedder, texts: Sequence[str], *, batch_size: int = 512,
                        description: str = "embedding", progress: bool = True) -> np.ndarray:
    """Encode ``texts`` in batches, showing a progress bar when there is more than one batch."""
    from ..progress import progress_bar

    batch_size = int(getattr(embedder, "chunk_size", batch_size))  # e.g. a Ray embedder wants big chunks
    out = np.empty((len(texts), embedder.dim), dtype=np.float32)
    if len(texts) == 0:
        return out
    # chunks of similar length pad less; rows go back to their places
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    with progress_bar(description, total=len(texts), enabled=progress and len(texts) > batch_size) as advance:
        for start in range(0, len(texts), batch_size):
            rows = order[start:start + batch_size]
            out[rows] = embedder.encode([texts[i] for i in rows])
            advance(len(rows))
    return out
