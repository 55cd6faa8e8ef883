"""The expert's answers as evidence, weighed by how reliable the expert is measured to be.

An expert is summed up by two rates, measured on questions whose answers are known
(:mod:`.quality`): ``tpr`` = P(yes | the label is right) and ``fpr`` = P(yes | the label is a
plausible wrong one — the hardest wrong label a classifier proposes). Given the classifier's
probabilities as the prior, each answer multiplies the hypotheses by its likelihood:

- "yes" to label A: ``tpr`` if A is the truth, ``fpr`` if another label is;
- "no" to label A: ``1 - tpr`` if A is the truth, ``1 - fpr`` if another label is;
- an abstention: nothing.

So a "yes" from an expert that accepts 40 % of plausible wrong labels is weak evidence, a "no"
from it strong; a careful expert's answers are strong either way. :func:`posterior` gives every
candidate's posterior probability, and "one of the other labels" the rest.

The prior must mean what it says, and a logistic regression over many labels is not
calibrated out of the box (with 150 labels its top probability runs ~10 points under its
accuracy). :func:`sharpen` raises the probabilities to a power ``a`` and renormalises — for a
softmax classifier exactly temperature scaling, ``T = 1/a`` — and :func:`fit_sharpness` picks
the ``a`` under which the expert's answers about the pool are most likely (the marginal
likelihood of each asked text's answers, given the measured rates). No gold is needed: the
answers are the evidence, read through the rates the known-answer questions measured.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

#: the rates assumed before any known-answer question is answered: a Beta prior worth this many
#: answers each, centred on a fair but imperfect expert
PRIOR_TPR = (9.0, 1.0)     # mean 0.90
PRIOR_FPR = (1.0, 9.0)     # mean 0.10


@dataclass(frozen=True)
class Rates:
    """The expert's measured rates: yes-counts over known positives and known (hard) negatives."""

    yes_pos: int = 0
    n_pos: int = 0
    yes_neg: int = 0
    n_neg: int = 0

    @property
    def tpr(self) -> float:
        a, b = PRIOR_TPR
        return (self.yes_pos + a) / (self.n_pos + a + b)

    @property
    def fpr(self) -> float:
        a, b = PRIOR_FPR
        return (self.yes_neg + a) / (self.n_neg + a + b)

    def interval(self, which: str, level: float = 0.95) -> tuple[float, float]:
        """An equal-tailed interval for ``tpr`` or ``fpr`` (Jeffreys: Beta(x + 1/2, n - x + 1/2))."""
        from scipy.stats import beta

        x, n = (self.yes_pos, self.n_pos) if which == "tpr" else (self.yes_neg, self.n_neg)
        lo, hi = beta.ppf([(1 - level) / 2, (1 + level) / 2], x + 0.5, n - x + 0.5)
        return (0.0 if x == 0 else float(lo)), (1.0 if x == n else float(hi))

    def add(self, positive: bool, verdict) -> "Rates":
        if verdict is None:
            return self
        if positive:
            return Rates(self.yes_pos + int(verdict), self.n_pos + 1, self.yes_neg, self.n_neg)
        return Rates(self.yes_pos, self.n_pos, self.yes_neg + int(verdict), self.n_neg + 1)

    def as_dict(self) -> dict:
        t_lo, t_hi = self.interval("tpr")
        f_lo, f_hi = self.interval("fpr")
        raw_t = self.yes_pos / self.n_pos if self.n_pos else None
        raw_f = self.yes_neg / self.n_neg if self.n_neg else None
        return {"tpr": raw_t, "tpr_low": t_lo, "tpr_high": t_hi, "fpr": raw_f, "fpr_low": f_lo, "fpr_high": f_hi,
                "calls": self.n_pos + self.n_neg, "positives": self.n_pos, "negatives": self.n_neg}


def _weighted(prior: np.ndarray, answers: Sequence[tuple[int, object]], tpr, fpr):
    """``prior`` times the likelihood of ``answers``, for each candidate and for "another label"
    (the prior's missing mass). Scalar rates give ``(candidates (k,), rest float)``; arrays of
    ``D`` rates (one per draw) give ``((D, k), (D,))``. Every answer is a yes or no about one
    candidate; the rates say how likely it is when that candidate is, or is not, the truth."""
    p = np.asarray(prior, dtype=np.float64)
    rest = max(0.0, 1.0 - float(p.sum()))
    draws = bool(np.ndim(tpr))
    if draws:  # one row per draw; the rates become columns so that they scale each row
        tpr, fpr = np.asarray(tpr, dtype=np.float64)[:, None], np.asarray(fpr, dtype=np.float64)[:, None]
        cand, rest = np.repeat(p[None, :], len(tpr), axis=0), np.full((len(tpr), 1), rest)
    else:
        cand = p.copy()
    for j, verdict in answers:
        if verdict is None:
            continue
        hit, miss = (tpr, fpr) if verdict else (1.0 - tpr, 1.0 - fpr)
        key = (slice(None), slice(j, j + 1)) if draws else j  # candidate j (a column, with draws)
        truth_j = cand[key] * hit
        cand *= miss
        cand[key] = truth_j
        rest = rest * miss
    return (cand, rest[:, 0]) if draws else (cand, rest)


