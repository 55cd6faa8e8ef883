"""The benchmark's table, Markdown and plot."""
from __future__ import annotations


def to_json(result: dict) -> dict:
    return {k: v for k, v in result.items() if not k.startswith("_")}


def render_table(result: dict):
    from rich.table import Table

    table = Table(title=f"{result['dataset']} — {result['classes']} classes, k={result['k']}, "
                        f"pool {result['pool_size']}, total {result['_total_s']}s, peak RSS {result['peak_rss_mb']} MB")
    for col in ("method", "pool acc", "test acc", "test macro-F1", "expert calls", "calls/pool", "rounds",
                "stop", "wall s"):
        table.add_column(col, justify="left" if col in ("method", "stop") else "right")
    for name, r in result["_methods"].items():
        table.add_row(name, f"{100 * r['pool_accuracy']:.2f}", f"{100 * r['test_accuracy']:.2f}",
                      f"{100 * r['test_macro_f1']:.2f}", str(r["expert_calls"]),
                      f"{r['expert_calls'] / max(1, result['pool_size']):.3f}", str(r["rounds"]),
                      str(r["stop_reason"] or "-"), f"{r['wall_s']:.1f}")
    return table


def _oracle(settings: dict) -> str:
    from ..experts.oracle import PROFILES

    profile = settings.get("expert_profile") or "careful"
    tpr, fpr = PROFILES[profile]
    if profile == "careful" and settings.get("oracle_accuracy") is not None:
        tpr, fpr = settings["oracle_accuracy"], 1 - settings["oracle_accuracy"]
    return f"{profile} (yes to the true label {tpr:.0%}, to the most confusable wrong one {fpr:.0%})"


def render_markdown(result: dict, *, plot: str | None = None) -> str:
    """The result table (and the plot, when given) as Markdown."""
    st = result.get("_settings", {})
    lines = [f"### {result['dataset']} — {result['classes']} classes, k={result['k']}, pool {result['pool_size']}",
             "",
             f"Budget {st.get('budget')} of the pool, simulated oracle: {_oracle(st)}, seed "
             f"{st.get('seed')}, embedder {st.get('embedder')}, selection {result.get('selection') or '-'}"
             f"{' (auto)' if (st.get('red_params') or {}).get('uncertainty', 'auto') == 'auto' else ''}. Whole command: {result['_total_s']} s, peak RSS "
             f"{result['peak_rss_mb']} MB.",
             "",
             "| method | pool acc % | test acc % | test macro-F1 % | expert calls | calls / pool text | rounds | stop | wall s |",
             "|---|---:|---:|---:|---:|---:|---:|---|---:|"]
    for name, r in result["_methods"].items():
        lines.append(f"| {name} | {100 * r['pool_accuracy']:.2f} | {100 * r['test_accuracy']:.2f} | "
                     f"{100 * r['test_macro_f1']:.2f} | {r['expert_calls']} | "
                     f"{r['expert_calls'] / max(1, result['pool_size']):.3f} | {r['rounds']} | "
                     f"{r['stop_reason'] or '-'} | {r['wall_s']:.1f} |")
    if plot:
        lines += ["", f"![{result['dataset']}: accuracy against expert calls]({plot})"]
    return "\n".join(lines) + "\n"


def plot_curves(result: dict, path) -> None:
    """Pool and test accuracy against expert calls: R.E.D. and flat_al per round, the rest as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, key, title in zip(axes, ("pool_accuracy", "test_accuracy"), ("pool accuracy", "test accuracy")):
        for name, curve in result.get("_curves", {}).items():
            if curve:
                ax.plot([c["calls"] for c in curve], [100 * c[key] for c in curve], marker="o", ms=3, label=name)
        for name in ("flat_seed", "knn", "gold_upper"):
            r = result["_methods"].get(name)
            if r:
                ax.axhline(100 * r[key], ls="--", lw=1, color={"flat_seed": "grey", "knn": "tab:brown",
                                                                  "gold_upper": "black"}[name], label=name)
        ax.set_xlabel("expert calls")
        ax.set_ylabel(f"{title} (%)")
        ax.set_title(f"{result['dataset']}: {title}")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
