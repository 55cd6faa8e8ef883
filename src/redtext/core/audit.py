"""How good are the delivered labels? An estimate of the pool's accuracy with an honest interval.

The pool falls into strata: texts that are seed texts (right by definition), texts the expert
was asked about (their delivered label's posterior, :mod:`.ledger`), and the texts only the
classifier labelled, by confidence band. The classifier's strata are audited: a random sample
of each is put to the expert ("is the delivered label right?", the ordinary question), and —
prediction-powered inference within the band — the band's accuracy is its mean confidence
corrected by the sample's mean of ``z - c``, where ``c`` is a sampled text's confidence and
``z = (yes - f) / (tpr - f)`` is an unbiased reading of the expert's answer given its measured
rates, ``f`` being P(yes | the delivered label is wrong): ``fpr`` for a binary question. Asked as
a choice (the delivered label among the text's next candidates, :func:`choice_false_yes`), a
wrong delivered label is picked only when the truth is not offered and the expert picks a wrong
one, and that one — far less often than ``fpr``, which is P(picks any | the truth not offered):
read with ``fpr`` an agreeable expert's choice audit put onet_titles' least sure band (23 % right)
at 0 %. The asked strata are estimated from the posterior of the label each text was delivered
(:meth:`~redtext.core.ledger.Ledger.delivered_posterior`) — when the answers ruled out every
label worth asking, that is a label from outside them or, with none left, the best asked one.

The interval comes from drawing what is uncertain — the expert's rates (their Beta posteriors
from the known-answer questions), the share of yes in each band's sample (its Jeffreys
posterior) and the sample's mean confidence (a Bayesian bootstrap) — and recomputing the
estimate, so it widens with a noisy expert and a thin audit, as it should.
"""
from __future__ import annotations

import numpy as np

from .evidence import MISS_BY_PRIOR, miss_shares, miss_to

#: confidence bands of the classifier's strata (upper bounds)
BANDS = (0.5, 0.8, 0.95, 0.99, 1.000001)
DRAWS = 2000
#: below this gap between the expert's measured tpr and fpr its answers are taken to say nothing
USABLE_GAP = 0.3


def band_of(confidence: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.asarray(BANDS), np.asarray(confidence, dtype=np.float64), side="right").clip(
        0, len(BANDS) - 1)


def plan_audit(eligible: np.ndarray, confidence: np.ndarray, n: int, seed: int) -> list[int]:
    """``n`` pool rows to audit among ``eligible`` (a bool per row: the distinct texts only the
    classifier labelled, never asked about): a stratified random sample over the confidence
    bands, in proportion to their sizes. Places go to the bands one at a time (the band with the
    most texts per place taken so far next) and each band's texts come in a fixed random order,
    so the sample for ``n`` is the start of the sample for any larger ``n``: a resumed run
    replays its audit, and ``redtext audit --calls`` extends it without wasting an answer."""
    rows = np.flatnonzero(eligible)
    if len(rows) == 0 or n <= 0:
        return []
    rng = np.random.default_rng([int(seed), 23])
    bands = band_of(np.asarray(confidence)[rows])
    members = [rng.permutation(rows[bands == b]) for b in range(len(BANDS))]
    sizes = np.array([len(m) for m in members], dtype=np.float64)
    taken = np.zeros(len(BANDS), dtype=np.int64)
    chosen: list[int] = []
    for _ in range(min(n, len(rows))):
        room = taken < sizes
        b = int(np.argmax(np.where(room, sizes / (taken + 0.5), -1.0)))  # Sainte-Laguë: house-monotone
        chosen.append(int(members[b][taken[b]]))
        taken[b] += 1
    return chosen


