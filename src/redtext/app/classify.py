"""Classify texts with a trained model — the one path ``redtext classify``, ``redtext serve``
and ``redtext bench-scale`` share."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

from ..core.predict import Predictions


def prediction_row(classes: Sequence[str], pred: Predictions, i: int) -> dict:
    """Text ``i``'s prediction as users see it: label names (None: fits no label, from an
    open-world model), rounded scores."""
    def name(c):
        c = int(c)
        return classes[c] if c < len(classes) else None

    return {"label": name(pred.label[i]), "confidence": round(float(pred.confidence[i]), 6),
            "all_noise": bool(pred.all_noise[i]),
            "candidates": [{"label": name(c), "score": round(float(s), 6)}
                           for c, s in zip(pred.candidates[i], pred.candidate_scores[i])]}


def classify_texts(model, texts: Sequence[str]) -> list[dict]:
    """One prediction row per text, in order."""
    pred = model.predict_details(list(texts))
    return [prediction_row(model.classes_, pred, i) for i in range(len(texts))]


def classify_rows(model, ids: Sequence[str], texts: Sequence[str]) -> Iterator[dict]:
    """``{"id", "text", label, confidence, all_noise, candidates}`` per text."""
    pred = model.predict_details(list(texts))
    for i in range(len(texts)):
        yield {"id": ids[i], "text": texts[i], **prediction_row(model.classes_, pred, i)}


def classify_file(model, input_path: str | Path, out: str | Path, *, text_col: str = "text", id_col: str = "id",
                  log=None) -> int:
    """Read texts from ``input_path``, write their predictions to ``out`` (JSONL, atomically);
    returns the number of rows written."""
    from ..io.atomic import write_jsonl_atomic
    from ..io.records import load_pool

    rec = load_pool(input_path, text_col=text_col, id_col=id_col)
    for w in rec.warnings:
        if log is not None:
            log(f"warning: {w}")
    return write_jsonl_atomic(out, classify_rows(model, rec.ids, rec.texts))
