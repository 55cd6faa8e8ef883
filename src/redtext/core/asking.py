"""Putting questions to the expert: what it is shown, and how answers come back.

:class:`Examples` holds the known examples of every label (the seed, then each text the expert
validates) and builds a question's :class:`~redtext.core.questions.Context` from the nearest
ones. :class:`Asker` sends questions in the expert's batch size, takes answers already in the
journal instead of asking again, and records every new answer in the journal *before* it is
returned — so a killed run loses at most the batch in flight, and a resumed one replays its
rounds without asking twice.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Sequence

import numpy as np

from ..errors import ExpertError
from .journal import Journal
from .questions import (NOT_ASKED, ChoiceQuestion, Question, Verdict, choice_from_verdicts, choice_verdicts,
                        to_choice, to_verdict)


class Examples:
    """Known examples per label: ``(vector, text)`` rows, seed first, validated texts after."""

    def __init__(self, n_labels: int, X_seed: np.ndarray, y_seed: np.ndarray, seed_texts: Sequence[str]):
        self.rows: list[list[tuple[np.ndarray, str]]] = [[] for _ in range(n_labels)]
        for x, lab, t in zip(X_seed, y_seed, seed_texts):
            self.rows[int(lab)].append((x, t))

    def add(self, label: int, x: np.ndarray, text: str) -> None:
        self.rows[label].append((x, text))

    def nearest(self, label: int, x: np.ndarray, n: int, *, exclude: str | None = None) -> tuple[str, ...]:
        """The ``n`` known examples of ``label`` nearest to ``x`` (never the text ``exclude``: a
        text is not shown as an example in its own question)."""
        rows = [r for r in self.rows[label] if r[1] != exclude] if exclude is not None else self.rows[label]
        if not rows or n <= 0:
            return ()
        vecs = np.stack([v for v, _ in rows])
        order = np.argsort(-(vecs @ x), kind="stable")[:n]
        return tuple(rows[i][1] for i in order)


class Asker:
    """Sends questions to ``expert`` through ``journal`` (see the module doc).

    ``expert`` follows the full expert protocol (:func:`redtext.experts.as_expert` gives any
    expert its optional hooks): ``name``, ``batch_size``, ``exhausted``, ``usage`` and
    ``ask``. ``on_answers(n)`` is told of every ``n`` answers the expert gave in this process."""

    def __init__(self, expert, journal: Journal, *, on_answers: Callable[[int], None] | None = None):
        self.expert = expert
        self.journal = journal
        self.stored = journal.answers()
        self.stored_again = journal.answers(again=True)  # labels offered again in a choice after a "no"
        self.spent_before = journal.spent()
        expert.preload(*self.spent_before[:2])
        self.on_answers = on_answers or (lambda n: None)
        self.new_answers = 0            # answers the expert gave in this process

    @property
    def exhausted(self) -> bool:
        return bool(self.expert.exhausted)

    def ask(self, questions: Sequence[Question], round_no: int, kind: str = "label",
            again: Sequence[bool] | None = None) -> list[Verdict]:
        """One answer per question, in order: stored ones replayed, the others asked and recorded
        (``kind``: ``label`` for the loop's questions, ``check`` for known-answer ones, ``audit``);
        ``NOT_ASKED`` for those the expert could not answer. ``again[j]``: question ``j`` asks about
        a label the text was asked about before — its answer is kept apart from the first."""
        again = list(again) if again is not None else [False] * len(questions)
        answers: list = [None] * len(questions)
        to_ask: list[int] = []
        for j, q in enumerate(questions):
            key, store = (q.text, q.label), self._store_of(again[j])
            if key in store:
                answers[j] = store[key]
            else:
                to_ask.append(j)
        return self._send(questions, to_ask, answers, round_no, kind, choice=False,
                          again=[frozenset({q.label}) if a else frozenset() for q, a in zip(questions, again)])

    def ask_choice(self, questions: Sequence[ChoiceQuestion], round_no: int, kind: str = "label",
                   again: Sequence[frozenset] | None = None) -> list:
        """:meth:`ask` for choice questions (the expert's ``ask_choice``): one answer each — a
        candidate's label, ``None`` (none of them), ``ABSTAINED`` or ``NOT_ASKED``. An answer is
        recorded as one verdict per candidate (:func:`~redtext.core.questions.choice_verdicts`),
        all at once, and replayed from them. ``again[j]``: the labels of question ``j`` offered
        again after the expert's "no" to them — their verdicts are kept apart from that first
        answer (:meth:`redtext.io.store.Store.verdicts`)."""
        again = list(again) if again is not None else [frozenset()] * len(questions)
        answers: list = [None] * len(questions)
        to_ask: list[int] = []
        sent = list(questions)
        for j, q in enumerate(questions):
            stored = [self._store_of(lab in again[j]) for lab in q.labels]
            keys = [(q.text, lab) for lab in q.labels]
            known = [k in m for k, m in zip(keys, stored)]
            if keys and all(known):
                answers[j] = choice_from_verdicts([m[k] for k, m in zip(keys, stored)], q.labels)
                continue
            if any(known):  # some candidates answered before (a resumed run on another path): ask about the rest
                sent[j] = replace(q, candidates=tuple(c for c, k in zip(q.candidates, known) if not k))
            to_ask.append(j)
        answers = self._send(sent, to_ask, answers, round_no, kind, choice=True, again=again)
        for j in to_ask:
            q = questions[j]
            if sent[j] is q or answers[j] is NOT_ASKED or answers[j] in q.labels:
                continue
            # the answer about the rest, with what was stored about the others
            new = dict(choice_verdicts(sent[j].labels, answers[j]))
            answers[j] = choice_from_verdicts([new[lab] if lab in new else self._store_of(lab in again[j])[(q.text, lab)]
                                               for lab in q.labels], q.labels)
        return answers

    def _store_of(self, again: bool) -> dict:
        return self.stored_again if again else self.stored

    def _send(self, questions, to_ask: list[int], answers: list, round_no: int, kind: str, *, choice: bool,
              again: Sequence[frozenset] | None = None):
        if self.exhausted:
            for j in to_ask:
                answers[j] = NOT_ASKED
            return answers
        batch = max(1, int(self.expert.batch_size))
        for start in range(0, len(to_ask), batch):
            chunk = to_ask[start:start + batch]
            sent = [questions[j] for j in chunk]
            try:
                verdicts = list(self.expert.ask_choice(sent) if choice else self.expert.ask(sent))
            except ExpertError:
                raise
            except Exception as exc:  # the expert's own failure: what was recorded stays, the run stops cleanly
                raise ExpertError(f"the expert failed: {type(exc).__name__}: {exc}".replace("\n", " ")) from exc
            if len(verdicts) != len(sent):
                raise ExpertError(f"the expert returned {len(verdicts)} answers for {len(sent)} questions")
            items, answered, given, sizes, flags = [], [], [], [], []
            for j, q, v in zip(chunk, sent, verdicts):
                if v is NOT_ASKED:
                    answers[j] = NOT_ASKED
                    continue
                if choice:
                    v = to_choice(v, q.labels, self.expert.name)
                    rows = choice_verdicts(q.labels, v)
                    items.extend((q.text, lab, verdict) for lab, verdict in rows)
                    flags.extend(again is not None and lab in again[j] for lab, _ in rows)
                    sizes.append(len(q.labels))
                else:
                    v = to_verdict(v, self.expert.name)
                    items.append((q.text, q.label, v))
                    flags.append(again is not None and q.label in again[j])
                    sizes.append(1)
                answered.append(j)
                given.append(v)
            extra = {"sizes": sizes} if choice else {}
            if any(flags):
                extra["again"] = flags
            self.journal.record(items, expert=self.expert.name, round_no=round_no, kind=kind, **extra)
            usage = self.expert.usage
            if usage is not None:  # hard limits carry over to a resumed run
                self.journal.record_spent(self.spent_before[0] + usage.http_calls,
                                          self.spent_before[1] + usage.cost,
                                          self.spent_before[2] + getattr(usage, "prompt_tokens", 0),
                                          self.spent_before[3] + getattr(usage, "completion_tokens", 0))
            for (text, label, v), flag in zip(items, flags):
                self._store_of(flag)[(text, label)] = v
            for j, v in zip(answered, given):
                answers[j] = v
            self.new_answers += len(answered)
            self.on_answers(len(answered))
            if self.exhausted:
                for j in to_ask[start + batch:]:
                    answers[j] = NOT_ASKED
                break
        return answers

