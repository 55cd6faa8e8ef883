"""The expert protocol, its defaults, and the adapter for plain callables.

An expert answers batches of binary questions (:class:`~redtext.core.questions.Question`:
does this text belong to this label?). The protocol, all of which the loop relies on:

``name: str``
    identifies the expert and any setting that changes its answers (stored with every answer);
``ask(questions) -> list``
    one verdict per question, in order: ``True``, ``False``, ``None`` (abstain — stored like
    any answer) or ``NOT_ASKED`` (could not answer: a hard limit, a failed call — never stored,
    asked again by a resumed run);
``batch_size: int``
    questions per ``ask`` call (each batch is recorded before the next is sent);
``exhausted: bool``
    true once the expert's own hard limits are reached (or a person quit): the loop stops;
``exhausted_reason: str | None``
    which limit it was, in words ("--max-calls 500 was reached", "you quit (q)"): the run's
    stop message and report say it;
``usage``
    ``None``, or an object with ``http_calls``, ``cost`` and ``as_dict()`` (what it spent in this
    process; the run keeps the totals so that hard limits carry over to a resume);
``interactive: bool``
    true for an expert that talks to a person in this terminal (its own prompt shows the
    progress): the run draws no live progress bar over it;
``prepare(labels, label_vectors)``
    called once with the label space before the first question;
``preload(http_calls, cost)``
    called once with what earlier processes of the same run spent;
``ask_choice(questions) -> list`` (optional)
    answers :class:`~redtext.core.questions.ChoiceQuestion` batches — which of these candidates,
    or none of them? — one answer each: a candidate's label name, ``None`` (none of them),
    ``ABSTAINED`` or ``NOT_ASKED``. An expert without it is asked binary questions only
    (:func:`can_choose`).

Subclass :class:`BaseExpert` to get the defaults, or pass anything with ``ask`` (or a plain
function ``(text, label, context) -> bool``; or, to answer choice questions, a function
``(text, candidates, context) -> label | None`` whose second parameter is named ``candidates``)
to :func:`as_expert`, which supplies what is missing. :func:`redtext.testing.check_expert` checks an expert against the protocol.
"""
from __future__ import annotations

import importlib
import inspect
from typing import Callable, Protocol, Sequence, runtime_checkable

from ..core.questions import ABSTAINED, NOT_ASKED, ChoiceQuestion, Context, Question, Verdict, can_choose, to_verdict
from ..errors import InputError

__all__ = ["ABSTAINED", "NOT_ASKED", "BaseExpert", "ChoiceQuestion", "can_choose", "CallableExpert", "Context", "Expert", "Question", "Verdict", "as_expert",
           "load_python_expert", "to_verdict"]


@runtime_checkable
class Expert(Protocol):
    name: str
    batch_size: int
    exhausted: bool
    usage: object

    def ask(self, questions: Sequence[Question]) -> list[Verdict]: ...

    def prepare(self, labels: Sequence[str], label_vectors) -> None: ...

    def preload(self, http_calls: int, cost: float) -> None: ...


class BaseExpert:
    """Defaults for every optional part of the protocol; subclasses define ``name`` and ``ask``."""

    name = "expert"
    batch_size = 16
    exhausted = False
    exhausted_reason: str | None = None
    interactive = False
    usage = None

    def ask(self, questions: Sequence[Question]) -> list[Verdict]:  # pragma: no cover - interface
        raise NotImplementedError

    def prepare(self, labels: Sequence[str], label_vectors) -> None:
        pass

    def preload(self, http_calls: int, cost: float) -> None:
        pass


def _is_choice_function(fn) -> bool:
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return False
    return len(params) >= 2 and params[1] == "candidates"


