"""Experts answer one binary question: does this text belong to this label?

- :class:`Expert` — the protocol (see :mod:`.base`); :class:`BaseExpert` gives its defaults;
- any plain callable ``(text, label, context) -> bool`` works too (see :func:`as_expert`);
- :class:`SimulatedOracle` — answers from hidden gold labels with a similarity-weighted error
  model, for benchmarks; ``openai:`` (:mod:`.llm`), ``human`` (:mod:`.human`) and ``review``
  (:mod:`.review`) are built from ``--expert`` specs by :func:`build_expert` (:mod:`.registry`).
"""
from .base import NOT_ASKED, BaseExpert, CallableExpert, Context, Expert, Question, as_expert, load_python_expert
from .oracle import SimulatedOracle
from .registry import EXPERTS, build_expert

__all__ = ["NOT_ASKED", "BaseExpert", "CallableExpert", "Context", "EXPERTS", "Expert", "Question", "SimulatedOracle",
           "as_expert", "build_expert", "load_python_expert"]
