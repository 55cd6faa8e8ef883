"""How pure computation uses the cores: a process map for training, thread blocks for scoring."""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Callable, Sequence

_controller = None  # (number of loaded modules when made, threadpoolctl.ThreadpoolController)

#: row blocks of scoring are powers of two that divide this; a backend that splits rows (Ray)
#: cuts them at multiples of it, so every row meets the same arithmetic wherever it is scored
ALIGN_ROWS = 4096


@contextmanager
def one_thread():
    """BLAS and OpenMP pools limited to one thread inside the block. The thread pools are found
    once (threadpoolctl's scan of the loaded libraries costs milliseconds a call) and again only
    when more modules have been imported since."""
    global _controller
    from threadpoolctl import ThreadpoolController

    if _controller is None or _controller[0] != len(sys.modules):
        _controller = (len(sys.modules), ThreadpoolController())
    with _controller[1].limit(limits=1):
        yield


def default_n_jobs() -> int:
    """Worker processes: ``REDTEXT_JOBS`` when set, else every core."""
    env = os.environ.get("REDTEXT_JOBS")
    if env:
        return max(1, int(env))
    return max(1, os.cpu_count() or 1)


def local_map(fn: Callable, jobs: Sequence[tuple], n_jobs: int) -> list:
    """``[fn(*job) for job in jobs]``, in processes (joblib's loky) when ``n_jobs > 1``."""
    n_jobs = max(1, min(int(n_jobs), len(jobs)))
    if n_jobs > 1:
        from joblib import Parallel, delayed

        return Parallel(n_jobs=n_jobs, backend="loky")(delayed(fn)(*j) for j in jobs)
    return [fn(*j) for j in jobs]


def each_block(n: int, step: int, work: Callable[[int, int], None]) -> None:
    """``work(start, end)`` for every block of ``step`` rows out of ``n``: one thread per core
    (``REDTEXT_JOBS`` and ``OMP_NUM_THREADS`` cap it), each with single-threaded BLAS — numpy
    releases the GIL, and this measured faster than threaded BLAS on one block at a time, by far
    so when the cores are busy. Blocks always start at multiples of ``step`` and every block
    writes its own rows, so results depend neither on the number of threads nor on the caller."""
    starts = list(range(0, n, max(1, step)))
    threads = min(len(starts), default_n_jobs())
    omp = os.environ.get("OMP_NUM_THREADS", "")
    if omp.isdigit() and int(omp) > 0:  # e.g. a Ray task given one CPU
        threads = min(threads, int(omp))
    with one_thread():
        if threads <= 1:
            for start in starts:
                work(start, min(n, start + step))
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(threads) as pool:
            for future in [pool.submit(work, start, min(n, start + step)) for start in starts]:
                future.result()