class CallableExpert(BaseExpert):
    """Adapts ``fn(text, label, context) -> bool`` to the protocol — or, when ``fn``'s second
    parameter is named ``candidates``, ``fn(text, candidates, context) -> label | None`` (the
    candidates' label names in the order shown, ``context`` their
    :class:`~redtext.core.questions.Context` in the same order; ``None`` = none of them): a
    chooser, asked choice questions only.

    ``batch_size = 1``: the loop hands it one question at a time and records each answer
    before asking the next, so a failure or a kill loses at most the question in flight."""

    batch_size = 1

    def __init__(self, fn: Callable, name: str | None = None):
        self.fn = fn
        self.name = name or f"python:{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', repr(fn))}"
        if _is_choice_function(fn):
            self.ask_choice = self._choose

    def ask(self, questions: Sequence[Question]) -> list[Verdict]:
        if _is_choice_function(self.fn):
            from ..errors import InputError

            raise InputError(f"{self.name} answers choice questions (its second parameter is `candidates`); "
                             "run with --question choice, or give a function (text, label, context) -> bool")
        return [to_verdict(self.fn(q.text, q.label, q.context), self.name) for q in questions]

    def _choose(self, questions: Sequence[ChoiceQuestion]) -> list:
        return [self.fn(q.text, list(q.labels), q.candidates) for q in questions]


class _Adapted(BaseExpert):
    """An object with ``ask`` (and maybe some hooks): the hooks it lacks take the defaults."""

    def __init__(self, inner):
        self.inner = inner
        self.name = str(getattr(inner, "name", None) or type(inner).__name__)
        self.batch_size = int(getattr(inner, "batch_size", BaseExpert.batch_size))
        self.interactive = bool(getattr(inner, "interactive", False))
        if can_choose(inner):
            self.ask_choice = inner.ask_choice

    @property
    def exhausted(self) -> bool:
        return bool(getattr(self.inner, "exhausted", False))

    @property
    def exhausted_reason(self):
        reason = getattr(self.inner, "exhausted_reason", None)
        return str(reason) if reason else None

    @property
    def usage(self):
        usage = getattr(self.inner, "usage", None)
        return usage if hasattr(usage, "http_calls") and hasattr(usage, "cost") else None

    def ask(self, questions):
        return self.inner.ask(questions)

    def prepare(self, labels, label_vectors):
        if callable(getattr(self.inner, "prepare", None)):
            self.inner.prepare(labels, label_vectors)

    def preload(self, http_calls, cost):
        if callable(getattr(self.inner, "preload", None)):
            self.inner.preload(http_calls, cost)


def as_expert(obj) -> BaseExpert:
    """Any expert as one that follows the whole protocol: a :class:`BaseExpert` as it is, an
    object with ``ask`` with the missing hooks defaulted, a callable through :class:`CallableExpert`."""
    if obj is None:
        raise InputError("no expert given; pass a callable (text, label, context) -> bool or an Expert")
    if isinstance(obj, BaseExpert):
        return obj
    if callable(getattr(obj, "ask", None)):
        return _Adapted(obj)
    if callable(obj):
        return CallableExpert(obj)
    raise InputError(f"expert {obj!r} is neither callable nor has an ask() method")


def load_python_expert(spec: str) -> BaseExpert:
    """``python:MODULE:FUNCTION`` -> the importable callable (or Expert object) it names."""
    parts = spec.split(":")
    if len(parts) != 3 or parts[0] != "python" or not parts[1] or not parts[2]:
        raise InputError(f"--expert {spec!r}: expected python:MODULE:FUNCTION, e.g. python:mypkg.experts:ask")
    _, module_name, attr = parts
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InputError(f"--expert {spec}: cannot import module {module_name!r} ({exc}); "
                         "check the name and that it is on PYTHONPATH") from None
    except Exception as exc:  # the module itself is broken (SyntaxError, an error at import)
        raise InputError(f"--expert {spec}: importing {module_name!r} failed ({type(exc).__name__}: {exc}); "
                         "fix the module").replace("\n", " ") from None
    obj = module
    for piece in attr.split("."):
        obj = getattr(obj, piece, None)
        if obj is None:
            raise InputError(f"--expert {spec}: module {module_name!r} has no attribute {attr!r}")
    if inspect.isclass(obj):
        try:
            obj = obj()
        except Exception as exc:
            raise InputError(f"--expert {spec}: {attr}() failed ({type(exc).__name__}: {exc}); a class given "
                             "as an expert must be constructible without arguments").replace("\n", " ") from None
    expert = as_expert(obj)
    if isinstance(expert, CallableExpert):
        expert.name = spec
    return expert
