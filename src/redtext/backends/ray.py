"""The Ray back-end: embedding and prediction through Ray Data, subset training as Ray tasks.

``RayBackend(address=None)`` implements the three methods of :class:`redtext.backends.Backend`:

* ``wrap_embedder(embedder)`` — an embedder with the same ``name`` and ``dim`` whose ``encode``
  sends blocks of texts through ``Dataset.map_batches`` to a pool of Ray actors; each actor builds
  its embedder once (from its ``--embedder`` spec when it has one, so a model folder is resolved
  on the worker; otherwise the object itself is shipped). Rows come back in input order, float32.
* ``map(fn, jobs, n_jobs)`` — one Ray task per job, results in job order; a large array shared by
  several jobs goes into the object store once.
* ``predict(predict_fn, X)`` — ``predict_fn`` applied to row blocks of ``X`` with Ray Data and
  reassembled in row order. Inputs under ``local_rows`` rows run in this process (a Ray Data job
  costs seconds of scheduling; a few thousand rows cost milliseconds here).

Ray starts on first use, never at construction: ``ray.init(address=...)`` for ``auto``,
``HOST:PORT`` or ``ray://HOST:PORT``; otherwise a Ray on this machine with every core, no dashboard,
no usage reporting, worker logs kept out of the terminal. A Ray already running in this process is
used as it is and never shut down by redtext.

Tuning (constructor arguments, or these environment variables when the backend is built from
``--backend ray``): ``REDTEXT_RAY_LOCAL_ROWS`` (rows under which ``predict`` stays in-process,
default 4096), ``REDTEXT_RAY_BLOCK_ROWS`` (rows per prediction block, default 4096, rounded up to
a multiple of 4096 so that every row is scored in the same block as on the driver),
``REDTEXT_RAY_EMBED_ROWS`` (texts per embedding block, default 1024).
"""
from __future__ import annotations

import contextlib
import logging
import os
import socket
import weakref
from typing import Any, Callable, Sequence

import numpy as np

import ray  # an ImportError here is turned into "install redtext[ray]" by get_backend

from ..errors import InputError, RedtextError, error_text

_FIX = ("start a cluster with `ray start --head` and pass --address auto on its head node, or the "
        "head node's HOST:PORT (port 6379 unless you chose another); omit --address for a Ray on this machine")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InputError(f"{name}={raw!r} must be a whole number") from None
    if value < 0:
        raise InputError(f"{name}={raw!r} must be ≥ 0")
    return value


def _split_host_port(address: str) -> tuple[str, int] | None:
    """``HOST:PORT`` (``ray://`` prefix and ``[v6]`` hosts allowed) → (host, port), else None."""
    rest = address[len("ray://"):] if address.startswith("ray://") else address
    host, sep, port = rest.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536 or "/" in host:
        return None
    return host, int(port)


def check_address(address: str | None) -> str | None:
    """The ``--address`` as given (None/``auto``/``local``/``HOST:PORT``/``ray://HOST:PORT``), or InputError."""
    if address is None:
        return None
    address = str(address).strip()
    if address == "":
        return None
    if address in ("auto", "local") or _split_host_port(address) is not None:
        return address
    raise InputError(f"--address {address!r} is not a Ray address: use auto (the cluster started on this "
                     "machine with `ray start --head`) or the head node's HOST:PORT, e.g. 10.0.0.5:6379")


def _probe(address: str, timeout: float = 5.0) -> None:
    """Fail fast (one line) when nothing listens at ``address``; Ray itself retries for minutes."""
    target = None
    if not address.startswith("ray://"):
        try:  # resolves ``auto`` and localhost the way ray.init will (a private helper; optional)
            from ray._private.services import canonicalize_bootstrap_address

            target = canonicalize_bootstrap_address(address)
        except (ImportError, AttributeError):
            target = None if address == "auto" else address
        except Exception as exc:
            if address == "auto":
                target = None
            else:
                raise InputError(f"cannot use Ray address {address!r} ({error_text(exc, 200)}); {_FIX}") from None
        if target is None:
            if address == "auto":
                raise InputError(f"--address auto: no Ray cluster is running on this machine; {_FIX}")
            return
    else:
        target = address
    parsed = _split_host_port(target)
    if parsed is None:
        return  # let ray.init judge it
    host, port = parsed
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError(f"cannot reach a Ray cluster at {address} ({host}:{port}: {reason}); {_FIX}") from None


def _unwrap(exc: BaseException) -> BaseException | None:
    """The redtext error inside a Ray task/Data failure, if any (so the CLI prints its one line)."""
    seen = set()
    stack = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, RedtextError) and not isinstance(e, ray.exceptions.RayError):
            return e
        stack.extend([getattr(e, "cause", None), e.__cause__, e.__context__])
    return None


