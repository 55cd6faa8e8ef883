"""Write files so a crash leaves either the old file or the complete new one."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


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
