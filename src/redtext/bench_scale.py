"""``redtext bench-scale``: what each stage of a R.E.D. round costs, and how it grows with the pool.

The workload is synthetic but built from real text, so the vectors have the geometry of real
embeddings (clusters, confusable labels) without embedding a million texts:

1. **Real texts**: every text of ``onet_titles`` (train + test) and ``clinc150`` (train + val +
   test) under ``../shared/data`` (or ``$REDTEXT_DATA``), de-duplicated — about 58k texts in
   1020 real classes — embedded once with ``--embedder`` (cached in the embedding cache that
   ``redtext bench`` uses). ``--texts N`` draws a random N of them instead.
2. **Labels**: the real classes relabelled into exactly ``--classes`` labels. Fewer labels:
   the smallest class is merged into the class whose mean vector is most similar, until the
   count is reached (at 1000 labels: 20 small O*NET occupations join their nearest one). More
   labels: the largest class is split in two along its first principal direction, until the
   count is reached.
3. **Seed**: ``--k`` real texts per label (their real vectors); a label with fewer real texts
   gets perturbed copies.
4. **Pool**: ``--pool`` rows, each a random non-seed real text's vector plus small Gaussian
   noise (cosine ≈ 0.96 to the original), renormalised — no two rows are identical — with
   the text ``"<real text> #<row>"`` and the real text's label as hidden gold. The vectors are
   written to a memory-mapped file and passed to the loop as precomputed embeddings:
   embedding a million texts is not needed to measure the other stages (embedding is measured
   on its own, below). Row ``i`` is the same at every pool size (smaller pools are prefixes).
5. **Expert**: a scripted expert that answers instantly from the synthetic gold, so expert
   time is ~0 and what is measured is redtext's own overhead.

Per pool size (10k, 30k, 100k, 300k, 1M — those below ``--pool`` — and ``--pool`` itself),
in a fresh process so its peak memory is its own: label vectors and the partition, then
``RED.fit`` with the scripted expert for two asking rounds at the pace of the defaults
(``--round-calls``, default ``ceil(0.25 × pool / 8)`` questions a round) into a SQLite store
on disk, then the whole pool's predictions written to the store as ``redtext run`` writes them.
**One round** is round 1: train the subset ensemble on the seed plus the texts validated in
round 0 (k = 10 per label → 10k rows at 1000 labels, plus the validated ones), predict the
whole pool, select the texts to ask, ask them (verdicts committed to the store); plus writing
every pool prediction to the store. ``round_overhead_s`` is that round without embedding
(none happens) and without the expert's own time.

Embedding and classification are measured on ``--embed-sample`` real texts, ``--repeats`` times
interleaved, keeping each one's best (a burst of other work on a shared machine slows a single
two-second measurement a lot):
``raw_embed_texts_per_s`` is the embedder's ``encode`` on all of them at once (model loaded);
``embed_texts_per_s`` goes through redtext's embedding path as a run gets it (backend,
content-hash cache in a fresh SQLite file, batches, progress); ``classify_texts_per_s`` is the
``redtext classify`` path — read the input file, embed, predict with the model trained at the
requested size, write the predictions JSONL — with the model and embedder loaded (what a
long-running classifier sees); ``classify_cold_texts_per_s`` runs the whole ``redtext classify``
command in this process, loading the model bundle and the embedder first.
"""
from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Optional

import typer

from .errors import InputError

LADDER = (10_000, 30_000, 100_000, 300_000, 1_000_000)
SOURCES = (("onet_titles", ("train", "test")), ("clinc150", ("train", "val", "test")))
POOL_NOISE = 0.3      # norm of the perturbation added to a unit vector: cosine ≈ 1/sqrt(1 + 0.09) ≈ 0.96
CHUNK = 65_536        # pool rows generated per chunk (and per random stream)
TARGETS = {"round_overhead_s": 30.0, "classify_ratio": 0.85, "peak_rss_mb": 4096.0}
FIELDS = ("embed_texts_per_s", "partition_s", "train_s", "predict_s", "round_overhead_s",
          "classify_texts_per_s", "raw_embed_texts_per_s", "peak_rss_mb")


# -- the command ------------------------------------------------------------------------------

