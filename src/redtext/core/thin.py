"""Labels with few seed examples (issue #17, item 6): which pool texts to ask about them.

A label given one example is rarely the classifiers' candidate worth asking about, so without
help it is never learnt. Each round every *thin* label — fewer seed examples than
:data:`THIN_BELOW`, and under half the median label's (a dataset whose labels all have few
examples has none) — gets up to :data:`THIN_ASK` questions "is it this label?", about these
texts in this order:

1. texts the expert rejected every asked label for, nearest one of the label's examples (its
   name and description among them): nothing the classifiers offer fits them, and a thin label's
   texts end up there — in clusters a found example leads to, which their mean would blur;
2. texts where the label is a runner-up candidate, by its score: a yes corrects the classifier;
3. texts nearest the mean of the label's examples.

A thin label is explored while it has fewer examples (seed plus trained) than that threshold, and
beyond it for as long as its last round's exploration was answered yes at least
:data:`KEEP_GOING` of the time (from 5 answers on): each yes is then a text the classifiers had
wrong, which few of the loop's own questions correct. A label whose first ``2 × THIN_ASK``
questions were all "no" is left alone. The questions take at most :data:`THIN_SHARE` of a round.

Its training rows weigh :data:`THIN_WEIGHT`; its name is learnt from like a description
(:func:`redtext.core.vectors.description_texts`).

Measured (``benchmarks/thin.py``: banking77, k=30, budget 0.3, five intents given one example,
careful expert, seeds 0–7; the five labels' pool recall, mean and how many of the 40 reach 0.7):
no exploration 0.26 (6); texts nearest the examples only, until 10 examples (the first version)
0.67 (25); with runner-ups first and the keep-going rule 0.78 (35); rejected texts first 0.80
(32); the name learnt from 0.85 (36); the rows weighed 3× 0.90 (38), all five ≥ 0.7 on 6 of 8
seeds, the other labels 93.50 → 94.83 % against no exploration; the one label left under 0.7
(topping_up_by_card, 0.59 and 0.57, whose single example says nothing of it) had texts in
clusters ("can my friends top up my account?") that the mean of its examples missed: rejected
texts taken nearest *one* of its examples, its name among them, and a keep-going share of 0.3
instead of 0.5 (it stopped at 9 yes in 20) gave 0.911 (40 of 40), all five ≥ 0.7 on 8 of 8 seeds,
the other labels 94.74 %; on seeds 8–13, never used to choose, 30 of 30 ≥ 0.7 (lowest 0.78) as
with the rule before (94.35 against 94.46 % on the other labels). Nearest one example for the
texts of step 3 as well measured worse (0.38 on one label where the mean gave 0.59).
"""
from __future__ import annotations

import numpy as np

#: a label with fewer seed examples than this (and under half the median label's) is thin
THIN_BELOW = 10
#: questions a thin label gets in one round at most
THIN_ASK = 20
#: a thin label past the threshold is still explored while its last round's yes share is this
#: (0.5 measured 0.64 and 0.71 on topping_up_by_card, seeds 6 and 0, where 0.3 gave 0.75 and 0.71)
KEEP_GOING = 0.3
#: rejected-for-everything texts considered per label (the nearest ones)
THIN_REJECTED = 50
#: share of a round's questions the exploration may take
THIN_SHARE = 0.25
#: a thin label's training rows weigh this much: its examples, found near its few seed
#: examples, under-represent its spread (measured on seeds 2–5 of benchmarks/thin.py: weights
#: 1, 2, 3, 5 gave the five labels' lowest recall 0.61–0.84, 0.71–0.89, 0.73–0.87, 0.73–0.89 and
#: the other labels 94.65, 94.70, 95.00, 94.71 %)
THIN_WEIGHT = 3.0


def thin_below(counts) -> float:
    """The example count under which a label is thin, given every label's count."""
    return min(THIN_BELOW, float(np.median(counts)) / 2) if len(counts) else 0.0


def thin_mask(seed_counts) -> np.ndarray:
    """Which labels are thin, given every label's seed example count (the loop explores them,
    :func:`redtext.core.vectors.description_texts` learns their names, the report lists them)."""
    counts = np.asarray(seed_counts)
    return (counts > 0) & (counts < thin_below(counts))


