"""What a benchmark run says about its own quality, beside the truth the bench knows."""
from __future__ import annotations

import numpy as np


def calibration_error(confidence: np.ndarray, right: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: over ten equal-width confidence bins, the mean gap between a
    bin's mean confidence and its share of right labels, weighted by the bin's size."""
    confidence = np.asarray(confidence, dtype=np.float64)
    right = np.asarray(right, dtype=np.float64)
    if len(confidence) == 0:
        return 0.0
    b = np.minimum((confidence * bins).astype(np.int64), bins - 1)
    gap = 0.0
    for k in range(bins):
        m = b == k
        if m.any():
            gap += m.sum() * abs(confidence[m].mean() - right[m].mean())
    return float(gap / len(confidence))


def trust_figures(model, delivered: np.ndarray, pool_gold: np.ndarray, gold_by_text: dict,
                  binary_fpr: float | None = None) -> dict:
    """What a run says about its own quality beside the truth the bench knows: the estimate and
    the measured rates (exactly what ``redtext run`` reports), the share of ``source: expert``
    labels that are right, the calibration error of the delivered confidences (texts not from the
    seed), and the expert's true rates on the pool questions it was asked (``binary_fpr``: its rate
    on the binary ones alone, counted by the bench's meter)."""
    source = np.asarray(model.pool_source_, dtype=object)
    right = delivered == pool_gold
    is_expert = source == "expert"
    not_seed = source != "seed"
    quality = dict(model.expert_quality_)
    pos = [v for t, lab, v, _ in model.answers_ if v is not None and gold_by_text.get(t) == lab]
    neg = [v for t, lab, v, _ in model.answers_ if v is not None and gold_by_text.get(t) not in (None, lab)]
    quality["true_tpr"] = float(np.mean(pos)) if pos else None
    quality["true_fpr"] = float(np.mean(neg)) if neg else None
    quality["true_fpr_binary"] = binary_fpr
    est = {k: model.estimate_[k] for k in ("pool_accuracy", "low", "high", "calls")}
    est["strata"] = model.estimate_.get("strata", {})
    return {"estimate": est, "expert_quality": quality,
            "expert_precision": float(right[is_expert].mean()) if is_expert.any() else None,
            "calibration_ece": calibration_error(np.asarray(model.pool_confidence_)[not_seed], right[not_seed]),
            "quality_calls": {"checks": int(quality["calls"]), "audit": int(est["calls"])}}
