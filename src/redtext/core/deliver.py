"""What a fit delivers for every pool text, from what the loop learnt.

Each pool text gets one label, a confidence and a provenance (``source``):

- ``seed`` — the text is a seed text: its seed label, confidence 1;
- ``expert`` — the expert accepted a label for it (or for an identical text): that label,
  confidence 1;
- ``classifier`` — otherwise the final classifiers' best candidate, with its probability.

It also says which validated texts the final classifiers were trained on (one row per distinct
text), which a saved model keeps so that it can grow later.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .loop import LoopResult, Problem


@dataclass
class Delivery:
    label: np.ndarray               # (N,) label index per pool text
    confidence: np.ndarray          # (N,) float64
    source: list[str]               # (N,) seed | expert | classifier
    candidates: np.ndarray          # (N, k) ranked candidate label indices of the final classifiers
    candidate_scores: np.ndarray    # (N, k)
    all_noise: np.ndarray           # (N,) every subset classifier said NOISE
    train_rows: np.ndarray          # pool indices of the validated texts trained on, one per distinct text


def deliver(problem: Problem, result: LoopResult) -> Delivery:
    pred = result.predictions
    n = len(problem.pool_texts)
    labels = pred.label.copy()
    conf = pred.confidence.astype(np.float64).copy()
    source = np.array(["classifier"] * n, dtype=object)
    val = result.validated >= 0
    labels[val] = result.validated[val]
    conf[val] = 1.0
    source[val] = "expert"
    fx = problem.fixed >= 0
    labels[fx] = problem.fixed[fx]
    conf[fx] = 1.0
    source[fx] = "seed"
    keep: dict[str, int] = {}
    for i in np.flatnonzero(val):
        keep.setdefault(problem.pool_texts[i], int(i))
    rows = np.fromiter(keep.values(), dtype=np.int64, count=len(keep))
    return Delivery(label=labels, confidence=conf, source=source.tolist(), candidates=pred.candidates,
                    candidate_scores=pred.candidate_scores, all_noise=pred.all_noise, train_rows=rows)