def command(
    classes: int = typer.Option(1000, help="Labels in the synthetic label space (real classes merged or split)."),
    pool: int = typer.Option(100_000, help="Pool rows at the largest size (e.g. 100000 or 1000000)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write every figure to this JSON file."),
    markdown: Optional[Path] = typer.Option(None, help="Write the tables as Markdown to this file."),
    plot: Optional[Path] = typer.Option(None, help="Plot each stage's time and the peak memory against "
                                                   "the pool size to this PNG."),
    embedder: str = typer.Option("minilm", help="Embedder whose vectors the workload uses and whose "
                                                "throughput is measured (the project default: minilm)."),
    backend: str = typer.Option("local", help="Where heavy stages run: local (processes on this machine) or ray."),
    address: Optional[str] = typer.Option(None, help="--backend ray: cluster address (auto or HOST:PORT)."),
    sizes: Optional[str] = typer.Option(None, help="Pool sizes to measure, comma-separated (default: "
                                                   "10k, 30k, 100k, 300k, 1M below --pool, and --pool)."),
    k: int = typer.Option(10, help="Seed examples per label."),
    round_calls: Optional[int] = typer.Option(None, help="Expert questions per round (default "
                                                         "ceil(0.25 × pool / 8), the pace of the defaults)."),
    embed_sample: int = typer.Option(4000, help="Real texts embedded to measure embedding and classify throughput."),
    repeats: int = typer.Option(3, help="Throughput measurements (interleaved); the best of each is reported."),
    texts: Optional[int] = typer.Option(None, help="Use a random N of the real texts (default: all, ~58k)."),
    seed: int = typer.Option(0, help="Random seed of the workload."),
    cache: Optional[Path] = typer.Option(None, help="Embedding cache for the real texts "
                                                    "(default: the one `redtext bench` uses)."),
    workdir: Optional[Path] = typer.Option(None, help="Folder for the memory-mapped pool, stores and model "
                                                      "(default: a temporary folder, removed afterwards)."),
):
    """Measure each stage of a R.E.D. round at scale: embedding, partition, training, prediction,
    selection, store writes and peak memory — and how they grow with the pool size."""
    from .atomic import write_text_atomic

    if repeats < 1:
        raise InputError(f"--repeats {repeats}: need at least 1")
    opts = _validate(classes=classes, pool=pool, k=k, sizes=sizes, round_calls=round_calls,
                     embed_sample=embed_sample, texts=texts, outputs={"--json": json_out, "--markdown": markdown,
                                                                      "--plot": plot}, backend=backend,
                     address=address, workdir=workdir)
    result = run(classes=classes, pool=pool, embedder=embedder, backend=backend, address=address,
                 sizes=opts["sizes"], k=k, round_calls=round_calls, embed_sample=embed_sample, texts=texts,
                 seed=seed, cache=cache, workdir=workdir, repeats=repeats, log=_log)
    from rich.console import Console

    Console(width=max(120, Console().width)).print(render_table(result))
    if json_out:
        write_text_atomic(json_out, json.dumps(result, indent=2))
        _log(f"wrote {json_out}")
    if plot:
        plot_growth(result, plot)
        _log(f"wrote {plot}")
    if markdown:
        rel = os.path.relpath(plot, markdown.parent) if plot else None
        write_text_atomic(markdown, render_markdown(result, plot=rel))
        _log(f"wrote {markdown}")


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _check_writable(flag: str, path: Path | None) -> None:
    """Fail before any work when an output path cannot be written."""
    if path is None:
        return
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{flag} {path} is a folder; give a file name")
    parent = path.parent
    while not parent.exists():
        if parent == parent.parent:
            break
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{flag} {path}: {parent} is not a folder; choose another path")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{flag} {path}: cannot write in {parent}; choose another path")


