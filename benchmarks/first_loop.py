"""The diagnosis scripts' shared step (``open_errors.py``, ``trust_strata.py``): run one
`redtext bench` split and keep the fitted model of its first loop (``flat_al``, fitted before any
baseline), with the pool's texts and the gold the simulated oracle answers from."""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def first_loop(dataset: str, **bench) -> tuple[object, list[str], dict]:
    """``(model, pool_texts, gold_by_id)`` of ``run_benchmark(dataset, methods=("flat_al",), **bench)``."""
    sys.path.insert(0, str(ROOT / "src"))
    os.environ.setdefault("REDTEXT_PROGRESS", "0")
    from redtext import estimator
    from redtext.bench.protocol import run_benchmark

    seen: dict = {}
    fit = estimator.RED.fit

    def keep_first(self, *a, **k):
        if "model" not in seen:
            seen.update(model=self, pool=list(k["pool"]), gold=k["expert"].inner.gold_by_id)
        return fit(self, *a, **k)

    estimator.RED.fit = keep_first
    try:
        run_benchmark(dataset, methods=("flat_al",), progress=False, log=lambda *a: None, **bench)
    finally:
        estimator.RED.fit = fit
    return seen["model"], seen["pool"], seen["gold"]
