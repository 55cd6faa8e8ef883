"""Add-classes benchmark on clinc150: train on 140 intents, add the other 10.

    .venv/bin/python benchmarks/add_classes.py [--dataset clinc150] [--new 10] [--k 30]

Protocol (the split of `redtext bench`; 95 % simulated oracle; embeddings from the shared cache):
1. **base** — R.E.D. on the seed of the old intents, the whole pool (texts of the new intents
   are in it, unlabelled, as they would be), budget 25 % of the pool.
2. **add-classes** — the base model grown with the seed of the new intents
   (``RED.grow(...)``, what ``redtext add-classes`` runs), with a further 5 % of the
   pool in expert calls, asked only about labels of the retrained subsets; and the same without
   any expert call (placement and retraining only).
3. **full retrain** — R.E.D. from scratch on the seed of all intents with the calls of base and
   add-classes together (30 %).
The ten new intents are drawn with a fixed seed. Accuracy is on the test split, separately for
old and new intents. Writes ``benchmarks/results/add_classes.md`` (and ``.json``).
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
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("REDTEXT_PROGRESS", "0")


def main() -> None:
    import copy

    from redtext import RED
    from redtext.bench.protocol import default_cache_path, make_split, resolve_dataset
    from redtext.embed import CachedEmbedder, get_embedder
    from redtext.experts import SimulatedOracle
    from redtext.io.embed_cache import EmbeddingCache

    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="clinc150")
    ap.add_argument("--new", type=int, default=10)
    ap.add_argument("--k", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "add_classes"))
    args = ap.parse_args()

    folder = resolve_dataset(args.dataset)
    split = make_split(folder, args.k, args.seed)
    emb = CachedEmbedder(get_embedder("minilm"), EmbeddingCache(default_cache_path()), progress=False)
    X_train = emb.encode(split.train_texts)
    X_test = emb.encode(split.test_texts)
    rng = np.random.default_rng(args.seed)
    new = set(rng.choice(split.classes, size=args.new, replace=False).tolist())
    tr_lab = np.array(split.train_labels, dtype=object)
    seed_idx, pool_idx = np.asarray(split.seed_idx), np.asarray(split.pool_idx)
    old_seed = seed_idx[~np.isin(tr_lab[seed_idx], list(new))]
    new_seed = seed_idx[np.isin(tr_lab[seed_idx], list(new))]
    pool_texts = [split.train_texts[i] for i in pool_idx]
    pool_ids = [f"train-{i}" for i in pool_idx]
    gold = dict(zip(pool_ids, tr_lab[pool_idx]))
    test_gold = np.array(split.test_labels, dtype=object)
    is_new = np.isin(test_gold, list(new))
    n_pool = len(pool_idx)

    def oracle():
        return SimulatedOracle({}, gold_by_id=gold, accuracy=0.95, seed=args.seed)

    def fit(rows, budget, base=None):
        t = time.perf_counter()
        args = ([split.train_texts[i] for i in rows], list(tr_lab[rows]))
        kw = dict(pool=pool_texts, pool_ids=pool_ids, expert=oracle() if budget else None,
                  embeddings=(X_train[rows], X_train[pool_idx]))
        if base is None:
            model = RED(subset_size=8, budget=budget, embedder=emb, verbose=False).fit(*args, **kw)  # growth: per subset
        else:
            model = copy.copy(base).set_params(budget=budget).grow(*args, **kw)  # base stays as it is
        return model, time.perf_counter() - t

    def score(model):
        pred = np.asarray(model.classes_, dtype=object)[model.ensemble_.predict_proba(X_test).argmax(axis=1)]
        ok = pred == test_gold
        return {"test_old": float(ok[~is_new].mean()), "test_new": float(ok[is_new].mean()),
                "test_all": float(ok.mean())}

    rows = []
    base, t_base = fit(old_seed, int(0.25 * n_pool))
    rows.append({"method": f"base ({len(split.classes) - len(new)} intents)", **score(base), "wall_s": t_base,
                 "calls": base.expert_calls_, "subsets_trained": len(base.subsets_)})
    print(rows[-1], flush=True)
    for label, budget in (("add-classes, no expert", 0), ("add-classes + 5 % calls", int(0.05 * n_pool))):
        grown, t = fit(new_seed, budget, base=base)
        rows.append({"method": label, **score(grown), "wall_s": t, "calls": grown.expert_calls_,
                     "subsets_trained": len(grown.changed_subsets_)})
        print(rows[-1], flush=True)
    full, t_full = fit(seed_idx, int(0.30 * n_pool))
    rows.append({"method": f"full retrain ({len(split.classes)} intents, 30 % calls)", **score(full),
                 "wall_s": t_full, "calls": full.expert_calls_, "subsets_trained": len(full.subsets_)})
    print(rows[-1], flush=True)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"new_intents": sorted(new), "rows": rows}, indent=2))
    lines = [f"### Adding classes ({args.dataset}: {len(split.classes) - len(new)} intents, then {len(new)} more)",
             "", f"Command: `.venv/bin/python benchmarks/add_classes.py`. New intents (drawn with seed "
             f"{args.seed}): {', '.join(sorted(new))}. Test accuracy split by old and new intents; wall time "
             "of the fit alone (embeddings cached); calls as a share of the "
             f"{n_pool}-text pool.", "",
             "| method | test, old intents % | test, new intents % | test, all % | expert calls | subsets trained | wall s |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['method']} | {100 * r['test_old']:.2f} | {100 * r['test_new']:.2f} | "
                     f"{100 * r['test_all']:.2f} | {r['calls']} | {r['subsets_trained']} | {r['wall_s']:.1f} |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
