"""The scale benchmark's measurements: one pool size per process, throughput, and the whole run."""
from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

from ...errors import InputError
from ...experts.base import BaseExpert
from .workload import POOL_NOISE, SOURCES, TARGETS, build_workload, load_real_texts, make_pool, parse_sizes


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- one pool size, in its own process ------------------------------------------------------------

class ScriptedExpert(BaseExpert):
    """Answers from the synthetic gold at once (pool ids are ``p<row>``; the known-answer questions
    about seed texts ``seed:<row>``, answered from the seed's labels); keeps its own time per round."""

    name = "scripted-gold"
    batch_size = 64

    def __init__(self, gold, names, seed_labels=()):
        self.gold = gold
        self.names = names
        self.seed_labels = list(seed_labels)
        self.round = 0
        self.seconds: dict[int, float] = {}

    def _truth(self, text_id: str) -> str:
        if text_id.startswith("seed:"):
            return self.seed_labels[int(text_id[5:])]
        return self.names[self.gold[int(text_id[1:])]]

    def ask(self, questions):
        t = time.perf_counter()
        out = [self._truth(q.text_id) == q.label for q in questions]
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


def _timed_journal(store, run_id):
    from ...app.journal import StoreJournal

    class TimedJournal(StoreJournal):
        """The run's journal in SQLite, timing its writes per round."""

        def __init__(self, *a):
            super().__init__(*a)
            self.write_s: dict[int, float] = {}

        def _add(self, round_no, t):
            self.write_s[round_no] = self.write_s.get(round_no, 0.0) + time.perf_counter() - t

        def record(self, items, *, expert, round_no, **kw):
            t = time.perf_counter()
            super().record(items, expert=expert, round_no=round_no, **kw)
            self._add(round_no, t)

        def record_round(self, round_no, metrics):
            t = time.perf_counter()
            super().record_round(round_no, metrics)
            self._add(round_no, t)

    return TimedJournal(store, run_id)


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

        from ...backends import get_backend
        from ...core.partition import partition_labels
        from ...core.vectors import label_vectors
        from ...estimator import RED
        from ...io.store import Store
        from ...options import RoundOptions

        seed_labels = [names[i] for i in seed_y]
        t = time.perf_counter()
        lv = label_vectors(seed_X, seed_y, len(names))
        label_vectors_s = time.perf_counter() - t
        t = time.perf_counter()
        subsets = partition_labels(lv, 8, reduce=None, random_state=cfg["seed"])
        partition_s = time.perf_counter() - t

        store = Store(work / f"run-{n}.db")
        run_id = store.create_run({"bench_scale": True, "size": n})
        journal = _timed_journal(store, run_id)
        t = time.perf_counter()
        store.add_texts(run_id, "seed", [f"s{i}" for i in range(len(seed_labels))], meta["seed_texts"], seed_labels)
        store.add_texts(run_id, "pool", pool_ids, pool_texts)
        add_texts_s = time.perf_counter() - t

        expert = ScriptedExpert(gold, names, seed_labels)
        per_round = int(cfg["round_calls"])

        def on_round(metrics, model, pred, validated):
            expert.round = metrics["round"]

        red = RED(subset_size=8, embedder=cfg["embedder"], budget=2 * per_round,
                  rounds=RoundOptions(rounds_hint=2, max_rounds=2, min_gain=0.0), random_state=cfg["seed"],
                  verbose=False, backend=get_backend(cfg["backend"], cfg["address"]))
        t = time.perf_counter()
        red.fit(meta["seed_texts"], seed_labels, pool=pool_texts, pool_ids=pool_ids, expert=expert, journal=journal,
                embeddings=(seed_X, X_pool), monitor=on_round)
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
                       "store_write_s": round(journal.write_s.get(no, 0.0), 4)})
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
    proc = subprocess.run([sys.executable, "-m", "redtext.bench.scale.measure", str(cfg_path), str(out_path)],
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
    from ...app.classify import classify_file
    from ...backends import get_backend
    from ...embed import CachedEmbedder
    from ...estimator import RED
    from ...io.atomic import write_jsonl_atomic
    from ...io.embed_cache import EmbeddingCache

    be = get_backend(backend, address)
    n = len(sample)
    t = time.perf_counter()
    emb.encode(sample[:32])  # loads the model (or session) once
    load_s = time.perf_counter() - t
    inp = work / "classify-input.jsonl"
    write_jsonl_atomic(inp, ({"id": f"c{i}", "text": t} for i, t in enumerate(sample)))
    red = RED.load(model_dir, embedder=emb, backend=be)
    red.verbose = True
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
        written = classify_file(red, inp, out)  # what `redtext classify` does once the model is loaded
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
    # the whole `redtext classify` path from cold: load the bundle and a new embedder, then classify
    t = time.perf_counter()
    cold = RED.load(model_dir, backend=be)
    classify_file(cold, inp, work / "classify-cold.jsonl")
    cold_s = time.perf_counter() - t
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

    from ...backends import get_backend
    from ...embed import CachedEmbedder, get_embedder
    from ...io.embed_cache import EmbeddingCache
    from ..protocol import default_cache_path

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


def _main(argv: list[str]) -> int:
    """``python -m redtext.bench.scale.measure CONFIG OUT``: one pool size, its figures to OUT (JSON)."""
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