class ThinLabels:
    """Exploration state of the thin labels: answers so far and in the last round, per label."""

    def __init__(self, y_seed: np.ndarray, n_labels: int, askable: np.ndarray | None = None):
        self.thin = thin_mask(np.bincount(y_seed, minlength=n_labels)[:n_labels])
        if askable is not None:
            self.thin &= askable
        self.asked = np.zeros(n_labels, dtype=np.int64)
        self.yes = np.zeros(n_labels, dtype=np.int64)
        self._last = (self.asked.copy(), self.yes.copy())

    def weights(self, y: np.ndarray) -> np.ndarray | None:
        """Training weights for rows labelled ``y``: :data:`THIN_WEIGHT` for a thin label's rows."""
        if not self.thin.any():
            return None
        thin = np.flatnonzero(self.thin)
        return np.where(np.isin(y, thin), THIN_WEIGHT, 1.0)

    def record(self, label: int, yes: bool) -> None:
        self.asked[label] += 1
        self.yes[label] += bool(yes)

    def _labels(self, counts: np.ndarray) -> list[int]:
        """This round's labels to explore, the thinnest first (starts a new round's count)."""
        asked, yes = self.asked - self._last[0], self.yes - self._last[1]
        self._last = (self.asked.copy(), self.yes.copy())
        going = (asked >= 5) & (yes >= KEEP_GOING * np.maximum(asked, 1))
        below = thin_below(counts)
        return [lab for lab in np.argsort(counts, kind="stable").tolist()
                if self.thin[lab] and (counts[lab] < below or going[lab])
                and not (self.asked[lab] >= 2 * THIN_ASK and self.yes[lab] == 0)]

    def questions(self, X_pool: np.ndarray, examples, counts: np.ndarray, pred, ledger, eligible: np.ndarray,
                  n_max: int) -> list[tuple[int, int]]:
        """Up to ``n_max`` ``(pool row, label)`` questions, each text once. ``examples(lab)`` gives
        the label's example vectors; ``counts`` every label's examples (seed plus trained). Each
        text asked gets the label in its prior, as plausible as the classifiers' best guess (the
        classifiers know the label from too few examples to score it)."""
        if n_max <= 0 or not self.thin.any():
            return []
        labels = self._labels(counts)
        rejected = np.array([i for i, a in ledger.answers.items() if a and not any(v is True for _, v in a)],
                            dtype=np.int64)
        X_rejected = X_pool[rejected]
        free = eligible.copy()
        out: list[tuple[int, int]] = []
        for lab in labels[:n_max]:
            ex = examples(lab)
            sims = X_pool @ ex.mean(axis=0)
            near = (X_rejected @ ex.T).max(axis=1) if len(rejected) else np.zeros(0)
            rows, ranks = np.nonzero(pred.candidates[:, 1:] == lab)
            runner_up = rows[np.argsort(-pred.candidate_scores[rows, ranks + 1], kind="stable")]
            order = np.r_[rejected[np.argsort(-near, kind="stable")][:THIN_REJECTED], runner_up,
                          np.argsort(-sims, kind="stable")[:max(50, 10 * THIN_ASK)]].astype(np.int64)
            room = min(THIN_ASK, n_max - len(out))
            for i in order.tolist():
                if room == 0:
                    break
                if free[i] and lab not in ledger.asked(i):
                    _note(ledger, i, lab, pred)
                    out.append((i, lab))
                    free[i] = False
                    room -= 1
            if len(out) >= n_max:
                break
        return out


def _note(ledger, i: int, lab: int, pred) -> None:
    """Put ``lab`` into text ``i``'s prior with the weight of the classifiers' top guess."""
    cands, scores = pred.candidates[i], pred.candidate_scores[i].astype(np.float64)
    if i in ledger.prior:  # asked before: the label takes the top's weight from the rest
        top, left = float(scores[0]), max(1e-12, 1.0 - float(ledger.prior[i][1].sum()))
        ledger.note_extra(i, lab, min(1.0, top / left))
    else:
        keep = cands != lab
        prior = np.r_[scores[0], scores[keep]]
        ledger.note_prior(i, np.r_[lab, cands[keep]], prior / max(1.0, float(prior.sum())))
