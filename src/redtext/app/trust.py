"""What a run says about its own quality, with no gold labels: the expert's measured rates (and
a warning when they make it unusable), the audit's estimate of the pool's accuracy, and the
lines the CLI prints about them."""
from __future__ import annotations

from ..core.audit import USABLE_GAP


def expert_warning(quality: dict) -> str | None:
    """A warning when the known-answer questions show an expert whose answers carry little: it
    says yes to most hard negatives, or no to many right labels (judged on the 95 % intervals,
    once there are at least 10 answers)."""
    if quality.get("calls", 0) < 10 or quality.get("tpr") is None or quality.get("fpr") is None:
        return None
    if quality["fpr_low"] > 0.5:
        return (f"the expert said yes to {quality['fpr']:.0%} of known-wrong labels (95 % interval "
                f"{quality['fpr_low']:.0%}–{quality['fpr_high']:.0%}): its yes is weak evidence")
    if quality["tpr_high"] < 0.7:
        return (f"the expert said no to {1 - quality['tpr']:.0%} of known-right labels (95 % interval for yes "
                f"{quality['tpr_low']:.0%}–{quality['tpr_high']:.0%}): its no is weak evidence")
    if quality["tpr"] - quality["fpr"] < USABLE_GAP:
        return (f"the expert barely tells right from wrong labels (yes to {quality['tpr']:.0%} of right ones, "
                f"{quality['fpr']:.0%} of wrong ones)")
    return None


def trust_report(model) -> dict:
    """report.json's quality figures: the expert's measured rates (with a warning when it looks
    unusable), the label-free estimate of the pool's accuracy, the calls they took."""
    quality = dict(getattr(model, "expert_quality_", None) or {})
    if quality:
        quality["warning"] = expert_warning(quality)
    est = getattr(model, "estimate_", None)
    return {"expert_quality": quality or None, "estimate": est,
            "quality": {"checks": int(quality.get("calls", 0)), "audit": int(est["calls"]) if est else 0},
            "sharpness": float(getattr(model, "sharpness_", 1.0))}


def estimate_line(report: dict) -> str | None:
    """The CLI's last line: the estimated share of right labels with its interval."""
    est = report.get("estimate")
    if not est:
        return None
    return (f"~{100 * est['pool_accuracy']:.1f} % right, 95 % interval {100 * est['low']:.1f}–"
            f"{100 * est['high']:.1f} % (estimated from {report['quality']['checks']} known-answer and "
            f"{est['calls']} audit questions; no gold labels used)")


def thin_labels(seed_labels: list[str], model) -> list[dict]:
    """How each thin label (:mod:`redtext.core.thin`: fewer than ``THIN_BELOW`` seed examples, and
    under half the median label's) fared: its pool texts delivered, and how many the expert confirmed."""
    from collections import Counter

    from ..core.thin import thin_mask

    seed = Counter(seed_labels)
    thin = sorted(lab for lab, is_thin in zip(seed, thin_mask(list(seed.values()))) if is_thin)
    if not thin:
        return []
    delivered = Counter(model.pool_labels_)
    confirmed = Counter(lab for lab, src in zip(model.pool_labels_, model.pool_source_) if src == "expert")
    return [{"label": lab, "seed": seed[lab], "delivered": delivered.get(lab, 0), "expert": confirmed.get(lab, 0)}
            for lab in thin]


def trust_lines(report: dict) -> list[str]:
    """What the CLI prints last: the expert warning (if any), then the estimate."""
    lines = []
    thin = report.get("thin_labels") or []
    if thin:
        shown = "; ".join(f"{t['label']} ({t['seed']} seed): {t['delivered']} delivered, {t['expert']} confirmed"
                          for t in thin[:10])
        lines.append(f"labels with few seed examples: {shown}" + (f"; … {len(thin) - 10} more in report.json"
                                                               if len(thin) > 10 else ""))
    warning = (report.get("expert_quality") or {}).get("warning")
    if warning:
        lines.append(f"warning: {warning}")
    line = estimate_line(report)
    if line:
        lines.append(line)
    return lines
