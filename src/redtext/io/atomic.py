"""Write files so a crash leaves either the old file or the complete new one."""
from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable


@contextmanager
def atomic_output(path: str | os.PathLike, mode: str = "w"):
    """A temporary file next to ``path`` that replaces it only when the block succeeds.

    ``mode="w"`` yields a UTF-8 text handle; ``mode="path"`` yields the temporary file's name
    for a writer that opens it itself (e.g. pyarrow)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if mode == "path":
            os.close(fd)
            yield tmp
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    with atomic_output(path) as fh:
        fh.write(text)
    return Path(path)


def write_jsonl_atomic(path: str | os.PathLike[str], rows: Iterable[dict]) -> int:
    """Write ``rows`` as JSONL (UTF-8, ``ensure_ascii=False``) so that ``path`` is either the old file or the
    complete new one: rows go to a temporary file in the same directory, which then replaces ``path``.

    Creates missing parent directories. Returns the number of rows written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # os.open with mode 0o666 lets the umask decide the permissions, as a plain open() would.
    for attempt in range(100):
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - 100 random collisions in a row
        raise OSError(f"cannot create a temporary file next to {path}")
    n = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            # One encoder for all rows: json.dumps with keyword arguments builds a new one per call.
            encode = json.JSONEncoder(ensure_ascii=False).encode
            write = f.write
            for row in rows:
                write(encode(row))
                write("\n")
                n += 1
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable; not possible on every platform
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return n
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
    return n
