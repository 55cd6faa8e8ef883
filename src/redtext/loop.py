"""The recursive delegation loop: train, predict, select, ask, add, repeat — until a
stopping rule fires.

One round:
1. train the subset classifiers on the seed plus every expert-validated pool text (and the
   expert's rejections as hard negatives);
2. predict the whole pool: ranked candidates, label, confidence, uncertainty;
3. record the round and check the stopping rules (budget spent, round cap, the count of
   uncertain pool texts stopped falling, the accepted gain fell under a threshold, nothing
   left to ask);
4. select the most uncertain unresolved texts (spread across subsets) and ask the expert
   about their candidates best first; on a "no", ask about the next candidate, up to
   ``max_candidates``. Every verdict is committed to the store before it is used, and a
   question already answered in the store is never sent again — that is how resume works:
   a resumed run replays the deterministic rounds, taking stored answers instead of asking.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .errors import ExpertError
from .experts.base import NOT_ASKED, Context, Question, to_verdict
from .predict import Predictions, combine, predict_compact
from .select import resolve_auto, select

STOP_REASONS = {
    "budget": "the expert budget is spent",
    "round_cap": "the round cap was reached",
    "saturated": "the count of uncertain pool texts stopped falling",
    "no_gain": "the share of asked texts the expert accepted fell under the threshold",
    "pool_exhausted": "no pool text is left to ask about",
    "no_budget": "the budget is 0: classifier labels only",
    "expert_limit": "the expert's own hard limit (calls or cost) was reached",
}


MIN_TEXTS_FOR_GAIN = 20  # the no_gain rule needs at least this many asked texts to judge by


@dataclass
class LoopConfig:
    budget: int                      # hard cap on expert calls (questions)
    max_rounds: int = 20
    rounds_hint: int = 8             # the budget is spread over about this many rounds
    max_candidates: int = 3          # questions per text per round (correction depth)
    n_candidates: int = 5            # ranked candidates kept per text
    uncertainty: str = "auto"          # a name in select.UNCERTAINTY, or "auto" (resolved from the seed)
    uncertain_below: float = 0.5     # a text is "uncertain" when its confidence is under this
    min_gain: float = 0.05           # stop when accepted / texts asked in a round falls under this
    min_drop: float = 0.0            # ... or the uncertain count falls by no more than this share
    patience: int = 2                # ... for this many rounds in a row
    n_examples: int = 6              # nearest known examples shown to the expert
    spread: bool = True              # spread selections across subsets
    self_training: float = 0.0       # > 0: also train on pool texts predicted with at least this confidence
    self_training_weight: float = 0.5
    exclude_rejected: bool = False   # deliver the best label the expert did not reject (measured worse: off)
    # a "no" multiplies the label's score by this before the delivered label is chosen: (1 - a) / a
    # is the posterior for an expert right with probability a (0 = exclude_rejected; None = off)
    rejection_factor: float | None = None
    ask_labels: np.ndarray | None = None  # bool per label: only these may be asked about (add-classes, retrain)


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


@dataclass
class LoopResult:
    model: object
    predictions: Predictions
    validated: np.ndarray            # pool idx -> label idx the expert accepted, else -1
    rounds: list[dict]
    stop_reason: str
    calls: int
    new_calls: int                   # calls actually sent to the expert in this process
    selection: str | None = None     # the selection score used ("auto" resolved)


def _duplicate_members(rep: np.ndarray, is_rep: np.ndarray) -> dict[int, np.ndarray]:
    """For each text that occurs more than once: representative idx -> all its pool indices
    (ascending). One sort, not one scan of the pool per duplicated text."""
    dup = np.flatnonzero(~is_rep)
    if len(dup) == 0:
        return {}
    idx = np.flatnonzero(np.isin(rep, np.unique(rep[dup])))
    order = idx[np.argsort(rep[idx], kind="stable")]
    keys = rep[order]
    starts = np.r_[0, np.flatnonzero(np.diff(keys)) + 1]
    return {int(keys[a]): order[a:b] for a, b in zip(starts, np.r_[starts[1:], len(order)])}


class Delegation:
    def __init__(self, problem: Problem, config: LoopConfig, fit_model: Callable, expert, *,
                 store, run_id: int, label_group: np.ndarray, progress: bool = True, log=None, on_round=None):
        self.p = problem
        self.cfg = config
        self.fit_model = fit_model          # (X, y, neg_X, neg_label, neg_true) -> fitted model
        self.expert = expert
        self.store = store
        self.run_id = run_id
        self.label_group = label_group      # label idx -> subset number
        self.progress = progress
        self.log = log or (lambda msg: None)
        self.on_round = on_round            # called as on_round(metrics, model, predictions, validated)
        self.selection = None if config.uncertainty == "auto" else config.uncertainty  # the score in use

    # -- helpers ------------------------------------------------------------------------
    def _text_groups(self):
        first: dict[str, int] = {}
        rep = np.empty(len(self.p.pool_texts), dtype=np.int64)
        for i, t in enumerate(self.p.pool_texts):
            rep[i] = first.setdefault(t, i)
        return rep

    def _context(self, label: int, x: np.ndarray) -> Context:
        name = self.p.classes[label]
        rows = self._known[label]
        examples: tuple[str, ...] = ()
        if rows and self.cfg.n_examples > 0:
            vecs = np.stack([v for v, _ in rows])
            order = np.argsort(-(vecs @ x), kind="stable")[:self.cfg.n_examples]
            examples = tuple(rows[i][1] for i in order)
        return Context(label=name, description=self.p.descriptions.get(name), examples=examples)

    def _ask(self, pending: list[tuple[int, int]], round_no: int) -> list[bool | None]:
        """Answers for (pool idx, label idx) pairs: stored ones replayed, others asked and
        committed before they are returned."""
        answers: list[bool | None] = [None] * len(pending)
        to_ask: list[int] = []
        for j, (i, lab) in enumerate(pending):
            key = (self.p.pool_texts[i], self.p.classes[lab])
            if key in self._stored:
                answers[j] = self._stored[key]
            else:
                to_ask.append(j)
        batch = max(1, int(getattr(self.expert, "batch_size", 16)))
        if getattr(self.expert, "exhausted", False):
            for j in to_ask:
                answers[j] = NOT_ASKED
            to_ask = []
        for start in range(0, len(to_ask), batch):
            chunk = to_ask[start:start + batch]
            questions = []
            for j in chunk:
                i, lab = pending[j]
                questions.append(Question(text_id=self.p.pool_ids[i], text=self.p.pool_texts[i],
                                          label=self.p.classes[lab], context=self._context(lab, self.p.X_pool[i])))
            try:
                verdicts = list(self.expert.ask(questions))
            except Exception as exc:  # the expert's own failure: keep what we have, stop cleanly
                raise ExpertError(f"the expert failed: {type(exc).__name__}: {exc}".replace("\n", " ")) from exc
            if len(verdicts) != len(questions):
                raise ExpertError(f"the expert returned {len(verdicts)} answers for {len(questions)} questions")
            items, answered = [], []
            for j, q, v in zip(chunk, questions, verdicts):
                if v is NOT_ASKED:
                    answers[j] = NOT_ASKED
                    continue
                items.append((q.text, q.label, to_verdict(v, self.expert.name)))
                answered.append(j)
            self.store.record_verdicts(self.run_id, items, expert=self.expert.name, round_no=round_no)
            usage = getattr(self.expert, "usage", None)
            if usage is not None and hasattr(usage, "http_calls"):  # hard limits carry over to a resume
                self.store.save_usage(self.run_id, self._usage_base[0] + usage.http_calls,
                                      self._usage_base[1] + usage.cost)
            for j, (_, _, v) in zip(answered, items):
                answers[j] = v
                i, lab = pending[j]
                self._stored[(self.p.pool_texts[i], self.p.classes[lab])] = v
            self.new_calls += len(items)
            self._advance(len(items))
            if getattr(self.expert, "exhausted", False):
                for j in to_ask[start + batch:]:
                    answers[j] = NOT_ASKED
                break
        return answers

    def _check_stop(self, rounds: list[dict], calls: int, eligible_any: bool) -> str | None:
        cfg = self.cfg
        if cfg.budget <= 0:
            return "no_budget"
        if calls >= cfg.budget:
            return "budget"
        if len(rounds) > cfg.max_rounds:
            return "round_cap"
        if not eligible_any:
            return "pool_exhausted"
        asked_rounds = [r for r in rounds[:-1] if r["texts_asked"] > 0][-cfg.patience:]
        asked = sum(r["texts_asked"] for r in asked_rounds)
        # the accepted share over the last `patience` rounds that asked anything — and only once
        # enough texts were asked for the share to mean something
        if asked >= MIN_TEXTS_FOR_GAIN and sum(r["accepted"] for r in asked_rounds) / asked < cfg.min_gain:
            return "no_gain"
        if len(rounds) > cfg.patience:
            counts = [r["uncertain"] for r in rounds[-(cfg.patience + 1):]]
            # "stopped falling": no round in the window lowered the count by more than min_drop
            if all(b >= a * (1 - cfg.min_drop) for a, b in zip(counts, counts[1:])):
                return "saturated"
        return None

    # -- the loop -----------------------------------------------------------------------
    def run(self) -> LoopResult:
        from .progress import progress_bar

        p, cfg = self.p, self.cfg
        n_pool = len(p.pool_texts)
        rep = self._text_groups()
        is_rep = rep == np.arange(n_pool)    # the first copy of each distinct text stands for all
        members = _duplicate_members(rep, is_rep)  # representative -> every copy of its text
        validated = np.full(n_pool, -1, dtype=np.int64)
        asked: dict[int, set[int]] = {}          # representative idx -> labels asked
        neg_rows: list[int] = []
        neg_labels: list[int] = []
        self._stored = self.store.verdicts(self.run_id)
        self._usage_base = self.store.usage(self.run_id)
        if hasattr(self.expert, "preload"):
            self.expert.preload(*self._usage_base)
        self.new_calls = 0
        calls = 0
        rounds: list[dict] = []
        calls_per_text = 1.5
        stop = pending_stop = None
        self._known = {lab: [] for lab in range(len(p.classes))}
        for x, lab, t in zip(p.X_seed, p.y_seed, p.seed_texts):
            self._known[int(lab)].append((x, t))
        if self.selection is None:  # "auto": decided once, from the seed (deterministic, so a resume agrees)
            self.selection, recall = resolve_auto(p.X_seed, p.y_seed, len(p.classes))
            self.log(f"selection: {self.selection} (auto; label among the 3 nearest centroids for "
                     f"{'?' if recall is None else f'{100 * recall:.0f} %'} of seed texts)")
        with progress_bar("expert questions", total=cfg.budget, enabled=self.progress and cfg.budget > 0) as adv:
            self._advance = adv
            round_no = 0
            while True:
                t0 = time.perf_counter()
                val_idx = np.flatnonzero((validated >= 0) & is_rep)
                X_train = np.vstack([p.X_seed, p.X_pool[val_idx]])
                y_train = np.concatenate([p.y_seed, validated[val_idx]])
                weights = None
                if cfg.self_training > 0 and round_no > 0:
                    # self-training: confident classifier labels of unresolved texts, down-weighted
                    rejected_any = np.zeros(n_pool, dtype=bool)
                    rejected_any[neg_rows] = True  # never self-train on a text the expert said "no" about
                    sure = np.flatnonzero((pred.confidence >= cfg.self_training) & (validated < 0) & (p.fixed < 0)
                                          & is_rep & ~rejected_any)
                    X_train = np.vstack([X_train, p.X_pool[sure]])
                    y_train = np.concatenate([y_train, pred.label[sure]])
                    weights = np.r_[np.ones(len(y_train) - len(sure)), np.full(len(sure), cfg.self_training_weight)]
                neg_true = validated[neg_rows] if neg_rows else np.zeros(0, dtype=np.int64)
                model = self.fit_model(X_train, y_train, p.X_pool[neg_rows] if neg_rows else None,
                                       np.asarray(neg_labels, dtype=np.int64), neg_true, weights)
                t_train = time.perf_counter() - t0
                t1 = time.perf_counter()
                # block by block: the (pool, labels) score matrix never exists at once
                pred = predict_compact(model, p.X_pool, n_candidates=cfg.n_candidates, uncertainty=self.selection)
                t_predict = time.perf_counter() - t1
                resolved = (validated >= 0) | (p.fixed >= 0)
                unresolved_rep = ~resolved & is_rep
                exhausted = np.zeros(n_pool, dtype=bool)
                for i, labs in asked.items():
                    cands = [c for c in pred.candidates[i].tolist() if cfg.ask_labels is None or cfg.ask_labels[c]]
                    if len(labs) >= 2 * cfg.max_candidates or labs.issuperset(cands):
                        exhausted[i] = True
                eligible = unresolved_rep & ~exhausted
                if cfg.ask_labels is not None:  # only texts with an askable candidate
                    eligible &= cfg.ask_labels[pred.candidates[:, :cfg.max_candidates]].any(axis=1)
                metrics = {
                    "round": round_no, "calls": calls, "train_size": int(len(y_train)),
                    "hard_negatives": len(neg_rows), "validated": int((validated >= 0).sum()),
                    "uncertain": int(((pred.confidence < cfg.uncertain_below) & ~resolved).sum()),
                    "all_noise": int((pred.all_noise & ~resolved).sum()),
                    "mean_confidence": float(pred.confidence[~resolved].mean()) if (~resolved).any() else 1.0,
                    "train_s": round(t_train, 4), "predict_s": round(t_predict, 4), "selection": self.selection,
                    "texts_asked": 0, "accepted": 0, "rejected": 0, "abstained": 0, "round_calls": 0,
                }
                rounds.append(metrics)
                if self.on_round is not None:
                    self.on_round(metrics, model, pred, validated)
                stop = pending_stop or self._check_stop(rounds, calls, bool(eligible.any()))
                if stop is not None:
                    self.store.record_round(self.run_id, round_no, metrics)
                    break
                t2 = time.perf_counter()
                remaining = cfg.budget - calls
                round_calls = min(remaining, max(1, math.ceil(cfg.budget / max(1, cfg.rounds_hint))))
                n_texts = max(1, int(math.ceil(round_calls / calls_per_text)))
                groups = self.label_group[pred.label] if cfg.spread else None
                picks = select(pred.uncertainty, n_texts, groups=groups, eligible=eligible)
                t_select = time.perf_counter() - t2
                tried = {int(i): 0 for i in picks}
                open_picks = [int(i) for i in picks]
                spent = 0
                accepted = rejected = abstained = 0
                for _wave in range(cfg.max_candidates):
                    pending = []
                    for i in open_picks:
                        done = asked.setdefault(i, set())
                        nxt = next((int(c) for c in pred.candidates[i] if int(c) not in done and
                                    (cfg.ask_labels is None or cfg.ask_labels[int(c)])), None)
                        if nxt is not None and tried[i] < cfg.max_candidates:
                            pending.append((i, nxt))
                    pending = pending[:max(0, min(round_calls - spent, cfg.budget - calls))]
                    if not pending:
                        break
                    answers = self._ask(pending, round_no)
                    n_answered = sum(1 for a in answers if a is not NOT_ASKED)
                    spent += n_answered
                    calls += n_answered
                    still_open = []
                    answered_ids = {i for i, _ in pending}
                    for (i, lab), verdict in zip(pending, answers):
                        if verdict is NOT_ASKED:
                            continue  # not answered: may be asked again later
                        asked[i].add(lab)
                        tried[i] += 1
                        if verdict is True:
                            accepted += 1
                            validated[members.get(i, i)] = lab
                            self._known[lab].append((p.X_pool[i], p.pool_texts[i]))
                        else:
                            if verdict is False:
                                rejected += 1
                                neg_rows.append(i)
                                neg_labels.append(lab)
                            else:
                                abstained += 1
                            still_open.append(i)
                    still_open += [i for i in open_picks if i not in answered_ids and tried[i] < cfg.max_candidates]
                    open_picks = [i for i in still_open if tried[i] < cfg.max_candidates]
                    if getattr(self.expert, "exhausted", False):
                        break  # the expert quit or hit its own limit: no more questions this round
                texts_asked = sum(1 for v in tried.values() if v > 0)
                metrics.update(texts_asked=texts_asked, accepted=accepted, rejected=rejected,
                               abstained=abstained, round_calls=spent, select_s=round(t_select, 4),
                               ask_s=round(time.perf_counter() - t2 - t_select, 4))
                self.store.record_round(self.run_id, round_no, metrics)
                self.log(f"round {round_no}: asked {texts_asked} texts ({spent} calls), accepted {accepted}, "
                         f"uncertain {metrics['uncertain']}")
                if texts_asked:
                    calls_per_text = max(1.0, spent / texts_asked)
                # retrain on this round's answers first; then stop with the reason
                if getattr(self.expert, "exhausted", False):
                    pending_stop = "expert_limit"
                elif spent == 0:
                    pending_stop = "pool_exhausted"
                round_no += 1
        factor = 0.0 if cfg.exclude_rejected else cfg.rejection_factor
        if neg_rows and factor is not None:
            # deliver the best label the expert did not reject. Off by default: with a 95 % oracle
            # it lowered clinc150 pool accuracy (98.90 -> 98.33); during the rounds, too (-> 98.40).
            # only the rows of rejected texts (and their copies) change: rescore just those
            rows = np.unique(np.concatenate([np.atleast_1d(members.get(i, i)) for i in neg_rows]))
            position = {int(r): j for j, r in enumerate(rows)}
            scores, all_noise = model.predict_proba(p.X_pool[rows], return_noise=True)
            before = combine(scores, all_noise, n_candidates=cfg.n_candidates, uncertainty=self.selection).proba
            for i, lab in zip(neg_rows, neg_labels):
                scores[[position[int(r)] for r in np.atleast_1d(members.get(i, i))], lab] *= factor
            after = combine(scores, all_noise, n_candidates=cfg.n_candidates, uncertainty=self.selection)
            pred.candidates[rows] = after.candidates
            pred.label = pred.candidates[:, 0]
            pred.uncertainty[rows] = after.uncertainty
            # confidence as the classifier saw it, not inflated by removing the rejected mass
            pred.candidate_scores[rows] = np.take_along_axis(before, after.candidates, axis=1)
            pred.confidence = pred.candidate_scores[:, 0]
        return LoopResult(model=model, predictions=pred, validated=validated, rounds=rounds,
                          stop_reason=stop, calls=calls, new_calls=self.new_calls, selection=self.selection)
