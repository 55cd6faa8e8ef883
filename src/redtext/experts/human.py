"""A person as the expert, in the terminal: y / n / s(kip) / u(ndo) / q(uit) — and, for a choice
question, the candidate's number (0 for none of them).

Every answer is written to the run's ``run.db`` (its answer log, :mod:`redtext.io.store`) the
moment it is given, so nothing is lost if the process dies; undo rewrites the previous answer
of the current batch, and quitting stops the run cleanly — ``redtext resume`` continues where
the person left off, without asking again what was answered.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Sequence

from .base import ABSTAINED, NOT_ASKED, BaseExpert, ChoiceQuestion, Question
from .cache import cache_key

HUMAN_VERSION = "human-v1"
HUMAN_CHOICE_VERSION = "human-choice-v1"
HELP = "y = yes, n = no, s = skip (don't know), u = undo the previous answer, q = quit (resume later)"
CHOICE_HELP = ("1-{n} = that label, 0 = none of them, s = skip (don't know), u = undo the previous answer, "
               "q = quit (resume later)")


def _key(q) -> str:
    if isinstance(q, ChoiceQuestion):
        return cache_key(model="human", params={}, prompt_version=HUMAN_CHOICE_VERSION, label="\x1f".join(q.labels),
                         text=q.text, context={})
    return cache_key(model="human", params={}, prompt_version=HUMAN_VERSION, label=q.label, text=q.text, context={})


class TerminalExpert(BaseExpert):
    batch_size = 10
    interactive = True  # the prompt shows "question n of m": no progress bar drawn over it
    name = "human"

    def __init__(self, state_path: str | Path | None = None, *, input_fn: Callable[[str], str] | None = None,
                 output=None):
        self.state_path = state_path
        self._store = None
        self.input_fn = input_fn or input
        self.out = output or sys.stderr
        self.exhausted = False
        self.answered = 0

    @property
    def store(self):
        if self._store is None:  # opened on first use: the run folder exists by then
            from ..io.store import Store

            self._store = Store(self.state_path or ":memory:")
        return self._store

    def _show(self, q: Question, n: int, total: int) -> None:
        w = self.out.write
        w(f"\n── question {n}/{total} " + "─" * 40 + "\n")
        w(f"label: {q.label}\n")
        if q.context.description:
            w(f"means: {q.context.description}\n")
        for e in q.context.examples[:6]:
            w(f"  e.g. {e}\n")
        w(f"text:  {q.text}\n")
        self.out.flush()

    def _show_choice(self, q: ChoiceQuestion, n: int, total: int) -> None:
        w = self.out.write
        w(f"\n── question {n}/{total} " + "─" * 40 + "\n")
        w(f"text:  {q.text}\n")
        for k, c in enumerate(q.candidates, 1):
            w(f"  {k}. {c.label}" + (f" — {c.description}" if c.description else "") + "\n")
            for e in c.examples[:2]:
                w(f"       e.g. {e}\n")
        w("  0. none of them\n")
        self.out.flush()

    def ask(self, questions: Sequence[Question]) -> list:
        return self._ask(questions, choice=False)

    def ask_choice(self, questions: Sequence[ChoiceQuestion]) -> list:
        return self._ask(questions, choice=True)

    def _read(self, q, choice: bool):
        """``(done, answer)`` for one keypress line: done is False for undo, quit and unknown keys
        (the answer is then ``"undo"``, ``"quit"``/``"q"`` or ``None``)."""
        try:
            raw = self.input_fn(f"which? [1-{len(q.candidates)}/0/s/u/q] " if choice else
                                "belongs? [y/n/s/u/q] ").strip().lower()
        except EOFError:
            raw = "quit"
        if raw in ("s", "skip"):
            return True, ABSTAINED if choice else None
        if not choice and raw in ("y", "yes", "n", "no"):
            return True, raw[0] == "y"
        if choice and raw.isdigit() and 0 <= int(raw) <= len(q.candidates):
            return True, None if int(raw) == 0 else q.labels[int(raw) - 1]
        return False, raw

    def _ask(self, questions, *, choice: bool) -> list:
        answers: list = [NOT_ASKED] * len(questions)
        todo = []
        for j, q in enumerate(questions):
            if choice:
                found, number = self.store.logged_choice(_key(q))
                found = found and (number is None or number <= len(q.labels))
                value = ABSTAINED if number is None else None if number == 0 else q.labels[number - 1] if found else None
            else:
                found, value = self.store.logged_answer(_key(q))
            if found:
                answers[j] = value
            else:
                todo.append(j)
        pos = 0
        while pos < len(todo):
            j = todo[pos]
            q = questions[j]
            (self._show_choice if choice else self._show)(q, pos + 1, len(todo))
            done, answer = self._read(q, choice)
            raw = answer
            if done:
                if choice:
                    self.store.log_choice(_key(q), None if answer is ABSTAINED else
                                          0 if answer is None else q.labels.index(answer) + 1)
                else:
                    self.store.log_answer(_key(q), answer)
                answers[j] = answer
                self.answered += 1
                pos += 1
            elif raw in ("u", "undo"):
                if pos == 0:
                    self.out.write("nothing to undo in this batch\n")
                    continue
                pos -= 1
                prev = todo[pos]
                self.store.unlog_answer(_key(questions[prev]))
                answers[prev] = NOT_ASKED
                self.answered -= 1
            elif raw in ("q", "quit"):
                self.exhausted = True
                self.exhausted_reason = "you quit (q)" if raw == "q" else "you quit (q, or the end of the input)"
                break
            else:
                self.out.write(f"? {CHOICE_HELP.format(n=len(q.candidates)) if choice else HELP}\n")
        return answers
