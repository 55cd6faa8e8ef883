"""The benchmark protocol (README, "Benchmark"), with its baselines in the same run.

seed = ``k`` examples per class from train (all of a class's examples when it has ``k`` or
fewer), drawn with a fixed seed; pool = the rest of train, its labels hidden from
everything but the simulated oracle; test = the official test split, never seen by the
loop. Methods, all on the same embeddings:

- ``red``: the R.E.D. loop with label subsets and the simulated oracle;
- ``flat_al``: the same loop, same expert and budget, one flat classifier (no subsets);

(one of these two is what ``redtext run`` does by default — flat below 3000 labels — and its
figures are the top-level fields of the result, ``default_method`` naming it;)
- ``flat_seed``: one logistic regression on the seed, no expert;
- ``knn``: k-nearest neighbours (cosine) on the seed, no expert;
- ``gold_upper``: one logistic regression on seed + the whole pool with gold labels.
"""
from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from .figures import calibration_error, trust_figures  # noqa: F401  (calibration_error re-exported)


def data_roots() -> list[Path]:
    roots = []
    if os.environ.get("REDTEXT_DATA"):
        roots.append(Path(os.environ["REDTEXT_DATA"]))
    roots += [Path.cwd() / ".." / "shared" / "data", Path(__file__).resolve().parents[3] / "shared" / "data"]
    return roots


#: datasets made by merging others (disjoint label spaces, real texts): name -> its parts
MERGED = {"onet_clinc": ("onet_titles", "clinc150")}


def merged_dataset(name: str) -> Path:
    """The folder of a :data:`MERGED` dataset, written once under the cache folder: each part's
    train, test and label descriptions side by side (their labels must not overlap)."""
    import hashlib
    import json

    parts = [resolve_dataset(p) for p in MERGED[name]]
    files = {f: [part / f for part in parts if (part / f).is_file()] for f in ("train.jsonl", "test.jsonl",
                                                                                "labels.jsonl")}
    digest = hashlib.sha256(b"".join(p.read_bytes() for fs in files.values() for p in fs)).hexdigest()[:12]
    out = default_cache_path().parent / "datasets" / digest / name  # named as the dataset, in reports
    if (out / "test.jsonl").is_file():
        return out
    labels = [{json.loads(line)["label"] for line in (part / "train.jsonl").read_text(encoding="utf-8").splitlines()
               if line.strip()} for part in parts]
    shared = set.intersection(*labels)
    if shared:
        raise InputError(f"{name}: its parts share labels ({', '.join(sorted(shared)[:3])}); they must be disjoint")
    tmp = out.with_name(out.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)  # written aside, then renamed: a half-written merge is never read
    for f, paths in files.items():
        if paths:
            (tmp / f).write_text("".join(p.read_text(encoding="utf-8").rstrip("\n") + "\n" for p in paths),
                                 encoding="utf-8")
    tmp.replace(out)
    return out


def resolve_dataset(name: str) -> Path:
    """A folder holding train.jsonl and test.jsonl: the name itself, a name under ../shared/data,
    or a merged dataset (:data:`MERGED`: ``onet_clinc``, 1,020 labels)."""
    if name in MERGED and not Path(name).exists():
        return merged_dataset(name)
    candidates = [Path(name)] + [root / name for root in data_roots()]
    for c in candidates:
        if (c / "train.jsonl").is_file() and (c / "test.jsonl").is_file():
            return c.resolve()
    known = sorted({p.name for root in data_roots() if root.is_dir() for p in root.iterdir()
                    if (p / "train.jsonl").is_file()})
    known += sorted(MERGED)
    hint = f" (known: {', '.join(known)})" if known else ""
    raise InputError(f"dataset {name!r} not found{hint}; give a name under ../shared/data or a folder "
                     "holding train.jsonl and test.jsonl")


