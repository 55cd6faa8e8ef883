"""Model files that redtext builds locally once and caches: built atomically, under a lock.

The int8 ONNX export of the default model and the static (``fast``) distillation are built at
first use from the packaged MiniLM weights — nothing is downloaded — and cached under
``$REDTEXT_CACHE/models`` (default ``~/.cache/redtext/models``). :func:`build_once` makes that
safe:

* the build writes into a private temporary folder next to the target, which is renamed into
  place only once complete, with a ``COMPLETE`` marker written last: a build that is killed or
  fails leaves no target, only a temporary folder that is never read and is removed by the
  next build;
* a lock file (``fcntl.flock``; released by the OS when a process dies) makes concurrent
  processes wait for one build instead of all building at once;
* a failure becomes one :class:`~redtext.errors.InputError` line.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator

from ..errors import InputError, error_text as one_line  # noqa: F401  (embedders use it)

COMPLETE = "COMPLETE"


def cache_root() -> Path:
    """``$REDTEXT_CACHE`` or ``~/.cache/redtext``."""
    base = os.environ.get("REDTEXT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "redtext")
    return Path(base)


def models_dir() -> Path:
    return cache_root() / "models"


def available_cores() -> int:
    """CPU cores this process may use: affinity mask and cgroup quota aware; ``REDTEXT_THREADS`` overrides."""
    env = os.environ.get("REDTEXT_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise InputError(f"REDTEXT_THREADS={env!r}: expected a whole number of threads, e.g. 2") from None
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    try:  # cgroup v2 CPU quota (containers): "max 100000" or "200000 100000"
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            n = min(n, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, n)


def _note(message: str) -> None:
    from ..progress import progress_enabled

    if progress_enabled():
        print(f"redtext: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def file_lock(path: Path, *, waiting: str | None = None) -> Iterator[bool]:
    """Hold an exclusive lock on ``path`` (created if missing). Yields False where locking is unsupported."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock; the atomic rename still keeps the cache sound
        yield False
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting:
                _note(waiting)
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield True
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def is_complete(target: Path) -> bool:
    return (target / COMPLETE).is_file()


def _temp_prefix(target: Path) -> str:
    return f".{target.name}."


def leftovers(target: Path) -> list[Path]:
    """Temporary folders of builds of ``target`` that never finished."""
    if not target.parent.is_dir():
        return []
    prefix = _temp_prefix(target)
    return sorted(p for p in target.parent.iterdir() if p.name.startswith(prefix) and p.name.endswith(".tmp"))


def _fsync_tree(folder: Path) -> None:
    for f in folder.rglob("*"):
        if f.is_file():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
    with contextlib.suppress(OSError):  # directories cannot be fsynced everywhere
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def build_once(target: Path, build: Callable[[Path], None], *, what: str, duration: str = "",
               fix: str = "") -> Path:
    """Return the folder ``target``, first building it with ``build(tmp_folder)`` if it is not complete.

    ``what`` names the artefact in messages ("the int8 ONNX export of all-MiniLM-L6-v2");
    ``fix`` is appended to the error line if the build fails.
    """
    target = Path(target)
    if is_complete(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = target.parent / f".{target.name}.lock"
    with file_lock(lock, waiting=f"waiting for another process building {what} …") as locked:
        if is_complete(target):  # another process built it while we waited
            return target
        if locked:  # we hold the lock, so every leftover is from a build that died: never read, removed
            for old in leftovers(target):
                shutil.rmtree(old, ignore_errors=True)
            if target.exists():  # a folder without its marker was not made by build_once: set it aside
                shutil.rmtree(target, ignore_errors=True)
        _note(f"building {what} once{f' ({duration})' if duration else ''}; cached in {target}")
        tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(target), suffix=".tmp", dir=target.parent))
        started = time.time()
        try:
            build(tmp)
            (tmp / COMPLETE).write_text(json.dumps({"what": what, "seconds": round(time.time() - started, 1),
                                                    "built": time.strftime("%Y-%m-%dT%H:%M:%S")}) + "\n")
            _fsync_tree(tmp)
            os.chmod(tmp, 0o755)
            os.replace(tmp, target)  # atomic: the target appears complete or not at all
        except BaseException as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(exc, (KeyboardInterrupt, SystemExit, InputError)):
                raise
            raise InputError(f"could not build {what} in {target.parent}: {one_line(exc)}"
                             f"{'; ' + fix if fix else ''}") from exc
    return target


def discard(target: Path) -> None:
    """Remove a cached artefact (e.g. one that no longer loads) so the next use rebuilds it."""
    target = Path(target)
    with file_lock(target.parent / f".{target.name}.lock"):
        shutil.rmtree(target, ignore_errors=True)


def fingerprint(model_dir: Path, *extra: str) -> str:
    """A short stable id of a model folder's weights and config (names, sizes, and config contents)."""
    import hashlib

    h = hashlib.sha256("\0".join(extra).encode())
    for f in sorted(Path(model_dir).rglob("*")):
        if f.is_file() and f.suffix in (".safetensors", ".bin", ".json", ".txt"):
            h.update(str(f.relative_to(model_dir)).encode())
            h.update(str(f.stat().st_size).encode())
            if f.suffix in (".json", ".txt") and f.stat().st_size < 1_000_000:
                h.update(f.read_bytes())
    return h.hexdigest()[:16]


@contextlib.contextmanager
def offline() -> Iterator[None]:
    """No hub access inside: HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE set, and restored afterwards."""
    keys = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update({k: "1" for k in keys})
    try:
        import huggingface_hub.constants as hub_constants  # read at import time: set the live flag too

        hub_saved = getattr(hub_constants, "HF_HUB_OFFLINE", None)
        hub_constants.HF_HUB_OFFLINE = True
    except ImportError:  # pragma: no cover
        hub_constants = None
    try:
        yield
    finally:
        if hub_constants is not None:
            hub_constants.HF_HUB_OFFLINE = hub_saved
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def quiet_build(*loggers: str) -> Iterator[None]:
    """Library chatter (warnings, INFO logs, weight-loading bars) off during a build; restored afterwards."""
    import logging
    import warnings

    names = ["", "transformers", "onnxruntime", *loggers]
    levels = {n: logging.getLogger(n or None).level for n in names}
    hf_logging = hf_verbosity = hf_bars = None
    try:
        for n in names:
            logging.getLogger(n or None).setLevel(logging.ERROR)
        with contextlib.suppress(Exception):
            from transformers.utils import logging as hf_logging

            hf_verbosity = hf_logging.get_verbosity()
            hf_bars = hf_logging.is_progress_bar_enabled()
            hf_logging.set_verbosity_error()
            hf_logging.disable_progress_bar()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for n, level in levels.items():
            logging.getLogger(n or None).setLevel(level)
        if hf_logging is not None:
            with contextlib.suppress(Exception):
                hf_logging.set_verbosity(hf_verbosity)
                if hf_bars:
                    hf_logging.enable_progress_bar()
