"""Per-class statistics of a run, and how they moved between runs (the drift report).

Every saved model records, per label, what its run saw: how many pool texts it was delivered
to, the share of those the classifier was unsure about (confidence under 0.5), and how
often the expert said "no" when asked about it. ``redtext retrain`` compares a new run with
the model's own record, so a class whose texts became harder (more uncertain) or whose
proposals the expert now rejects more often stands out.
"""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

UNCERTAIN_BELOW = 0.5
MIN_QUESTIONS = 5      # a rejection rate from fewer questions is not compared
MIN_TEXTS = 5          # an uncertain share from fewer texts is not compared
THRESHOLD = 0.10       # a move of this much (absolute share) is flagged


def class_stats(classes: Sequence[str], labels: Sequence[str], confidence: Sequence[float],
                sources: Sequence[str], verdicts: Iterable[tuple[str, bool | None]]) -> dict[str, dict]:
    """``{label: {texts, uncertain, asked, rejected}}`` for one run's pool; ``verdicts`` are the
    expert's answers as ``(label asked about, verdict)`` pairs."""
    stats = {c: {"texts": 0, "uncertain": 0, "asked": 0, "rejected": 0} for c in classes}
    for lab, conf, src in zip(labels, confidence, sources):
        s = stats.get(lab)
        if s is None:
            continue
        s["texts"] += 1
        if src == "classifier" and float(conf) < UNCERTAIN_BELOW:
            s["uncertain"] += 1
    for lab, v in verdicts:
        s = stats.get(lab)
        if s is None or v is None:
            continue
        s["asked"] += 1
        if v is False:
            s["rejected"] += 1
    return stats


def _share(num: int, den: int, minimum: int) -> float | None:
    return num / den if den >= minimum else None


def compare(before: Mapping[str, dict], after: Mapping[str, dict], labels: Sequence[str] | None = None,
            threshold: float = THRESHOLD) -> list[dict]:
    """One row per label (``labels`` or every label in ``after``): uncertain share and
    rejection rate before and after, their change, and whether either moved by ``threshold``."""
    rows = []
    for lab in labels if labels is not None else list(after):
        b, a = before.get(lab) or {}, after.get(lab) or {}
        ub = _share(b.get("uncertain", 0), b.get("texts", 0), MIN_TEXTS)
        ua = _share(a.get("uncertain", 0), a.get("texts", 0), MIN_TEXTS)
        rb = _share(b.get("rejected", 0), b.get("asked", 0), MIN_QUESTIONS)
        ra = _share(a.get("rejected", 0), a.get("asked", 0), MIN_QUESTIONS)
        du = None if ub is None or ua is None else ua - ub
        dr = None if rb is None or ra is None else ra - rb
        moved = [name for name, d in (("uncertain", du), ("rejection", dr)) if d is not None and abs(d) >= threshold]
        rows.append({"label": lab, "uncertain_before": ub, "uncertain_after": ua, "uncertain_change": du,
                     "rejection_before": rb, "rejection_after": ra, "rejection_change": dr,
                     "texts_after": a.get("texts", 0), "questions_after": a.get("asked", 0),
                     "moved": moved})
    rows.sort(key=lambda r: -max(abs(r["uncertain_change"] or 0), abs(r["rejection_change"] or 0)))
    return rows


def render(rows: list[dict]) -> str:
    """A plain-text table of :func:`compare` rows."""
    def pct(x):
        return "—" if x is None else f"{100 * x:5.1f}%"

    def delta(x):
        return "—" if x is None else f"{100 * x:+5.1f}"

    lines = [f"{'label':30} {'uncertain':>9} {'→':>1} {'now':>6} {'Δ':>6}   {'rejected':>8} {'→':>1} {'now':>6} "
             f"{'Δ':>6}  moved"]
    for r in rows:
        lines.append(f"{r['label'][:30]:30} {pct(r['uncertain_before']):>9}   {pct(r['uncertain_after']):>6} "
                     f"{delta(r['uncertain_change']):>6}   {pct(r['rejection_before']):>8}   "
                     f"{pct(r['rejection_after']):>6} {delta(r['rejection_change']):>6}  "
                     f"{', '.join(r['moved']) or '-'}")
    return "\n".join(lines)