def parse_sizes(text: str | None, pool: int, classes: int) -> list[int]:
    if text:
        try:
            values = sorted({int(v.replace("_", "").strip()) for v in text.split(",") if v.strip()})
        except ValueError:
            raise InputError(f"--sizes {text!r}: give whole numbers separated by commas, e.g. 10000,30000") from None
        if not values:
            raise InputError(f"--sizes {text!r}: give at least one size")
        bad = [v for v in values if v < classes or v > pool]
        if bad:
            raise InputError(f"--sizes: {bad[0]} is outside {classes} (--classes) to {pool} (--pool)")
        if values[-1] != pool:
            values.append(pool)
        return values
    values = [s for s in LADDER if classes <= s < pool]
    if not values and pool >= 10 * classes:  # a small trial: still show some growth
        values = sorted({max(classes, pool // 10), max(classes, pool // 3)} - {pool})
    return values + [pool]


def _validate(*, classes, pool, k, sizes, round_calls, embed_sample, texts, outputs, backend, address, workdir):
    if classes < 2:
        raise InputError(f"--classes {classes}: need at least 2 labels")
    if pool < classes:
        raise InputError(f"--pool {pool} is smaller than --classes {classes}; "
                         "give a pool of at least one text per label")
    if k < 1:
        raise InputError(f"--k {k}: need at least 1 seed example per label")
    if round_calls is not None and round_calls < 1:
        raise InputError(f"--round-calls {round_calls}: need at least 1 question a round")
    if embed_sample < 1:
        raise InputError(f"--embed-sample {embed_sample}: need at least 1 text")
    if texts is not None and texts < classes:
        raise InputError(f"--texts {texts} is fewer than --classes {classes}; each label needs a real text")
    for flag, path in outputs.items():
        _check_writable(flag, path)
    if workdir is not None and workdir.exists() and not workdir.is_dir():
        raise InputError(f"--workdir {workdir} is a file; give a folder")
    from .backends import get_backend

    get_backend(backend, address)
    return {"sizes": parse_sizes(sizes, pool, classes)}


# -- the workload -------------------------------------------------------------------------------

def load_real_texts(max_texts: int | None = None, seed: int = 0) -> tuple[list[str], list[str]]:
    """(texts, real class names) of the source datasets, de-duplicated (first occurrence wins)."""
    from .bench import resolve_dataset
    from .data import load_gold

    texts: list[str] = []
    labels: list[str] = []
    seen: set[str] = set()
    for name, splits in SOURCES:
        folder = resolve_dataset(name)
        for split in splits:
            path = folder / f"{split}.jsonl"
            if not path.is_file():
                continue
            rec = load_gold(path)
            for t, lab in zip(rec.texts, rec.labels):
                if t not in seen:
                    seen.add(t)
                    texts.append(t)
                    labels.append(f"{name}/{lab}")
    if max_texts is not None and max_texts < len(texts):
        import numpy as np

        keep = np.sort(np.random.default_rng([seed, 1]).choice(len(texts), size=max_texts, replace=False))
        texts = [texts[i] for i in keep]
        labels = [labels[i] for i in keep]
    return texts, labels


def relabel(X, real: list[str], n_classes: int):
    """Map real classes onto exactly ``n_classes`` labels: merge the smallest class into its most
    similar one while there are too many, split the largest along its first principal direction
    while there are too few. Returns (label index per text, label names)."""
    import numpy as np

    names = sorted(set(real))
    index = {c: i for i, c in enumerate(names)}
    y = np.array([index[c] for c in real], dtype=np.int64)
    X = np.asarray(X, dtype=np.float64)
    R = len(names)
    if n_classes > len(real):
        raise InputError(f"--classes {n_classes}: the {len(real)} real texts give at most {len(real)} labels "
                         "(one text each); lower --classes or use more --texts")
    sums = np.zeros((R, X.shape[1]))
    np.add.at(sums, y, X)
    counts = np.bincount(y, minlength=R).astype(np.int64)
    owner = np.arange(R)
    alive = np.ones(R, dtype=bool)
    n_alive = R
    while n_alive > n_classes:  # merge the smallest class into its most similar one
        live = np.flatnonzero(alive)
        i = int(live[np.argmin(counts[live])])
        others = live[live != i]
        cent = sums[others] / np.maximum(np.linalg.norm(sums[others], axis=1, keepdims=True), 1e-12)
        j = int(others[np.argmax(cent @ (sums[i] / max(np.linalg.norm(sums[i]), 1e-12)))])
        sums[j] += sums[i]
        counts[j] += counts[i]
        alive[i] = False
        owner[owner == i] = j
        n_alive -= 1
    live = np.flatnonzero(alive)
    group_of_real = np.searchsorted(live, owner)         # real class -> label 0..n_alive-1
    label = group_of_real[y]
    merged = np.bincount(group_of_real, minlength=len(live))
    base = [names[int(live[g])] + (f" (+{merged[g] - 1})" if merged[g] > 1 else "") for g in range(len(live))]
    parts: dict[str, int] = {}
    while len(base) < n_classes:  # split the largest label in two
        sizes = np.bincount(label, minlength=len(base))
        g = int(np.argmax(sizes))
        members = np.flatnonzero(label == g)
        Xm = X[members] - X[members].mean(axis=0)
        v = Xm[np.argmax(np.linalg.norm(Xm, axis=1))].copy()
        for _ in range(20):  # power iteration: the first principal direction
            v = Xm.T @ (Xm @ v)
            v /= max(np.linalg.norm(v), 1e-12)
        order = members[np.argsort(Xm @ v, kind="stable")]
        label[order[len(order) // 2:]] = len(base)
        root = base[g].split(" [")[0]
        parts[root] = parts.get(root, 1) + 1
        base.append(f"{root} [{parts[root]}]")
    names_out = [f"{i:04d} {n}" for i, n in enumerate(base)]
    return label, names_out


def perturb(X, rng, noise: float = POOL_NOISE):
    """Unit rows of ``X`` plus Gaussian noise of norm ≈ ``noise``, renormalised."""
    import numpy as np

    from .embed.base import normalize_rows

    dim = X.shape[1]
    eps = rng.standard_normal(X.shape, dtype=np.float32)
    eps *= np.float32(noise / math.sqrt(dim))
    return normalize_rows(np.asarray(X, dtype=np.float32) + eps)


def build_workload(X, real: list[str], texts: list[str], *, n_classes: int, k: int, seed: int) -> dict:
    """Labels, seed rows and the pool's source rows (see the module docstring)."""
    import numpy as np

    label, names = relabel(X, real, n_classes)
    rng = np.random.default_rng([seed, 2])
    seed_rows: list[int] = []
    pad: list[tuple[int, int]] = []     # (source row, copy number) for labels with fewer than k texts
    by_label = np.argsort(label, kind="stable")
    starts = np.searchsorted(label[by_label], np.arange(len(names)))
    ends = np.searchsorted(label[by_label], np.arange(len(names)), side="right")
    for g in range(len(names)):
        members = rng.permutation(by_label[starts[g]:ends[g]])
        seed_rows += members[:k].tolist()
        for c in range(k - len(members)):
            pad.append((int(members[c % len(members)]), c // len(members) + 1))
    seed_rows_arr = np.asarray(seed_rows, dtype=np.int64)
    X = np.asarray(X, dtype=np.float32)
    seed_X = X[seed_rows_arr]
    seed_y = label[seed_rows_arr]
    seed_texts = [texts[i] for i in seed_rows]
    if pad:
        src = np.array([p[0] for p in pad])
        seed_X = np.vstack([seed_X, perturb(X[src], np.random.default_rng([seed, 3]))])
        seed_y = np.concatenate([seed_y, label[src]])
        seed_texts += [f"{texts[i]} ~{c}" for i, c in pad]
    in_seed = np.zeros(len(texts), dtype=bool)
    in_seed[seed_rows_arr] = True
    sources = np.flatnonzero(~in_seed)
    if len(sources) == 0:
        sources = np.arange(len(texts))
    return {"names": names, "seed_X": seed_X, "seed_y": seed_y, "seed_texts": seed_texts,
            "source_rows": sources, "label": label}


def make_pool(source_X, n: int, seed: int, path: Path):
    """The first ``n`` pool rows into a float32 memory-mapped file: (memmap, source index per row)."""
    import numpy as np

    from .embed.base import normalize_rows

    dim = source_X.shape[1]
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, dim))
    src = np.empty(n, dtype=np.int64)
    scale = np.float32(POOL_NOISE / math.sqrt(dim))
    for c, start in enumerate(range(0, n, CHUNK)):
        m = min(CHUNK, n - start)
        s = np.random.default_rng([seed, 7, c, 0]).integers(0, len(source_X), size=CHUNK)[:m]
        eps = np.random.default_rng([seed, 7, c, 1]).standard_normal((m, dim), dtype=np.float32)
        eps *= scale
        out[start:start + m] = normalize_rows(source_X[s] + eps)
        src[start:start + m] = s
    out.flush()
    return out, src


# -- one pool size, in its own process ------------------------------------------------------------

class ScriptedExpert:
    """Answers from the synthetic gold at once (ids are ``p<row>``); keeps its own time per round."""

    name = "scripted-gold"
    batch_size = 64

    def __init__(self, gold, names):
        self.gold = gold
        self.names = names
        self.round = 0
        self.seconds: dict[int, float] = {}

    def ask(self, questions):
        t = time.perf_counter()
        out = [self.names[self.gold[int(q.text_id[1:])]] == q.label for q in questions]
        self.seconds[self.round] = self.seconds.get(self.round, 0.0) + time.perf_counter() - t
        return out


class _PeakRSS:
    """Samples this process's RSS and that of its workers (children) until stopped."""

    def __init__(self, interval: float = 0.1):
        import threading

        self.interval = interval
        self.peak_self = 0.0
        self.peak_total = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self):
        import psutil

        me = psutil.Process()
        while True:
            try:
                rss = me.memory_info().rss
                total = rss
                for child in me.children(recursive=True):
                    try:
                        total += child.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak_self = max(self.peak_self, rss / 2**20)
                self.peak_total = max(self.peak_total, total / 2**20)
            except psutil.Error:
                pass
            if self._stop.wait(self.interval):
                break


def _high_water_mb() -> float:
    """This process's peak RSS: ``VmHWM`` (reset by exec, unlike ``ru_maxrss``, which a child
    inherits from the process that started it), else ``ru_maxrss``."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _timed_store(path):
    from .store import Store

    class TimedStore(Store):
        """The SQLite store, timing its writes per round."""

        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.write_s: dict[int, float] = {}

        def _add(self, round_no, t):
            self.write_s[round_no] = self.write_s.get(round_no, 0.0) + time.perf_counter() - t

        def record_verdicts(self, run_id, items, *, expert, round_no):
            t = time.perf_counter()
            super().record_verdicts(run_id, items, expert=expert, round_no=round_no)
            self._add(round_no, t)

        def record_round(self, run_id, round_no, metrics):
            t = time.perf_counter()
            super().record_round(run_id, round_no, metrics)
            self._add(round_no, t)

    return TimedStore(path)


def run_size(cfg: dict) -> dict:
    """Everything measured at one pool size (run in a fresh process by :func:`run`)."""
    import numpy as np

    load_start = os.getloadavg()
    with _PeakRSS() as rss:
        work = Path(cfg["workdir"])
        n = int(cfg["size"])
        data = np.load(work / "workload.npz")
        meta = json.loads((work / "workload.json").read_text(encoding="utf-8"))
        names = meta["names"]
        seed_X, seed_y = data["seed_X"], data["seed_y"]
        source_X = np.load(work / "sources.npy", mmap_mode="r")
        source_y = data["source_y"]
        source_texts = meta["source_texts"]
        t = time.perf_counter()
        X_pool, src = make_pool(source_X, n, cfg["seed"], work / f"pool-{n}.npy")
        pool_texts = [f"{source_texts[s]} #{i}" for i, s in enumerate(src.tolist())]
        pool_ids = [f"p{i}" for i in range(n)]
        gold = source_y[src]
        pool_build_s = time.perf_counter() - t

        from .partition import label_vectors, partition_labels
        from .red import RED

        seed_labels = [names[i] for i in seed_y]
        t = time.perf_counter()
        lv = label_vectors(seed_X, seed_y, len(names))
        label_vectors_s = time.perf_counter() - t
        t = time.perf_counter()
        subsets = partition_labels(lv, 8, reduce=None, random_state=cfg["seed"])
        partition_s = time.perf_counter() - t

        store = _timed_store(work / f"run-{n}.db")
        run_id = store.create_run({"bench_scale": True, "size": n})
        t = time.perf_counter()
        store.add_texts(run_id, "seed", [f"s{i}" for i in range(len(seed_labels))], meta["seed_texts"], seed_labels)
        store.add_texts(run_id, "pool", pool_ids, pool_texts)
        add_texts_s = time.perf_counter() - t

        expert = ScriptedExpert(gold, names)
        per_round = int(cfg["round_calls"])

        def on_round(metrics, model, pred, validated):
            expert.round = metrics["round"]

        red = RED(subset_size=8, embedder=cfg["embedder"], budget=2 * per_round, rounds_hint=2, max_rounds=2,
                  min_gain=0.0,
                  random_state=cfg["seed"], progress=False, backend=cfg["backend"], address=cfg["address"])
        t = time.perf_counter()
        red.fit(meta["seed_texts"], seed_labels, pool=pool_texts, pool_ids=pool_ids, expert=expert, store=store,
                run_id=run_id, embeddings=(seed_X, X_pool), on_round=on_round)
        fit_s = time.perf_counter() - t

        # every pool prediction into the store, as `redtext run` writes them
        t = time.perf_counter()
        store.record_predictions(run_id, ((i, red.pool_labels_[i], float(red.pool_confidence_[i]), red.pool_source_[i],
                                           [[lab, round(s, 6)] for lab, s in red.pool_candidates_[i]])
                                          for i in range(n)))
        predictions_write_s = time.perf_counter() - t
        accuracy = float(np.mean(np.asarray(red.pool_labels_, dtype=object) == np.asarray(names, dtype=object)[gold]))
        maxrss = _high_water_mb()
    rounds = []
    for r in red.history_:
        no = r["round"]
        rounds.append({**{key: r.get(key) for key in ("round", "train_size", "train_s", "predict_s", "select_s",
                                                        "ask_s", "round_calls", "texts_asked", "accepted",
                                                        "uncertain")},
                       "expert_s": round(expert.seconds.get(no, 0.0), 4),
                       "store_write_s": round(store.write_s.get(no, 0.0), 4)})
    result = {
        "size": n, "classes": len(names), "subsets": len(subsets), "seed_rows": int(len(seed_y)),
        "pool_build_s": round(pool_build_s, 3), "label_vectors_s": round(label_vectors_s, 4),
        "partition_s": round(partition_s, 6), "store_add_texts_s": round(add_texts_s, 3),
        "fit_s": round(fit_s, 3), "predictions_write_s": round(predictions_write_s, 3),
        "rounds": rounds, "stop_reason": red.stop_reason_, "expert_calls": int(red.expert_calls_),
        "pool_accuracy": round(accuracy, 4),
        "peak_rss_mb": round(max(maxrss, rss.peak_self), 1),
        "peak_rss_total_mb": round(max(rss.peak_total, maxrss, rss.peak_self), 1),
        "load_avg": [round(load_start[0], 2), round(os.getloadavg()[0], 2)],
    }
    if cfg.get("model_dir"):
        red.save(cfg["model_dir"])
    store.close()
    return result


def _round_figures(res: dict) -> dict:
    """The figures of "one round" (round 1: trained on seed + validated texts) at one size."""
    asking = [r for r in res["rounds"] if r.get("select_s") is not None]
    r = next((x for x in asking if x["round"] == 1), asking[-1] if asking else res["rounds"][-1])
    select_s = r.get("select_s") or 0.0
    ask_s = r.get("ask_s") or 0.0
    expert_s = r.get("expert_s") or 0.0
    verdicts_s = r.get("store_write_s") or 0.0
    store_write_s = verdicts_s + res["predictions_write_s"]
    overhead = r["train_s"] + r["predict_s"] + select_s + max(0.0, ask_s - expert_s) + res["predictions_write_s"]
    return {"round": r["round"], "train_rows": r["train_size"], "train_s": r["train_s"], "predict_s": r["predict_s"],
            "select_s": select_s, "ask_s": ask_s, "expert_s": expert_s, "verdict_write_s": round(verdicts_s, 4),
            "predictions_write_s": res["predictions_write_s"], "store_write_s": round(store_write_s, 3),
            "round_overhead_s": round(overhead, 3), "round_calls": r.get("round_calls"),
            "predict_us_per_text": round(1e6 * r["predict_s"] / max(1, res["size"]), 2)}


def _spawn_size(cfg: dict, work: Path, log) -> dict:
    import subprocess

    cfg_path = work / f"size-{cfg['size']}.json"
    out_path = work / f"result-{cfg['size']}.json"
    cfg_path.write_text(json.dumps(cfg), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "redtext.bench_scale", str(cfg_path), str(out_path)],
                          env={**os.environ, "REDTEXT_PROGRESS": "0"})
    if proc.returncode != 0 or not out_path.is_file():
        raise InputError(f"the measurement at pool size {cfg['size']} failed (exit code {proc.returncode}); "
                         "see the lines above (a killed process usually means too little memory)")
    res = json.loads(out_path.read_text(encoding="utf-8"))
    if "error" in res:
        raise InputError(f"the measurement at pool size {cfg['size']} failed: {res['error']}")
    return res


# -- embedding and classify throughput ------------------------------------------------------------

def measure_throughput(emb, sample: list[str], model_dir: Path, *, backend: str, address, work: Path,
                       repeats: int = 3) -> dict:
    """Embedding and classify throughput on ``sample``, ``repeats`` times interleaved (raw encode,
    redtext's embedding path, the classify path), keeping each one's best: on a shared machine a
    burst of other work slows a single 2-second measurement a lot."""
    import contextlib
    import io

    from .backends import get_backend
    from .cli import main as cli_main
    from .data import load_pool, write_jsonl_atomic
    from .embed import CachedEmbedder, EmbeddingCache
    from .red import RED

    be = get_backend(backend, address)
    n = len(sample)
    t = time.perf_counter()
    emb.encode(sample[:32])  # loads the model (or session) once
    load_s = time.perf_counter() - t
    inp = work / "classify-input.jsonl"
    write_jsonl_atomic(inp, ({"id": f"c{i}", "text": t} for i, t in enumerate(sample)))
    red = RED.load(model_dir, embedder=emb, backend=backend, address=address)
    red.progress = True
    out = work / "classify-out.jsonl"
    times: dict[str, list[float]] = {"raw": [], "path": [], "cached": [], "classify": []}
    for r in range(repeats):
        t = time.perf_counter()
        emb.encode(sample)
        times["raw"].append(time.perf_counter() - t)
        cache_file = work / f"embed-cache-{r}.db"
        t = time.perf_counter()
        CachedEmbedder(be.wrap_embedder(emb), EmbeddingCache(cache_file), progress=True).encode(sample)
        times["path"].append(time.perf_counter() - t)
        t = time.perf_counter()
        CachedEmbedder(be.wrap_embedder(emb), EmbeddingCache(cache_file), progress=True).encode(sample)
        times["cached"].append(time.perf_counter() - t)
        t = time.perf_counter()
        # what `redtext classify` does once the model is loaded
        from .predict import prediction_row

        rec = load_pool(inp, text_col="text", id_col="id")
        pred = red.predict_details(rec.texts)
        rows = ({"id": rec.ids[i], "text": rec.texts[i], **prediction_row(red.classes_, pred, i)}
                for i in range(len(rec.texts)))
        written = write_jsonl_atomic(out, rows)
        times["classify"].append(time.perf_counter() - t)
        if written != n:
            raise RuntimeError(f"classify wrote {written} of {n} rows")
    vectors = emb.encode(sample)
    t = time.perf_counter()
    red.predict_details(None, embeddings=vectors)
    predict_only_s = time.perf_counter() - t
    best = {key: min(v) for key, v in times.items()}
    result = {"embedder_load_s": round(load_s, 3), "repeats": repeats,
              "raw_embed_texts_per_s": round(n / best["raw"], 1), "embed_texts_per_s": round(n / best["path"], 1),
              "embed_cached_texts_per_s": round(n / best["cached"], 1),
              "classify_texts_per_s": round(n / best["classify"], 1),
              "classify_ratio": round(best["raw"] / best["classify"], 4),
              "classify_predict_only_s": round(predict_only_s, 3),
              "throughput_runs_s": {key: [round(x, 3) for x in v] for key, v in times.items()}}
    argv = ["classify", "--model", str(model_dir), "--input", str(inp), "--out", str(work / "classify-cli.jsonl"),
            "--backend", backend] + (["--address", address] if address else [])
    t = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):
        code = cli_main(argv)
    cold_s = time.perf_counter() - t
    if code == 0:
        result.update(classify_cold_s=round(cold_s, 3), classify_cold_texts_per_s=round(n / cold_s, 1))
    return result


# -- the whole benchmark ------------------------------------------------------------------------------

def run(*, classes: int = 1000, pool: int = 100_000, embedder: str = "minilm", backend: str = "local",
        address: str | None = None, sizes: list[int] | None = None, k: int = 10, round_calls: int | None = None,
        embed_sample: int = 4000, texts: int | None = None, seed: int = 0, cache: Path | None = None,
        workdir: Path | None = None, repeats: int = 3, log=_log) -> dict:
    import shutil
    import tempfile

    import numpy as np

    from .backends import get_backend
    from .bench import default_cache_path
    from .embed import CachedEmbedder, EmbeddingCache, get_embedder

    sizes = sizes or parse_sizes(None, pool, classes)
    t_all = time.perf_counter()
    load_start = os.getloadavg()
    emb = get_embedder(embedder)
    be = get_backend(backend, address)
    real_texts, real_labels = load_real_texts(texts, seed)
    if len(real_texts) < classes:
        raise InputError(f"--classes {classes}: only {len(real_texts)} real texts; lower --classes")
    log(f"bench-scale: {len(real_texts)} real texts in {len(set(real_labels))} classes -> {classes} labels; "
        f"pool sizes {', '.join(f'{s:,}' for s in sizes)}; embedder {emb.name}")
    t = time.perf_counter()
    cached = CachedEmbedder(be.wrap_embedder(emb), EmbeddingCache(cache or default_cache_path()), progress=True)
    X = cached.encode(real_texts)
    base_embed_s = time.perf_counter() - t
    log(f"real texts embedded in {base_embed_s:.1f}s ({cached.hits} from the cache)")
    w = build_workload(X, real_labels, real_texts, n_classes=classes, k=k, seed=seed)
    owns = workdir is None
    work = Path(tempfile.mkdtemp(prefix="redtext-bench-scale-")) if owns else Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    try:
        src_rows = w["source_rows"]
        np.save(work / "sources.npy", X[src_rows])
        np.savez(work / "workload.npz", seed_X=w["seed_X"], seed_y=w["seed_y"], source_y=w["label"][src_rows])
        (work / "workload.json").write_text(json.dumps({"names": w["names"], "seed_texts": w["seed_texts"],
                                                        "source_texts": [real_texts[i] for i in src_rows]}),
                                            encoding="utf-8")
        rng = np.random.default_rng([seed, 5])
        n_sample = min(embed_sample, len(real_texts))
        sample = [real_texts[i] for i in rng.choice(len(real_texts), size=n_sample, replace=False)]
        growth = []
        for size in sizes:
            per_round = round_calls or max(1, math.ceil(0.25 * size / 8))
            cfg = {"workdir": str(work), "size": size, "seed": seed, "round_calls": per_round, "embedder": embedder,
                   "backend": backend, "address": address,
                   "model_dir": str(work / "model") if size == sizes[-1] else None}
            log(f"pool {size:,}: one process, {classes} labels, {per_round} questions a round ...")
            res = _spawn_size(cfg, work, log)
            res["round"] = _round_figures(res)
            growth.append(res)
            fig = res["round"]
            log(f"  round {fig['round']}: train {fig['train_s']:.1f}s, predict {fig['predict_s']:.1f}s, select "
                f"{fig['select_s']:.2f}s, store writes {fig['store_write_s']:.1f}s -> {fig['round_overhead_s']:.1f}s; "
                f"peak RSS {res['peak_rss_mb']:.0f} MB; pool accuracy {res['pool_accuracy']:.3f}")
        log(f"embedding and classify throughput on {n_sample} real texts (best of {repeats}) ...")
        embedding = measure_throughput(emb, sample, work / "model", backend=backend, address=address, work=work,
                                       repeats=repeats)
        log(f"  raw {embedding['raw_embed_texts_per_s']:.0f} texts/s, through redtext "
            f"{embedding['embed_texts_per_s']:.0f}, classify {embedding['classify_texts_per_s']:.0f} "
            f"({embedding['classify_ratio']:.0%} of raw)")
    finally:
        if owns:
            shutil.rmtree(work, ignore_errors=True)
    top = growth[-1]
    fig = top["round"]
    result = {
        "classes": classes, "pool": pool, "k": k, "embedder": emb.name, "backend": backend,
        "embed_texts_per_s": embedding["embed_texts_per_s"], "partition_s": top["partition_s"],
        "train_s": fig["train_s"], "predict_s": fig["predict_s"], "round_overhead_s": fig["round_overhead_s"],
        "classify_texts_per_s": embedding["classify_texts_per_s"],
        "raw_embed_texts_per_s": embedding["raw_embed_texts_per_s"], "peak_rss_mb": top["peak_rss_mb"],
        "select_s": fig["select_s"], "store_write_s": fig["store_write_s"],
        "verdict_write_s": fig["verdict_write_s"], "predictions_write_s": fig["predictions_write_s"],
        "expert_s": fig["expert_s"], "round_calls": fig["round_calls"], "train_rows": fig["train_rows"],
        "peak_rss_total_mb": top["peak_rss_total_mb"], "pool_accuracy": top["pool_accuracy"],
        "round0": {key: top["rounds"][0].get(key) for key in ("train_s", "predict_s", "select_s", "ask_s")},
        "expert_calls": top["expert_calls"], "stop_reason": top["stop_reason"],
        "fit_s": top["fit_s"], "store_add_texts_s": top["store_add_texts_s"], "subsets": top["subsets"],
        "seed_rows": top["seed_rows"],
        **{key: v for key, v in embedding.items()
           if key not in ("raw_embed_texts_per_s", "embed_texts_per_s", "classify_texts_per_s")},
        "embed_sample": n_sample,
        "growth": [{"size": g["size"], "partition_s": g["partition_s"], **g["round"],
                    "peak_rss_mb": g["peak_rss_mb"], "peak_rss_total_mb": g["peak_rss_total_mb"],
                    "pool_accuracy": g["pool_accuracy"], "fit_s": g["fit_s"], "load_avg": g["load_avg"]}
                   for g in growth],
        "targets": {"round_overhead_s": f"<= {TARGETS['round_overhead_s']:g} at 1000 labels x 100k",
                    "classify_ratio": f">= {TARGETS['classify_ratio']:g} of raw_embed_texts_per_s",
                    "peak_rss_mb": f"<= {TARGETS['peak_rss_mb']:g} at 1000 labels x 100k"},
        "targets_met": {"round_overhead_s": fig["round_overhead_s"] <= TARGETS["round_overhead_s"],
                        "classify_ratio": embedding["classify_ratio"] >= TARGETS["classify_ratio"],
                        "peak_rss_mb": top["peak_rss_mb"] <= TARGETS["peak_rss_mb"]},
        "machine": {"cpus": os.cpu_count(), "load_avg_start": [round(v, 2) for v in load_start],
                    "load_avg_end": [round(v, 2) for v in os.getloadavg()], "python": sys.version.split()[0]},
        "workload": {"real_texts": len(real_texts), "real_classes": len(set(real_labels)),
                     "sources": [f"{name} ({'+'.join(splits)})" for name, splits in SOURCES],
                     "pool_noise": POOL_NOISE, "seed": seed,
                     "note": "pool vectors are real texts' vectors plus small Gaussian noise, renormalised "
                             "(no texts are embedded for the pool); the expert is scripted from the synthetic "
                             "gold (no expert time)"},
        "wall_s": round(time.perf_counter() - t_all, 1),
    }
    return result


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


def _main(argv: list[str]) -> int:
    """``python -m redtext.bench_scale CONFIG OUT``: one pool size, its figures to OUT (JSON)."""
    cfg = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    try:
        result = run_size(cfg)
    except Exception as exc:  # reported by the parent as one line
        if os.environ.get("REDTEXT_DEBUG"):
            raise
        result = {"error": f"{type(exc).__name__}: {exc}".replace("\n", " ")}
    Path(argv[1]).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
