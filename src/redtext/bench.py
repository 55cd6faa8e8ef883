"""The benchmark protocol of DESIGN.md, with its baselines in the same run.

seed = ``k`` examples per class from train (all of a class's examples when it has ``k`` or
fewer), drawn with a fixed seed; pool = the rest of train, its labels hidden from
everything but the simulated oracle; test = the official test split, never seen by the
loop. Methods, all on the same embeddings:

- ``red``: the R.E.D. loop with label subsets and the simulated oracle;
- ``flat_al``: the same loop, same expert and budget, one flat classifier (no subsets);
- ``flat_seed``: one logistic regression on the seed, no expert;
- ``knn``: k-nearest neighbours (cosine) on the seed, no expert;
- ``gold_upper``: one logistic regression on seed + the whole pool with gold labels.
"""
from __future__ import annotations

import json
import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import InputError


def data_roots() -> list[Path]:
    roots = []
    if os.environ.get("REDTEXT_DATA"):
        roots.append(Path(os.environ["REDTEXT_DATA"]))
    roots += [Path.cwd() / ".." / "shared" / "data", Path(__file__).resolve().parents[3] / "shared" / "data"]
    return roots


def resolve_dataset(name: str) -> Path:
    """A folder holding train.jsonl and test.jsonl: the name itself, or a name under ../shared/data."""
    candidates = [Path(name)] + [root / name for root in data_roots()]
    for c in candidates:
        if (c / "train.jsonl").is_file() and (c / "test.jsonl").is_file():
            return c.resolve()
    known = sorted({p.name for root in data_roots() if root.is_dir() for p in root.iterdir()
                    if (p / "train.jsonl").is_file()})
    hint = f" (known: {', '.join(known)})" if known else ""
    raise InputError(f"dataset {name!r} not found{hint}; give a name under ../shared/data or a folder "
                     "holding train.jsonl and test.jsonl")


def default_cache_path() -> Path:
    base = os.environ.get("REDTEXT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "redtext")
    return Path(base) / "embeddings.db"


def _read_split(path: Path) -> tuple[list[str], list[str]]:
    from .data import load_gold

    rec = load_gold(path)
    return rec.texts, rec.labels


@dataclass
class Split:
    classes: list[str]
    seed_idx: np.ndarray
    pool_idx: np.ndarray
    train_texts: list[str]
    train_labels: list[str]
    test_texts: list[str]
    test_labels: list[str]


def make_split(folder: Path, k: int, seed: int) -> Split:
    if k < 1:
        raise InputError(f"--k {k}: need at least 1 seed example per class")
    train_texts, train_labels = _read_split(folder / "train.jsonl")
    test_texts, test_labels = _read_split(folder / "test.jsonl")
    classes = sorted(set(train_labels))
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[lab] for lab in train_labels])
    rng = np.random.default_rng(seed)
    seed_idx = []
    for c in range(len(classes)):
        members = np.flatnonzero(y == c)
        seed_idx.extend(rng.permutation(members)[:k].tolist())
    seed_idx = np.sort(np.array(seed_idx, dtype=np.int64))
    pool_mask = np.ones(len(train_texts), dtype=bool)
    pool_mask[seed_idx] = False
    return Split(classes, seed_idx, np.flatnonzero(pool_mask), train_texts, train_labels, test_texts, test_labels)


def _peak_rss_mb() -> float:
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round((self_kb + child_kb) / 1024.0, 1)


def _macro_f1(y_true, y_pred) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, average="macro", zero_division=0))


