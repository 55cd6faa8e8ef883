"""Experts answer one binary question: does this text belong to this label?

- :class:`Expert` — the batch protocol (``ask(questions) -> verdicts``).
- any plain callable ``(text, label, context) -> bool`` works too (see :func:`as_expert`).
- :class:`SimulatedOracle` — answers from hidden gold labels with a similarity-weighted error
  model, for benchmarks.
"""
from .base import CallableExpert, Context, Expert, Question, as_expert, load_python_expert
from .oracle import SimulatedOracle

__all__ = ["CallableExpert", "Context", "Expert", "Question", "SimulatedOracle", "as_expert",
           "load_python_expert"]
