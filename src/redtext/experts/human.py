"""A person as the expert, in the terminal: y / n / s(kip) / u(ndo) / q(uit).

Every answer is written to the run's ``run.db`` (its answer log, :mod:`redtext.io.store`) the
moment it is given, so nothing is lost if the process dies; undo rewrites the previous answer
of the current batch, and quitting stops the run cleanly — ``redtext resume`` continues where
the person left off, without asking again what was answered.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Sequence

from .base import NOT_ASKED, BaseExpert, Question
from .cache import cache_key

HUMAN_VERSION = "human-v1"
HELP = "y = yes, n = no, s = skip (don't know), u = undo the previous answer, q = quit (resume later)"


def _key(q: Question) -> str:
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

    def ask(self, questions: Sequence[Question]) -> list:
        answers: list = [NOT_ASKED] * len(questions)
        todo = []
        for j, q in enumerate(questions):
            found, verdict = self.store.logged_answer(_key(q))
            if found:
                answers[j] = verdict
            else:
                todo.append(j)
        pos = 0
        while pos < len(todo):
            j = todo[pos]
            q = questions[j]
            self._show(q, pos + 1, len(todo))
            try:
                raw = self.input_fn("belongs? [y/n/s/u/q] ").strip().lower()
            except EOFError:
                raw = "quit"
            if raw in ("y", "yes", "n", "no", "s", "skip"):
                verdict = True if raw[0] == "y" else False if raw[0] == "n" else None
                self.store.log_answer(_key(q), verdict)
                answers[j] = verdict
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
                self.out.write(f"? {HELP}\n")
        return answers
