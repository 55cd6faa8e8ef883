"""Build an expert from the ``--expert`` spec of the command line."""
from __future__ import annotations

from ..errors import InputError

EXPERT_SPECS = "oracle (simulated, needs --gold FILE) or python:MODULE:FUNCTION"


def build_expert(spec: str, *, gold: str | None = None, accuracy: float = 0.95, seed: int = 0,
                 text_col: str = "text", label_col: str = "label", id_col: str = "id"):
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
    if spec.startswith("python:"):
        from .base import load_python_expert

        return load_python_expert(spec)
    raise InputError(f"unknown expert {spec!r}; use {EXPERT_SPECS}")
