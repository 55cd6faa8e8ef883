"""Build an embedder from a spec string (what ``--embedder`` takes): the :data:`EMBEDDERS` registry.

A plain dict from name to builder; the built-ins use it like any addition would:
``EMBEDDERS["mine"] = lambda arg: MyEmbedder(arg)`` makes ``--embedder mine[:ARG]`` work.
Aliases map other spellings to a name. A spec that names no entry but an existing folder is
a local sentence-transformers model.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..errors import InputError

SPECS = ("minilm (default: all-MiniLM-L6-v2 as ONNX with per-token int8, built locally once; alias onnx), "
         "minilm-torch (the same model in torch, ~3x slower), "
         "fast (a static model distilled locally from it once: ~50x the texts/s, ~3 points less accurate; "
         "pip install 'redtext[fast]'), hashing[:DIM] (tests and quick trials), "
         "or a local sentence-transformers model folder")


def _onnx(arg: str | None):
    from .onnx import OnnxEmbedder

    return OnnxEmbedder()


def _onnx_dynamic(arg: str | None):
    from .onnx import OnnxEmbedder

    return OnnxEmbedder(quantization="dynamic")


def _torch(arg: str | None):
    from .sentence import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


def _fast(arg: str | None):
    from .static import StaticEmbedder

    return StaticEmbedder()


def _hashing(arg: str | None):
    from .hashing import HashingEmbedder

    dim = 256
    if arg is not None:
        try:
            dim = int(arg)
        except ValueError:
            dim = 0
        if not 1 <= dim <= 1_000_000:
            raise InputError(f"--embedder hashing:{arg}: expected hashing:DIM with DIM a whole number from 1 to 1000000")
    return HashingEmbedder(dim=dim)


#: name -> builder(argument after ":" or None)
EMBEDDERS: dict[str, Callable[[str | None], object]] = {
    "minilm": _onnx,
    "minilm-int8": _onnx_dynamic,  # the default before 0.2: batch-dependent, kept for bundles saved with it
    "minilm-torch": _torch,
    "fast": _fast,
    "hashing": _hashing,
}
ALIASES = {"default": "minilm", "onnx": "minilm", "minilm-onnx": "minilm", "all-minilm-l6-v2-onnx": "minilm",
           "torch": "minilm-torch", "all-minilm-l6-v2": "minilm-torch", "static": "fast", "minilm-static": "fast"}


def get_embedder(spec: str | None = "minilm"):
    """The embedder ``spec`` names: a registry entry (``NAME`` or ``NAME:ARG``), or a model folder."""
    spec = (spec or "minilm").strip()
    name, _, arg = spec.partition(":")
    key = ALIASES.get(name.lower(), name.lower())
    if key in EMBEDDERS and (arg or ":" not in spec):
        return EMBEDDERS[key](arg or None)
    if Path(spec).expanduser().is_dir():
        from .sentence import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(Path(spec).expanduser())
    if key in EMBEDDERS:  # "NAME:" with an empty argument
        return EMBEDDERS[key]("")
    raise InputError(f"unknown embedder {spec!r}; use {SPECS}")


# names of vectors made by earlier defaults, mapped to the spec that makes them again
_SPEC_FOR_NAME = {"all-MiniLM-L6-v2": "minilm-torch", "all-MiniLM-L6-v2-onnx-int8": "minilm-int8"}


def spec_for_saved(spec: str | None, name: str | None) -> str | None:
    """The spec that remakes vectors saved as ``name`` with ``spec`` (a model bundle's manifest):
    a bundle saved with spec ``minilm`` when that meant the torch model (name ``all-MiniLM-L6-v2``)
    needs ``minilm-torch``, not today's default. Otherwise ``spec`` itself."""
    if spec and name and name in _SPEC_FOR_NAME and get_embedder(spec).name != name:
        return _SPEC_FOR_NAME[name]
    return spec


def embedder_for_saved(spec: str | None, name: str | None):
    """The embedder :func:`spec_for_saved` names; the caller still compares names."""
    return get_embedder(spec_for_saved(spec, name))