def choice_false_yes(scores: np.ndarray, n_offered: int, miss_none: float | None = None) -> tuple[float, float]:
    """``(a, b)`` with P(the expert picks the delivered label | it is wrong) = ``a · (1 - tpr) +
    b · fpr`` for a choice audit (:mod:`.evidence`'s choice likelihood): ``scores`` are the
    calibrated probabilities of the labels offered, the delivered one first. A wrong delivered
    label is picked when the truth is among the other offered ones (chance ``q``) with ``(1 - tpr)``
    times the share of a miss that goes to another candidate (``(n - 1) / n``, or ``1 - m`` once the
    share ``m`` of misses answered "none" is measured, :attr:`~redtext.core.evidence.Rates.miss_none`)
    times the delivered label's share of the prior of the candidates but the truth
    (:data:`~redtext.core.evidence.MISS_BY_PRIOR`), and when it is not offered with
    ``fpr`` times the delivered label's share ``π`` of the offered prior."""
    p = np.clip(np.asarray(scores, dtype=np.float64), 0.0, None)
    mine, others = float(p[0]), float(p[1:].sum())
    q = others / max(1e-12, 1.0 - mine) if mine < 1.0 else 0.0
    q = min(max(q, 0.0), 1.0)
    share = mine / (mine + others) if mine + others > 0 else 1.0 / max(1, n_offered)
    n = max(1, n_offered)
    miss = miss_shares(n, miss_none)[0]
    if MISS_BY_PRIOR and n > 1 and others > 0:  # the truth the other offered j, missed by picking the delivered one
        to = miss_to(p, np.ones(len(p), dtype=bool), 0)[1:] if mine > 0 else 0.0
        miss = (n - 1) * miss * float(np.sum(p[1:] / others * to))
    return q * miss, (1.0 - q) * share


def _rate_draws(yes: int, n: int, prior: tuple[float, float], draws: int, rng) -> np.ndarray:
    return rng.beta(yes + prior[0], n - yes + prior[1], size=draws)


def estimate(*, source: list[str], confidence: np.ndarray, members: dict,
             asked_posterior, audited: dict[int, object], rates, false_yes: dict | None = None,
             level: float = 0.95, seed: int = 0) -> dict:
    """The pool's accuracy, with a ``level`` interval, overall, by source and by confidence band.

    ``asked_posterior(tpr, fpr) -> {rep: posterior of its delivered label}`` gives the asked
    texts' posteriors under given rates (vectorised over draws); ``audited`` maps audited rows
    to the expert's answer; ``rates`` are the measured :class:`~redtext.core.evidence.Rates`;
    ``false_yes`` maps an audited row asked as a choice to its :func:`choice_false_yes` (a row
    without one was asked a binary question: P(yes | wrong) = ``fpr``)."""
    from .evidence import PRIOR_FPR, PRIOR_TPR

    source = np.asarray(source, dtype=object)
    conf = np.asarray(confidence, dtype=np.float64)
    n = len(source)
    rng = np.random.default_rng([int(seed), 29])
    t = _rate_draws(rates.yes_pos, rates.n_pos, PRIOR_TPR, DRAWS, rng)
    f = _rate_draws(rates.yes_neg, rates.n_neg, PRIOR_FPR, DRAWS, rng)
    f = np.minimum(f, t - 1e-3)  # an expert no better than chance says nothing: keep tpr > fpr
    t_hat, f_hat = rates.tpr, min(rates.fpr, rates.tpr - 1e-3)
    total_draws = np.zeros(DRAWS)
    total_point = 0.0
    parts = {}

    # an expert that barely tells right labels from wrong ones (the warning's rule) cannot
    # correct anything: every stratum but the seed is then unknown, and the interval says so
    # (judged on the measured shares as the warning is, not on the prior-smoothed rates)
    q = rates.as_dict()
    informative = q["tpr"] is None or q["fpr"] is None or q["tpr"] - q["fpr"] >= USABLE_GAP

    def add(name, rows, point, draws):
        nonlocal total_point, total_draws
        k = len(rows)
        if k == 0:
            return
        total_point += point * k
        total_draws = total_draws + draws * k
        lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
        parts[name] = {"texts": k, "accuracy": round(float(point), 4), "low": round(float(lo), 4),
                       "high": round(float(hi), 4)}

    seed_rows = np.flatnonzero(source == "seed")
    add("seed", seed_rows, 1.0, np.ones(DRAWS))
    # the asked texts: their delivered label's posterior, under drawn rates
    post_point = asked_posterior(np.array([t_hat]), np.array([f_hat]))
    post_draws = asked_posterior(t, f)
    for name in ("expert", "asked classifier"):
        reps = [i for i in post_point if (source[i] == "expert") == (name == "expert")]
        rows = [r for i in reps for r in np.atleast_1d(members.get(i, i))]
        if not rows:
            continue
        w = np.array([len(np.atleast_1d(members.get(i, i))) for i in reps], dtype=np.float64)
        point = float(np.dot(w, [post_point[i][0] for i in reps]) / w.sum())
        draws = np.array([post_draws[i] for i in reps]).T @ w / w.sum()
        add(name, rows, point, draws)
    # the classifier's texts never asked: confidence, corrected by the audit, band by band
    unasked = np.flatnonzero((source == "classifier") & ~np.isin(np.arange(n), [r for i in post_point for r in
                                                                              np.atleast_1d(members.get(i, i))]))
    bands = band_of(conf[unasked])
    answered = [i for i in audited if audited[i] is not None]

    def correction(sample):
        """The mean of ``z - c`` over ``sample``: its point value and its draws. The share of yes
        is drawn from its Jeffreys posterior (a bootstrap of the answers would say nothing is
        uncertain when every answer is yes), the mean confidence by a Bayesian bootstrap."""
        yes = np.array([float(audited[i]) for i in sample])
        c = conf[sample]
        a, b = np.mean([(false_yes or {}).get(i, (0.0, 1.0)) for i in sample], axis=0)
        f_point, f_draws = a * (1.0 - t_hat) + b * f_hat, np.minimum(a * (1.0 - t) + b * f, t - 1e-3)
        point = float((yes.mean() - f_point) / (t_hat - f_point) - c.mean())
        rate = rng.beta(yes.sum() + 0.5, len(yes) - yes.sum() + 0.5, size=DRAWS)
        c_bar = rng.dirichlet(np.ones(len(sample)), size=DRAWS) @ c
        return point, (rate - f_draws) / (t - f_draws) - c_bar

    overall = correction(answered) if answered else (0.0, np.zeros(DRAWS))
    for b in range(len(BANDS)):
        rows = unasked[bands == b]
        if len(rows) == 0:
            continue
        mean_c = float(conf[rows].mean())
        in_band = set(rows.tolist())
        sample = [i for i in answered if i in in_band]
        # a band the audit did not reach borrows the correction measured over every audited text
        point, draws = correction(sample) if sample else overall
        add(f"classifier, confidence ≤ {min(BANDS[b], 1.0):.2f}", rows, float(np.clip(mean_c + point, 0, 1)),
            np.clip(mean_c + draws, 0.0, 1.0))
    covered = sum(p["texts"] for p in parts.values())
    point = total_point / max(1, covered)
    draws = total_draws / max(1, covered)
    lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    if not informative:  # nothing but the seed is known: every other stratum could be anywhere in [0, 1]
        for name, part in parts.items():
            if name != "seed":
                part["low"], part["high"] = 0.0, 1.0
        lo, hi = parts.get("seed", {}).get("texts", 0) / max(1, covered), 1.0
    return {"pool_accuracy": round(float(point), 4), "low": round(float(lo), 4), "high": round(float(hi), 4),
            "level": level, "calls": len(audited), "informative": bool(informative), "strata": parts}