@contextlib.contextmanager
def _redtext_errors():
    """Re-raise the redtext error a Ray failure wraps, so the CLI prints its one line."""
    try:
        yield
    except Exception as exc:
        inner = _unwrap(exc)
        if inner is not None and inner is not exc:
            raise inner from None
        raise


@contextlib.contextmanager
def _quiet_data():
    """Ray Data logs each execution at INFO; keep the terminal for redtext's own lines."""
    logger = logging.getLogger("ray.data")
    old = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(old)


def _quiet(ds):
    ctx = ds.context
    ctx.enable_progress_bars = False
    if hasattr(ctx, "print_on_execution_start"):
        ctx.print_on_execution_start = False
    return ds


# -- worker-side code: what Ray Data runs on each block ------------------------------------------

class _EmbedBlocks:
    """A Ray Data actor: builds the embedder once, then encodes one block of texts per call."""

    def __init__(self, source, dim: int, rows: int):
        if isinstance(source, str):
            from ..embed import get_embedder

            source = get_embedder(source)
        self.embedder = source
        self.dim = int(dim)
        self.rows = int(rows)

    def __call__(self, batch: dict) -> dict:
        starts, counts, vecs = [], [], []
        for start, texts in zip(batch["start"], batch["texts"]):
            texts = [bytes(t).decode("utf-8", "surrogatepass") for t in texts]
            v = np.asarray(self.embedder.encode(texts), dtype=np.float32)
            if v.shape != (len(texts), self.dim):
                raise RuntimeError(f"embedder {getattr(self.embedder, 'name', '?')} gave shape {v.shape} for "
                                   f"{len(texts)} texts on a Ray worker, expected (n, {self.dim})")
            padded = np.zeros((self.rows, self.dim), dtype=np.float32)
            padded[:len(texts)] = v
            starts.append(int(start))
            counts.append(len(texts))
            vecs.append(padded)
        return {"start": np.asarray(starts, dtype=np.int64), "n": np.asarray(counts, dtype=np.int64),
                "vec": np.stack(vecs)}


class _PredictBlocks:
    """A Ray Data actor: fetches ``predict_fn`` once, then applies it to one (zero-padded) row
    block per call; every output is padded back to the block's rows."""

    def __init__(self, holder: list):
        # the ObjectRef arrives inside a list, so Ray does not resolve it before __init__: a
        # predict_fn that cannot be unpickled here fails the job at once instead of being retried
        fn = holder[0]
        self.predict_fn = ray.get(fn) if isinstance(fn, ray.ObjectRef) else fn

    def __call__(self, batch: dict) -> dict:
        outs: list[list[np.ndarray]] = []
        single = False
        for x, n in zip(batch["x"], batch["n"]):
            x, n = np.asarray(x), int(n)
            res = self.predict_fn(x[:n])
            single = not isinstance(res, tuple)
            padded = []
            for r in ((res,) if single else res):
                r = np.asarray(r)
                p = np.zeros((x.shape[0],) + r.shape[1:], dtype=r.dtype)
                p[:n] = r
                padded.append(p)
            outs.append(padded)
        result = {"start": np.asarray(batch["start"], dtype=np.int64),
                  "n": np.asarray(batch["n"], dtype=np.int64), "single": np.full(len(outs), single)}
        for k in range(len(outs[0]) if outs else 0):
            result[f"out{k}"] = np.stack([o[k] for o in outs])
        return result


_REMOTE_CALL = None  # ray.remote(_call), made once per process


def _call(fn, *args):
    """A Ray task: ``fn(*args)`` (any callable, builtins included; ObjectRef arguments arrive resolved)."""
    return fn(*args)


# -- the driver side ------------------------------------------------------------------------------

def _spec_of(embedder) -> str | None:
    """The ``--embedder`` spec that rebuilds ``embedder`` on a worker, or None (ship the object)."""
    from ..embed import get_embedder

    candidates = []
    spec = getattr(embedder, "spec", None)
    if isinstance(spec, str) and spec:
        candidates.append(spec)
    kind = type(embedder).__name__
    if kind == "HashingEmbedder":
        candidates.append(f"hashing:{int(embedder.dim)}")
    elif kind == "OnnxEmbedder":
        candidates += ["minilm", "onnx"]
    elif kind == "StaticEmbedder":
        candidates += ["fast"]
    elif kind == "SentenceTransformerEmbedder":
        candidates += ["minilm-torch", "minilm"]
        path = getattr(embedder, "path", None)
        if path is not None:
            candidates.append(str(path))
    for spec in candidates:
        try:
            rebuilt = get_embedder(spec)
        except Exception:
            continue
        if type(rebuilt) is type(embedder) and rebuilt.name == embedder.name and \
                getattr(rebuilt, "ngram_range", None) == getattr(embedder, "ngram_range", None):
            return spec
    return None


