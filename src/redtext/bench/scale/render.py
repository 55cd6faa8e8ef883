"""The scale benchmark's tables and plot."""
from __future__ import annotations

from pathlib import Path

# -- output -------------------------------------------------------------------------------------

_GROWTH_COLS = (("size", "pool", "{:,}"), ("partition_s", "partition s", "{:.2f}"), ("train_s", "train s", "{:.1f}"),
                ("predict_s", "predict s", "{:.1f}"), ("predict_us_per_text", "predict µs/text", "{:.0f}"),
                ("select_s", "select s", "{:.3f}"), ("store_write_s", "store writes s", "{:.2f}"),
                ("round_overhead_s", "round s", "{:.1f}"), ("peak_rss_mb", "peak RSS MB", "{:,.0f}"),
                ("peak_rss_total_mb", "+ workers MB", "{:,.0f}"), ("load", "load avg", "{}"))


def _cell(row: dict, key: str):
    if key == "load":  # the 1-minute load average when the size started and ended (2 = both cores busy)
        return "{:.1f}–{:.1f}".format(*row["load_avg"])
    return row[key]


def _headline(result: dict) -> list[tuple[str, str, str]]:
    ratio = result.get("classify_ratio", 0.0)
    return [
        ("raw embedder (encode)", f"{result['raw_embed_texts_per_s']:,.0f} texts/s", ""),
        ("embedding through redtext (cache, batches)", f"{result['embed_texts_per_s']:,.0f} texts/s", ""),
        ("classify (read, embed, predict, write)", f"{result['classify_texts_per_s']:,.0f} texts/s "
                                                   f"({ratio:.0%} of raw)", "≥ 85 % of raw"),
        ("partition of the labels", f"{result['partition_s']:.2f} s", ""),
        (f"train ({result['train_rows']:,} rows, {result['subsets']} subsets)", f"{result['train_s']:.1f} s", ""),
        (f"predict ({result['pool']:,} texts)", f"{result['predict_s']:.1f} s", ""),
        (f"select + ask {result['round_calls']} (expert {result['expert_s']:.2f} s)",
         f"{result['select_s']:.2f} s + {result['verdict_write_s']:.2f} s verdict writes", ""),
        ("predictions to the store", f"{result['predictions_write_s']:.1f} s", ""),
        ("one round, excluding embedding and expert", f"{result['round_overhead_s']:.1f} s",
         "≤ 30 s at 1000 × 100k"),
        ("peak RSS (the run's process / with workers)",
         f"{result['peak_rss_mb']:,.0f} MB / {result['peak_rss_total_mb']:,.0f} MB", "≤ 4 GB at 1000 × 100k"),
    ]


def render_table(result: dict):
    from rich.console import Group
    from rich.table import Table

    head = Table(title=f"bench-scale: {result['classes']} labels × {result['pool']:,} pool texts "
                       f"({result['embedder']}, backend {result['backend']})")
    for col in ("stage", "measured", "target"):
        head.add_column(col)
    for row in _headline(result):
        head.add_row(*row)
    grow = Table(title="growth with the pool (one round each; fresh process per size)")
    for _, title, _ in _GROWTH_COLS:
        grow.add_column(title, justify="right")
    for g in result["growth"]:
        grow.add_row(*[fmt.format(_cell(g, key)) for key, _, fmt in _GROWTH_COLS])
    return Group(head, grow)


def render_markdown(result: dict, *, plot: str | None = None) -> str:
    m = result["machine"]
    lines = [f"# bench-scale: {result['classes']} labels × {result['pool']:,} pool texts", "",
             f"Embedder `{result['embedder']}`, backend `{result['backend']}`, {m['cpus']} CPUs "
             f"(load average {m['load_avg_start'][0]} at the start, {m['load_avg_end'][0]} at the end — "
             "the machine is shared, so timings are noisy). Seed: "
             f"{result['k']} real texts per label ({result['seed_rows']:,} rows); "
             f"{result['round_calls']} expert questions a round; pool accuracy after two rounds "
             f"{result['pool_accuracy']:.3f}.", "",
             "| stage | measured | target |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in _headline(result)]
    cold = result.get("classify_cold_texts_per_s")
    lines += ["", f"Embedding and classify on {result['embed_sample']:,} real texts, best of {result.get('repeats', 1)} "
                  f"interleaved runs; the embedder loads in "
                  f"{result['embedder_load_s']:.1f} s"
              + (f"; the whole `redtext classify` command, loading the model and the embedder first: "
                 f"{cold:,.0f} texts/s" if cold else "") + ".", "",
              "## Growth with the pool", "",
              "| " + " | ".join(title for _, title, _ in _GROWTH_COLS) + " |",
              "|" + "---:|" * len(_GROWTH_COLS)]
    for g in result["growth"]:
        lines.append("| " + " | ".join(fmt.format(_cell(g, key)) for key, _, fmt in _GROWTH_COLS) + " |")
    if plot:
        lines += ["", f"![growth]({plot})"]
    lines += ["", "## Workload", "",
              "Real texts of " + " and ".join(result["workload"]["sources"]) +
              f" ({result['workload']['real_texts']:,} texts, {result['workload']['real_classes']} classes), "
              f"relabelled into {result['classes']} labels (the smallest class merged into its most similar one, "
              "or the largest split along its first principal direction, until the count is reached). "
              "The pool is real texts' vectors plus small Gaussian noise (cosine ≈ 0.96), renormalised, so no two "
              "rows are identical; no pool text is embedded — embedding a million texts is not needed to "
              "measure the other stages, and embedding is measured on its own. A scripted expert answers "
              "instantly from the synthetic gold. One round = round 1 of the loop: train on the seed plus the "
              "texts validated in round 0, predict the whole pool, select, ask (verdicts committed to SQLite), "
              "and write every pool prediction to the store. Each size runs in a fresh process; peak RSS is "
              "that process's high-water mark (\"+ workers\" adds the training workers, sampled); \"load avg\" is the "
              "machine's 1-minute load average when the size started and ended — other work on a shared machine "
              "slows every stage, training most.", ""]
    return "\n".join(lines)


def _short(n: int) -> str:
    if n >= 1_000_000 and n % 100_000 == 0:
        return f"{n / 1_000_000:g}M"
    if n >= 1000 and n % 100 == 0:
        return f"{n / 1000:g}k"
    return str(n)


def plot_growth(result: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    g = result["growth"]
    x = [r["size"] for r in g]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    for key, label in (("round_overhead_s", "one round"), ("train_s", "train"), ("predict_s", "predict"),
                       ("store_write_s", "store writes"), ("select_s", "select"), ("partition_s", "partition")):
        a.plot(x, [max(r[key], 1e-4) for r in g], marker="o", label=label)
    a.set_xscale("log")
    a.set_yscale("log")
    a.set_xlabel("pool texts")
    a.set_ylabel("seconds")
    a.set_title(f"stage time, {result['classes']} labels")
    a.grid(True, which="both", alpha=0.3)
    a.legend(fontsize=8)
    b.plot(x, [r["peak_rss_mb"] for r in g], marker="o", label="run process")
    b.plot(x, [r["peak_rss_total_mb"] for r in g], marker="s", label="with training workers")
    b.set_xscale("log")
    b.set_xlabel("pool texts")
    b.set_ylabel("peak RSS (MB)")
    b.set_title("peak memory")
    b.grid(True, which="both", alpha=0.3)
    b.legend(fontsize=8)
    for ax in (a, b):
        ax.set_xticks(x)
        ax.set_xticklabels([_short(v) for v in x])
        ax.minorticks_off() if ax is b else None
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
