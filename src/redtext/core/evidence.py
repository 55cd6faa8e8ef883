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

A choice answer (:class:`Choice`: "which of these candidates, or none of them?") is one answer
about all the candidates offered, not one per candidate: its rates are ``tpr`` = P(picks the
truth | offered) and ``fpr`` = P(picks one | the truth is not offered), and its likelihood is a
proper distribution over what the expert can answer —

- the truth offered: picked with ``tpr``; "none of them" with ``(1 - tpr) · m`` and another
  offered candidate ``c`` with ``(1 - tpr) · (1 - m) · π'_c``, ``π'_c`` its share of the prior of
  the offered candidates other than the truth (an expert that misses picks the label most like
  the truth; :data:`MISS_BY_PRIOR`), ``m`` the share of the expert's misses on known-yes choice
  questions that were "none" (:attr:`Rates.miss_none`; ``m = 1/n`` before any, ``n`` offered);
- the truth not offered: "none of them" with ``1 - fpr``; candidate ``c`` picked with
  ``fpr · π_c``, ``π_c`` its share of the offered candidates' prior (an expert that picks a wrong
  label picks the most plausible one, which is what the classifier ranks high).

So a lenient expert's pick is as strong as the chance that the truth was offered at all: with
``S`` the offered candidates' prior mass, the pick is right with odds ``tpr · S : fpr · (1 - S)``.
Read as a "yes" to the pick (and nothing about the others) the same answer said
``tpr · p_c : fpr · (1 - p_c)`` and a "none of them" as ``n`` independent "no"s — which, with an
expert that picks a wrong label 40 % of the times the truth is missing, let the fitted sharpness
run to 3.2 on onet_titles and delivered 16 %-right labels with confidence 0.99 (issue #14).

The prior must mean what it says, and a logistic regression over many labels is not
calibrated out of the box (with 150 labels its top probability runs ~10 points under its
accuracy). :func:`sharpen` raises the probabilities to a power ``a`` and renormalises — for a
softmax classifier exactly temperature scaling, ``T = 1/a`` — and :func:`fit_sharpness` picks
the ``a`` under which the expert's answers about the pool are most likely (the marginal
likelihood of each asked text's answers, given the measured rates). No gold is needed: the
answers are the evidence, read through the rates the known-answer questions measured.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
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
    choice_missed: int = 0   # known-yes choice questions whose truth the expert did not pick ...
    choice_none: int = 0     # ... answering "none of them" (the rest picked a wrong label)

    @property
    def miss_none(self) -> float | None:
        """P("none of them" | a choice question offering the truth was missed): how an expert
        misses — ``strict`` answers "none", ``careful`` and ``agreeable`` pick a wrong label.
        None before any known-yes choice question was missed (:class:`Choice` then splits a miss
        evenly over the other candidates and "none")."""
        if not self.choice_missed:
            return None
        return (self.choice_none + 0.5) / (self.choice_missed + 1.0)

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

    def add(self, positive: bool, verdict, *, none: bool | None = None) -> "Rates":
        """One known-answer question answered; ``none`` for a known-yes choice question the
        expert missed: whether it answered "none of them" (else it picked a wrong label)."""
        if verdict is None:
            return self
        if positive:
            missed = none is not None and not verdict
            return replace(self, yes_pos=self.yes_pos + int(verdict), n_pos=self.n_pos + 1,
                           choice_missed=self.choice_missed + int(missed),
                           choice_none=self.choice_none + int(missed and bool(none)))
        return replace(self, yes_neg=self.yes_neg + int(verdict), n_neg=self.n_neg + 1)

    def as_dict(self) -> dict:
        t_lo, t_hi = self.interval("tpr")
        f_lo, f_hi = self.interval("fpr")
        raw_t = self.yes_pos / self.n_pos if self.n_pos else None
        raw_f = self.yes_neg / self.n_neg if self.n_neg else None
        return {"tpr": raw_t, "tpr_low": t_lo, "tpr_high": t_hi, "fpr": raw_f, "fpr_low": f_lo, "fpr_high": f_hi,
                "calls": self.n_pos + self.n_neg, "positives": self.n_pos, "negatives": self.n_neg,
                # known-yes choice questions missed, and the share of them answered "none of them"
                "choice_misses": self.choice_missed,
                "miss_none": self.choice_none / self.choice_missed if self.choice_missed else None}


@dataclass(frozen=True)
class Choice:
    """One answer to a choice question: the candidates ``offered`` (indices into the prior) and
    the one picked, or ``None`` for "none of them" (see the module doc)."""

    offered: tuple[int, ...]
    pick: int | None
    miss_none: float | None = None   # the expert's measured Rates.miss_none


def _answered(item) -> bool:
    return isinstance(item, Choice) or item[1] is not None


#: a choice question that offered the truth and was missed by picking a wrong candidate: is the
#: pick the likelier the more prior it holds (True), or split evenly over the others? The simulated
#: careful and agreeable experts, like LLM judges, miss by picking the label most like the truth,
#: and after a binary "no" that is often the label just rejected and offered again: read evenly, a
#: "no" then a pick of the same label delivered it at confidence 0.85-0.99 and 11 of 78 such texts
#: were wrong (clinc150, careful, seed 1). Alone (without :data:`redtext.core.choice.SETTLE_AGAIN`,
#: seed 0, pool %): clinc150 careful 99.15 → 99.20, banking77 careful 96.71 → 96.97, strict 96.49 →
#: 96.46; it lowers those texts' confidence (median 0.93 → 0.73 for the wrong ones), and the
#: settling question acts on it
MISS_BY_PRIOR = True


def miss_shares(n: int, miss_none: float | None) -> tuple[float, float]:
    """How a choice question that offered the truth among ``n`` candidates is missed: the share of
    a miss that goes to each other offered candidate and the share that goes to "none of them"
    (:attr:`Rates.miss_none`; split evenly over the ``n`` before it is measured)."""
    if miss_none is None:
        return 1.0 / n, 1.0 / n
    return (1.0 - miss_none) / max(1, n - 1), miss_none


def none_fpr(fpr, ratio: float):
    """The expert's false-yes rate on a text that fits no label: ``ratio`` times its rate on a
    wrong label of a text that fits one (:attr:`NonePrior.fpr_ratio`), at most 0.9."""
    return np.minimum(np.asarray(fpr, dtype=np.float64) * ratio, 0.9)


def _outside(p: np.ndarray, item, fpr):
    """The likelihood of one answer ``item`` when the truth is a label it did not offer (or ask
    about), at false-yes rate ``fpr``."""
    if not isinstance(item, Choice):
        return fpr if item[1] else 1.0 - fpr
    if item.pick is None:
        return 1.0 - fpr
    mass = float(p[list(item.offered)].sum())
    return fpr * (float(p[item.pick]) / mass if mass > 0 else 1.0 / len(item.offered))


def _factors(p: np.ndarray, item, tpr, fpr, none=None):
    """The likelihood of one answer ``item`` under each candidate being the truth (a vector of
    ``len(p)``, or one row per draw) and under "another label" (a scalar, or a column).
    ``none = (index, ratio)``: the candidate at ``index`` is "fits no label", whose false-yes
    rate is :func:`none_fpr`."""
    factors, outside = _label_factors(p, item, tpr, fpr)
    if none is not None and none[0] < len(p):
        factors = np.where(np.arange(len(p)) == none[0], _outside(p, item, none_fpr(fpr, none[1])), factors)
    return factors, outside


def miss_to(p: np.ndarray, offered: np.ndarray, pick: int) -> np.ndarray:
    """For each offered candidate ``i`` taken as the truth, the share of a miss that picks
    ``pick``: its share of the prior of the offered candidates other than ``i`` (an even split
    where they hold none). An expert that misses the truth picks the label most like it, and the
    classifier ranks that label high beside it (:data:`MISS_BY_PRIOR`)."""
    n = int(offered.sum())
    if not MISS_BY_PRIOR or n < 2:
        return np.full(len(p), 1.0 / max(1, n - 1))
    others = float(p[offered].sum()) - p
    return np.where(others > 0, p[pick] / np.maximum(others, 1e-300), 1.0 / (n - 1))


def _label_factors(p: np.ndarray, item, tpr, fpr):
    k = len(p)
    if not isinstance(item, Choice):
        j, verdict = item
        hit, miss = (tpr, fpr) if verdict else (1.0 - tpr, 1.0 - fpr)
        return np.where(np.arange(k) == j, hit, miss), miss
    offered = np.zeros(k, dtype=bool)
    offered[list(item.offered)] = True
    n = int(offered.sum())
    to_other, to_none = miss_shares(n, item.miss_none)
    if item.pick is None:  # the truth offered and missed by answering "none"
        inside = (1.0 - tpr) * to_none
    else:                  # ... by picking this wrong one, the likelier the more plausible it is
        inside = (1.0 - tpr) * (n - 1) * to_other * miss_to(p, offered, item.pick)
    outside = _outside(p, item, fpr)
    factors = np.where(offered, inside, outside)
    if item.pick is not None:
        factors = np.where(np.arange(k) == item.pick, tpr, factors)
    return factors, outside


def _weighted(prior: np.ndarray, answers: Sequence, tpr, fpr, none=None):
    """``prior`` times the likelihood of ``answers``, for each candidate and for "another label"
    (the prior's missing mass), and the likelihood of the answers under "another label" itself
    (its factor, which :func:`none_likelihood` is). Scalar rates give ``(candidates (k,), rest
    float, factor float)``; arrays of ``D`` rates (one per draw) give ``((D, k), (D,), (D,))``. An answer is a yes or no about one
    candidate, ``(index, verdict)``, or a :class:`Choice`; the rates say how likely it is under
    each candidate being the truth, or another label; ``none`` as :func:`_factors`."""
    p = np.asarray(prior, dtype=np.float64)
    rest = max(0.0, 1.0 - float(p.sum()))
    draws = bool(np.ndim(tpr))
    if draws:  # one row per draw; the rates become columns so that they scale each row
        tpr, fpr = np.asarray(tpr, dtype=np.float64)[:, None], np.asarray(fpr, dtype=np.float64)[:, None]
        cand, rest = np.repeat(p[None, :], len(tpr), axis=0), np.full((len(tpr), 1), rest)
    else:
        cand = p.copy()
    other = np.ones_like(rest) if draws else 1.0
    for item in answers:
        if not _answered(item):
            continue
        factors, outside = _factors(p, item, tpr, fpr, none)
        cand = cand * factors
        other = other * outside
    rest = rest * other
    return (cand, rest[:, 0], other[:, 0]) if draws else (cand, rest, float(other))


def posterior(prior: np.ndarray, answers: Sequence, tpr, fpr, none=None):
    """Posterior over ``len(prior)`` candidates plus "another label": ``prior`` holds the
    candidates' probabilities (their sum at most 1; the rest belongs to the other labels);
    ``answers`` are ``(candidate index, verdict)`` or :class:`Choice`; ``none = (index, ratio)``
    when the candidate at ``index`` is "fits no label" (:func:`none_fpr`). Returns (candidate
    posteriors, rest) — for scalar rates a vector and a float, for arrays of rates (one per draw)
    one row per draw."""
    cand, rest, _ = _weighted(prior, answers, tpr, fpr, none)
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


def log_evidence(prior: np.ndarray, answers: Sequence, tpr: float, fpr: float) -> float:
    """log P(answers) when the truth is drawn from ``prior`` (the candidates, the rest being
    "another label") and each answer follows the rates: the normaliser of :func:`posterior`."""
    return _log_total(*_weighted(prior, answers, tpr, fpr)[:2])


def _log_total(cand: np.ndarray, rest: float) -> float:
    total = float(cand.sum()) + rest
    return float(np.log(total)) if total > 0 else -np.inf


#: the sharpness searched: temperatures from 4 down to 1/4
SHARPNESS_GRID = np.exp(np.linspace(np.log(0.25), np.log(4.0), 41))
#: the open world's prior that a text fits no label is logistic in the log of the classifier's top
#: probability for it (the maximum softmax probability, the standard out-of-distribution score):
#: ``P(no label) = 1 / (1 + exp(-(alpha + beta * (log top - centre))))``, searched over these
NONE_ALPHA = np.linspace(-6.0, 3.0, 19)
NONE_BETA = np.linspace(-6.0, 0.0, 13)   # the less sure the classifier, the likelier "no label"
#: the expert's false-yes rate on texts that fit no label, as a multiple of its measured rate on
#: the wrong labels of texts that fit one (no known-answer question has such a text): fitted with
#: the prior, over these. A careful expert rejects every label of such a text, an agreeable one
#: says yes to the label most like it more often than to a wrong label elsewhere
NONE_FPR_RATIO = 2.0 ** np.arange(-6.0, 3.0)
#: under ``auto`` the open-world prior (at ratio 1) must raise the answers' log-likelihood by half
#: this over the best closed-world fit: the 95 % point of χ² with 2 degrees of freedom (alpha and beta)
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
    fpr_ratio: float = 1.0   # the false-yes rate on such texts (see NONE_FPR_RATIO)

    def of(self, top) -> np.ndarray:
        z = self.alpha + self.beta * (np.log(np.maximum(np.asarray(top, dtype=np.float64), 1e-6)) - self.centre)
        return 1.0 / (1.0 + np.exp(-z))


def none_likelihood(prior: np.ndarray, answers: Sequence, tpr: float, fpr: float) -> float:
    """P(answers | the text fits none of the asked labels): every yes (and every pick) a false
    one, every no right — the likelihood of "another label" (a pick's share needs the ``prior``)."""
    return _weighted(prior, answers, tpr, fpr)[2]


def _indices(item) -> list[int]:
    return list(item.offered) if isinstance(item, Choice) else [item[0]]


def _usable(texts):
    return [(np.asarray(s, dtype=np.float64), a) for s, a in texts if any(_answered(x) for x in a)]


def _padded(scores: np.ndarray, answers, n_labels: int, a: float) -> np.ndarray:
    """The prior of one text sharpened by ``a``, with the labels asked outside its candidates
    appended (each an even share of the rest)."""
    k = len(scores)
    prior = sharpen(scores[None, :], n_labels, float(a))[0]
    top = max((j for x in answers for j in _indices(x)), default=-1)
    if top >= k:  # labels asked outside the candidates share the rest
        rest = max(0.0, 1.0 - float(prior.sum()))
        prior = np.concatenate([prior, np.full(top + 1 - k, rest / max(1, n_labels - k))])
    return prior


def _evidence(usable, n_labels: int, a: float, tpr: float, fpr: float) -> tuple[np.ndarray, np.ndarray]:
    """P(answers) of each text under the closed-world prior sharpened by ``a``, and P(answers |
    the text fits no label)."""
    out, none = np.empty(len(usable)), np.empty(len(usable))
    for t, (scores, answers) in enumerate(usable):
        cand, rest, none[t] = _weighted(_padded(scores, answers, n_labels, a), answers, tpr, fpr)
        out[t] = np.exp(_log_total(cand, rest))
    return out, none


def fit_calibration(texts: Sequence[tuple[np.ndarray, list]], n_labels: int, rates: Rates,
                    *, open_world: str = "off") -> tuple[float, NonePrior | None, float]:
    """``(sharpness, none_prior)`` under which the answers are most likely, searched jointly over
    :data:`SHARPNESS_GRID` × :data:`NONE_ALPHA` × :data:`NONE_BETA` × :data:`NONE_FPR_RATIO` (how
    often the expert says yes to a text that fits no label): ``texts`` holds each asked
    text's prior scores (its candidates' probabilities when first asked, best first) and its
    answers as ``(candidate index, verdict)`` or :class:`Choice`.

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
    # per text, its yes's (picks included) and no's ("none of them" included): how P(answers |
    # no label) changes with the false-yes rate on such texts
    yes = np.array([sum(1 for x in a if _answered(x) and _said_yes(x)) for _, a in usable], dtype=np.float64)
    no = np.array([sum(1 for x in a if _answered(x) and not _said_yes(x)) for _, a in usable], dtype=np.float64)
    scale = [(none_fpr(fpr, r) / fpr) ** yes * ((1.0 - none_fpr(fpr, r)) / (1.0 - fpr)) ** no for r in NONE_FPR_RATIO]
    best_closed, best_open, best_same = (-np.inf, 1.0), (-np.inf, 1.0, -1, 1.0), (-np.inf, 1.0, -1, 1.0)
    for a in SHARPNESS_GRID:
        evidence, none_lik = _evidence(usable, n_labels, float(a), tpr, fpr)
        closed = float(np.sum(np.log(np.maximum(evidence, 1e-300))))
        if closed > best_closed[0]:
            best_closed = (closed, float(a))
        if open_world == "off":
            continue
        for r, sc in zip(NONE_FPR_RATIO, scale):
            ll = np.sum(np.log(np.maximum((1.0 - pi) * evidence + pi * (none_lik * sc), 1e-300)), axis=1)
            j = int(np.argmax(ll))
            if ll[j] > best_open[0]:
                best_open = (float(ll[j]), float(a), j, float(r))
            if r == 1.0 and ll[j] > best_same[0]:
                best_same = (float(ll[j]), float(a), j, float(r))
    # whether the pool is open is tested at the false-yes rate measured elsewhere (ratio 1): a free
    # ratio would let an unreliable expert's false "no"s pass for texts that fit no label
    if open_world == "off" or best_same[0] <= best_closed[0] or (open_world == "auto" and (
            2.0 * (best_same[0] - best_closed[0]) < NONE_TEST or np.mean(pi[best_same[2]] > 0.5) < NONE_MIN_SHARE)):
        return best_closed[1], None, best_closed[1]
    j = best_open[2]
    return (best_open[1], NonePrior(float(alpha.reshape(-1)[j]), float(beta.reshape(-1)[j]), centre, best_open[3]),
            best_closed[1])


def _said_yes(item) -> bool:
    return item.pick is not None if isinstance(item, Choice) else bool(item[1])


def fit_sharpness(texts: Sequence[tuple[np.ndarray, list]], n_labels: int, rates: Rates) -> float:
    """The closed world's :func:`fit_calibration`: the ``a`` (from :data:`SHARPNESS_GRID`) under
    which the answers are most likely. 1 when nothing was answered."""
    return fit_calibration(texts, n_labels, rates)[0]
