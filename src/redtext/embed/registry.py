"""Build an embedder from a spec string (what ``--embedder`` takes)."""
from __future__ import annotations

from pathlib import Path

from ..errors import InputError

SPECS = "minilm (default), onnx (the same model as int8 ONNX, ~2x faster), hashing, or a local sentence-transformers model folder"


def get_embedder(spec: str | None = "minilm"):
    spec = (spec or "minilm").strip()
    if spec in ("minilm", "default", "all-MiniLM-L6-v2"):
        from .sentence import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder()
    if spec in ("onnx", "minilm-onnx"):
        from .onnx import OnnxEmbedder

        return OnnxEmbedder()
    if spec == "hashing" or spec.startswith("hashing:"):
        from .hashing import HashingEmbedder

        dim = 256
        if ":" in spec:
            try:
                dim = int(spec.split(":", 1)[1])
            except ValueError:
                dim = 0
            if not 1 <= dim <= 1_000_000:
                raise InputError(f"--embedder {spec}: expected hashing:DIM with DIM a whole number from 1 to 1000000")
        return HashingEmbedder(dim=dim)
    if Path(spec).is_dir():
        from .sentence import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(spec)
    raise InputError(f"unknown embedder {spec!r}; use {SPECS}")
