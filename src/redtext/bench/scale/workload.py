"""The scale benchmark's workload: real texts relabelled into N labels, a seed, a synthetic pool
(see :mod:`redtext.bench.scale`)."""
from __future__ import annotations

import math
import os
from pathlib import Path

from ...errors import InputError

LADDER = (10_000, 30_000, 100_000, 300_000, 1_000_000)
SOURCES = (("onet_titles", ("train", "test")), ("clinc150", ("train", "val", "test")))
POOL_NOISE = 0.3      # norm of the perturbation added to a unit vector: cosine ≈ 1/sqrt(1 + 0.09) ≈ 0.96
CHUNK = 65_536        # pool rows generated per chunk (and per random stream)
TARGETS = {"round_overhead_s": 30.0, "classify_ratio": 0.85, "peak_rss_mb": 4096.0}
FIELDS = ("embed_texts_per_s", "partition_s", "train_s", "predict_s", "round_overhead_s",
          "classify_texts_per_s", "raw_embed_texts_per_s", "peak_rss_mb")


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


def validate(*, classes, pool, k, sizes, round_calls, embed_sample, texts, outputs, backend, address, workdir):
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
    from ...backends import get_backend

    get_backend(backend, address)
    return {"sizes": parse_sizes(sizes, pool, classes)}


# -- the workload -------------------------------------------------------------------------------

def load_real_texts(max_texts: int | None = None, seed: int = 0) -> tuple[list[str], list[str]]:
    """(texts, real class names) of the source datasets, de-duplicated (first occurrence wins)."""
    from ..protocol import resolve_dataset
    from ...io.records import load_gold

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

    from ...core.vectors import normalize_rows

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

    from ...core.vectors import normalize_rows

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
