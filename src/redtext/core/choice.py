"""Choice questions in the loop: "which of these candidates fits the text — or none of them?".

:class:`ChoiceAsking` is the part of :class:`~redtext.core.loop.Delegation` that builds and
weighs them: the candidates a text is offered (its most likely unasked labels by its posterior),
their shuffled order, the known-answer questions in the same shape, the answers taken into the
ledger (one answer about every candidate offered, :class:`~redtext.core.evidence.Choice`, weighed
by the measured rates) and the audit asked the same way. :func:`resolve_question` decides what
``auto`` asks at the start, :func:`choice_for_open_pool` and :func:`choice_for_agreeable_expert`
whether it turns to choice questions during a run, :func:`choice_after_a_no` whether a binary
round follows a "no" with a choice.
"""
from __future__ import annotations

import numpy as np

from .predict import Predictions
from .quality import Check
from .questions import ABSTAINED, NOT_ASKED, ChoiceQuestion, Context, Verdict

#: nearest known examples shown with each candidate of a choice question (a binary question shows
#: ``LoopConfig.n_examples``): a choice prompt holds every candidate, and its length is its cost
CHOICE_EXAMPLES = 1
#: with choice questions and ``uncertainty="auto"``, select texts by :meth:`ChoiceAsking._choice_gain`
#: (the chance one question corrects the label) instead of the binary loop's score? Measured on
#: onet_titles (K=10, 0.5 calls a text, with twice K candidates kept): 44.1 % pool against 53.2 % with
#: the auto score (runner_up) and K candidates kept — off (benchmarks/results/choice.md)
CHOICE_GAIN = False


#: ``auto`` turns from binary to choice questions once the pool is found open (texts fit no label)
#: and the classifiers deliver "no label" for at least this share of it: a text that fits no label
#: takes a binary question per candidate to settle, one "none of them" as a choice. Measured
#: (careful, seeds 1 and 2, budgets of the issue): banking77 with a quarter of its intents unknown
#: (a share of 0.14 when it opened) pool 92.70 → 96.48 and 92.39 → 94.95 %; clinc150 --oos (0.07)
#: would lose 97.78 → 97.52 and 97.72 → 97.01 % — it stays binary
OPEN_CHOICE_SHARE = 0.10


def choice_for_open_pool(question: str, asking: str, opened: bool, none_share: float, can_choose: bool) -> bool:
    """Should a run started with ``question`` (``auto`` resolved to ``asking``) ask choice
    questions from this round on? Yes when the open world has opened, the classifiers deliver
    "no label" for :data:`OPEN_CHOICE_SHARE` of the pool or more, and the expert can choose."""
    return (question == "auto" and asking == "binary" and opened and can_choose
            and none_share >= OPEN_CHOICE_SHARE)


#: ``auto`` turns from binary to choice questions once the known-answer questions show that the
#: expert says yes to hard wrong labels this often (its measured false-yes rate, the one every
#: answer is weighed with: :attr:`~redtext.core.evidence.Rates.fpr`) — three times the careful
#: profile's worst case, under half the agreeable one's, the shape of LLM judges. A binary yes
#: from such an expert is weak evidence whichever label is asked; a choice pick goes wrong only
#: when the truth is not offered. Measured at seed 0 (`redtext bench DATASET --question choice`
#: against binary, budgets of the trust issue): agreeable clinc150 pool 97.91 → 99.03 %, expert
#: precision 0.903 → 0.973, banking77 93.20 → 97.24 %, 0.773 → 0.956; careful clinc150 99.15 →
#: 98.67 %, banking77 96.58 → 96.92 % — a careful expert keeps binary questions
#: (benchmarks/results/trust.md for every seed and profile under ``auto``: agreeable, 3 seeds,
#: clinc150 97.96 → 98.90 %, banking77 93.22 → 97.34 %; careful and strict never turn)
AGREEABLE_FPR = 0.15


def choice_for_agreeable_expert(question: str, asking: str, rates, can_choose: bool) -> bool:
    """Should a run started with ``question`` (``auto`` resolved to ``asking``) ask choice
    questions from this round on? Yes when the expert can choose and its measured false-yes rate
    (:class:`~redtext.core.evidence.Rates`, known-answer questions answered) is at least
    :data:`AGREEABLE_FPR`."""
    return (question == "auto" and asking == "binary" and can_choose and rates.n_neg > 0
            and rates.fpr >= AGREEABLE_FPR)