def default_cache_path() -> Path:
    base = os.environ.get("REDTEXT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "redtext")
    return Path(base) / "embeddings.db"


def _read_split(path: Path) -> tuple[list[str], list[str]]:
    from ..io.records import load_gold

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


def thin_split(split: Split, thin: int, seed: int) -> tuple[Split, list[str]]:
    """``split`` with ``thin`` classes (drawn with ``seed``) left with one seed example each,
    their other seed examples moved to the pool: the labels a user can give one example of."""
    if thin < 0:
        raise InputError(f"--thin {thin}: give a number of classes, 0 or more")
    if thin == 0:
        return split, []
    if thin > len(split.classes):
        raise InputError(f"--thin {thin}: the dataset has {len(split.classes)} classes")
    rng = np.random.default_rng([seed, 41])
    chosen = sorted(split.classes[i] for i in rng.choice(len(split.classes), thin, replace=False))
    labels = np.asarray(split.train_labels, dtype=object)
    keep, moved = [], []
    first: set = set()
    for i in split.seed_idx.tolist():
        lab = labels[i]
        if lab in chosen and lab in first:
            moved.append(i)
        else:
            first.add(lab)
            keep.append(i)
    pool = np.sort(np.concatenate([split.pool_idx, np.asarray(moved, dtype=np.int64)]))
    return Split(split.classes, np.asarray(keep, dtype=np.int64), pool, split.train_texts, split.train_labels,
                 split.test_texts, split.test_labels), chosen


def oos_split(split: Split, folder: Path) -> Split:
    """``split`` with clinc150's official out-of-scope texts (``oos.jsonl``, gold "fits no label"):
    ``train`` + ``val`` + the first 500 of ``test`` join the pool, the other 500 the test set."""
    import json

    from ..core.openworld import NONE_LABEL

    path = folder / "oos.jsonl"
    if not path.is_file():
        raise InputError(f"--oos: {folder.name} has no oos.jsonl (out-of-scope texts); clinc150 has them")
    parts: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            parts.setdefault(row.get("split", "train"), []).append(row["text"])
    pool_add = parts["train"] + parts["val"] + parts["test"][:500]
    n = len(split.train_texts)
    return Split(split.classes, split.seed_idx, np.concatenate([split.pool_idx, n + np.arange(len(pool_add))]),
                 split.train_texts + pool_add, split.train_labels + [NONE_LABEL] * len(pool_add),
                 split.test_texts + parts["test"][500:], split.test_labels + [NONE_LABEL] * len(parts["test"][500:]))


def unknown_split(split: Split, frac: float, seed: int) -> tuple[Split, list[str]]:
    """``split`` with a share ``frac`` of its classes (drawn with ``seed``) given no seed
    examples: their texts stay in the pool and the test set as "fits no label" (gold
    :data:`~redtext.core.openworld.NONE_LABEL`). Returns the split and the hidden labels."""
    from ..core.openworld import NONE_LABEL

    if frac is None or frac == 0:  # not asked for
        return split, []
    if not 0.0 < frac < 1.0:
        raise InputError(f"--unknown-classes {frac}: give a share of the labels above 0 and under 1, e.g. 0.25")
    n_hide = int(round(frac * len(split.classes)))
    if n_hide == 0:
        raise InputError(f"--unknown-classes {frac}: hides no label of {len(split.classes)}; give a larger share")
    if len(split.classes) - n_hide < 2:
        raise InputError(f"--unknown-classes {frac}: leaves fewer than 2 known labels")
    rng = np.random.default_rng([seed, 43])
    hidden = sorted(split.classes[i] for i in rng.choice(len(split.classes), n_hide, replace=False))
    gone = set(hidden)
    labels = np.asarray(split.train_labels, dtype=object)
    seed_hidden = np.isin(labels[split.seed_idx], hidden)
    pool = np.sort(np.concatenate([split.pool_idx, split.seed_idx[seed_hidden]]))
    keep = split.seed_idx[~seed_hidden]
    return Split([c for c in split.classes if c not in gone], keep, pool, split.train_texts,
                 [NONE_LABEL if lab in gone else lab for lab in split.train_labels], split.test_texts,
                 [NONE_LABEL if lab in gone else lab for lab in split.test_labels]), hidden


def open_figures(delivered: np.ndarray, gold: np.ndarray, classes: list[str]) -> dict:
    """The open-world figures of one labelling against gold (both with
    :data:`~redtext.core.openworld.NONE_LABEL` for "fits no label"): accuracy with "no label" as a
    class, accuracy on the texts that fit a label, recall and precision of "no label", and
    macro-F1 over the known labels plus "no label" (as open-intent papers report it)."""
    from sklearn.metrics import f1_score

    from ..core.openworld import NONE_LABEL

    delivered = np.asarray(delivered, dtype=object)
    gold = np.asarray(gold, dtype=object)
    right = delivered == gold
    is_none, said_none = gold == NONE_LABEL, delivered == NONE_LABEL
    return {"accuracy": float(right.mean()),
            "known_accuracy": float(right[~is_none].mean()) if (~is_none).any() else None,
            "none_recall": float(said_none[is_none].mean()) if is_none.any() else None,
            "none_precision": float(is_none[said_none].mean()) if said_none.any() else None,
            "none_share": round(float(is_none.mean()), 4),
            "macro_f1": float(f1_score(gold.astype(str), delivered.astype(str), labels=list(classes) + [NONE_LABEL],
                                       average="macro", zero_division=0))}


def proposal_figures(model, X_pool: np.ndarray, pool_texts: list[str], pool_gold: np.ndarray,
                     hidden: list[str]) -> dict:
    """``{count, recovered}`` of the proposals made from the texts a run delivered with no label
    (:mod:`redtext.core.proposals`); ``recovered`` only when labels were hidden."""
    from ..core.proposals import propose_pool, recovered

    props = propose_pool(X_pool, pool_texts, model.pool_labels_, random_state=model.random_state)
    return {"count": len(props), "recovered": recovered(props, pool_gold, hidden) if hidden else None}


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


OPEN_KEYS = ("open", "proposals", "none_share_fitted", "found")
TRUST_KEYS = ("estimate", "expert_quality", "expert_precision", "calibration_ece", "quality_calls")


def run_benchmark(dataset: str, *, k: int = 30, budget=0.25, seed: int = 0, embedder: str = "minilm",
                  subset_size: int = 8, accuracy: float | None = None, profile: str = "careful",
                  methods: tuple[str, ...] = ("red", "flat_al", "flat_seed", "knn", "gold_upper"),
                  progress: bool = True, log=print, red_params: dict | None = None, backend="local",
                  thin: int = 0, oos: bool = False, unknown: float = 0.0, budget_tokens: int | None = None) -> dict:
    """Every method on one split of ``dataset``; the top-level figures are those of the
    configuration ``redtext run`` uses by default (``default_method``). ``red_params`` are
    extra :class:`~redtext.RED` parameters for both loops (``red`` uses ``subset_size``
    labels per subset, ``flat_al`` one flat classifier).

    The open world: ``oos`` adds clinc150's out-of-scope texts (:func:`oos_split`), ``unknown``
    hides a share of the labels (:func:`unknown_split`); every method then reports ``open``
    figures for pool and test (:func:`open_figures`), the loops ``proposals``, and the method
    ``closed`` (the default loop with ``open_world="off"``) joins the baselines.

    Every loop's expert is metered (:class:`~redtext.bench.tokens.TokenMeter`): ``tokens`` holds
    its prompt and completion tokens, per labelled text, and the top-K recall of the choice
    questions' candidates; ``budget_tokens`` caps them (the call budget then follows from the
    tokens a question of the loop's kind takes)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier

    from ..backends import get_backend
    from ..core.budget import parse_budget, resolve_budget
    from ..embed import CachedEmbedder, get_embedder
    from ..estimator import RED, resolve_subset_size
    from ..experts import SimulatedOracle
    from ..io.embed_cache import EmbeddingCache
    from ..options import ClassifierOptions

    folder = resolve_dataset(dataset)
    budget = parse_budget(budget)
    t_start = time.perf_counter()
    from ..core.openworld import NONE_LABEL

    split, thin_labels = thin_split(make_split(folder, k, seed), thin, seed)
    true_labels = list(split.train_labels)  # hidden labels' texts by their real names: is a proposal one of them?
    split, hidden = unknown_split(split, unknown, seed)
    if oos:
        split = oos_split(split, folder)
    is_open = bool(oos or hidden)
    if is_open and "closed" not in methods:
        methods = tuple(methods) + ("closed",)
    runner = get_backend(backend)
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
    pool_true = np.array([true_labels[i] if i < len(true_labels) else split.train_labels[i] for i in split.pool_idx],
                         dtype=object)
    pool_ids = [f"train-{i}" for i in split.pool_idx]
    X_seed, X_pool = X_train[split.seed_idx], X_train[split.pool_idx]
    test_gold = np.array(split.test_labels, dtype=object)
    n_calls = resolve_budget(budget, len(pool_texts))
    descriptions: dict[str, str] = {}
    if (folder / "labels.jsonl").is_file():
        from ..io.records import load_descriptions

        descriptions, _ = load_descriptions(folder / "labels.jsonl", known_labels=set(split.classes))
    log(f"{folder.name}: {len(split.classes)} classes, seed {len(seed_texts)} (k={k}), pool {len(pool_texts)}, "
        f"test {len(test_gold)}, budget {n_calls} calls; embeddings ready in {embed_s:.1f}s")
    default_method = "flat_al" if resolve_subset_size("auto", len(split.classes)) is None else "red"

    from ..experts.oracle import PROFILES

    if profile not in PROFILES:
        raise InputError(f"--expert-profile {profile!r}: use {', '.join(PROFILES)}")

    def named(labels) -> np.ndarray:  # "fits no label" (None) as the gold files name it
        return np.array([NONE_LABEL if lab is None else lab for lab in labels], dtype=object)

    def open_of(pool_pred, test_pred) -> dict:
        return {"open": {"pool": open_figures(pool_pred, pool_gold, split.classes),
                         "test": open_figures(test_pred, test_gold, split.classes)}} if is_open else {}

    # the oracle's view of a text that fits no label: how similar it is to each label (its vector)
    none_vectors = {i: X_pool[j] for j, i in enumerate(pool_ids) if pool_gold[j] == NONE_LABEL}

    def oracle():
        return SimulatedOracle(dict(zip(seed_texts, seed_labels)), gold_by_id=dict(zip(pool_ids, pool_gold)),
                               accuracy=accuracy, seed=seed, profile=profile, text_vectors=none_vectors)

    results: dict[str, dict] = {}
    curves: dict[str, list[dict]] = {}
    extra = dict(red_params or {})
    classifier = ClassifierOptions(**{key: extra.pop(key) for key in ("C", "noise_factor", "noise_clusters", "reduce")
                                      if key in extra})

    from ..options import RoundOptions
    from .tokens import TokenMeter, llm_only_tokens, token_budget_calls

    rounds_opts = extra.get("rounds") or RoundOptions()
    seed_index = {c: j for j, c in enumerate(split.classes)}
    loop_calls = n_calls if budget_tokens is None else token_budget_calls(
        budget_tokens, rounds_opts, X_seed, seed_texts, seed_labels, split.classes, pool_texts, descriptions, seed)
    gold_index = np.array([seed_index.get(g, -1) for g in pool_gold])

    def loop_method(name, size, open_world=None):
        t = time.perf_counter()
        curve = curves.setdefault(name, [])
        meter = TokenMeter(oracle(), budget_tokens)
        classes_arr = np.asarray(sorted(set(seed_labels)) + [NONE_LABEL], dtype=object)
        seed_map = {tx: lab for tx, lab in zip(seed_texts, seed_labels)}
        fixed = np.array([seed_map.get(tx) for tx in pool_texts], dtype=object)
        has_fixed = np.array([f is not None for f in fixed])

        def monitor(metrics, model, pred, validated):
            delivered = classes_arr[np.where(validated >= 0, validated, pred.label)]
            delivered[has_fixed] = fixed[has_fixed]
            test_scores = model.predict_proba(X_test)
            k = min(rounds_opts.choices, pred.candidates.shape[1])
            hit = (pred.candidates[:, :k] == gold_index[:, None]).any(axis=1)[gold_index >= 0]
            curve.append({"calls": metrics["calls"], "pool_accuracy": float(np.mean(delivered == pool_gold)),
                          "test_accuracy": float(np.mean(classes_arr[test_scores.argmax(axis=1)] == test_gold)),
                          "tokens": meter.tokens, "recall_at_k": round(float(hit.mean()), 4) if len(hit) else None,
                          "k": k})

        params = dict(subset_size=size, budget=loop_calls, random_state=seed, verbose=progress, embedder=emb,
                      backend=runner, classifier=classifier, **{**extra, **({"open_world": open_world} if open_world else {})})
        model = RED(**params).fit(seed_texts, seed_labels, pool=pool_texts, pool_ids=pool_ids, expert=meter,
                                  embeddings=(X_seed, X_pool), descriptions=descriptions, monitor=monitor)
        test_pred = named(model.predict(None, embeddings=X_test))
        delivered = named(model.pool_labels_)
        results[name] = {
            "pool_accuracy": float(np.mean(delivered == pool_gold)),
            **open_of(delivered, test_pred),
            **({"none_share_fitted": round(float(model.none_share_), 4),
                "proposals": proposal_figures(model, X_pool, pool_texts, pool_true, hidden)} if is_open else {}),
            **trust_figures(model, delivered, pool_gold, dict(zip(pool_texts, pool_gold)), meter.binary_fpr),
            **({"thin_recall": {lab: round(float(np.mean(delivered[pool_gold == lab] == lab)), 4)
                                for lab in thin_labels},
                "other_accuracy": float(np.mean((delivered == pool_gold)[~np.isin(pool_gold, thin_labels)]))}
               if thin_labels else {}),
            "test_accuracy": float(np.mean(test_pred == test_gold)),
            "test_macro_f1": _macro_f1(test_gold, test_pred),
            "expert_calls": int(model.expert_calls_),
            # what the questions found: labels accepted, and texts settled as fitting no label
            "found": {"accepted": int(sum(r["accepted"] for r in model.history_)),
                      "no_label": int(sum(r.get("none_found", 0) for r in model.history_))},
            "rounds": int(sum(1 for r in model.history_ if r["round_calls"] > 0)),
            "stop_reason": model.stop_reason_,
            "selection": model.selection_,
            # the questions asked, in order: "binary→choice" when auto turned to choice on an open pool
            "question": "→".join(dict.fromkeys(h["question"] for h in model.history_ if h.get("question"))) or None,
            "tokens": {**meter.figures(len(pool_texts)),
                       "recall_k": curve[-1]["k"] if curve else None,
                       "recall_by_round": [c.get("recall_at_k") for c in curve]},
            "wall_s": round(time.perf_counter() - t, 2),
        }
        log(f"  {name}: pool {results[name]['pool_accuracy']:.4f} test {results[name]['test_accuracy']:.4f} "
            f"calls {results[name]['expert_calls']} ({results[name]['wall_s']}s, stop: {model.stop_reason_})")

    def fitted_method(name, clf, X, y, calls):
        t = time.perf_counter()
        clf.fit(X, y)
        test_pred = clf.predict(X_test)
        pool_pred = clf.predict(X_pool)
        results[name] = {
            "pool_accuracy": float(np.mean(pool_pred == pool_gold)),
            **open_of(pool_pred, test_pred),
            **({"tokens": llm_only} if name == "gold_upper" else {}),
            "test_accuracy": float(np.mean(test_pred == test_gold)),
            "test_macro_f1": _macro_f1(test_gold, test_pred),
            "expert_calls": int(calls), "rounds": 0, "stop_reason": None,
            "wall_s": round(time.perf_counter() - t, 2),
        }
        log(f"  {name}: pool {results[name]['pool_accuracy']:.4f} test {results[name]['test_accuracy']:.4f}")

    # what labelling the pool would cost an LLM asked about every text, every label listed (the
    # gold-pool row stands for it: a perfect LLM-only labeller)
    llm_only = llm_only_tokens(pool_texts, split.classes, descriptions)
    y_seed = np.array(seed_labels, dtype=object)
    for name in methods:
        if name == "red":
            loop_method("red", subset_size)
        elif name == "flat_al":
            loop_method("flat_al", None)
        elif name == "closed":  # the default loop as it was before the open world: every text gets a label
            loop_method("closed", None if default_method == "flat_al" else subset_size, open_world="off")
        elif name == "flat_seed":
            fitted_method(name, LogisticRegression(C=classifier.C, max_iter=1000), X_seed, y_seed, 0)
        elif name == "knn":
            fitted_method(name, KNeighborsClassifier(n_neighbors=min(10, len(y_seed)), metric="cosine",
                                                     weights="distance"), X_seed, y_seed, 0)
        elif name == "gold_upper":
            fitted_method(name, LogisticRegression(C=classifier.C, max_iter=1000), np.vstack([X_seed, X_pool]),
                          np.concatenate([y_seed, pool_gold]), len(pool_texts))
        else:
            raise InputError(f"unknown method {name!r}")
    headline = default_method if default_method in results else next(iter(results))
    main = results[headline]
    out = {
        "dataset": folder.name, "classes": len(split.classes), "k": k, "pool_size": len(pool_texts),
        "default_method": headline, "expert_profile": profile,
        "expert_calls": main["expert_calls"], "pool_accuracy": main["pool_accuracy"],
        "test_accuracy": main["test_accuracy"], "test_macro_f1": main["test_macro_f1"],
        "rounds": main["rounds"], "stop_reason": main["stop_reason"], "selection": main.get("selection"),
        "question": main.get("question"), "tokens": main.get("tokens"),
        **({"budget_tokens": budget_tokens} if budget_tokens is not None else {}),
        **{key: main[key] for key in TRUST_KEYS + OPEN_KEYS + ("thin_recall", "other_accuracy") if key in main},
        **({"hidden_labels": hidden} if hidden else {}), **({"oos": True} if oos else {}),
        "wall_s": main["wall_s"], "peak_rss_mb": _peak_rss_mb(),
        "methods": {name: {key: r[key] for key in ("pool_accuracy", "test_accuracy", "test_macro_f1", "expert_calls",
                                                   "rounds", "stop_reason", "selection", "wall_s",
                                                   "thin_recall", "other_accuracy", "question", "tokens") + TRUST_KEYS + OPEN_KEYS
                           if key in r}
                    for name, r in results.items()},
    }
    out["_methods"] = results  # full detail for the table; removed before writing JSON
    out["_curves"] = curves
    out["_settings"] = {"budget": budget, "seed": seed, "embedder": getattr(emb, "name", str(embedder)),
                        "subset_size": subset_size, "oracle_accuracy": accuracy, "expert_profile": profile,
                        "red_params": {k: (v.__dict__ if hasattr(v, "__dict__") else v) for k, v in (red_params or {}).items()},
                        "oos": bool(oos), "unknown_classes": unknown, "budget_tokens": budget_tokens}
    out["_total_s"] = round(time.perf_counter() - t_start, 1)
    return out
