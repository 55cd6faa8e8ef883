"""What the expert said about each pool text, and what it adds up to.

For every text the expert was asked about the ledger keeps the classifier's ranked candidates
and probabilities *when the text was first asked* (later rounds train on the text's own
answer, so their predictions of it are not an independent prior) and every answer since.
:meth:`Ledger.belief` combines the two through the expert's measured rates
(:func:`redtext.core.evidence.posterior`), the prior first calibrated by the ledger's
``sharpness`` (:func:`redtext.core.evidence.fit_calibration`, refit by :meth:`Ledger.calibrate`).

In the open world (``none`` is the index of the internal "fits no label" class) every text's
prior also gives a share to "no label": the ``none_prior`` fitted to the answers jointly with the
sharpness (:func:`redtext.core.evidence.fit_calibration`), larger the less sure the classifier was
of the text; the classifier's own probability of it (once it has learnt "no label" from such
texts) stays in the prior too. A yes (or a pick) weighs against "no label" at the expert's
false-yes rate on such texts, fitted with that prior (``NonePrior.fpr_ratio``).
"No label" is never asked about: every "no" to a label raises it as it raises the labels never
asked, and the prior decides between the two.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from .evidence import Choice, Rates, fit_calibration, posterior, sharpen


class Ledger:
    def __init__(self, n_labels: int, *, none: int | None = None, open_world: str = "off"):
        self.n_labels = n_labels
        self.none = none              # the "fits no label" class, or None (closed world)
        self.open_world = open_world  # "auto": a share of "no label" must pass a test; "on": fitted as it is
        self.none_prior = None        # the fitted open-world prior (evidence.NonePrior), None while closed
        self.open_since_last = False  # did the last calibration pass the open-world test?
        self.prior: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        # one verdict per label asked (a choice's too); a label offered again after a "no" has a second
        self.answers: dict[int, list[tuple[int, object]]] = {}
        # text -> its choice answers, (labels offered, label picked or None, where their verdicts
        # start in ``answers``): each weighed as one answer
        self.choices: dict[int, list[tuple[tuple[int, ...], int | None, int]]] = {}
        self.sharpness = 1.0          # the classifier's calibration (see the module doc)
        # labels asked outside a text's first candidates: their share of its "another label" mass
        self.extra: dict[int, dict[int, float]] = {}

    def evidence(self, rates: Rates) -> dict[int, tuple[np.ndarray, list]]:
        """text -> (its prior scores, its answers as evidence): what :meth:`calibrate` fits, each
        text's answers indexed into its first candidates (labels asked beyond them appended)."""
        texts = {}
        for i, answers in self.answers.items():
            cands, scores = self.prior[i]
            index = {lab: j for j, lab in enumerate(cands.tolist())}
            for lab, _ in answers:
                index.setdefault(lab, len(index))
            texts[i] = (scores, self._items(i, index, rates))
        return texts

    def calibrate(self, rates: Rates) -> float:
        """Refit :attr:`sharpness` to every answer so far (under ``rates``); returns it."""
        sharpness, none_prior, closed = fit_calibration(
            list(self.evidence(rates).values()), self.n_labels, rates, open_world=self.open_world if self.none is not None else "off")
        passed = none_prior is not None
        if self.open_world == "auto" and passed and not self.open_since_last:
            # the open world needs the test passed twice running: one round's answers, with the
            # expert's rates still loosely measured, can look like texts that fit no label (a strict
            # expert's false rejections did, in round 0 of banking77)
            sharpness, none_prior = closed, None
        self.open_since_last = passed
        self.sharpness, self.none_prior = sharpness, none_prior
        return self.sharpness

    def __contains__(self, i: int) -> bool:
        return i in self.answers

    def note_prior(self, i: int, candidates: np.ndarray, scores: np.ndarray) -> None:
        if i not in self.prior:
            self.prior[i] = (np.asarray(candidates, dtype=np.int64).copy(), np.asarray(scores, dtype=np.float64).copy())

    def note_extra(self, i: int, label: int, share: float) -> None:
        """A label outside text ``i``'s first candidates, about to be asked because later
        classifiers (or the label's own examples) rank it: its prior is ``share`` of the mass the
        first candidates left to "another label" (kept once, like the first prior)."""
        cands = self.prior[i][0].tolist() if i in self.prior else []
        if label not in cands:
            self.extra.setdefault(i, {}).setdefault(int(label), float(min(max(share, 0.0), 1.0)))

    def add(self, i: int, label: int, verdict) -> None:
        self.answers.setdefault(i, []).append((int(label), verdict))

    def add_choice(self, i: int, labels, verdicts) -> None:
        """A choice answer about text ``i``: ``verdicts`` per label offered
        (:func:`~redtext.core.questions.choice_verdicts`: the pick ``True``, the others ``None``;
        "none of them" every one ``False``; an abstention every one ``None``)."""
        labels = [int(lab) for lab in labels]
        start = len(self.answers.get(i, ()))
        for lab, v in zip(labels, verdicts):
            self.add(i, lab, v)
        if any(v is not None for v in verdicts):
            pick = next((lab for lab, v in zip(labels, verdicts) if v is True), None)
            self.choices.setdefault(i, []).append((tuple(labels), pick, start))

    def _items(self, i: int, index: dict[int, int], rates: Rates) -> list:
        """Text ``i``'s answers as evidence (:func:`redtext.core.evidence.posterior`): its binary
        verdicts as ``(index, verdict)``, each choice answer as one :class:`Choice`."""
        in_choice = self._in_choice(i)
        items: list = [(index[lab], v) for k, (lab, v) in enumerate(self.answers.get(i, ())) if k not in in_choice]
        for labels, pick, _ in self.choices.get(i, ()):
            items.append(Choice(tuple(index[lab] for lab in labels), None if pick is None else index[pick],
                                rates.miss_none))
        return items

    def binary_rejections(self, i: int) -> list[int]:
        """The labels the expert said "no" to in a binary question about text ``i`` and was never
        offered again, in the order asked."""
        times = Counter(lab for lab, _ in self.answers.get(i, ()))
        return [lab for lab, v in self.binary(i) if v is False and times[lab] == 1]

    def binary(self, i: int) -> list[tuple[int, object]]:
        """Text ``i``'s answers to binary questions, ``(label, verdict)`` in the order asked."""
        in_choice = self._in_choice(i)
        return [item for k, item in enumerate(self.answers.get(i, ())) if k not in in_choice]

    def _in_choice(self, i: int) -> set[int]:
        """The positions in text ``i``'s answers that belong to a choice answer."""
        return {start + k for labels, _, start in self.choices.get(i, ()) for k in range(len(labels))}

    def asked(self, i: int) -> set[int]:
        return {lab for lab, _ in self.answers.get(i, ())}

    def belief(self, i: int, rates: Rates) -> tuple[np.ndarray, np.ndarray, float]:
        """(labels, posterior, rest): the text's candidates (and any other label asked about) with
        their posterior probabilities, and the posterior that the truth is another label."""
        labels, prior = self._prior_of(i)  # a label asked outside the candidates: its share of the rest
        index = {lab: j for j, lab in enumerate(labels)}
        post, rest_post = posterior(prior, self._items(i, index, rates), rates.tpr, rates.fpr, self._none_of(labels))
        return np.asarray(labels, dtype=np.int64), post, rest_post

    def best(self, i: int, rates: Rates) -> tuple[int, float]:
        labels, post, _ = self.belief(i, rates)
        j = int(np.argmax(post))
        return int(labels[j]), float(post[j])

    def decide(self, i: int, rates: Rates) -> tuple[np.ndarray, np.ndarray, int | None, float]:
        """(labels, posterior, index into the labels, its posterior) of the text's best label — the
        index ``None`` with the posterior of "another label" when that label was rejected and the
        truth more likely lies among the labels never asked about: the expert's "no", at its
        measured reliability, has ruled it out."""
        labels, post, rest = self.belief(i, rates)
        j = int(np.argmax(post))
        rejected = any(lab == labels[j] and v is False for lab, v in self.answers.get(i, ()))
        if rejected and rest > post[j]:
            return labels, post, None, float(rest)
        return labels, post, j, float(post[j])

    def delivered_posterior(self, rates: Rates, delivered: np.ndarray, outside_share: dict[int, float] | None = None):
        """``fn(tpr, fpr) -> {text: posterior of its delivered label}`` for arrays of rates (one
        value per draw); ``rates`` are the measured ones, which weigh a choice's misses.
        ``delivered`` holds each pool text's delivered label (:mod:`.deliver`'s): the ledger's best
        label or, when the answers ruled out every asked label, a label from outside them
        (``outside_share[i]`` its share of the rest) or, with none of the final candidates left
        unasked, the best asked label. How sure the answers make it, under other rates the expert
        might have, is what the audit's interval draws."""
        outside_share = outside_share or {}

        def fn(tpr: np.ndarray, fpr: np.ndarray) -> dict[int, np.ndarray]:
            tpr, fpr = np.asarray(tpr, dtype=np.float64), np.asarray(fpr, dtype=np.float64)
            out = {}
            for i in self.answers:
                labels, prior = self._prior_of(i)
                index = {lab: k for k, lab in enumerate(labels)}
                post, rest = posterior(prior, self._items(i, index, rates), tpr, fpr, self._none_of(labels))
                if i in outside_share:
                    out[i] = rest * outside_share[i]
                elif int(delivered[i]) in index:  # (not a seed text in the pool, delivered its seed label)
                    out[i] = post[:, index[int(delivered[i])]]
            return out

        return fn

    def _none_of(self, labels: list[int]):
        """``(index, false-yes ratio)`` of "no label" among ``labels`` for
        :func:`~redtext.core.evidence.posterior`, or None."""
        if self.none_prior is None or self.none not in labels:
            return None
        return labels.index(self.none), self.none_prior.fpr_ratio

    def _prior_of(self, i: int) -> tuple[list[int], np.ndarray]:
        cands, scores = self.prior[i]
        labels = list(cands.tolist())
        probs = list(sharpen(scores[None, :], self.n_labels, self.sharpness)[0])
        rest = max(0.0, 1.0 - float(np.sum(probs)))
        extra = self.extra.get(i, {})
        scale = 1.0 / max(1.0, sum(extra.values()))   # the shares never take more than the rest
        for lab, share in extra.items():
            labels.append(lab)
            probs.append(rest * share * scale)
        left = rest * max(0.0, 1.0 - sum(extra.values()) * scale)
        outside = max(1, self.n_labels - len(labels))
        for lab, _ in self.answers.get(i, ()):
            if lab not in labels:
                labels.append(lab)
                probs.append(left / outside)
        probs = np.asarray(probs)
        if self.none is not None and self.none_prior is not None:
            share = float(self.none_prior.of(scores[0])) if len(scores) else 0.0
            probs = probs * (1.0 - share)
            if self.none in labels:
                probs[labels.index(self.none)] += share
            else:
                labels.append(self.none)
                probs = np.append(probs, share)
        return labels, probs

    @property
    def none_share(self) -> float:
        """The open-world prior's mean over the asked texts: how many of them it expects to fit no
        label (0 while closed)."""
        if self.none_prior is None or not self.prior:
            return 0.0
        return float(np.mean(self.none_prior.of([s[0] for _, s in self.prior.values() if len(s)])))
