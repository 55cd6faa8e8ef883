"""Experts answer binary questions (does this text belong to this label?) and, when they can,
choice questions (which of these labels, or none of them?).

- :class:`Expert` — the protocol (see :mod:`.base`); :class:`BaseExpert` gives its defaults;
- any plain callable ``(text, label, context) -> bool`` works too (see :func:`as_expert`);
- :class:`SimulatedOracle` — answers from hidden gold labels with a similarity-weighted error
  model, for benchmarks; ``openai:`` (:mod:`.llm`), ``human`` (:mod:`.human`) and ``review``
  (:mod:`.review`) are built from ``--expert`` specs by :func:`build_expert` (:mod:`.registry`).
"""
from .base import (ABSTAINED, NOT_ASKED, BaseExpert, CallableExpert, ChoiceQuestion, Context, Expert, Question, as_expert,
                   can_choose, load_python_expert)
from .oracle import SimulatedOracle
from .registry import EXPERTS, build_expert

__all__ = ["ABSTAINED", "NOT_ASKED", "BaseExpert", "CallableExpert", "ChoiceQuestion", "Context", "can_choose", "EXPERTS", "Expert", "Question", "SimulatedOracle",
           "as_expert", "build_expert", "load_python_expert"]
