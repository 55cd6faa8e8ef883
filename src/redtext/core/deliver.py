"""What a fit delivers for every pool text, from what the loop learnt.

Each pool text gets one label, a confidence and a provenance (``source``):

- ``seed`` — the text is a seed text: its seed label, confidence 1;
- a text the expert was asked about: the label with the highest posterior probability, its
  prior being the classifier's view when the text was first asked and its evidence every
  answer about it, weighed by the expert's measured rates (:mod:`.ledger`, :mod:`.evidence`);
  ``expert`` when the expert said yes to that label, ``classifier`` otherwise (a "no" moves the
  text to its next best candidate: a rejected label is delivered only if the evidence, at the
  expert's measured reliability, still favours it over every label never asked about; when it
  does not, the final classifiers' best label not asked about is delivered, with its share of
  that remaining posterior); the confidence is the posterior;
- in the open world (``problem.none``), "fits no label" is one more outcome: ``expert`` when the
  expert rejected the labels worth asking and the posterior puts the text outside them all
  (:mod:`.ledger`), ``classifier`` when the final classifiers (which learnt "no label" from such
  texts) rank it first;
- every other text: the final classifiers' best candidate, with its probability — calibrated
  by the sharpness the expert's answers measured (:func:`redtext.core.evidence.fit_sharpness`).

It also says which settled texts the final classifiers were trained on (one row per distinct
text), which a saved model keeps so that it can grow later.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .duplicates import duplicate_groups
from .loop import LoopResult, Problem


@dataclass
class Delivery:
    label: np.ndarray               # (N,) label index per pool text
    confidence: np.ndarray          # (N,) float64
    source: list[str]               # (N,) seed | expert | classifier
    candidates: np.ndarray          # (N, k) ranked candidate label indices of the final classifiers
    candidate_scores: np.ndarray    # (N, k)
    all_noise: np.ndarray           # (N,) every subset classifier said NOISE
    train_rows: np.ndarray          # pool indices of the settled texts trained on, one per distinct text
    outside_share: dict             # asked text -> its delivered label's share of the "never asked" mass


def deliver(problem: Problem, result: LoopResult) -> Delivery:
    from .evidence import rest_shares, sharpen

    pred = result.predictions
    n = len(problem.pool_texts)
    labels = pred.label.copy()
    # the classifier's probabilities, calibrated as the expert's answers showed (:mod:`.evidence`)
    scores = sharpen(pred.candidate_scores, problem.n_labels, result.ledger.sharpness)
    conf = scores[:, 0].copy()
    source = np.array(["classifier"] * n, dtype=object)
    _, members = duplicate_groups(problem.pool_texts)
    outside: dict[int, float] = {}
    for i, answers in result.ledger.answers.items():
        cand, post, j, p = result.ledger.decide(i, result.rates)
        rows = members.get(i, i)
        if j is None:  # every asked label ruled out: the final classifiers' best label not asked about
            asked = {lab for lab, _ in answers}
            free = [k for k, lab in enumerate(pred.candidates[i].tolist()) if lab not in asked]
            if free:
                outside[i] = float(rest_shares(scores[i], free)[0])
                labels[rows] = pred.candidates[i, free[0]]
                conf[rows] = p * outside[i]
                # "no label" after the expert's no's is the expert's outcome, what its rejections found
                source[rows] = "expert" if labels[i] == problem.none else "classifier"
                continue
            j = int(np.argmax(post))  # nothing left unasked among them: the best asked label
            p = float(post[j])
        labels[rows] = cand[j]
        conf[rows] = p
        said_yes = any(v is True and lab == cand[j] for lab, v in answers)
        none_by_expert = cand[j] == problem.none and any(v is False for _, v in answers)
        source[rows] = "expert" if said_yes or none_by_expert else "classifier"
    fx = problem.fixed >= 0
    labels[fx] = problem.fixed[fx]
    conf[fx] = 1.0
    source[fx] = "seed"
    keep: dict[str, int] = {}
    for i in np.flatnonzero(result.trained >= 0):
        keep.setdefault(problem.pool_texts[i], int(i))
    rows = np.fromiter(keep.values(), dtype=np.int64, count=len(keep))
    return Delivery(label=labels, confidence=conf, source=source.tolist(), candidates=pred.candidates,
                    candidate_scores=scores.astype(np.float32), all_noise=pred.all_noise, train_rows=rows, outside_share=outside)