def posterior(prior: np.ndarray, answers: Sequence[tuple[int, object]], tpr, fpr):
    """Posterior over ``len(prior)`` candidates plus "another label": ``prior`` holds the
    candidates' probabilities (their sum at most 1; the rest belongs to the other labels);
    ``answers`` are ``(candidate index, verdict)``. Returns (candidate posteriors, rest) — for
    scalar rates a vector and a float, for arrays of rates (one per draw) one row per draw."""
    cand, rest = _weighted(prior, answers, tpr, fpr)
    if np.ndim(tpr):
        total = np.maximum(cand.sum(axis=1) + rest, 1e-300)
        return cand / total[:, None], rest / total
    total = float(cand.sum()) + rest
    if total <= 0:
        return np.full(len(cand), 1.0 / (len(cand) + 1)), 1.0 / (len(cand) + 1)
    return cand / total, rest / total


def sharpen(scores: np.ndarray, n_labels: int, a: float) -> np.ndarray:
    """Probabilities of the top candidates (rows of ``scores``; the rest of each row's mass is
    spread evenly over the other ``n_labels - k`` labels) raised to the power ``a`` and
    renormalised over all labels. ``a = 1`` changes nothing; ``a > 1`` sharpens."""
    p = np.clip(np.asarray(scores, dtype=np.float64), 0.0, None)
    if a == 1.0:
        return p
    k = p.shape[-1]
    others = max(0, n_labels - k)
    rest = np.clip(1.0 - p.sum(axis=-1, keepdims=True), 0.0, None)
    each = rest / max(1, others)
    top = p ** a
    total = top.sum(axis=-1, keepdims=True) + others * each ** a
    return top / np.maximum(total, 1e-300)


def rest_shares(scores: np.ndarray, idx: Sequence[int]) -> np.ndarray:
    """How the mass left to "another label" splits over the candidates ``idx`` of one text's
    (calibrated) ``scores``: in proportion to their scores, the labels beyond the candidates
    keeping what the scores leave unassigned."""
    scores = np.asarray(scores, dtype=np.float64)
    part = scores[list(idx)]
    mass = float(part.sum()) + max(0.0, 1.0 - float(scores.sum()))
    return part / max(mass, 1e-12)


def log_evidence(prior: np.ndarray, answers: Sequence[tuple[int, object]], tpr: float, fpr: float) -> float:
    """log P(answers) when the truth is drawn from ``prior`` (the candidates, the rest being
    "another label") and each answer follows the rates: the normaliser of :func:`posterior`."""
    cand, rest = _weighted(prior, answers, tpr, fpr)
    total = float(cand.sum()) + rest
    return float(np.log(total)) if total > 0 else -np.inf


#: the sharpness searched: temperatures from 4 down to 1/4
SHARPNESS_GRID = np.exp(np.linspace(np.log(0.25), np.log(4.0), 41))
#: the open world's prior that a text fits no label is logistic in the log of the classifier's top
#: probability for it (the maximum softmax probability, the standard out-of-distribution score):
#: ``P(no label) = 1 / (1 + exp(-(alpha + beta * (log top - centre))))``, searched over these
NONE_ALPHA = np.linspace(-6.0, 3.0, 19)
NONE_BETA = np.linspace(-6.0, 0.0, 13)   # the less sure the classifier, the likelier "no label"
#: under ``auto`` the open-world prior must raise the answers' log-likelihood by half this over
#: the best closed-world fit: the 95 % point of χ² with 2 degrees of freedom (alpha and beta)
NONE_TEST = 5.99
#: ... and make "no label" the likelier truth for at least this share of the asked texts. On closed
#: pools a prior this flexible also fits the classifier's misjudged doubt (the test passes for
#: 2ΔLL 16–19 on clinc150 and banking77 by the last rounds) but expects at most 5 % of the asked
#: texts to fit no label; with out-of-scope texts in the pool (clinc150 --oos, banking77 with a
#: quarter of its labels unknown) it expects 13–80 % (BENCHMARKS.md, "Open world")
NONE_MIN_SHARE = 0.10


@dataclass(frozen=True)
class NonePrior:
    """The fitted open-world prior (see :data:`NONE_ALPHA`); ``of(top)`` for the classifier's top
    probabilities of texts."""

    alpha: float
    beta: float
    centre: float

    def of(self, top) -> np.ndarray:
        z = self.alpha + self.beta * (np.log(np.maximum(np.asarray(top, dtype=np.float64), 1e-6)) - self.centre)
        return 1.0 / (1.0 + np.exp(-z))