class RayEmbedder:
    """``embedder`` with its ``encode`` run on Ray; same ``name`` and ``dim``, rows in input order."""

    def __init__(self, backend: "RayBackend", embedder, spec: str | None):
        self.backend = backend
        self.embedder = embedder
        self.spec = spec
        self.name = embedder.name

    @property
    def dim(self) -> int:
        return int(self.embedder.dim)

    @property
    def chunk_size(self) -> int:
        """Texts worth sending per ``encode`` call (a Ray Data job costs seconds to start), for
        callers that chunk their input (``embed_with_progress`` uses 512 unless told otherwise)."""
        return max(1, self.backend.embed_rows) * 64

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.backend._embed(self.spec if self.spec is not None else self.embedder, texts, self.dim)

    def __repr__(self) -> str:
        return f"RayEmbedder({self.name!r}, spec={self.spec!r})"


class RayBackend:
    """Embedding and prediction through Ray Data, subset training as Ray tasks (see the module doc)."""

    name = "ray"

    def __init__(self, address: str | None = None, *, local_rows: int | None = None,
                 block_rows: int | None = None, embed_rows: int | None = None, embed_cpus: float = 1.0):
        self.address = check_address(address)
        self.local_rows = _env_int("REDTEXT_RAY_LOCAL_ROWS", 4096) if local_rows is None else int(local_rows)
        from ..core.parallel import ALIGN_ROWS

        rows = max(1, _env_int("REDTEXT_RAY_BLOCK_ROWS", ALIGN_ROWS) if block_rows is None else int(block_rows))
        # a multiple of ALIGN_ROWS: rows are scored in the same blocks, to the bit, as locally
        self.block_rows = -(-rows // ALIGN_ROWS) * ALIGN_ROWS
        self.embed_rows = max(1, _env_int("REDTEXT_RAY_EMBED_ROWS", 1024) if embed_rows is None else int(embed_rows))
        self.embed_cpus = float(embed_cpus)
        self._started = False  # True when this backend started the Ray it uses

    def __getstate__(self):  # shipped inside estimators to workers: parameters only
        return {k: v for k, v in self.__dict__.items() if k != "_started"} | {"_started": False}

    # -- connection --------------------------------------------------------------------------
    def connect(self) -> "RayBackend":
        """Start or join Ray now (done on first use anyway); a failure is one InputError line."""
        if ray.is_initialized():
            return self  # the user's Ray (or ours from an earlier call): use it as it is
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        address = self.address
        if address is None and os.environ.get("RAY_ADDRESS"):
            address = check_address(os.environ["RAY_ADDRESS"])
        common = dict(ignore_reinit_error=True, log_to_driver=False, logging_level=logging.ERROR)
        if address and address != "local":
            _probe(address)
            try:
                ray.init(address=address, **common)
            except Exception as exc:
                raise InputError(f"cannot connect to the Ray cluster at {address} ({error_text(exc, 200)}); {_FIX}") from None
        else:
            try:
                ray.init(address="local", num_cpus=os.cpu_count() or 1, include_dashboard=False, **common)
            except Exception as exc:
                raise InputError(f"cannot start Ray on this machine ({error_text(exc, 200)}); free some memory or "
                                 "disk under /tmp, or start one yourself with `ray start --head` and pass "
                                 "--address auto") from None
            self._started = True
        return self

    def shutdown(self) -> None:
        """Stop the Ray this backend started (a Ray started by anyone else is left alone)."""
        if self._started and ray.is_initialized():
            ray.shutdown()
        self._started = False

    def _cpus(self) -> int:
        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    # -- the three protocol methods ------------------------------------------------------------
    def wrap_embedder(self, embedder):
        from ..embed.cached import CachedEmbedder

        if isinstance(embedder, RayEmbedder):
            return embedder
        if isinstance(embedder, CachedEmbedder):
            if isinstance(embedder.embedder, RayEmbedder):
                return embedder
            return CachedEmbedder(self.wrap_embedder(embedder.embedder), embedder.cache, progress=embedder.progress)
        return RayEmbedder(self, embedder, _spec_of(embedder))

    def map(self, fn: Callable, jobs: Sequence[tuple], n_jobs: int = 1) -> list:
        """``[fn(*job) for job in jobs]`` as Ray tasks, results in job order; Ray's scheduler, not
        ``n_jobs``, sets the parallelism. Jobs are taken one at a time (a lazy sequence is never
        held whole here): each job's big arrays go to the object store as it is submitted, and an
        array that several jobs share is put there once."""
        global _REMOTE_CALL
        self.connect()
        if _REMOTE_CALL is None:
            _REMOTE_CALL = ray.remote(num_cpus=1)(_call)
        shared: dict[int, tuple[Any, Any]] = {}  # id -> (weak reference to the array, its ObjectRef)

        def share(arg):
            if not (isinstance(arg, np.ndarray) and arg.nbytes >= 1 << 20):
                return arg  # small: inlined in the task
            hit = shared.get(id(arg))
            if hit is not None and hit[0]() is arg:
                return hit[1]
            ref = ray.put(arg)
            try:
                shared[id(arg)] = (weakref.ref(arg), ref)
            except TypeError:  # an array type without weak references: no sharing, still correct
                pass
            return ref

        refs = [_REMOTE_CALL.remote(fn, *[share(a) for a in job]) for job in jobs]
        shared.clear()
        if not refs:
            return []
        with _redtext_errors():
            return ray.get(refs)

    def predict(self, predict_fn: Callable, X: np.ndarray):
        X = np.asarray(X)
        n = X.shape[0]
        if n == 0 or n < self.local_rows:
            return predict_fn(X)
        self.connect()
        import ray.data

        B = min(self.block_rows, n)
        items = []
        for start in range(0, n, B):
            block = X[start:start + B]
            if block.shape[0] < B:  # equal block shapes: one tensor type for the whole dataset
                block = np.concatenate([block, np.zeros((B - block.shape[0],) + X.shape[1:], dtype=X.dtype)])
            items.append({"start": start, "n": min(B, n - start), "x": block})
        fn_ref = ray.put(predict_fn)
        with _quiet_data():
            ds = _quiet(ray.data.from_items(items, override_num_blocks=len(items)))
            ds = _quiet(ds.map_batches(
                _PredictBlocks, fn_constructor_args=([fn_ref],), batch_size=1, batch_format="numpy",
                compute=ray.data.ActorPoolStrategy(min_size=1, max_size=max(1, min(len(items), self._cpus()))),
                num_cpus=1))
            outputs: list | None = None
            single = False
            filled = 0
            with _redtext_errors():
                for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
                    keys = sorted((k for k in batch if k.startswith("out")), key=lambda k: int(k[3:]))
                    if outputs is None:
                        outputs = [np.empty((n,) + batch[k].shape[2:], dtype=batch[k].dtype) for k in keys]
                        single = bool(batch["single"][0])
                    for i, (start, cnt) in enumerate(zip(batch["start"], batch["n"])):
                        start, cnt = int(start), int(cnt)
                        for out, k in zip(outputs, keys):
                            out[start:start + cnt] = batch[k][i][:cnt]
                        filled += cnt
        if outputs is None or filled != n:
            raise RuntimeError(f"Ray Data returned {filled} of {n} predicted rows")
        return outputs[0] if single else tuple(outputs)

    # -- embedding (called by RayEmbedder.encode) ------------------------------------------------
    def _embed(self, source, texts: list[str], dim: int) -> np.ndarray:
        self.connect()
        import ray.data

        n = len(texts)
        B = self.embed_rows
        # texts travel as UTF-8 bytes: Arrow strings reject the lone surrogates JSON input can hold
        items = [{"start": s, "texts": [t.encode("utf-8", "surrogatepass") for t in texts[s:s + B]]}
                 for s in range(0, n, B)]
        actors = max(1, min(len(items), int(self._cpus() // max(self.embed_cpus, 1e-9))))
        out = np.empty((n, dim), dtype=np.float32)
        filled = 0
        with _quiet_data():
            ds = _quiet(ray.data.from_items(items, override_num_blocks=len(items)))
            ds = _quiet(ds.map_batches(
                _EmbedBlocks, fn_constructor_args=(source, dim, B), batch_size=1, batch_format="numpy",
                compute=ray.data.ActorPoolStrategy(min_size=1, max_size=actors), num_cpus=self.embed_cpus))
            with _redtext_errors():
                for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
                    for start, cnt, vec in zip(batch["start"], batch["n"], batch["vec"]):
                        start, cnt = int(start), int(cnt)
                        out[start:start + cnt] = vec[:cnt]
                        filled += cnt
        if filled != n:
            raise RuntimeError(f"Ray Data returned {filled} of {n} embedded texts")
        return out

    def __repr__(self) -> str:
        return f"RayBackend(address={self.address!r})"
