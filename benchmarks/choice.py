"""Choice questions against binary ones (issue #16), at equal calls and at equal tokens.

Every row is one `redtext bench` loop (the oracle, its profile; tokens counted with the real
prompt builders, :mod:`redtext.bench.tokens`). The grid:

- ``onet_titles`` (870 labels, k=10): binary questions at 0.5 a pool text — the tokens they take
  are then the budget (``--budget-tokens``) of the choice loop, for the careful and the agreeable
  expert; and the choice loop with 5, 10 and 20 candidates at the same tokens (which K);
- ``onet_clinc`` (1,020 labels, k=10, 0.5 questions a pool text): the partitioned loop (``red``,
  the default from 1,000 labels on before this change) and the flat one, each with binary and
  with choice questions;
- ``clinc150``, ``banking77`` (k=30, budget 0.25): ``--question auto`` against binary at the same
  budget (auto keeps binary there — the seed's top-3 recall is above 0.75 — so the rows must be
  the same run), and choice forced at the binary loop's tokens, to show what auto avoids; with
  the agreeable expert, auto (which turns to choice questions for it) at the binary loop's tokens.

    .venv/bin/python benchmarks/choice.py [--only NAME,...] [--seed 0]

Rows land in benchmarks/results/choice.json (merged, so two runs may go side by side with
different ``--only``); the table in benchmarks/results/choice.md.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT_JSON = ROOT / "benchmarks" / "results" / "choice.json"

#: name -> (dataset, bench keyword arguments, methods, question, choices, profile, tokens of which row)
GRID = {
    "onet-binary": ("onet_titles", {"k": 10, "budget": 0.5}, ("flat_al",), "binary", 10, "careful", None),
    "onet-choice": ("onet_titles", {"k": 10, "budget": 0.5}, ("flat_al",), "choice", 10, "careful", "onet-binary"),
    "onet-choice-k5": ("onet_titles", {"k": 10, "budget": 0.5}, ("flat_al",), "choice", 5, "careful", "onet-binary"),
    "onet-choice-k20": ("onet_titles", {"k": 10, "budget": 0.5}, ("flat_al",), "choice", 20, "careful",
                        "onet-binary"),
    "onet-choice-calls": ("onet_titles", {"k": 10, "budget": 0.5}, ("flat_al",), "choice", 10, "careful", None),
    "onet-binary-agreeable": ("onet_titles", {"k": 10, "budget": 0.5}, ("flat_al",), "binary", 10, "agreeable", None),
    "onet-choice-agreeable": ("onet_titles", {"k": 10, "budget": 0.5}, ("flat_al",), "choice", 5, "agreeable",
                              "onet-binary-agreeable"),
    "onet_clinc-binary": ("onet_clinc", {"k": 10, "budget": 0.5}, ("red", "flat_al", "flat_seed", "gold_upper"),
                          "binary", 10, "careful", None),
    "onet_clinc-choice": ("onet_clinc", {"k": 10, "budget": 0.5}, ("flat_al",), "choice", 10, "careful", None),
    "onet_clinc-choice-k5": ("onet_clinc", {"k": 10, "budget": 0.5}, ("flat_al",), "choice", 5, "careful", None),
    "clinc150-binary": ("clinc150", {"k": 30, "budget": 0.25}, ("flat_al",), "binary", 10, "careful", None),
    "clinc150-auto": ("clinc150", {"k": 30, "budget": 0.25}, ("flat_al",), "auto", 10, "careful", None),
    "clinc150-choice": ("clinc150", {"k": 30, "budget": 0.25}, ("flat_al",), "choice", 10, "careful",
                        "clinc150-binary"),
    "banking77-binary": ("banking77", {"k": 30, "budget": 0.25}, ("flat_al",), "binary", 10, "careful", None),
    "banking77-auto": ("banking77", {"k": 30, "budget": 0.25}, ("flat_al",), "auto", 10, "careful", None),
    "banking77-choice": ("banking77", {"k": 30, "budget": 0.25}, ("flat_al",), "choice", 10, "careful",
                         "banking77-binary"),
    # an expert that says yes to hard wrong labels: auto turns to choice questions (core/choice.py,
    # AGREEABLE_FPR); at the binary loop's tokens, with the default 5 candidates
    "clinc150-binary-agreeable": ("clinc150", {"k": 30, "budget": 0.25}, ("flat_al",), "binary", 5, "agreeable", None),
    "clinc150-auto-agreeable": ("clinc150", {"k": 30, "budget": 0.25}, ("flat_al",), "auto", 5, "agreeable",
                                "clinc150-binary-agreeable"),
    "banking77-binary-agreeable": ("banking77", {"k": 30, "budget": 0.25}, ("flat_al",), "binary", 5, "agreeable",
                                   None),
    "banking77-auto-agreeable": ("banking77", {"k": 30, "budget": 0.25}, ("flat_al",), "auto", 5, "agreeable",
                                 "banking77-binary-agreeable"),
}


def _tokens(row) -> int:
    t = row["tokens"]
    return int(t["prompt_tokens"] + t["completion_tokens"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default=",".join(GRID), help="rows of the grid to run, comma-separated")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--render", action="store_true", help="only write the table from choice.json")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    os.environ.setdefault("REDTEXT_PROGRESS", "0")
    if not args.render:
        from redtext.bench.protocol import run_benchmark
        from redtext.options import RoundOptions

        for name in args.only.split(","):
            dataset, kw, methods, question, choices, profile, tokens_of = GRID[name]
            rows = json.loads(OUT_JSON.read_text()) if OUT_JSON.is_file() else []
            budget_tokens = None
            if tokens_of is not None:
                ref = [r for r in rows if r["name"] == tokens_of and r["seed"] == args.seed and r["method"] == "flat_al"]
                if not ref:
                    raise SystemExit(f"{name}: run {tokens_of} first (its tokens are this row's budget)")
                budget_tokens = _tokens(ref[0])
            r = run_benchmark(dataset, seed=args.seed, profile=profile, methods=methods, progress=False,
                              log=lambda *a: None, budget_tokens=budget_tokens,
                              red_params={"rounds": RoundOptions(question=question, choices=choices)}, **kw)
            for method, m in r["_methods"].items():
                row = {"name": name, "dataset": dataset, "seed": args.seed, "method": method, "profile": profile,
                       "asked": question, "question": m.get("question"), "choices": choices,
                       "budget_tokens": budget_tokens, "pool_accuracy": m["pool_accuracy"],
                       "test_accuracy": m["test_accuracy"], "expert_calls": m["expert_calls"],
                       "tokens": m.get("tokens"), "pool_size": r["pool_size"], "classes": r["classes"],
                       "stop_reason": m.get("stop_reason"), "selection": m.get("selection"),
                       "calibration_ece": m.get("calibration_ece"), "estimate": m.get("estimate"),
                       "wall_s": m["wall_s"]}
                current = json.loads(OUT_JSON.read_text()) if OUT_JSON.is_file() else []
                current = [c for c in current if (c["name"], c["seed"], c["method"]) != (name, args.seed, method)]
                OUT_JSON.write_text(json.dumps(current + [row], indent=1))
                print(json.dumps({k: row[k] for k in ("name", "method", "pool_accuracy", "test_accuracy",
                                                      "expert_calls", "wall_s")}), flush=True)
    render(json.loads(OUT_JSON.read_text()) if OUT_JSON.is_file() else [], OUT_JSON.with_suffix(".md"))


def _pct(x):
    return "–" if x is None else f"{100 * x:.1f}"


def render(rows, path: Path) -> None:
    lines = ["| dataset | expert | method | questions (K) | budget | pool acc % | test acc % | calls | "
             "tokens / pool text | candidate recall (asked; pool top-K, first → last round) | wall s |",
             "|---|---|---|---|---|---:|---:|---:|---:|---|---:|"]
    order = list(GRID)
    for r in sorted(rows, key=lambda r: (r["dataset"], r["profile"], order.index(r["name"]) if r["name"] in order
                                         else 99, r["method"])):
        t = r.get("tokens") or {}
        per_text = t.get("tokens_per_text")
        rec = t.get("recall_by_round") or []
        rec = [x for x in rec if x is not None]
        recall = (f"{_pct(t.get('offered_recall'))} %; " if t.get("offered_recall") is not None else "") + \
            (f"{_pct(rec[0])} → {_pct(rec[-1])} %" if rec and r["question"] == "choice" else "–")
        q = (r["question"] or "–") + (f" ({r['choices']})" if r["question"] == "choice" else "") + \
            (" (auto)" if r["asked"] == "auto" else "")
        budget = f"{r['budget_tokens']:,} tokens" if r.get("budget_tokens") else "calls"
        if r["method"] in ("flat_seed", "gold_upper"):
            q, budget, recall = "–", "–", "–"
            per_text = t.get("tokens_per_text") if r["method"] == "gold_upper" else None
        name = {"gold_upper": "LLM-only stand-in (gold pool)"}.get(r["method"], r["method"])
        lines.append(f"| {r['dataset']} | {r['profile']} | {name} | {q} | {budget} | {_pct(r['pool_accuracy'])} | "
                     f"{_pct(r['test_accuracy'])} | {r['expert_calls']:,} | "
                     f"{'–' if per_text is None else f'{per_text:,.0f}'} | {recall} | {r['wall_s']:.0f} |")
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
