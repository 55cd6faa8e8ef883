"""The expert protocol and the adapter for plain callables."""
from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from typing import Callable, Optional, Protocol, Sequence, runtime_checkable

from ..errors import InputError

Verdict = Optional[bool]  # True = yes, False = no, None = abstained


class _NotAsked:
    """A question the expert did not answer (a hard limit was reached, or the call failed).

    Unlike ``None`` (an abstention, stored like any verdict) it is never stored, so a
    resumed run asks it again."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_ASKED"

    def __bool__(self) -> bool:
        return False


NOT_ASKED = _NotAsked()


@dataclass(frozen=True)
class Context:
    """What the expert knows about the label it is asked about."""

    label: str
    description: str | None = None
    examples: tuple[str, ...] = field(default_factory=tuple)  # nearest known examples of the label


@dataclass(frozen=True)
class Question:
    text_id: str
    text: str
    label: str
    context: Context


@runtime_checkable
class Expert(Protocol):
    """Answers batches of binary questions.

    ``name`` identifies the expert (and any setting that changes its answers) in the store.
    ``ask`` returns one verdict per question, in order: ``True``, ``False``, ``None`` to
    abstain, or ``NOT_ASKED`` for a question it could not answer (never stored). An expert
    may also define ``prepare(labels, label_vectors)``, called once with the label space
    before the first question, ``batch_size`` (questions per ``ask``), and ``exhausted``
    (true once its own hard limits are reached: the loop then stops).
    """

    name: str

    def ask(self, questions: Sequence[Question]) -> list[Verdict]: ...


class CallableExpert:
    """Adapts ``fn(text, label, context) -> bool`` to the batch protocol.

    ``batch_size = 1``: the loop hands it one question at a time and stores each answer
    before asking the next, so a failure or a kill loses at most the question in flight.
    """

    batch_size = 1

    def __init__(self, fn: Callable, name: str | None = None):
        self.fn = fn
        self.name = name or f"python:{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', repr(fn))}"

    def ask(self, questions: Sequence[Question]) -> list[Verdict]:
        out: list[Verdict] = []
        for q in questions:
            out.append(to_verdict(self.fn(q.text, q.label, q.context), self.name))
        return out


def to_verdict(answer, source: str = "expert") -> Verdict:
    """``True``/``False``/``None``; the strings yes/no are read as such; anything else is an
    error (``bool("no")`` would be a silent "yes")."""
    import numpy as np

    if answer is None or isinstance(answer, (bool, np.bool_)):
        return None if answer is None else bool(answer)
    if isinstance(answer, str) and answer.strip().lower() in ("yes", "no", "true", "false"):
        return answer.strip().lower() in ("yes", "true")
    from ..errors import ExpertError

    raise ExpertError(f"{source} answered {answer!r}; an expert must answer True, False or None (abstain)")


def as_expert(obj) -> Expert:
    """Accept an Expert object or any plain callable ``(text, label, context) -> bool``."""
    if obj is None:
        raise InputError("no expert given; pass a callable (text, label, context) -> bool or an Expert")
    if hasattr(obj, "ask") and callable(obj.ask):
        if not hasattr(obj, "name"):
            obj.name = type(obj).__name__
        return obj
    if callable(obj):
        return CallableExpert(obj)
    raise InputError(f"expert {obj!r} is neither callable nor has an ask() method")


def load_python_expert(spec: str) -> Expert:
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
