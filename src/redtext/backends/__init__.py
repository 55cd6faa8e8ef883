"""Where the heavy stages run: this process and its workers (``local``) or a Ray cluster (``ray``).

A backend is one small protocol with three methods; everything else in redtext stays the same:

* ``wrap_embedder(embedder)`` returns an embedder whose ``encode`` runs on the backend
  (the embedding cache wraps the result, so cached texts are never sent anywhere);
* ``map(fn, jobs, n_jobs)`` returns ``[fn(*job) for job in jobs]`` — used for subset training;
* ``predict(predict_fn, X)`` returns ``predict_fn(X)`` computed over row blocks of ``X``.
"""
from __future__ import annotations

from typing import Callable, Protocol, Sequence

import numpy as np

from ..errors import InputError

BACKENDS = ("local", "ray")


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
        n_jobs = max(1, min(int(n_jobs), len(jobs)))
        if n_jobs > 1:
            from joblib import Parallel, delayed

            return Parallel(n_jobs=n_jobs, backend="loky")(delayed(fn)(*j) for j in jobs)
        return [fn(*j) for j in jobs]

    def predict(self, predict_fn, X):
        return predict_fn(X)


def get_backend(spec: str | None = "local", address: str | None = None) -> Backend:
    """``local`` (default) or ``ray`` (``address``: ``auto``, ``HOST:PORT``, or None for a local Ray)."""
    if spec is not None and not isinstance(spec, str):  # a ready-made backend object
        return spec
    spec = (spec or "local").strip().lower()
    if spec == "local":
        if address:
            raise InputError("--address only applies to --backend ray")
        return LocalBackend()
    if spec == "ray":
        try:
            from .ray import RayBackend
        except ImportError as exc:  # ray itself missing
            raise InputError(f"--backend ray needs Ray: pip install 'redtext[ray]' ({exc})") from None
        return RayBackend(address=address)
    raise InputError(f"unknown backend {spec!r}; use {' or '.join(BACKENDS)}")
