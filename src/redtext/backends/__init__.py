"""Where the heavy stages run: this process and its workers (``local``) or a Ray cluster (``ray``).

A backend is one small protocol with three methods; everything else in redtext stays the same:

* ``wrap_embedder(embedder)`` returns an embedder whose ``encode`` runs on the backend
  (the embedding cache wraps the result, so cached texts are never sent anywhere);
* ``map(fn, jobs, n_jobs)`` returns ``[fn(*job) for job in jobs]`` — used for subset training;
* ``predict(predict_fn, X)`` returns ``predict_fn(X)`` computed over row blocks of ``X``, the
  rows of every output in the order of ``X``.

:data:`BACKENDS` is the registry (a plain dict from name to builder ``(address) -> backend``);
:func:`redtext.testing.check_backend` checks a backend against the protocol.
"""
from __future__ import annotations

from typing import Callable, Protocol, Sequence

import numpy as np

from ..errors import InputError


class Backend(Protocol):
    name: str

    def wrap_embedder(self, embedder): ...

    def map(self, fn: Callable, jobs: Sequence[tuple], n_jobs: int) -> list: ...

    def predict(self, predict_fn: Callable[[np.ndarray], tuple], X: np.ndarray) -> tuple: ...


class LocalBackend:
    """This process, with joblib's process pool for subset training. Needs no Ray."""

    name = "local"

    def wrap_embedder(self, embedder):
        return embedder

    def map(self, fn, jobs, n_jobs):
        from ..core.parallel import local_map

        return local_map(fn, jobs, n_jobs)

    def predict(self, predict_fn, X):
        return predict_fn(X)


def _local(address: str | None) -> Backend:
    if address:
        raise InputError("--address only applies to --backend ray")
    return LocalBackend()


def _ray(address: str | None) -> Backend:
    try:
        from .ray import RayBackend
    except ImportError as exc:  # ray itself missing
        raise InputError(f"--backend ray needs Ray: pip install 'redtext[ray]' ({exc})") from None
    return RayBackend(address=address)


#: name -> builder(address)
BACKENDS: dict[str, Callable[[str | None], Backend]] = {"local": _local, "ray": _ray}


def get_backend(spec: str | None = "local", address: str | None = None) -> Backend:
    """``local`` (default) or ``ray`` (``address``: ``auto``, ``HOST:PORT``, or None for a local Ray);
    a ready-made backend object is returned as it is."""
    if spec is not None and not isinstance(spec, str):
        return spec
    name = (spec or "local").strip().lower()
    if name not in BACKENDS:
        raise InputError(f"unknown backend {spec!r}; use {' or '.join(BACKENDS)}")
    return BACKENDS[name](address)
