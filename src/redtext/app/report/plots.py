"""The report's plots: PNGs drawn with matplotlib (Agg), embedded as ``data:`` URIs."""
from __future__ import annotations

from .data import MAX_PLOT_LABELS

def _plot_text(label: object, width: int = 28) -> str:
    s = str(label).replace("\n", " ")
    s = s if len(s) <= width else s[:width - 1] + "…"
    return s.replace("$", r"\$")  # matplotlib would read $...$ as mathematics


def _png(fig) -> str:
    import base64
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(height: float = 3.0, width: float = 5.8, *, rounds: bool = False):
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.subplots()
    if rounds:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("round")
    return fig, ax


def _values(rows: list, key: str) -> list:
    """A metric per round for plotting (missing in an older store: a gap, not a crash)."""
    return [float("nan") if r.get(key) is None else float(r[key]) for r in rows]


def make_plots(summary: dict) -> list[tuple[str, str, str]]:
    """(id, title, base64 PNG) per plot, drawn with matplotlib's Agg renderer."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    rounds = summary["rounds"]
    x = [r["round"] for r in rounds]
    plots = []

    def finish(ax, ylabel: str, grid_axis: str = "both") -> None:
        ax.set_ylabel(ylabel)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize=8)
        ax.grid(axis=grid_axis, alpha=0.3)

    fig, ax = _figure(rounds=True)
    ax.plot(x, _values(rounds, "uncertain"), marker="o", label="uncertain (confidence < 0.5)")
    ax.plot(x, _values(rounds, "all_noise"), marker=".", linestyle="--", label="every subset said NOISE")
    finish(ax, "unresolved pool texts")
    plots.append(("plot-uncertain", "Uncertain pool texts per round", _png(fig)))

    fig, ax = _figure(rounds=True)
    acc, rej, abst = _values(rounds, "accepted"), _values(rounds, "rejected"), _values(rounds, "abstained")
    ax.bar(x, acc, color="#2e7d32", label="accepted")
    ax.bar(x, rej, bottom=acc, color="#c62828", label="rejected")
    ax.bar(x, abst, bottom=[a + b for a, b in zip(acc, rej)], color="#9e9e9e", label="abstained")
    finish(ax, "expert answers", "y")
    plots.append(("plot-answers", "Expert answers per round", _png(fig)))

    fig, ax = _figure(rounds=True)
    ax.bar(x, _values(rounds, "round_calls"), color="#1565c0", alpha=0.6, label="calls this round")
    ax.plot(x, _values(rounds, "calls_total"), marker="o", color="#0d47a1", label="calls so far")
    if summary["budget_calls"]:
        ax.axhline(summary["budget_calls"], color="#ef6c00", linestyle="--", label=f"budget {summary['budget_calls']}")
    finish(ax, "expert calls")
    plots.append(("plot-calls", "Expert calls per round", _png(fig)))

    cost = summary["cost"]
    fig, ax = _figure(rounds=True)
    series = _values(rounds, "cost")
    running, cum = 0.0, []
    for v in series:
        running += v
        cum.append(running)
    ax.bar(x, series, color="#6a1b9a", alpha=0.6, label="this round")
    ax.plot(x, cum, marker="o", color="#4a148c", label="so far")
    finish(ax, f"{cost['kind']} {cost['unit']}")
    plots.append(("plot-cost", f"Cost per round ({cost['kind']} {cost['unit']})", _png(fig)))

    fig, ax = _figure(rounds=True)
    ax.plot(x, _values(rounds, "mean_confidence"), marker="o", color="#00695c")
    ax.set_ylim(0, 1.02)
    finish(ax, "mean confidence")
    plots.append(("plot-confidence", "Mean classifier confidence of unresolved pool texts", _png(fig)))

    asked = [r for r in summary["labels"] if r["acceptance"] is not None][:MAX_PLOT_LABELS]
    if asked:
        asked = sorted(asked, key=lambda r: (r["acceptance"], r["label"]))
        fig, ax = _figure(height=max(2.5, 0.25 * len(asked) + 1))
        ax.barh(range(len(asked)), [r["acceptance"] for r in asked], color="#2e7d32")
        ax.set_yticks(range(len(asked)), [_plot_text(r["label"]) for r in asked], fontsize=8)
        for k, r in enumerate(asked):
            ax.text(min(r["acceptance"], 0.98), k, f" {r['accepted']}/{r['accepted'] + r['rejected']}",
                    va="center", ha="right" if r["acceptance"] > 0.85 else "left", fontsize=7)
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of questions about the label the expert accepted")
        ax.grid(axis="x", alpha=0.3)
        plots.append(("plot-acceptance", "Acceptance per label", _png(fig)))

    if summary["has_predictions"]:
        top = sorted(summary["labels"], key=lambda r: (-r["delivered"], r["label"]))[:MAX_PLOT_LABELS][::-1]
        fig, ax = _figure(height=max(2.5, 0.25 * len(top) + 1))
        y = range(len(top))
        left = [0] * len(top)
        for key, color in (("from_seed", "#795548"), ("expert", "#2e7d32"), ("classifier", "#1565c0")):
            vals = [r[key] for r in top]
            ax.barh(y, vals, left=left, color=color, label={"from_seed": "seed"}.get(key, key))
            left = [a + b for a, b in zip(left, vals)]
        ax.set_yticks(list(y), [_plot_text(r["label"]) for r in top], fontsize=8)
        ax.set_xlabel("pool texts delivered")
        ax.legend(loc="lower right", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
        plots.append(("plot-delivered", "Labels delivered, by source", _png(fig)))
    return plots