def run_audit(delegation, delivered, result, n: int, seed: int) -> dict:
    """Audit ``n`` delivered labels through ``delegation``'s expert and estimate the pool's accuracy.
    Rows already audited (in the journal, by a resumed run) are replayed first."""
    members = delegation.members  # the loop's duplicate groups: its representatives stand for them
    eligible = delegation.is_rep & (np.asarray(delivered.source, dtype=object) == "classifier")
    eligible[list(result.ledger.answers)] = False  # asked texts are estimated from their own answers
    allowed = delegation.cfg.ask_labels
    if allowed is not None:  # add-classes / retrain: only the labels the expert may be asked about
        eligible &= np.asarray(allowed, dtype=bool)[np.asarray(delivered.label, dtype=np.int64)]
    rows = plan_audit(eligible, delivered.confidence, n, seed)
    audited, false_yes = {}, {}
    if rows:
        round_no = max(0, len(result.rounds) - 1)  # recorded with the last round
        answers = delegation.ask_audit(rows, [int(delivered.label[i]) for i in rows], round_no)
        audited = {i: answers[i] for i in rows if i in answers}
        for i, offered in getattr(delegation, "audit_offered", {}).items():  # the rows asked as choices
            score = dict(zip(delivered.candidates[i].tolist(), delivered.candidate_scores[i].tolist()))
            false_yes[i] = choice_false_yes(np.array([score.get(lab, 0.0) for lab in offered]), len(offered),
                                            result.rates.miss_none)
    out = estimate(source=delivered.source, confidence=delivered.confidence, members=members,
                   asked_posterior=result.ledger.delivered_posterior(result.rates, delivered.label, delivered.outside_share), audited=audited,
                   rates=result.rates, false_yes=false_yes, seed=seed)
    out["audited"] = {int(i): v for i, v in audited.items()}
    return out
