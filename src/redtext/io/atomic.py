"""Write files so a crash leaves either the old file or the complete new one — and no litter.

Every write goes to a temporary file (or folder) next to its target, named
``.<target>.<pid>.<random>.tmp``, that replaces the target only once complete. A process
killed mid-write leaves such a temporary behind; the next write of the same target removes
the temporaries whose process is gone (a live process's are left alone).
"""
from __future__ import annotations

import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def sweep(path: str | os.PathLike) -> None:
    """Remove the temporaries of writes of ``path`` whose process is gone."""
    path = Path(path)
    prefix = f".{path.name}."
    try:
        siblings = list(path.parent.iterdir())
    except OSError:
        return
    for p in siblings:
        name = p.name
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid = name[len(prefix):].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            try:
                shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
            except OSError:
                pass


def temp_path(path: str | os.PathLike) -> Path:
    """A fresh temporary name next to ``path`` (not created); old leftovers swept first."""
    path = Path(path)
    sweep(path)
    return path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")


def _fsync_dir(folder: Path) -> None:
    try:  # make a rename durable; not possible on every platform
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_output(path: str | os.PathLike, mode: str = "w"):
    """A temporary file next to ``path`` that replaces it only when the block succeeds.

    ``mode="w"`` yields a UTF-8 text handle; ``mode="path"`` yields the temporary file's name
    for a writer that opens it itself (e.g. pyarrow). Nest two of them to write a file and its
    companion together: a failure in either leaves both as they were."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        if mode == "path":
            yield str(tmp)
        else:
            # 0o666 lets the umask decide the permissions, as a plain open() would
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    with atomic_output(path) as fh:
        fh.write(text)
    return Path(path)


def write_jsonl_atomic(path: str | os.PathLike, rows: Iterable[dict]) -> int:
    """Write ``rows`` as JSONL (UTF-8, ``ensure_ascii=False``) so that ``path`` is either the old file or the
    complete new one. Creates missing parent directories. Returns the number of rows written."""
    n = 0
    with atomic_output(path) as fh:
        # one encoder for all rows: json.dumps with keyword arguments builds a new one per call
        encode = json.JSONEncoder(ensure_ascii=False).encode
        write = fh.write
        for row in rows:
            write(encode(row))
            write("\n")
            n += 1
    return n
