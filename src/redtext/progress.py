"""Progress bars for long steps (rich), quiet when output is not a terminal."""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager


def progress_enabled() -> bool:
    flag = os.environ.get("REDTEXT_PROGRESS")
    if flag is not None:
        return flag not in ("0", "false", "no", "")
    return sys.stderr.isatty()


@contextmanager
def progress_bar(description: str, total: int | None, enabled: bool = True):
    """Yield an ``advance(n)`` function; draws a rich progress bar on stderr when enabled."""
    if not (enabled and progress_enabled()):
        yield lambda n=1: None
        return
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as prog:
        task = prog.add_task(description, total=total)
        yield lambda n=1: prog.advance(task, n)