def run_benchmark(dataset: str, *, k: int = 30, budget: float = 0.25, seed: int = 0, embedder: str = "minilm",
                  subset_size: int | None = 8, noise_factor: float = 2.0, accuracy: float = 0.95,
                  methods: tuple[str, ...] = ("red", "flat_al", "flat_seed", "knn", "gold_upper"),
                  progress: bool = True, log=print, red_params: dict | None = None, backend: str = "local",
                  address: str | None = None) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier

    from .embed import CachedEmbedder, EmbeddingCache, get_embedder
    from .experts import SimulatedOracle
    from .red import RED, resolve_budget

    folder = resolve_dataset(dataset)
    if not (0 <= budget):
        raise InputError(f"--budget {budget} must be ≥ 0 (a fraction of the pool, or a count of calls)")
    t_start = time.perf_counter()
    split = make_split(folder, k, seed)
    from .backends import get_backend

    runner = get_backend(backend, address)
    emb = CachedEmbedder(runner.wrap_embedder(get_embedder(embedder)), EmbeddingCache(default_cache_path()),
                         progress=progress)
    t0 = time.perf_counter()
    X_train = emb.encode(split.train_texts)
    X_test = emb.encode(split.test_texts)
    embed_s = time.perf_counter() - t0
    seed_texts = [split.train_texts[i] for i in split.seed_idx]
    seed_labels = [split.train_labels[i] for i in split.seed_idx]
    pool_texts = [split.train_texts[i] for i in split.pool_idx]
    pool_gold = np.array([split.train_labels[i] for i in split.pool_idx], dtype=object)
    pool_ids = [f"train-{i}" for i in split.pool_idx]
    X_seed, X_pool = X_train[split.seed_idx], X_train[split.pool_idx]
    test_gold = np.array(split.test_labels, dtype=object)
    n_calls = resolve_budget(budget, len(pool_texts))
    descriptions: dict[str, str] = {}
    if (folder / "labels.jsonl").is_file():
        from .data import load_descriptions

        descriptions, _ = load_descriptions(folder / "labels.jsonl", known_labels=set(split.classes))
    log(f"{folder.name}: {len(split.classes)} classes, seed {len(seed_texts)} (k={k}), pool {len(pool_texts)}, "
        f"test {len(test_gold)}, budget {n_calls} calls; embeddings ready in {embed_s:.1f}s")

    def oracle():
        return SimulatedOracle({}, gold_by_id=dict(zip(pool_ids, pool_gold)), accuracy=accuracy, seed=seed)

    results: dict[str, dict] = {}

    curves: dict[str, list[dict]] = {}

    def loop_method(name, size):
        t = time.perf_counter()
        curve = curves.setdefault(name, [])
        classes_arr = np.asarray(sorted(set(seed_labels)), dtype=object)
        seed_map = {tx: lab for tx, lab in zip(seed_texts, seed_labels)}
        fixed = np.array([seed_map.get(tx) for tx in pool_texts], dtype=object)
        has_fixed = np.array([f is not None for f in fixed])

        def on_round(metrics, model, pred, validated):
            delivered = classes_arr[np.where(validated >= 0, validated, pred.label)]
            delivered[has_fixed] = fixed[has_fixed]
            test_scores = model.predict_proba(X_test)
            curve.append({"calls": metrics["calls"], "pool_accuracy": float(np.mean(delivered == pool_gold)),
                          "test_accuracy": float(np.mean(classes_arr[test_scores.argmax(axis=1)] == test_gold))})
        params = dict(subset_size=size, noise_factor=noise_factor, budget=n_calls, random_state=seed,
                      progress=progress, embedder=emb, backend=backend, address=address)
        params.update(red_params or {})
        if name == "flat_al":
            params["subset_size"] = None
        model = RED(**params).fit(seed_texts, seed_labels, pool=pool_texts, pool_ids=pool_ids, expert=oracle(),
                                  embeddings=(X_seed, X_pool), descriptions=descriptions, on_round=on_round)
        test_pred = model.predict(None, embeddings=X_test)
        results[name] = {
            "pool_accuracy": float(np.mean(np.asarray(model.pool_labels_, dtype=object) == pool_gold)),
            "test_accuracy": float(np.mean(test_pred == test_gold)),
            "test_macro_f1": _macro_f1(test_gold, test_pred),
            "expert_calls": int(model.expert_calls_),
            "rounds": int(sum(1 for r in model.history_ if r["round_calls"] > 0)),
            "stop_reason": model.stop_reason_,
            "selection": model.selection_,
            "wall_s": round(time.perf_counter() - t, 2),
        }
        log(f"  {name}: pool {results[name]['pool_accuracy']:.4f} test {results[name]['test_accuracy']:.4f} "
            f"calls {results[name]['expert_calls']} ({results[name]['wall_s']}s, stop: {model.stop_reason_})")

    def fitted_method(name, clf, X, y, calls):
        t = time.perf_counter()
        clf.fit(X, y)
        test_pred = clf.predict(X_test)
        results[name] = {
            "pool_accuracy": float(np.mean(clf.predict(X_pool) == pool_gold)),
            "test_accuracy": float(np.mean(test_pred == test_gold)),
            "test_macro_f1": _macro_f1(test_gold, test_pred),
            "expert_calls": int(calls), "rounds": 0, "stop_reason": None,
            "wall_s": round(time.perf_counter() - t, 2),
        }
        log(f"  {name}: pool {results[name]['pool_accuracy']:.4f} test {results[name]['test_accuracy']:.4f}")

    C = (red_params or {}).get("C", 10.0)
    y_seed = np.array(seed_labels, dtype=object)
    for name in methods:
        if name == "red":
            loop_method("red", subset_size)
        elif name == "flat_al":
            loop_method("flat_al", None)
        elif name == "flat_seed":
            fitted_method(name, LogisticRegression(C=C, max_iter=1000), X_seed, y_seed, 0)
        elif name == "knn":
            fitted_method(name, KNeighborsClassifier(n_neighbors=min(10, len(y_seed)), metric="cosine",
                                                     weights="distance"), X_seed, y_seed, 0)
        elif name == "gold_upper":
            fitted_method(name, LogisticRegression(C=C, max_iter=1000), np.vstack([X_seed, X_pool]),
                          np.concatenate([y_seed, pool_gold]), len(pool_texts))
        else:
            raise InputError(f"unknown method {name!r}")
    main = results.get("red") or next(iter(results.values()))
    out = {
        "dataset": folder.name, "classes": len(split.classes), "k": k, "pool_size": len(pool_texts),
        "expert_calls": main["expert_calls"], "pool_accuracy": main["pool_accuracy"],
        "test_accuracy": main["test_accuracy"], "test_macro_f1": main["test_macro_f1"],
        "rounds": main["rounds"], "stop_reason": main["stop_reason"], "selection": main.get("selection"),
        "wall_s": round(results["red"]["wall_s"] if "red" in results else time.perf_counter() - t_start, 2),
        "peak_rss_mb": _peak_rss_mb(),
        "baselines": {name: {key: r[key] for key in ("pool_accuracy", "test_accuracy", "expert_calls")}
                      for name, r in results.items() if name != "red"},
    }
    out["_methods"] = results  # full detail for the table; removed before writing JSON
    out["_curves"] = curves
    out["_settings"] = {"budget": budget, "seed": seed, "embedder": getattr(emb, "name", str(embedder)),
                        "subset_size": subset_size, "noise_factor": noise_factor, "oracle_accuracy": accuracy,
                        "red_params": red_params or {}}
    out["_total_s"] = round(time.perf_counter() - t_start, 1)
    return out


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


def render_markdown(result: dict, *, plot: str | None = None) -> str:
    """The result table (and the plot, when given) as Markdown."""
    st = result.get("_settings", {})
    lines = [f"### {result['dataset']} — {result['classes']} classes, k={result['k']}, pool {result['pool_size']}",
             "",
             f"Budget {st.get('budget')} of the pool, simulated oracle {st.get('oracle_accuracy')} accurate, seed "
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
