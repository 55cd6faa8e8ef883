"""Build an expert from the ``--expert`` spec of the command line: the :data:`EXPERTS` registry.

A plain dict from the spec's first word (``oracle``, ``openai``, ``human``, ``review``,
``python``) to a builder ``(spec, settings) -> expert``; the built-ins use it like any
addition would. :class:`ExpertSettings` carries what builders may need from the command line.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import InputError

EXPERT_SPECS = ("oracle (simulated, needs --gold FILE), openai:MODEL (any OpenAI-compatible server, "
                "--base-url), human (questions in this terminal), review (a web page: `redtext review DIR`) "
                "or python:MODULE:FUNCTION")

LLM_DEFAULTS = {"base_url": None, "concurrency": 8, "timeout": 60.0, "max_calls": None, "max_cost": None,
                "price_prompt": 0.0, "price_completion": 0.0, "logprobs": False, "cache": None}


def default_verdict_cache() -> Path:
    base = os.environ.get("REDTEXT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "redtext")
    return Path(base) / "verdicts.db"


@dataclass
class ExpertSettings:
    """What an expert may need besides its spec."""

    gold: str | None = None               # oracle: hidden gold labels (text,label[,id])
    accuracy: float | None = None         # oracle: accuracy of the careful simulated expert (default 0.95)
    profile: str = "careful"              # oracle: careful | agreeable | strict
    seed: int = 0                         # oracle: seed of its errors
    seed_gold: dict = field(default_factory=dict)  # oracle: the seed's labels by text (its known-answer questions)
    text_col: str = "text"
    label_col: str = "label"
    id_col: str = "id"
    llm: dict = field(default_factory=dict)  # openai: LLM_DEFAULTS keys
    run_db: str | None = None             # human, review: the run's run.db
    log: Callable[[str], None] | None = None


def _oracle(spec: str, s: ExpertSettings):
    if spec != "oracle":
        raise InputError(f"unknown expert {spec!r}; use {EXPERT_SPECS}")
    if not s.gold:
        raise InputError("--expert oracle needs --gold FILE holding the hidden labels (text,label[,id])")
    from ..io.records import load_gold
    from .oracle import PROFILES, SimulatedOracle

    if s.accuracy is not None and not 0.0 <= s.accuracy <= 1.0:
        raise InputError(f"--oracle-accuracy {s.accuracy} must be within 0 and 1")
    if s.profile not in PROFILES:
        raise InputError(f"--expert-profile {s.profile!r}: use {', '.join(PROFILES)}")
    if s.accuracy is not None and s.profile != "careful":
        raise InputError("--oracle-accuracy sets the careful profile's accuracy; leave it out with "
                         f"--expert-profile {s.profile}")

    rec = load_gold(s.gold, text_col=s.text_col, label_col=s.label_col, id_col=s.id_col)
    has_ids = not all(i == f"row-{n}" for n, i in enumerate(rec.ids))
    return SimulatedOracle({**s.seed_gold, **dict(zip(rec.texts, rec.labels))}, gold_by_id=dict(zip(rec.ids, rec.labels)) if has_ids
                           else {}, accuracy=s.accuracy, seed=s.seed, profile=s.profile)


def _openai(spec: str, s: ExpertSettings):
    from .llm import OpenAICompatibleExpert

    opts = {**LLM_DEFAULTS, **{k: v for k, v in (s.llm or {}).items() if v is not None or k in ("max_calls", "max_cost")}}
    for name in ("max_calls", "max_cost", "price_prompt", "price_completion", "timeout"):
        value = opts.get(name)
        if value is not None and (not math.isfinite(float(value)) or value < 0):
            raise InputError(f"--{name.replace('_', '-')} {value}: must be a finite number ≥ 0")
    return OpenAICompatibleExpert(
        spec.split(":", 1)[1], base_url=opts["base_url"], concurrency=int(opts["concurrency"]),
        timeout=float(opts["timeout"]), max_calls=opts["max_calls"], max_cost=opts["max_cost"],
        price_prompt=float(opts["price_prompt"]), price_completion=float(opts["price_completion"]),
        logprobs=bool(opts["logprobs"]), cache_path=opts["cache"] or default_verdict_cache())


def _review(spec: str, s: ExpertSettings):
    from .review import QueueExpert

    if spec != "review":
        raise InputError(f"unknown expert {spec!r}; use {EXPERT_SPECS}")
    if not s.run_db:
        raise InputError("--expert review needs a run folder (--out) to queue its questions in")
    return QueueExpert(s.run_db, log=s.log)


def _human(spec: str, s: ExpertSettings):
    from .human import TerminalExpert

    if spec != "human":
        raise InputError(f"unknown expert {spec!r}; use {EXPERT_SPECS}")
    return TerminalExpert(state_path=s.run_db)


def _python(spec: str, s: ExpertSettings):
    from .base import load_python_expert

    return load_python_expert(spec)


#: the spec's first word -> builder(spec, settings)
EXPERTS: dict[str, Callable[[str, ExpertSettings], object]] = {
    "oracle": _oracle, "openai": _openai, "human": _human, "review": _review, "python": _python,
}


def build_expert(spec: str, settings: ExpertSettings | None = None):
    """The expert ``spec`` names (see :data:`EXPERT_SPECS`)."""
    spec = (spec or "").strip()
    kind = spec.split(":", 1)[0]
    if kind not in EXPERTS:
        raise InputError(f"unknown expert {spec!r}; use {EXPERT_SPECS}")
    return EXPERTS[kind](spec, settings or ExpertSettings())
