"""Labels given one example (issue #17, item 6): banking77, k=30, budget 0.3, five intents (drawn
by the seed) left with one seed example each, the careful oracle; the flat loop (what `redtext
run` does) with the exploration of thin labels, and without it (``THIN_BELOW = 0``: the loop
before the change). Writes benchmarks/results/thin.md.

    .venv/bin/python benchmarks/thin.py [--seeds 0,1,2,3,4,5,6,7]

The "with" rows are exactly `redtext bench banking77 --k 30 --budget 0.3 --thin 5 --seed S`.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0,1,2,3,4,5,6,7")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    os.environ.setdefault("REDTEXT_PROGRESS", "0")
    import redtext.core.thin as thin
    from redtext.bench.protocol import run_benchmark

    lines = ["| seed | exploration | thin labels' pool recall | other labels' pool acc % | pool acc % | test acc % |",
             "|---|---|---|---:|---:|---:|"]
    default = thin.THIN_BELOW
    runs = {False: [], True: []}
    for seed in [int(s) for s in args.seeds.split(",")]:
        for on in (False, True):
            thin.THIN_BELOW = default if on else 0
            r = run_benchmark("banking77", k=30, budget=0.3, seed=seed, methods=("flat_al",), progress=False,
                              log=lambda *a: None, thin=5)
            m = r["_methods"]["flat_al"]
            runs[on].append(m)
            recall = ", ".join(f"{lab} {v:.2f}" for lab, v in m["thin_recall"].items())
            lines.append(f"| {seed} | {'on' if on else 'off'} | {recall} | {100 * m['other_accuracy']:.2f} | "
                         f"{100 * m['pool_accuracy']:.2f} | {100 * m['test_accuracy']:.2f} |")
            print(lines[-1], flush=True)
    thin.THIN_BELOW = default
    lines += ["", "| exploration | thin labels' mean recall | thin labels at ≥ 0.7 | seeds with all five ≥ 0.7 | "
              "other labels' pool acc % | pool acc % | test acc % |", "|---|---:|---:|---:|---:|---:|---:|"]
    for on, ms in runs.items():
        rec = [[v for v in m["thin_recall"].values()] for m in ms]
        flat = [v for r in rec for v in r]
        mean = lambda key: 100 * sum(m[key] for m in ms) / len(ms)  # noqa: E731
        lines.append(f"| {'on' if on else 'off'} | {sum(flat) / len(flat):.3f} | {sum(v >= 0.7 for v in flat)} of "
                     f"{len(flat)} | {sum(min(r) >= 0.7 for r in rec)} of {len(rec)} | {mean('other_accuracy'):.2f} | "
                     f"{mean('pool_accuracy'):.2f} | {mean('test_accuracy'):.2f} |")
        print(lines[-1], flush=True)
    text = ("banking77, k=30, budget 0.3 of the pool, careful oracle; five intents left with one seed example "
            "each (their other seed examples moved to the pool). `off` is the loop without exploring thin labels "
            f"(before #17); `on` the default (labels under {default} seed examples, and under half the median, are "
            "explored: see src/redtext/core/thin.py). `.venv/bin/python benchmarks/thin.py` regenerates this "
            "table.\n\n" + "\n".join(lines) + "\n")
    (ROOT / "benchmarks" / "results" / "thin.md").write_text(text)
    print("wrote benchmarks/results/thin.md")


if __name__ == "__main__":
    main()
