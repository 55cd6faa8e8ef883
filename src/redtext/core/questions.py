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


class _Marker:
    """A falsy singleton answer (one instance per subclass), named by ``NAME``."""

    NAME = "?"
    _instance = None

    def __new__(cls):
        if cls.__dict__.get("_instance") is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return self.NAME

    def __bool__(self) -> bool:
        return False

    def __reduce__(self):  # stays a singleton across pickling (process pools, Ray)
        return (type(self), ())


class _NotAsked(_Marker):
    """The answer to a question the expert did not answer; falsy, a singleton."""

    NAME = "NOT_ASKED"


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


class _Abstained(_Marker):
    """The answer to a choice question the expert would not answer (stored like any answer)."""

    NAME = "ABSTAINED"


ABSTAINED = _Abstained()


@dataclass(frozen=True)
class ChoiceQuestion:
    """Which of ``candidates`` (each label's :class:`Context`, in the order shown) does ``text``
    belong to — or none of them?

    An answer is one candidate's label name, ``None`` (none of them), :data:`ABSTAINED` (stored
    like any answer) or :data:`NOT_ASKED` (not answered: never stored, asked again on a resume)."""

    text_id: str
    text: str
    candidates: tuple[Context, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(c.label for c in self.candidates)


def can_choose(expert) -> bool:
    """Does ``expert`` answer choice questions (an ``ask_choice`` method)?"""
    return callable(getattr(expert, "ask_choice", None))


def to_choice(answer, labels, source: str = "expert"):
    """A choice answer checked against the candidate ``labels``: a label name among them (an
    int is read as its 1-based position), ``None`` for none of them (also ``False``, ``"none"``,
    ``""``), :data:`ABSTAINED` or :data:`NOT_ASKED` as they are; anything else is an
    :class:`~redtext.errors.ExpertError` (a label that was not offered is not an answer)."""
    import numpy as np

    if answer is NOT_ASKED or answer is ABSTAINED or answer is None:
        return answer
    if isinstance(answer, (bool, np.bool_)) and not answer:
        return None
    if isinstance(answer, (int, np.integer)) and not isinstance(answer, (bool, np.bool_)):
        if 1 <= int(answer) <= len(labels):
            return labels[int(answer) - 1]
        if int(answer) == 0:
            return None
    if isinstance(answer, str):
        if answer in labels:
            return answer
        if answer.strip().lower() in ("", "none", "none of them"):
            return None
    from ..errors import ExpertError

    raise ExpertError(f"{source} answered {answer!r} to a choice question; an answer must be one of the offered "
                      "labels, None (none of them) or ABSTAINED")


def choice_verdicts(labels, answer) -> list[tuple[str, Verdict]]:
    """A choice answer as one verdict per candidate, the way the journal keeps it: the label
    picked ``True`` and the others ``None`` (seen, not judged one by one — a pick is evidence for
    that label alone); none of them: every candidate ``False``; an abstention: every one ``None``."""
    if answer is ABSTAINED:
        return [(lab, None) for lab in labels]
    if answer is None:
        return [(lab, False) for lab in labels]
    return [(lab, True if lab == answer else None) for lab in labels]


def choice_from_verdicts(verdicts: list[Verdict], labels):
    """The choice answer that :func:`choice_verdicts` stored (replayed on a resume)."""
    for lab, v in zip(labels, verdicts):
        if v is True:
            return lab
    if any(v is False for v in verdicts):
        return None
    return ABSTAINED
