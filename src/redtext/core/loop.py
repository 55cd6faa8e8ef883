"""The recursive delegation loop: train, predict, select, ask, add, repeat — until a stopping
rule fires (:mod:`.stop`).

One round:

1. train the classifiers on the seed plus every pool text whose posterior-best label is more
   likely right than wrong (:data:`TRAIN_ABOVE`),
   with the expert's rejections as hard negatives (:class:`~redtext.core.trainer.Trainer`);
2. predict the whole pool: ranked candidates, label, confidence, uncertainty;
3. record the round and check the stopping rules;
4. put this round's known-answer questions to the expert (:mod:`.quality`): they measure its
   rates, which weigh every other answer (:mod:`.evidence`);
5. ask each text earlier answers left unsettled one more binary question (:mod:`.choice`); then
   select the most uncertain unsettled texts (spread across subsets) and ask about their
   candidates in waves: each text's best candidate by its posterior first; on a "no" — or a
   "yes" too weak to settle the text, from an expert that says yes too easily — the next best,
   up to ``max_candidates``. A text is settled once its best label's posterior reaches
   ``settle`` (:mod:`.ledger`). Under ``question="auto"`` the rounds turn to choice questions
   ("which of these candidates, or none?") for good once the pool is found open or the expert is
   measured saying yes to hard wrong labels too often (:mod:`.choice`).
   Answers go through an :class:`~redtext.core.asking.Asker`:
   recorded in the journal before they are used, replayed from it on a resume — a resumed run
   replays the same deterministic rounds, taking stored answers instead of asking.

The loop owns the rounds and nothing else: what is delivered for each text is decided
afterwards, by :mod:`.deliver`.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from itertools import groupby
from typing import Callable

import numpy as np

from .asking import Asker, Examples
from .choice import (CHOICE_EXAMPLES, ChoiceAsking, check_as_choice, choice_after_a_no, choice_for_agreeable_expert,  # noqa: F401  (re-exported)
                     choice_for_open_pool, resolve_question)
from .duplicates import duplicate_groups
from .evidence import Rates
from .journal import Journal
from .ledger import Ledger
from .predict import Predictions, predict_compact
from .quality import Check, plan_checks, schedule
from .questions import NOT_ASKED, Context, Question, Verdict, can_choose
from .select import resolve_auto, select
from .stop import StopRules, stop_reason
from .thin import THIN_SHARE, ThinLabels
from .trainer import Negatives, Trainer

log = logging.getLogger("redtext")

#: an asked text is trained on with its posterior-best label once that label is more likely
#: right than wrong; it stops being asked about (is *settled*) only at ``LoopConfig.settle``.
#: Measured (clinc150, seed 0, flat loop): training only on settled texts gave pool 96.9 % with
#: the agreeable expert and 98.7 % with the careful one; training above 0.5 gives 97.7 / 98.9.
TRAIN_ABOVE = 0.5


@dataclass
class LoopConfig:
    budget: int                      # hard cap on expert calls: the loop's questions, the checks and the audit
    checks: int = 0                  # known-answer questions among them (quality control)
    audit: int = 0                   # calls held back for the audit after the loop
    settle: float = 0.9              # a text is settled (no more questions; shown as an example) once its best posterior reaches this
    max_rounds: int = 20
    rounds_hint: int = 8             # the budget is spread over about this many rounds
    max_candidates: int = 3          # questions per text per round (correction depth)
    n_candidates: int = 5            # ranked candidates kept per text
    uncertainty: str = "auto"        # a name in select.UNCERTAINTY, or "auto" (resolved from the seed)
    uncertain_below: float = 0.5     # a text is "uncertain" when its confidence is under this
    min_gain: float = 0.05           # stop when accepted / texts asked in a round falls under this
    min_drop: float = 0.0            # ... or the uncertain count falls by no more than this share
    patience: int = 2                # ... for this many rounds in a row
    n_examples: int = 6              # nearest known examples shown to the expert
    spread: bool = True              # spread selections across subsets
    ask_labels: np.ndarray | None = None  # bool per label: only these may be asked about (add-classes, retrain)
    random_state: int = 0                # which seed texts make the known-answer questions, in which order
    open_world: str = "off"              # "auto" | "on" | "off": may a text fit no label (Problem.none)?
    question: str = "binary"             # "binary" | "choice" | "auto" (resolve_question)
    choices: int = 5                     # candidates per choice question

    def stop_rules(self) -> StopRules:
        return StopRules(budget=self.budget - self.audit, max_rounds=self.max_rounds, min_gain=self.min_gain,
                         min_drop=self.min_drop, patience=self.patience)


@dataclass
class Problem:
    """Arrays the loop works on (label indices into ``classes``)."""

    classes: list[str]
    X_seed: np.ndarray
    y_seed: np.ndarray
    seed_texts: list[str]
    X_pool: np.ndarray
    pool_texts: list[str]
    pool_ids: list[str]
    fixed: np.ndarray                # pool idx -> seed label idx when the text is a seed text, else -1
    descriptions: dict[str, str] = field(default_factory=dict)
    none: int | None = None          # index of the internal "fits no label" class (open world), never asked about
    extra: tuple[np.ndarray, np.ndarray] | None = None  # (X, y) learnt beside the seed (descriptions), never asked

    @property
    def n_labels(self) -> int:
        """The labels a text may have (``classes`` less the internal "no label")."""
        return len(self.classes) - (self.none is not None)


@dataclass
class LoopResult:
    model: object
    predictions: Predictions         # of the last round's model, for every pool text
    validated: np.ndarray            # pool idx -> label idx the answers settled (posterior >= settle), else -1
    trained: np.ndarray              # pool idx -> label idx the last model was trained on (posterior > TRAIN_ABOVE), else -1
    ledger: Ledger                   # every asked text's prior and answers (by its representative)
    rates: Rates                     # the expert's rates, measured on the known-answer questions
    checks: list[tuple[Check, Verdict]]  # the known-answer questions answered, in order
    answers: list[tuple[int, int, Verdict, int]]  # (pool idx, label idx, verdict, round), in order
    rounds: list[dict]
    stop_reason: str
    calls: int
    new_calls: int                   # answers the expert gave in this process (the rest were replayed)
    selection: str                   # the selection score used ("auto" resolved)
    question: str = "binary"         # the questions asked ("auto" resolved)


class Delegation(ChoiceAsking):
    """The loop over one problem. ``trainer.fit(X, y, negatives)`` trains a model each round;
    ``expert`` follows the full expert protocol; ``journal`` keeps the answers; ``label_group``
    maps each label to its subset (selection spreads across subsets); ``monitor(metrics, model,
    predictions, validated)`` is called after each round's predictions; ``on_answers(n)`` after
    each batch of new answers (a progress bar)."""

    def __init__(self, problem: Problem, config: LoopConfig, trainer: Trainer, expert, *, journal: Journal,
                 label_group: np.ndarray, monitor: Callable | None = None,
                 on_answers: Callable[[int], None] | None = None):
        self.p = problem
        self.cfg = config
        self.trainer = trainer
        self.asker = Asker(expert, journal, on_answers=on_answers)
        self.journal = journal
        self.label_group = label_group
        self.monitor = monitor
        n_pool = len(problem.pool_texts)
        self.rep, self.members = duplicate_groups(problem.pool_texts)
        self.is_rep = self.rep == np.arange(n_pool)   # the first copy of each distinct text stands for all
        self.validated = np.full(n_pool, -1, dtype=np.int64)
        self.trained = np.full(n_pool, -1, dtype=np.int64)
        self.ledger = Ledger(problem.n_labels, none=problem.none, open_world=config.open_world)
        self.rates = Rates()
        self.plan = plan_checks(problem.X_seed, problem.y_seed, len(problem.classes), config.random_state,
                                allowed=config.ask_labels) if config.checks > 0 else []
        self.checks: list[tuple[Check, Verdict]] = []
        self.neg_rows: list[int] = []
        self.neg_labels: list[int] = []
        self.answers: list[tuple[int, int, Verdict, int]] = []
        self.settle_tries: dict[int, int] = {}  # pool idx -> questions asked to settle it (.choice)
        self.examples = Examples(len(problem.classes), problem.X_seed, problem.y_seed, problem.seed_texts)
        self.selection = config.uncertainty
        self.question = config.question
        self.n_cands = config.n_candidates
        self.thin = ThinLabels(problem.y_seed, len(problem.classes), config.ask_labels)

    def run(self) -> LoopResult:
        cfg, p = self.cfg, self.p
        if self.selection == "auto":  # decided once, from the seed (deterministic, so a resume agrees)
            known = p.y_seed < p.n_labels  # a grown open-world model's seed holds "no label" rows too
            self.selection, recall = resolve_auto(p.X_seed[known], p.y_seed[known], p.n_labels)
            why = ("every label has a single seed example, so the check cannot run" if recall is None else
                   f"label among the 3 nearest centroids for {100 * recall:.0f} % of seed texts")
            log.info(f"selection: {self.selection} (auto; {why})")
        if self.question == "auto":
            known = p.y_seed < p.n_labels
            recall = resolve_auto(p.X_seed[known], p.y_seed[known], p.n_labels)[1]
            self.question = resolve_question("auto", recall, can_choose(self.asker.expert))
            log.info(f"questions: {self.question} (auto)")
        if self.question == "choice":
            from ..errors import InputError

            if not can_choose(self.asker.expert):
                raise InputError(f"question='choice': the expert {self.asker.expert.name} answers binary questions "
                                 "only (it has no ask_choice); use question='binary' or 'auto'")
            self.n_cands = max(cfg.n_candidates, cfg.choices)
        rounds: list[dict] = []
        calls, calls_per_text, round_no = 0, 1.5, 0
        exhausted = idle = False
        while True:
            model, pred, metrics = self._train_and_predict(round_no, calls)
            eligible = self._eligible(pred)
            rounds.append(metrics)
            if self.monitor is not None:
                self.monitor(metrics, model, pred, self.validated)
            stop = stop_reason(cfg.stop_rules(), rounds, calls, can_ask=bool(eligible.any()),
                               expert_exhausted=exhausted, last_round_idle=idle)
            if stop is None and p.none is not None and choice_for_open_pool(
                    cfg.question, self.question, self.ledger.none_prior is not None,
                    float(np.mean(pred.label == p.none)), can_choose(self.asker.expert)):
                self.question, self.n_cands = "choice", max(cfg.n_candidates, cfg.choices)
                metrics["question"] = "choice"
                log.info(f"questions: choice from round {round_no} on (auto; many texts fit no label)")
            if stop is None:
                room = cfg.budget - cfg.audit
                round_calls = min(room - calls, max(1, math.ceil(room / max(1, cfg.rounds_hint))))
                checked = self._ask_checks(round_no, min(round_calls, schedule(cfg.checks, cfg.rounds_hint, round_no,
                                                                               len(self.checks))))
                if choice_for_agreeable_expert(cfg.question, self.question, self.rates, can_choose(self.asker.expert)):
                    # this round's known-answer questions already say the expert's yes is weak evidence
                    self.question, self.n_cands = "choice", max(cfg.n_candidates, cfg.choices)
                    metrics["question"] = "choice"
                    log.info(f"questions: choice from round {round_no} on (auto; the expert said yes to "
                             f"{self.rates.yes_neg} of {self.rates.n_neg} known wrong labels)")
                spent = checked + self._ask_round(pred, eligible, round_calls - checked, calls + checked,
                                                  calls_per_text, metrics)
                metrics["checks"] = checked
                calls += spent
                if metrics["texts_asked"]:
                    calls_per_text = max(1.0, spent / metrics["texts_asked"])
                log.info(f"round {round_no}: asked {metrics['texts_asked']} texts ({spent} calls), "
                         f"accepted {metrics['accepted']}, uncertain {metrics['uncertain']}")
                # retrain on this round's answers first; then stop with the reason
                exhausted, idle = self.asker.exhausted, spent == 0
            self.journal.record_round(round_no, metrics)
            if stop is not None:
                return LoopResult(model=model, predictions=pred, validated=self.validated, trained=self.trained,
                                  ledger=self.ledger,
                                  rates=self.rates, checks=self.checks, answers=self.answers, rounds=rounds,
                                  stop_reason=stop, calls=calls, new_calls=self.asker.new_answers,
                                  selection=self.selection, question=self.question)
            round_no += 1

    # -- one round ------------------------------------------------------------------------------
    def _train_and_predict(self, round_no: int, calls: int):
        p, cfg = self.p, self.cfg
        t0 = time.perf_counter()
        val_idx = np.flatnonzero((self.trained >= 0) & self.is_rep)
        X_extra, y_extra = p.extra if p.extra is not None else (p.X_seed[:0], p.y_seed[:0])
        X_train = np.vstack([p.X_seed, p.X_pool[val_idx], X_extra])
        y_train = np.concatenate([p.y_seed, self.trained[val_idx], y_extra])
        negatives = Negatives(p.X_pool[self.neg_rows], np.asarray(self.neg_labels, dtype=np.int64),
                              self.trained[self.neg_rows]) if self.neg_rows else None
        model = self.trainer.fit(X_train, y_train, negatives, self.thin.weights(y_train))
        t_train = time.perf_counter() - t0
        t1 = time.perf_counter()
        # block by block: the (pool, labels) score matrix never exists at once
        pred = predict_compact(model, p.X_pool, n_candidates=self.n_cands, uncertainty=self.selection)
        self.last_pred = pred
        t_predict = time.perf_counter() - t1
        resolved = (self.validated >= 0) | (p.fixed >= 0)
        metrics = {
            "round": round_no, "calls": calls, "train_size": int(len(y_train)),
            "hard_negatives": len(self.neg_rows), "validated": int((self.validated >= 0).sum()),
            "uncertain": int(((pred.confidence < cfg.uncertain_below) & ~resolved).sum()),
            "all_noise": int((pred.all_noise & ~resolved).sum()),
            "mean_confidence": float(pred.confidence[~resolved].mean()) if (~resolved).any() else 1.0,
            "train_s": round(t_train, 4), "predict_s": round(t_predict, 4), "selection": self.selection,
            "question": self.question,
            "texts_asked": 0, "accepted": 0, "rejected": 0, "abstained": 0, "round_calls": 0, "checks": 0,
        }
        return model, pred, metrics

    def _asked_enough(self, i: int) -> bool:
        """No more questions about text ``i``: binary, ``2 × max_candidates`` labels asked; choice,
        a pick made (the evidence weighs it) or two choice questions answered "none of them"."""
        if self.question == "choice":
            return (any(v is True for _, v in self.ledger.answers.get(i, ()))
                    or len(self.ledger.asked(i)) >= 2 * self.cfg.choices)
        return len(self.ledger.asked(i)) >= 2 * self.cfg.max_candidates

    def _askable(self, label: int) -> bool:
        return self.cfg.ask_labels is None or bool(self.cfg.ask_labels[label])

    def _eligible(self, pred: Predictions) -> np.ndarray:
        """Unresolved distinct texts that still have a candidate worth asking about."""
        cfg, p = self.cfg, self.p
        resolved = (self.validated >= 0) | (p.fixed >= 0)
        eligible = ~resolved & self.is_rep
        for i in self.ledger.answers:
            if not eligible[i]:
                continue
            if self._asked_enough(i) or self._next_label(i, pred) is None:
                eligible[i] = False  # nothing left worth asking about this text
        if cfg.ask_labels is not None:  # only texts with an askable candidate
            eligible &= cfg.ask_labels[pred.candidates[:, :cfg.max_candidates]].any(axis=1)
        return eligible

    def _question(self, i: int, label: int) -> Question:
        p = self.p
        name = p.classes[label]
        examples = self.examples.nearest(label, p.X_pool[i], self.cfg.n_examples)
        return Question(text_id=p.pool_ids[i], text=p.pool_texts[i], label=name,
                        context=Context(label=name, description=p.descriptions.get(name), examples=examples))

    def _ask_checks(self, round_no: int, n: int) -> int:
        """Put ``n`` more known-answer questions to the expert; their answers update the rates. In
        the shape of the round's questions: choice questions in a choice run; in a binary run
        that follows a "no" with a choice, every other known-yes question a choice
        (:func:`~redtext.core.choice.check_as_choice`), the rest binary. Asked in the plan's order,
        stopping where the expert stops, so the answered ones are always the plan's start."""
        todo = self.plan[len(self.checks):len(self.checks) + n]
        if self.question == "choice":
            return self._ask_choice_checks(todo, round_no) if todo else 0
        after_a_no = choice_after_a_no(self.cfg.question, self.question, can_choose(self.asker.expert))
        start, answered = len(self.checks), 0
        for as_choice, run in groupby(enumerate(todo), key=lambda kc: check_as_choice(start + kc[0], kc[1], after_a_no)):
            part = [c for _, c in run]
            got = (self._ask_choice_checks if as_choice else self._ask_binary_checks)(part, round_no)
            answered += got
            if got < len(part):
                break  # the expert stopped: the rest of the plan waits for a resume
        return answered

    def _ask_binary_checks(self, todo: list[Check], round_no: int) -> int:
        p = self.p
        questions = []
        for c in todo:
            name, text = p.classes[c.label], p.seed_texts[c.row]
            examples = self.examples.nearest(c.label, p.X_seed[c.row], self.cfg.n_examples, exclude=text)
            questions.append(Question(text_id=f"seed:{c.row}", text=text, label=name,
                                      context=Context(label=name, description=p.descriptions.get(name),
                                                      examples=examples)))
        answered = 0
        for c, verdict in zip(todo, self.asker.ask(questions, round_no, kind="check")):
            if verdict is NOT_ASKED:
                break  # the expert stopped: the rest of the plan waits for a resume
            self.checks.append((c, verdict))
            self.rates = self.rates.add(c.positive, verdict)
            answered += 1
        return answered

    def _next_label(self, i: int, pred: Predictions, *, note: bool = False) -> int | None:
        """The label to ask about next: the text's best by its posterior among those not asked —
        its candidates when first asked, and the current classifiers' candidates, which share the
        posterior left to "another label" in proportion to their current scores."""
        from .evidence import rest_shares, sharpen

        labels, post, rest = self.ledger.belief(i, self.rates)
        asked = self.ledger.asked(i)
        best, best_p, share = None, -1.0, None
        for lab, p in zip(labels.tolist(), post.tolist()):
            if lab not in asked and self._askable(lab) and p > best_p:
                best, best_p = lab, p
        known = set(labels.tolist())
        scores = sharpen(pred.candidate_scores[i][None, :], self.p.n_labels, self.ledger.sharpness)[0]
        new = [k for k, lab in enumerate(pred.candidates[i].tolist()) if lab not in known]
        if new and rest > 0:
            for k, frac in zip(new, rest_shares(scores, new).tolist()):
                lab = int(pred.candidates[i][k])
                if lab not in asked and self._askable(lab) and rest * frac > best_p:
                    best, best_p, share = lab, rest * frac, frac
        if note and share is not None:  # its prior from now on: that share of the rest
            self.ledger.note_extra(i, best, share)
        return best

    def _settled(self, i: int) -> bool:
        return self.ledger.best(i, self.rates)[1] >= self.cfg.settle

    def _ask_round(self, pred: Predictions, eligible: np.ndarray, round_calls: int, calls: int,
                   calls_per_text: float, metrics: dict) -> int:
        """Select texts and ask about their candidates in waves (see the module doc). Returns the
        answers spent; fills ``metrics``."""
        cfg = self.cfg
        t0 = time.perf_counter()
        limit = cfg.budget - cfg.audit - calls
        # labels with too few examples first (see .thin)
        thin = self._thin_questions(pred, eligible, int(min(round_calls, limit) * THIN_SHARE))
        choice = self.question == "choice"
        if choice:  # the thin label among the text's other candidates
            offered = [[lab] + self._next_labels(i, pred, cfg.choices - 1, note=True, skip=(lab,)) for i, lab in thin]
            explored = self.asker.ask_choice([self._choice_question(i, labs) for (i, _), labs in zip(thin, offered)],
                                             metrics["round"]) if thin else []
        else:
            explored = self.asker.ask([self._question(i, lab) for i, lab in thin], metrics["round"]) if thin else []
        eligible = eligible.copy()
        spent = accepted = rejected = abstained = 0
        tried: dict[int, int] = {}
        for k, ((i, lab), verdict) in enumerate(zip(thin, explored)):
            eligible[i] = False
            if verdict is NOT_ASKED:
                continue
            self.thin.record(lab, (verdict == self.p.classes[lab]) if choice else verdict is True)
            spent += 1
            tried[i] = tried.get(i, 0) + 1
            if choice:
                accepted, rejected, abstained = self._take_choice(i, offered[k], verdict, metrics["round"], accepted,
                                                                  rejected, abstained)
            else:
                accepted, rejected, abstained = self._take(i, lab, verdict, metrics["round"], accepted, rejected,
                                                           abstained)
        spent, accepted, rejected, abstained = self._settle_wave(max(0, min(round_calls, limit) - spent),
                                                                 metrics["round"], tried, eligible,
                                                                 (spent, accepted, rejected, abstained))
        round_calls -= spent
        n_texts = max(1, int(math.ceil(round_calls / calls_per_text))) if round_calls > 0 else 0
        groups = self.label_group[pred.label] if cfg.spread else None
        picks = select(self._choice_gain(pred) if self._by_choice_gain() else pred.uncertainty, n_texts,
                       groups=groups, eligible=eligible)
        t_select = time.perf_counter() - t0
        for i in picks:  # the prior each text is weighed against: the classifier's view when first asked
            self.ledger.note_prior(int(i), pred.candidates[i], pred.candidate_scores[i])
        tried.update({int(i): 0 for i in picks})
        open_picks = [int(i) for i in picks]
        round_calls += spent
        if self.question == "choice":  # one question a text: which of its candidates, or none?
            spent, accepted, rejected, abstained = self._choice_wave(
                pred, open_picks, max(0, min(round_calls - spent, limit - spent)), metrics["round"], tried,
                (spent, accepted, rejected, abstained))
        after_a_no = choice_after_a_no(cfg.question, self.question, can_choose(self.asker.expert))
        for _wave in range(cfg.max_candidates if self.question != "choice" else 0):
            if _wave >= 1 and after_a_no:
                # the texts still open after a "no": which of their next candidates, or none of them?
                spent, accepted, rejected, abstained = self._choice_wave(
                    pred, open_picks, max(0, min(round_calls - spent, limit - spent)), metrics["round"], tried,
                    (spent, accepted, rejected, abstained), after_a_no=True)
                break
            pending = []
            for i in open_picks:
                if len(self.ledger.asked(i)) >= 2 * cfg.max_candidates or (i in self.ledger and self._settled(i)):
                    continue
                nxt = self._next_label(i, pred, note=True)
                if nxt is not None:
                    pending.append((i, nxt))
            pending = pending[:max(0, min(round_calls - spent, limit - spent))]
            if not pending:
                break
            answers = self.asker.ask([self._question(i, lab) for i, lab in pending], metrics["round"])
            open_picks = []
            for (i, lab), verdict in zip(pending, answers):
                if verdict is NOT_ASKED:
                    continue  # not answered: may be asked again later
                spent += 1
                tried[i] += 1
                accepted, rejected, abstained = self._take(i, lab, verdict, metrics["round"], accepted, rejected,
                                                           abstained)
                if tried[i] < cfg.max_candidates:
                    open_picks.append(i)
            if self.asker.exhausted:
                break  # the expert quit or hit its own limit: no more questions this round
        before = int((self.validated == self.p.none).sum()) if self.p.none is not None else 0
        self._refresh()
        none_found = int((self.validated == self.p.none).sum()) - before if self.p.none is not None else 0
        metrics.update(none_found=max(0, none_found), texts_asked=sum(1 for v in tried.values() if v > 0), accepted=accepted, rejected=rejected,
                       abstained=abstained, round_calls=spent, select_s=round(t_select, 4),
                       ask_s=round(time.perf_counter() - t0 - t_select, 4))
        return spent

    def _take(self, i: int, lab: int, verdict, round_no: int, accepted: int, rejected: int, abstained: int):
        """Record one answer about pool text ``i``; returns the round's updated counts."""
        self.ledger.add(i, lab, verdict)
        self.answers.append((i, lab, verdict, round_no))
        if verdict is True:
            return accepted + 1, rejected, abstained
        if verdict is False:
            self.neg_rows.append(i)
            self.neg_labels.append(lab)
            return accepted, rejected + 1, abstained
        return accepted, rejected, abstained + 1

    def _thin_questions(self, pred: Predictions, eligible: np.ndarray, n_max: int) -> list[tuple[int, int]]:
        if not self.thin.thin.any():  # most runs: nothing to count
            return []
        p, n = self.p, len(self.p.classes)
        rows = np.flatnonzero((self.trained >= 0) & self.is_rep)
        counts = (np.bincount(p.y_seed, minlength=n)[:n] + np.bincount(self.trained[rows], minlength=n)[:n])

        def examples(lab: int) -> np.ndarray:
            parts = [p.X_seed[p.y_seed == lab], p.X_pool[rows[self.trained[rows] == lab]]]
            if p.extra is not None:  # its name (and description) read like one more example
                parts.append(p.extra[0][p.extra[1] == lab])
            return np.vstack(parts)

        return self.thin.questions(p.X_pool, examples, counts, pred, self.ledger, eligible, n_max)

    def _refresh(self) -> None:
        """The settled texts (and the examples the expert is shown) from every answer so far."""
        p = self.p
        self.ledger.calibrate(self.rates)
        self.validated[:] = -1
        self.trained[:] = -1
        self.examples = Examples(len(p.classes), p.X_seed, p.y_seed, p.seed_texts)
        for i in self.ledger.answers:
            label, prob = self.ledger.best(i, self.rates)
            if prob > TRAIN_ABOVE:  # "no label" too: the classifier learns it from the texts the expert rejected
                self.trained[self.members.get(i, i)] = label
            if prob >= self.cfg.settle:
                self.validated[self.members.get(i, i)] = label
                if label != p.none:
                    self.examples.add(label, p.X_pool[i], p.pool_texts[i])

    def ask_audit(self, rows: list[int], labels: list[int], round_no: int) -> dict[int, Verdict]:
        """The audit: "is the delivered label right?" for each of ``rows`` (its label in ``labels``),
        asked and recorded like every other question (kind ``audit``); the rows answered."""
        if self.question == "choice":
            return self._ask_choice_audit(rows, labels, round_no)
        answers = self.asker.ask([self._question(i, lab) for i, lab in zip(rows, labels)], round_no, kind="audit")
        return {i: v for i, v in zip(rows, answers) if v is not NOT_ASKED}
