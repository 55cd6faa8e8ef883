"""Build an embedder from a spec string (what ``--embedder`` takes)."""
from __future__ import annotations

from pathlib import Path

from ..errors import InputError

SPECS = ("minilm (default: all-MiniLM-L6-v2 as int8 ONNX, built locally once; alias onnx), "
         "minilm-torch (the same model in torch, ~3x slower), "
         "fast (a static model distilled locally from it once: ~50x the texts/s, ~3 points less accurate; "
         "pip install 'redtext[fast]'), hashing[:DIM] (tests and quick trials), "
         "or a local sentence-transformers model folder")

DEFAULT_ALIASES = ("minilm", "default", "onnx", "minilm-onnx", "all-MiniLM-L6-v2-onnx")
TORCH_ALIASES = ("minilm-torch", "torch", "all-MiniLM-L6-v2")
FAST_ALIASES = ("fast", "static", "minilm-static")


def get_embedder(spec: str | None = "minilm"):
    """``minilm``/``onnx``/None (default), ``minilm-torch``, ``fast``, ``hashing[:DIM]`` or a model folder."""
    spec = (spec or "minilm").strip()
    key = spec.lower()
    if key in DEFAULT_ALIASES:
        from .onnx import OnnxEmbedder

        return OnnxEmbedder()
    if key in TORCH_ALIASES:
        from .sentence import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder()
    if key in FAST_ALIASES:
        from .static import StaticEmbedder

        return StaticEmbedder()
    if key == "hashing" or key.startswith("hashing:"):
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
    if Path(spec).expanduser().is_dir():
        from .sentence import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(Path(spec).expanduser())
    raise InputError(f"unknown embedder {spec!r}; use {SPECS}")


# names of vectors made before `minilm` meant the ONNX export, mapped to the spec that makes them again
_SPEC_FOR_NAME = {"all-MiniLM-L6-v2": "minilm-torch", "all-MiniLM-L6-v2-onnx-int8": "minilm"}


def embedder_for_saved(spec: str | None, name: str | None):
    """The embedder that remakes vectors saved as ``name`` with ``spec`` (a model bundle's manifest).

    A bundle saved with spec ``minilm`` when that meant the torch model (name ``all-MiniLM-L6-v2``)
    gets the torch embedder, not today's ONNX default. Otherwise ``get_embedder(spec)``; the
    caller still compares names.
    """
    emb = get_embedder(spec)
    if name and emb.name != name and name in _SPEC_FOR_NAME:
        return get_embedder(_SPEC_FOR_NAME[name])
    return emb