def choice_after_a_no(question: str, asking: str, can_choose: bool) -> bool:
    """In a round of binary questions, should the texts a "no" left open get one choice question
    about their next candidates (or none of them) instead of more binary ones? Yes under ``auto``
    when the expert can choose: the top candidate, the one most often right, costs the short
    binary question; once it is rejected the truth is spread over the rest, and one answer weighs
    them all (and "no label" with them on an open pool).

    Measured, seeds 1 and 2 (the published tables are seed 0), pool accuracy without → with it:
    closed pools, careful: clinc150 99.19 / 99.09 → 99.23 / 99.14 %, banking77 95.92 / 95.13 →
    97.15 / 96.30 %; agreeable 97.43 / 97.91 → 97.52 / 97.90 %, 92.46 / 91.69 → 92.84 / 92.45 %;
    strict 98.86 / 98.81 → 99.03 / 98.90 %, 94.94 / 94.05 → 95.91 / 95.67 %, with 1–2 % more
    tokens; at the binary loop's tokens (``--budget-tokens``) clinc150 careful 99.22 / 99.14,
    agreeable 97.59 / 97.89, strict 98.93 / 98.90 %, banking77 careful 96.79 / 96.22 %. Open
    pools: banking77 with a quarter of its labels unknown, agreeable (whose binary answers never
    open the pool) 64.66 / 65.12 → 87.07 / 84.46 %; clinc150 --oos careful 97.78 / 97.72 → 97.85 /
    97.86 % (97.89 / 98.05 when asked only once the pool was found open)."""
    return question == "auto" and asking == "binary" and can_choose


#: the choice question that follows a binary "no" offers the rejected label again, among the
#: text's next candidates: an expert's "no" to the right label (5 % of them for the careful
#: profile, 15 % for the strict one) is otherwise final, since the label is never asked again.
#: Its second answer is stored beside the first (:meth:`redtext.io.store.Store.verdicts`), and the
#: evidence weighs both. Measured (bench-trust, seeds 0–2, pool % before → after): strict
#: clinc150 98.90 → 99.15, banking77 95.90 → 96.62; careful clinc150 99.22 → 99.17, banking77
#: 96.67 → 96.85; clinc150 --oos careful seeds 1 / 2, wrong pool texts 190 / 193 → 143 / 156
OFFER_AGAIN = True


#: in a binary run, each round first puts one more binary question to every asked text whose
#: answers contradict each other (a "no" to a label, and a yes to it or a pick of it) and leave it
#: unsettled (its best label's posterior under ``LoopConfig.settle``), at most :data:`SETTLE_TRIES`
#: a text: about the likelier of its two best labels not yet asked about in a binary question.
#: Such a text is trained on with its best label and drops out of the selection (the classifier
#: is sure of it now), so without it the doubt was delivered: a "no" to the classifier's label,
#: then a pick of that same label in the choice that offered it again — the careful expert's
#: likeliest miss — and 7-11 of 80 such texts a run were wrong (clinc150, careful, seeds 0-1).
#: Measured (bench-trust, seeds 0-2, with :data:`~redtext.core.evidence.MISS_BY_PRIOR`; pool %
#: careful / strict / agreeable): contradictions only, clinc150 99.29 / 99.16 / 98.93, banking77
#: 96.88 / 96.41 / 97.39, 17 of 18 intervals cover; every unsettled asked text, clinc150 99.32 /
#: 99.21 / 99.04, banking77 96.10 / 95.26 / 97.39 (its unsettled texts are many, most of them past
#: one more answer's help, and crowd out new ones); every one with a yes or a pick, banking77
#: 96.73 / 96.43 (clinc150 99.27 / 99.18 / 99.00); every one with a binary yes or a contradiction,
#: banking77 96.71 / 96.43 (clinc150 99.28 / 99.18 / 99.00, 16 of 18 cover)
SETTLE_AGAIN = True
SETTLE_TRIES = 2


#: in a binary run that follows a "no" with a choice, every other known-yes question is a choice
#: (the seed text's own label among its hardest wrong ones), as the pool's questions are binary
#: and choice ones: it measures the expert's rates on both shapes and how it misses a truth it is
#: offered (:attr:`~redtext.core.evidence.Rates.miss_none`), which weighs each choice answer.
#: Measured with :data:`OFFER_AGAIN` (bench-trust, seeds 0–2, without → with): strict clinc150's
#: intervals 0 → 3 of 3 cover (its pick of a label it had rejected was read against an even split
#: of its misses; they are all "none of them"), pool 99.15 → 99.15 %, banking77 96.62 → 96.56 %
#: (coverage 0 → 1 of 3); careful clinc150 99.17 → 99.21 %, banking77 96.85 → 96.85 %
CHECK_CHOICES = True


