"""What the loop asks an expert, and what an answer can be.

A :class:`Question` asks whether one text belongs to one label; its :class:`Context` is what
the expert is shown about the label (its description, the nearest known examples). An answer
(a *verdict*) is ``True`` (yes), ``False`` (no), ``None`` (the expert abstained — stored like
any answer) or :data:`NOT_ASKED` (the expert could not answer: a hard limit, a failed call —
never stored, so a resumed run asks again).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

Verdict = Optional[bool]


class _NotAsked:
    """The answer to a question the expert did not answer; falsy, a singleton."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_ASKED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self):  # stays a singleton across pickling (process pools, Ray)
        return (_NotAsked, ())


NOT_ASKED = _NotAsked()


@dataclass(frozen=True)
class Context:
    """What the expert is shown about the label it is asked about."""

    label: str
    description: str | None = None
    examples: tuple[str, ...] = field(default_factory=tuple)  # nearest known examples of the label


@dataclass(frozen=True)
class Question:
    """Does ``text`` belong to ``label``?"""

    text_id: str
    text: str
    label: str
    context: Context


def to_verdict(answer, source: str = "expert") -> Verdict:
    """``True``/``False``/``None``; the strings yes/no/true/false are read as such; anything else
    is an :class:`~redtext.errors.ExpertError` (``bool("no")`` would be a silent "yes")."""
    import numpy as np

    if answer is None or isinstance(answer, (bool, np.bool_)):
        return None if answer is None else bool(answer)
    if isinstance(answer, str) and answer.strip().lower() in ("yes", "no", "true", "false"):
        return answer.strip().lower() in ("yes", "true")
    from ..errors import ExpertError

    raise ExpertError(f"{source} answered {answer!r}; an expert must answer True, False or None (abstain)")
