"""``redtext bench-trust``: the trust issue's measurement grid — datasets × expert profiles ×
seeds, the default configuration (``flat_al``), QC and audit inside the budget — and its table:
what a run says about itself (the estimate and its interval, the expert's measured rates) beside
what the bench knows (the truth)."""
from __future__ import annotations

#: dataset -> (k, budget) of the benchmark protocol
PROTOCOL = {"clinc150": (30, 0.25), "banking77": (30, 0.30), "onet_titles": (10, 0.5)}


def run_grid(datasets, profiles, seeds, *, embedder: str = "minilm", log=print) -> list[dict]:
    """One row per (dataset, profile, seed)."""
    from ..errors import InputError
    from .protocol import run_benchmark

    unknown = [ds for ds in datasets if ds not in PROTOCOL]
    if unknown or not datasets:
        raise InputError(f"--datasets {','.join(datasets)!r}: use some of {', '.join(PROTOCOL)}")
    rows = []
    for ds in datasets:
        k, budget = PROTOCOL[ds]
        for profile in profiles:
            for seed in seeds:
                r = run_benchmark(ds, k=k, budget=budget, seed=seed, embedder=embedder, profile=profile,
                                  methods=("flat_al",), progress=False, log=lambda *a: None)
                m = r["_methods"]["flat_al"]
                est, q = m["estimate"], m["expert_quality"]
                row = {"dataset": ds, "profile": profile, "seed": seed, "pool": m["pool_accuracy"],
                       "test": m["test_accuracy"], "expert_precision": m["expert_precision"],
                       "estimate": est["pool_accuracy"], "low": est["low"], "high": est["high"],
                       "covered": bool(est["low"] <= m["pool_accuracy"] <= est["high"]),
                       "fpr": q["fpr"], "true_fpr": q["true_fpr"], "true_fpr_binary": q.get("true_fpr_binary"), "tpr": q["tpr"], "true_tpr": q["true_tpr"],
                       "ece": m["calibration_ece"], "calls": m["expert_calls"], "qc_calls": m["quality_calls"]["checks"], "audit_calls": m["quality_calls"]["audit"],
                       "stop": m["stop_reason"], "wall_s": m["wall_s"]}
                rows.append(row)
                log(f"{ds} {profile} seed {seed}: pool {row['pool']:.4f}, estimate {row['estimate']:.4f} "
                    f"[{row['low']:.4f}, {row['high']:.4f}] {'covers' if row['covered'] else 'MISSES'}; "
                    f"expert precision {_f(row['expert_precision'])}; fpr {_f(row['fpr'])} (true {_f(row['true_fpr_binary'])} on "
                    f"binary questions, {_f(row['true_fpr'])} on every verdict)")
    return rows


def _f(v, digits: int = 3) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def render(rows: list[dict]) -> str:
    """The Markdown table and the figures the issue's goals read."""
    head = ("| dataset | profile | seed | pool | test | expert precision | estimate [95 % interval] | covers | "
            "half-width | fpr measured / true (binary) / true (all) | ECE | calls (QC + audit) |")
    out = [head, "|" + "---|" * 12]
    for r in rows:
        out.append(f"| {r['dataset']} | {r['profile']} | {r['seed']} | {100 * r['pool']:.2f} | {100 * r['test']:.2f} | "
                   f"{_f(r['expert_precision'])} | {100 * r['estimate']:.2f} [{100 * r['low']:.2f}, {100 * r['high']:.2f}] | "
                   f"{'yes' if r['covered'] else 'no'} | {50 * (r['high'] - r['low']):.2f} | "
                   f"{_f(r['fpr'])} / {_f(r.get('true_fpr_binary'))} / {_f(r['true_fpr'])} | {_f(r['ece'])} | "
                   f"{r['calls']} ({r['qc_calls']} + {r['audit_calls']}) |")
    if rows:
        covered = sum(r["covered"] for r in rows)
        half = [50 * (r["high"] - r["low"]) for r in rows]
        gaps = [abs(r["fpr"] - r["true_fpr"]) for r in rows if r["fpr"] is not None and r["true_fpr"] is not None]
        binary = [abs(r["fpr"] - r["true_fpr_binary"]) for r in rows
                  if r["fpr"] is not None and r.get("true_fpr_binary") is not None]
        share = [(r["qc_calls"] + r["audit_calls"]) / max(1, r["calls"]) for r in rows]
        out += ["", f"- interval covers the true pool accuracy in {covered} of {len(rows)} runs",
                f"- half-width: mean {sum(half) / len(half):.2f} points, max {max(half):.2f}",
                f"- |measured − true fpr| on binary questions: mean {sum(binary) / max(1, len(binary)):.3f}, "
                f"max {max(binary, default=0):.3f}, within 0.05 in {sum(g <= 0.05 for g in binary)} of {len(binary)} runs",
                f"- |measured − true fpr| on every verdict (a choice's unpicked candidates count as no): "
                f"mean {sum(gaps) / max(1, len(gaps)):.3f}, max {max(gaps, default=0):.3f}",
                f"- QC + audit: {100 * max(share):.1f} % of the calls at most"]
    return "\n".join(out) + "\n"
