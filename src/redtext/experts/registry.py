"""Build an expert from the ``--expert`` spec of the command line."""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError

EXPERT_SPECS = ("oracle (simulated, needs --gold FILE), openai:MODEL (any OpenAI-compatible server, "
                "--base-url), human (questions in this terminal), review (a web page: `redtext review DIR`) "
                "or python:MODULE:FUNCTION")

LLM_DEFAULTS = {"base_url": None, "concurrency": 8, "timeout": 60.0, "max_calls": None, "max_cost": None,
                "price_prompt": 0.0, "price_completion": 0.0, "logprobs": False, "cache": None}


def default_verdict_cache() -> Path:
    base = os.environ.get("REDTEXT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "redtext")
    return Path(base) / "verdicts.db"


def build_expert(spec: str, *, gold: str | None = None, accuracy: float = 0.95, seed: int = 0,
                 text_col: str = "text", label_col: str = "label", id_col: str = "id", llm: dict | None = None,
                 human_state: str | None = None, log=None):
    spec = (spec or "").strip()
    if spec == "oracle":
        if not gold:
            raise InputError("--expert oracle needs --gold FILE holding the hidden labels (text,label[,id])")
        if not 0.0 <= accuracy <= 1.0:
            raise InputError(f"--oracle-accuracy {accuracy} must be within 0 and 1")
        from ..data import load_gold
        from .oracle import SimulatedOracle

        rec = load_gold(gold, text_col=text_col, label_col=label_col, id_col=id_col)
        by_text = dict(zip(rec.texts, rec.labels))
        has_ids = not all(i == f"row-{n}" for n, i in enumerate(rec.ids))
        by_id = dict(zip(rec.ids, rec.labels)) if has_ids else {}
        return SimulatedOracle(by_text, gold_by_id=by_id, accuracy=accuracy, seed=seed)
    if spec.startswith("openai:"):
        from .llm import OpenAICompatibleExpert

        opts = dict(LLM_DEFAULTS)
        opts.update(llm or {})
        model = spec.split(":", 1)[1]
        import math

        for name in ("max_calls", "max_cost", "price_prompt", "price_completion", "timeout"):
            value = opts.get(name)
            if value is not None and (not math.isfinite(float(value)) or value < 0):
                raise InputError(f"--{name.replace('_', '-')} {value}: must be a finite number ≥ 0")
        return OpenAICompatibleExpert(
            model, base_url=opts["base_url"], concurrency=int(opts["concurrency"]), timeout=float(opts["timeout"]),
            max_calls=opts["max_calls"], max_cost=opts["max_cost"], price_prompt=float(opts["price_prompt"]),
            price_completion=float(opts["price_completion"]), logprobs=bool(opts["logprobs"]),
            cache_path=opts["cache"] or default_verdict_cache())
    if spec == "review":
        from .review import QueueExpert

        if not human_state:
            raise InputError("--expert review needs a run folder (--out) to queue its questions in")
        return QueueExpert(human_state, log=log)
    if spec == "human":
        from .human import TerminalExpert

        return TerminalExpert(state_path=human_state)
    if spec.startswith("python:"):
        from .base import load_python_expert

        return load_python_expert(spec)
    raise InputError(f"unknown expert {spec!r}; use {EXPERT_SPECS}")