def check_as_choice(index: int, check, after_a_no: bool) -> bool:
    """Is the plan's ``index``-th known-answer question (``check``) asked as a choice in a binary
    run (``after_a_no``: it follows a "no" with a choice)? Every other known-yes one."""
    return CHECK_CHOICES and after_a_no and check.positive and (index // 2) % 2 == 1


#: ``auto`` asks choice questions from the first round when the seed's leave-one-out check
#: (:func:`redtext.core.select.top3_recall`) finds the truth among the top three candidates for
#: fewer than this share of texts; above it, binary questions with a choice after a "no"
#: (:func:`choice_after_a_no`). Measured (careful, 0.5 questions a text, seed 0): onet_titles
#: (0.67) choice 55.8 % pool against binary-then-choice 48.5 %; onet_clinc (0.71, its clinc150
#: half easy) binary-then-choice 73.5 % against choice 68.8 % and binary 69.8 %; clinc150 and
#: banking77 (0.94–0.99) binary-then-choice wins (benchmarks/CHOICE.md). The two label spaces
#: that place it are the only ones measured between 0.6 and 0.9.
CHOICE_BELOW_TOP3_RECALL = 0.70


def resolve_question(question: str, recall: float | None, can_choose: bool) -> str:
    """What ``auto`` asks: choice questions when the seed's leave-one-out check finds the truth
    outside the top three candidates for many texts (:data:`CHOICE_BELOW_TOP3_RECALL`: the first
    binary question would mostly be answered "no") and the expert can choose; binary otherwise."""
    if question != "auto":
        return question
    return "choice" if can_choose and recall is not None and recall < CHOICE_BELOW_TOP3_RECALL else "binary"


class ChoiceAsking:
    """The choice-question methods of :class:`~redtext.core.loop.Delegation` (which holds the
    state they use: ``p``, ``cfg``, ``ledger``, ``rates``, ``examples``, ``asker``, ``answers``)."""

    def _by_choice_gain(self) -> bool:
        from . import choice

        return self.question == "choice" and self.cfg.uncertainty == "auto" and choice.CHOICE_GAIN

    def _choice_gain(self, pred: Predictions) -> np.ndarray:
        """Each text's chance that one choice question corrects its label: the calibrated
        probability that the truth is among its ``choices`` best candidates but is not the best —
        ``p_2 + … + p_K``."""
        from .evidence import sharpen

        k = min(self.cfg.choices, pred.candidate_scores.shape[1])
        p = sharpen(pred.candidate_scores.astype(np.float64), self.p.n_labels, self.ledger.sharpness)
        return p[:, 1:k].sum(axis=1)

    def _choice_question(self, i: int, labels: list[int], *, text_id: str | None = None, text: str | None = None,
                         x: np.ndarray | None = None) -> ChoiceQuestion:
        """Which of ``labels`` fits pool text ``i`` (or, for a known-answer question, ``text``)?
        The candidates shuffled (seeded by the text) so their order carries no hint, each with its
        description and its :data:`CHOICE_EXAMPLES` nearest known examples."""
        p = self.p
        text = p.pool_texts[i] if text is None else text
        x = p.X_pool[i] if x is None else x
        order = np.random.default_rng([self.cfg.random_state, 23, len(text), sum(map(ord, text[:64]))]).permutation(
            len(labels))
        contexts = []
        for k in order.tolist():
            name = p.classes[labels[k]]
            examples = self.examples.nearest(labels[k], x, min(self.cfg.n_examples, CHOICE_EXAMPLES), exclude=text)
            contexts.append(Context(label=name, description=p.descriptions.get(name), examples=examples))
        return ChoiceQuestion(text_id=p.pool_ids[i] if text_id is None else text_id, text=text,
                              candidates=tuple(contexts))

    def _ask_choice_checks(self, todo: list[Check], round_no: int) -> int:
        """The known-answer questions as choice questions, shaped like the others: a positive offers
        the seed text's own label among its hardest wrong ones (the right answer is that label), a
        negative only the hardest wrong ones (the right answer is none of them). Their answers
        measure ``tpr`` = P(picks the truth | offered) and ``fpr`` = P(picks a label | the truth
        is not offered)."""
        p, k = self.p, self.cfg.choices
        if not hasattr(self, "_centroids"):
            from .quality import centroids

            self._centroids = centroids(p.X_seed, p.y_seed, len(p.classes), allowed=self.cfg.ask_labels)
            self._no_centroid = ~np.any(self._centroids, axis=1)
        questions = []
        for c in todo:
            own = int(p.y_seed[c.row])
            sims = self._centroids @ p.X_seed[c.row]
            sims[self._no_centroid] = -np.inf
            sims[own] = -np.inf
            wrong = [int(j) for j in np.argsort(-sims, kind="stable")[:k] if np.isfinite(sims[j])]
            labels = ([own] + wrong[:k - 1]) if c.positive else wrong[:k]
            questions.append(self._choice_question(-1, labels, text_id=f"seed:{c.row}", text=p.seed_texts[c.row],
                                                   x=p.X_seed[c.row]))
        answered = 0
        for c, q, answer in zip(todo, questions, self.asker.ask_choice(questions, round_no, kind="check")):
            if answer is NOT_ASKED:
                break
            own = p.classes[int(p.y_seed[c.row])]
            verdict = None if answer is ABSTAINED else (answer == own if c.positive else answer is not None)
            self.checks.append((c, verdict))
            self.rates = self.rates.add(c.positive, verdict, none=answer is None)
            answered += 1
        return answered

    def _next_labels(self, i: int, pred: Predictions, n: int, *, note: bool = False,
                     skip: tuple[int, ...] = ()) -> list[int]:
        """Up to ``n`` labels to offer in a choice question about text ``i``, most likely first by
        its posterior (as :meth:`_next_label` ranks them), none asked before."""
        from .evidence import rest_shares, sharpen

        labels, post, rest = self.ledger.belief(i, self.rates) if i in self.ledger.prior else (
            np.zeros(0, dtype=np.int64), np.zeros(0), 1.0)
        asked = self.ledger.asked(i) | set(skip)
        ranked = [(p_, lab, None) for lab, p_ in zip(labels.tolist(), post.tolist())
                  if lab not in asked and self._askable(lab) and lab != self.p.none]
        known = set(labels.tolist())
        scores = sharpen(pred.candidate_scores[i][None, :], self.p.n_labels, self.ledger.sharpness)[0]
        new = [k for k, lab in enumerate(pred.candidates[i].tolist()) if lab not in known]
        if new and rest > 0:
            for k, frac in zip(new, rest_shares(scores, new).tolist()):
                lab = int(pred.candidates[i][k])
                if lab not in asked and self._askable(lab) and lab != self.p.none:
                    ranked.append((rest * frac, lab, frac))
        ranked.sort(key=lambda r: -r[0])
        out = []
        for _, lab, share in ranked[:n]:
            if note and share is not None:
                self.ledger.note_extra(i, lab, share)
            out.append(lab)
        return out

    def _take_choice(self, i: int, labels: list[int], answer, round_no: int, accepted: int, rejected: int,
                     abstained: int):
        """Record one choice answer about pool text ``i`` (``labels`` most likely first) as one
        verdict per candidate (:func:`~redtext.core.questions.choice_verdicts`); "none of them"
        makes the most likely candidate a hard negative. Returns the round's updated counts."""
        from .questions import choice_verdicts

        names = [self.p.classes[lab] for lab in labels]
        verdicts = [verdict for _, verdict in choice_verdicts(names, answer)]
        self.ledger.add_choice(i, labels, verdicts)
        for lab, verdict in zip(labels, verdicts):
            self.answers.append((i, lab, verdict, round_no))
        if answer is ABSTAINED:
            return accepted, rejected, abstained + 1
        if answer is None:
            self.neg_rows.append(i)
            self.neg_labels.append(labels[0])
            return accepted, rejected + 1, abstained
        return accepted + 1, rejected, abstained

    def _settle_wave(self, room: int, round_no: int, tried: dict, eligible: np.ndarray,
                     counts: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """:data:`SETTLE_AGAIN`: one binary question for each asked text whose answers contradict
        each other and leave it unsettled (at most ``room``, the least settled first), taken out of
        this round's selection (``eligible``),
        about the likelier of its two best labels not yet asked about that way — a label it was
        offered in a choice is asked again, its answer kept beside the first. Returns the round's
        (spent, accepted, rejected, abstained)."""
        from collections import Counter

        spent, accepted, rejected, abstained = counts
        if not SETTLE_AGAIN or self.question != "binary" or room <= 0:
            return counts
        p, ledger, unsettled, pending = self.p, self.ledger, [], []
        for i, answers in ledger.answers.items():
            said = set(answers)
            if not any((lab, True) in said for lab, v in said if v is False):
                continue  # answers that agree: more questions would mostly repeat them
            labels, post, _ = ledger.belief(i, self.rates)
            if post.max() < self.cfg.settle and self.settle_tries.get(i, 0) < SETTLE_TRIES:
                unsettled.append((float(post.max()), i, labels, post))
        for _, i, labels, post in sorted(unsettled, key=lambda r: r[0]):
            judged, times = {lab for lab, _ in ledger.binary(i)}, Counter(lab for lab, _ in ledger.answers[i])
            for j in np.argsort(-post, kind="stable")[:2].tolist():
                lab = int(labels[j])  # not asked about before, or offered once in a choice
                if lab != p.none and lab not in judged and self._askable(lab) and times[lab] < 2:
                    pending.append((i, lab, times[lab] == 1))
                    break
        pending = pending[:room]
        answers = self.asker.ask([self._question(i, lab) for i, lab, _ in pending], round_no,
                                 again=[again for *_, again in pending]) if pending else []
        for (i, lab, _), verdict in zip(pending, answers):
            eligible[i] = False
            if verdict is NOT_ASKED:
                continue
            spent += 1
            tried[i] = tried.get(i, 0) + 1
            self.settle_tries[i] = self.settle_tries.get(i, 0) + 1
            accepted, rejected, abstained = self._take(i, lab, verdict, round_no, accepted, rejected, abstained)
        return spent, accepted, rejected, abstained

    def _ask_choice_audit(self, rows: list[int], labels: list[int], round_no: int) -> dict[int, Verdict]:
        """The audit as choice questions: the delivered label among the text's next candidates
        not yet asked about; "right" when the expert picks it. A delivered label already answered
        about the text keeps that answer."""
        p, stored, out, fresh = self.p, self.asker.stored, {}, []
        for i, lab in zip(rows, labels):
            text = p.pool_texts[i]
            if (text, p.classes[lab]) in stored:
                out[i] = stored[(text, p.classes[lab])]
                continue
            others = [int(c) for c in self.last_pred.candidates[i] if c != lab and self._askable(int(c))
                      and c != p.none and (text, p.classes[int(c)]) not in stored][:self.cfg.choices - 1]
            fresh.append((i, lab, [lab] + others))
        self.audit_offered = {i: labs for i, _, labs in fresh}  # what the estimate reads a pick against
        answers = self.asker.ask_choice([self._choice_question(i, labs) for i, _, labs in fresh], round_no,
                                        kind="audit") if fresh else []
        for (i, lab, _), answer in zip(fresh, answers):
            if answer is not NOT_ASKED:
                out[i] = None if answer is ABSTAINED else answer == p.classes[lab]
        return out

    def _choice_wave(self, pred: Predictions, picks: list[int], room: int, round_no: int, tried: dict,
                     counts: tuple[int, int, int, int], *, after_a_no: bool = False) -> tuple[int, int, int, int]:
        """One choice question for each of ``picks`` not yet settled (at most ``room``): its most
        likely unasked labels — after a binary "no" (``after_a_no``), the label just rejected first
        among them (:data:`OFFER_AGAIN`). Returns the round's (spent, accepted, rejected, abstained)."""
        spent, accepted, rejected, abstained = counts
        pending = []
        for i in picks:
            if self._asked_enough(i) or (i in self.ledger and self._settled(i)):
                continue
            again = ([lab for lab in self.ledger.binary_rejections(i) if self._askable(lab) and lab != self.p.none][-1:]
                     if after_a_no and OFFER_AGAIN else [])
            labels = again + self._next_labels(i, pred, self.cfg.choices - len(again), note=True)
            if len(labels) >= 2:  # one label left is no choice
                pending.append((i, labels, frozenset(self.p.classes[lab] for lab in again)))
        pending = pending[:room]
        answers = self.asker.ask_choice([self._choice_question(i, labs) for i, labs, _ in pending], round_no,
                                        again=[names for _, _, names in pending]) if pending else []
        for (i, labs, _), answer in zip(pending, answers):
            if answer is NOT_ASKED:
                continue
            spent += 1
            tried[i] += 1
            accepted, rejected, abstained = self._take_choice(i, labs, answer, round_no, accepted, rejected,
                                                              abstained)
        return spent, accepted, rejected, abstained
