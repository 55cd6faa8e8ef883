"""An embedder wrapped with a content-hash cache, so each distinct text is embedded once per model."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .base import embed_with_progress

#: texts embedded (and stored) at a time: a killed run keeps every finished chunk
CHUNK = 4096


class CachedEmbedder:
    def __init__(self, embedder, cache, *, progress: bool = True):
        self.embedder = embedder
        self.cache = cache
        self.progress = progress
        self.name = embedder.name
        self.hits = 0
        self.misses = 0

    @property
    def dim(self) -> int:
        return self.embedder.dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        from ..io.embed_cache import text_key
        from ..progress import progress_bar

        texts = list(texts)
        keys = [text_key(t) for t in texts]
        found = self.cache.get_many(self.name, list(dict.fromkeys(keys)))
        lengths = {v.shape[0] for v in found.values()}
        if len(found) < len(set(keys)) or len(lengths) != 1:
            dim = self.dim  # loads the model only when something must be embedded
            found = {k: v for k, v in found.items() if v.shape[0] == dim}
        else:
            dim = lengths.pop()
        missing: dict[bytes, str] = {}
        for i, k in enumerate(keys):
            if k not in found:
                missing.setdefault(k, texts[i])
        self.hits += len(texts) - sum(1 for k in keys if k in missing)
        if missing:
            miss_keys = list(missing)
            self.misses += len(miss_keys)
            step = max(CHUNK, int(getattr(self.embedder, "chunk_size", 0) or 0))
            with progress_bar(f"embedding {len(miss_keys)} texts", total=len(miss_keys),
                              enabled=self.progress and len(miss_keys) > 512) as advance:
                for start in range(0, len(miss_keys), step):
                    part = miss_keys[start:start + step]
                    vecs = embed_with_progress(self.embedder, [missing[k] for k in part], progress=False)
                    self.cache.put_many(self.name, list(zip(part, vecs)))  # stored chunk by chunk
                    found.update(zip(part, vecs))
                    advance(len(part))
        out = np.empty((len(texts), dim), dtype=np.float32)
        for i, k in enumerate(keys):
            out[i] = found[k]
        return out