def none_likelihood(answers: Sequence[tuple[int, object]], tpr: float, fpr: float) -> float:
    """P(answers | the text fits none of the asked labels): every yes a false one, every no right."""
    out = 1.0
    for _, verdict in answers:
        if verdict is not None:
            out *= fpr if verdict else 1.0 - fpr
    return out


def _usable(texts):
    return [(np.asarray(s, dtype=np.float64), a) for s, a in texts if any(v is not None for _, v in a)]


def _evidence(usable, n_labels: int, a: float, tpr: float, fpr: float) -> np.ndarray:
    """P(answers) of each text under the closed-world prior sharpened by ``a``."""
    out = np.empty(len(usable))
    for t, (scores, answers) in enumerate(usable):
        k = len(scores)
        prior = sharpen(scores[None, :], n_labels, float(a))[0]
        extra = [j for j, _ in answers if j >= k]  # labels asked outside the candidates share the rest
        if extra:
            rest = max(0.0, 1.0 - float(prior.sum()))
            share = rest / max(1, n_labels - k)
            prior = np.concatenate([prior, np.full(max(extra) + 1 - k, share)])
        out[t] = np.exp(log_evidence(prior, answers, tpr, fpr))
    return out


def fit_calibration(texts: Sequence[tuple[np.ndarray, list[tuple[int, object]]]], n_labels: int, rates: Rates,
                    *, open_world: str = "off") -> tuple[float, NonePrior | None, float]:
    """``(sharpness, none_prior)`` under which the answers are most likely, searched jointly over
    :data:`SHARPNESS_GRID` × :data:`NONE_ALPHA` × :data:`NONE_BETA`: ``texts`` holds each asked
    text's prior scores (its candidates' probabilities when first asked, best first) and its
    answers as ``(candidate index, verdict)``.

    ``none_prior`` says how likely each text is to fit none of the labels (:class:`NonePrior`):
    None in a closed world (``open_world="off"``); under ``"auto"`` only when it beats the best
    closed-world fit by the likelihood-ratio test (:data:`NONE_TEST`) and makes "no label" the
    likelier truth for a tenth of the asked texts (:data:`NONE_MIN_SHARE`) — texts rejected for
    every label asked, more of them than the classifier's doubt explains, are what passes; ``"on"``
    takes the best fit as it is. A "no label" truth and a truth among the labels never asked
    answer alike (every question "no"), so it is the classifier's view of the text that tells
    them apart: the prior. The third value is the best closed-world sharpness (the first when
    ``none_prior`` is None). ``(1, None, 1)`` when nothing was answered."""
    usable = _usable(texts)
    if not usable:
        return 1.0, None, 1.0
    log_top = np.log(np.maximum([s[0] if len(s) else 1e-6 for s, _ in usable], 1e-6))
    centre = float(log_top.mean())
    # every (alpha, beta) pair's prior for every text: (pairs, texts)
    alpha, beta = np.meshgrid(NONE_ALPHA, NONE_BETA, indexing="ij")
    pi = 1.0 / (1.0 + np.exp(-(alpha.reshape(-1, 1) + beta.reshape(-1, 1) * (log_top - centre)[None, :])))

    tpr, fpr = rates.tpr, min(rates.fpr, rates.tpr - 1e-3)
    none_lik = np.array([none_likelihood(a, tpr, fpr) for _, a in usable])
    best_closed, best_open = (-np.inf, 1.0), (-np.inf, 1.0, -1)
    for a in SHARPNESS_GRID:
        evidence = _evidence(usable, n_labels, float(a), tpr, fpr)
        closed = float(np.sum(np.log(np.maximum(evidence, 1e-300))))
        if closed > best_closed[0]:
            best_closed = (closed, float(a))
        if open_world != "off":
            ll = np.sum(np.log(np.maximum((1.0 - pi) * evidence + pi * none_lik, 1e-300)), axis=1)
            j = int(np.argmax(ll))
            if ll[j] > best_open[0]:
                best_open = (float(ll[j]), float(a), j)
    if open_world == "off" or best_open[0] <= best_closed[0] or (open_world == "auto" and (
            2.0 * (best_open[0] - best_closed[0]) < NONE_TEST or np.mean(pi[best_open[2]] > 0.5) < NONE_MIN_SHARE)):
        return best_closed[1], None, best_closed[1]
    j = best_open[2]
    return (best_open[1], NonePrior(float(alpha.reshape(-1)[j]), float(beta.reshape(-1)[j]), centre),
            best_closed[1])


def fit_sharpness(texts: Sequence[tuple[np.ndarray, list[tuple[int, object]]]], n_labels: int, rates: Rates) -> float:
    """The closed world's :func:`fit_calibration`: the ``a`` (from :data:`SHARPNESS_GRID`) under
    which the answers are most likely. 1 when nothing was answered."""
    return fit_calibration(texts, n_labels, rates)[0]
