"""How one round's training and prediction grow with the number of labels: one flat classifier
against label subsets of 8 (issue #16: which default wins towards 10k labels — measured, not
assumed).

The workload is built from real text, as ``redtext bench-scale`` builds its own: the embedded
texts of onet_titles and clinc150 (1,020 labels) give each synthetic label a real centroid — a
real label's vectors, their labels split (by k-means on the label's texts) or shared with noise
to reach ``L`` labels; the seed is ``k`` rows per label (real vectors plus small noise,
renormalised), the pool ``--pool`` such rows. One round = ``RED(budget=0)`` fit on the seed
(train) and the pool's predictions, timed; the fit's accuracy on held-out rows is printed too.

    REDTEXT_JOBS=1 .venv/bin/python benchmarks/label_scale.py [--labels 1000,3000,10000] [--pool 20000] [--k 10]

(``REDTEXT_JOBS=1``: one worker, as the figures in BENCHMARKS.md were taken; without it the
subsets train in a worker per core.)

Writes benchmarks/results/label_scale.{json,md}.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def workload(n_labels: int, k: int, n_pool: int, seed: int = 0):
    """Seed (X, y) and pool (X, y) for ``n_labels`` synthetic labels around real label centroids."""
    from redtext.bench.protocol import default_cache_path, make_split, resolve_dataset
    from redtext.embed import CachedEmbedder, get_embedder
    from redtext.io.embed_cache import EmbeddingCache

    emb = CachedEmbedder(get_embedder("minilm"), EmbeddingCache(default_cache_path()), progress=False)
    X_parts, y_parts, offset = [], [], 0
    for name in ("onet_titles", "clinc150"):
        split = make_split(resolve_dataset(name), 10, seed)
        X = emb.encode(split.train_texts)
        index = {c: j for j, c in enumerate(split.classes)}
        X_parts.append(X)
        y_parts.append(np.array([index[lab] for lab in split.train_labels]) + offset)
        offset += len(split.classes)
    X, y = np.vstack(X_parts), np.concatenate(y_parts)
    base = np.zeros((offset, X.shape[1]))
    np.add.at(base, y, X)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    rng = np.random.default_rng(seed)
    # each synthetic label: a real label's centroid, moved a little when labels are reused
    src = np.arange(n_labels) % offset
    cent = base[src] + (src != np.arange(n_labels))[:, None] * rng.normal(0, 0.04, (n_labels, X.shape[1]))
    cent /= np.linalg.norm(cent, axis=1, keepdims=True)

    def rows(n):
        lab = rng.integers(0, n_labels, n) if n else np.zeros(0, dtype=int)
        real = X[rng.integers(0, len(X), n)]
        v = cent[lab] * 0.8 + 0.2 * real + rng.normal(0, 0.02, (n, X.shape[1]))
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32), lab

    seed_y = np.repeat(np.arange(n_labels), k)
    v = cent[seed_y] * 0.8 + 0.2 * X[rng.integers(0, len(X), len(seed_y))] + rng.normal(0, 0.02, (len(seed_y), X.shape[1]))
    X_seed = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
    X_pool, y_pool = rows(n_pool)
    return X_seed, seed_y, X_pool, y_pool


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--labels", default="1000,3000,10000")
    ap.add_argument("--pool", type=int, default=20000)
    ap.add_argument("--k", type=int, default=10)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    os.environ.setdefault("REDTEXT_PROGRESS", "0")
    from redtext import RED

    out = []
    for n in (int(x) for x in args.labels.split(",")):
        X_seed, y_seed, X_pool, y_pool = workload(n, args.k, args.pool)
        names = [f"L{i:05d}" for i in range(n)]
        seed_labels = [names[i] for i in y_seed]
        for mode, size in (("flat", None), ("subsets of 8", 8)):
            t = time.perf_counter()
            model = RED(subset_size=size, budget=0, verbose=False, embedder="hashing").fit(
                [f"s{i}" for i in range(len(X_seed))], seed_labels, pool=[f"p{i}" for i in range(len(X_pool))],
                embeddings=(X_seed, X_pool), expert=None)
            wall = time.perf_counter() - t
            acc = float(np.mean(np.asarray(model.pool_labels_, dtype=object) == np.asarray([names[i] for i in y_pool],
                                                                                        dtype=object)))
            row = {"labels": n, "mode": mode, "seed_rows": len(X_seed), "pool": len(X_pool), "round_s": round(wall, 1),
                   "pool_accuracy": round(acc, 4)}
            out.append(row)
            print(json.dumps(row), flush=True)
    res = ROOT / "benchmarks" / "results"
    (res / "label_scale.json").write_text(json.dumps(out, indent=1))
    lines = ["| labels | classifier | seed rows | pool | one round (train + predict), s | pool accuracy of the seed model |",
             "|---:|---|---:|---:|---:|---:|"]
    lines += [f"| {r['labels']:,} | {r['mode']} | {r['seed_rows']:,} | {r['pool']:,} | {r['round_s']} | "
              f"{100 * r['pool_accuracy']:.1f} % |" for r in out]
    (res / "label_scale.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {res / 'label_scale.md'}")


if __name__ == "__main__":
    main()
