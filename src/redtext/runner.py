"""What ``redtext run`` and ``redtext resume`` do: inputs -> store -> loop -> outputs."""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

from .errors import InputError

OUTPUTS = ("run.db", "predictions.jsonl", "model", "report.json")


def parse_budget(text: str):
    """'300' -> 300 calls, '0.25' or '25%' -> a quarter of the pool."""
    raw = str(text).strip()
    try:
        if raw.endswith("%"):
            value = float(raw[:-1]) / 100.0
            if not 0 <= value <= 1:
                raise ValueError
            return value
        if raw.isdigit():
            return int(raw)
        value = float(raw)
        if not math.isfinite(value):
            raise ValueError
    except ValueError:
        raise InputError(f"--budget {text!r}: give a count of expert calls (300), a fraction of the pool "
                         "(0.25) or a percentage (25%)") from None
    if value < 0:
        raise InputError(f"--budget {text}: must not be negative; 0 means no expert calls")
    if value > 1 and value != int(value):
        raise InputError(f"--budget {text}: a fraction must be within 0 and 1; a count must be whole")
    return value if value <= 1 else int(value)


def check_out_dir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a folder for the run's outputs")
    if out.is_dir():
        held = [name for name in OUTPUTS if (out / name).exists()]
        if held == ["run.db"] and _abandoned(out / "run.db"):
            (out / "run.db").unlink()  # a start that failed before its first question: reuse the folder
            for extra in ("run.db-wal", "run.db-shm"):
                (out / extra).unlink(missing_ok=True)
            held = []
        if held:
            raise InputError(f"--out {out} already holds a run ({', '.join(held)}); continue it with "
                             f"`redtext resume {out}` or choose a new --out folder")


class _RunLock:
    """One process per run folder: a second ``run``/``resume`` on it fails fast instead of asking
    the expert the same questions twice."""

    def __init__(self, out_dir: Path):
        self.path = out_dir / ".lock"
        self.fh = None

    def __enter__(self):
        import fcntl

        self.fh = open(self.path, "a+")
        try:
            fcntl.flock(self.fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.fh.close()
            raise InputError(f"another redtext process is working in {self.path.parent}; wait for it to finish "
                             "or stop it first") from None
        return self

    def __exit__(self, *exc):
        self.fh.close()


def _abandoned(db: Path) -> bool:
    """A store whose every run failed before a single expert verdict was stored."""
    import sqlite3

    try:
        with sqlite3.connect(db) as conn:
            runs = conn.execute("SELECT status FROM runs").fetchall()
            verdicts = conn.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
    except sqlite3.Error:
        return False
    return verdicts == 0 and all(r[0] == "failed" for r in runs)


def _base_pool(model_dir: Path):
    """The pool of the run that trained ``model_dir`` (its parent's run.db), or None."""
    from .data import Records
    from .store import Store

    db = model_dir.parent / "run.db"
    if not db.is_file():
        return None
    store = Store(db)
    try:
        run_id = store.latest_run()
        if run_id is None:
            return None
        ids, texts, _ = store.texts(run_id, "pool")
    finally:
        store.close()
    return Records(ids=list(ids), texts=list(texts), labels=None)


def _load_base(base_model: str, retrain_classes: list[str] | None):
    """The model to grow, checked: loadable, with its training rows, knowing the named classes."""
    from .model import load_training
    from .red import RED

    base = RED.load(base_model)
    load_training(base.path_)
    unknown = [c for c in (retrain_classes or []) if c not in base.classes_]
    if unknown:
        raise InputError(f"--classes: {', '.join(unknown[:5])} not among the model's {len(base.classes_)} labels; "
                         f"see {Path(base_model) / 'manifest.json'}")
    return base


def start(*, seed: str | None, pool: str | None, out: str, expert: str, gold: str | None, descriptions: str | None,
          budget: str, params: dict, text_col: str, label_col: str, id_col: str, oracle_accuracy: float,
          llm: dict | None = None, dry_run: bool = False, log=print, base_model: str | None = None,
          retrain_classes: list[str] | None = None) -> dict:
    """Start a run. With ``base_model`` the run grows that model (add-classes: ``seed`` holds new
    labels; retrain: ``retrain_classes``); ``pool`` then defaults to the base run's pool."""
    from .data import Records, load_descriptions, load_pool, load_seed
    from .experts.registry import build_expert

    out_dir = Path(out)
    check_out_dir(out_dir)
    budget_value = parse_budget(budget)
    base = None
    if base_model is not None:
        base = _load_base(base_model, retrain_classes)
        base_model = str(base.path_)
        if not base.manifest_["embedder"].get("spec"):
            raise InputError(f"{base_model} was trained with a custom embedder; grow it from Python with "
                             "RED.load(path, embedder=...) and RED.fit(..., base=...)")
        grown = {k: v for k, v in base.manifest_.get("params", {}).items() if k not in ("budget",)}
        params = {**grown, **{k: v for k, v in params.items() if k in ("random_state", "backend", "address")},
                  "embedder": base.manifest_["embedder"]["spec"]}
    seed_rec = load_seed(seed, text_col=text_col, label_col=label_col, id_col=id_col) if seed else \
        Records(ids=[], texts=[], labels=[])
    if pool:
        pool_rec = load_pool(pool, text_col=text_col, id_col=id_col)
    else:
        pool_rec = _base_pool(Path(base_model)) if base_model else None
        if pool_rec is None:
            raise InputError(f"no --pool given and {Path(base_model).parent} holds no run with a pool; pass --pool")
    if base is not None and seed:
        new = sorted(set(seed_rec.labels) - set(base.classes_))
        if not new:
            raise InputError(f"{seed} adds no label the model lacks; to retrain existing labels use "
                             "`redtext retrain --classes ...`")
        log(f"adding {len(new)} labels to a model of {len(base.classes_)}: {', '.join(new[:8])}"
            + (" …" if len(new) > 8 else ""))
    desc: dict[str, str] = {}
    warnings = list(seed_rec.warnings) + list(pool_rec.warnings)
    if descriptions:
        known = set(seed_rec.labels) | set(base.classes_ if base is not None else [])
        desc, w = load_descriptions(descriptions, known_labels=known)
        warnings += w
    for w in warnings:
        log(f"warning: {w}")
    from .red import RED, resolve_budget

    if budget_value and resolve_budget(budget_value, len(pool_rec.texts)) == 0:
        log(f"warning: --budget {budget} of {len(pool_rec.texts)} pool texts rounds down to 0 expert calls; "
            "give a count instead, e.g. --budget 10")

    if dry_run:
        return dry_run_estimate(seed_rec, pool_rec, desc, budget_value, llm or {}, params, log=log)
    expert_obj = build_expert(expert, gold=gold, accuracy=oracle_accuracy, seed=params.get("random_state", 0),
                              text_col=text_col, label_col=label_col, id_col=id_col, llm=llm,
                              human_state=str(out_dir / "run.db"), log=log)
    RED(**params)._validate_params()  # includes the embedder spec: fail before anything is written
    config = {
        "seed_path": str(Path(seed).resolve()) if seed else None,
        "pool_path": str(Path(pool).resolve()) if pool else None,
        "base_model": str(Path(base_model).resolve()) if base_model else None,
        "retrain_classes": retrain_classes,
        "descriptions_path": str(Path(descriptions).resolve()) if descriptions else None,
        "gold_path": str(Path(gold).resolve()) if gold else None, "expert": expert,
        "oracle_accuracy": oracle_accuracy, "text_col": text_col, "label_col": label_col, "id_col": id_col,
        "budget": budget_value, "params": params, "llm": llm or {},
    }
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    with _RunLock(out_dir):
        return _start_locked(out_dir, created, config, seed_rec, pool_rec, desc, expert_obj, log)


def _start_locked(out_dir, created, config, seed_rec, pool_rec, desc, expert_obj, log):
    from .store import Store

    store = Store(out_dir / "run.db")
    try:
        run_id = store.create_run(config)
        store.add_texts(run_id, "seed", seed_rec.ids, seed_rec.texts, seed_rec.labels)
        store.add_texts(run_id, "pool", pool_rec.ids, pool_rec.texts)
        store.add_descriptions(run_id, desc)
        return _execute(store, run_id, out_dir, expert_obj, log=log)
    except InputError:
        # bad input found late (before any expert call): leave nothing half-written behind
        if created and store.count_verdicts(run_id) == 0:
            store.close()
            import shutil

            shutil.rmtree(out_dir, ignore_errors=True)
        raise


def resume(out: str, *, log=print, llm_overrides: dict | None = None) -> dict:
    out_dir = Path(out)
    if not (out_dir / "run.db").is_file():
        raise InputError(f"{out_dir} holds no run (no run.db); start one with `redtext run ... --out {out_dir}`")
    with _RunLock(out_dir):
        return _resume_locked(out_dir, log, llm_overrides or {})


def _resume_locked(out_dir: Path, log, llm_overrides: dict) -> dict:
    from .experts.registry import build_expert
    from .store import Store

    store = Store(out_dir / "run.db")
    run_id = store.latest_run()
    if run_id is None:
        raise InputError(f"{out_dir}/run.db holds no run; start one with `redtext run`")
    info = store.run_info(run_id)
    cfg = info["config"]
    changed = {k: v for k, v in llm_overrides.items() if v is not None}
    if changed:  # e.g. a corrected --base-url, or a raised --max-calls
        cfg["llm"] = {**(cfg.get("llm") or {}), **changed}
        store.update_config(run_id, cfg)
        info["status"] = "running"
        log(f"resuming with changed expert settings: {', '.join(sorted(changed))}")
    if info["status"] == "done" and info["stop_reason"] != "expert_limit" and \
            all((out_dir / name).exists() for name in OUTPUTS):
        log(f"run in {out_dir} is already complete (stopped: {info['stop_reason']}); nothing to do")
        return json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
    expert_obj = build_expert(cfg["expert"], gold=cfg.get("gold_path"), accuracy=cfg.get("oracle_accuracy", 0.95),
                              seed=cfg["params"].get("random_state", 0), text_col=cfg["text_col"],
                              label_col=cfg["label_col"], id_col=cfg["id_col"], llm=cfg.get("llm"),
                              human_state=str(out_dir / "run.db"), log=log)
    log(f"resuming run in {out_dir}: {store.count_verdicts(run_id)} stored verdicts will be replayed, not re-asked")
    return _execute(store, run_id, out_dir, expert_obj, log=log)


def _execute(store, run_id: int, out_dir: Path, expert_obj, *, log=print) -> dict:
    from .atomic import write_text_atomic
    from .data import write_jsonl_atomic
    from .loop import STOP_REASONS
    from .red import RED

    cfg = store.run_info(run_id)["config"]
    seed_ids, seed_texts, seed_labels = store.texts(run_id, "seed")
    pool_ids, pool_texts, _ = store.texts(run_id, "pool")
    descriptions = store.descriptions(run_id)
    t0 = time.perf_counter()
    model = RED(**cfg["params"], budget=cfg["budget"])
    base = None
    if cfg.get("base_model"):
        if not (Path(cfg["base_model"]) / "manifest.json").is_file():
            raise InputError(f"the model this run grows, {cfg['base_model']}, is gone; restore it to resume")
        base = RED.load(cfg["base_model"])
    try:
        model.fit(seed_texts, seed_labels, pool=pool_texts, pool_ids=pool_ids, expert=expert_obj,
                  descriptions=descriptions, store=store, run_id=run_id, cache_path=out_dir / "run.db",
                  log=log, base=base, retrain_labels=cfg.get("retrain_classes"))
    except BaseException:
        store.set_status(run_id, "failed")
        raise
    wall = time.perf_counter() - t0
    rows = []
    for i in range(len(pool_texts)):
        rows.append({"id": pool_ids[i], "text": pool_texts[i], "label": model.pool_labels_[i],
                     "confidence": round(float(model.pool_confidence_[i]), 6), "source": model.pool_source_[i],
                     "all_noise": bool(model.pool_all_noise_[i]),
                     "candidates": [{"label": lab, "score": round(s, 6)} for lab, s in model.pool_candidates_[i]]})
    store.record_predictions(run_id, ((i, r["label"], r["confidence"], r["source"],
                                       [[c["label"], c["score"]] for c in r["candidates"]])
                                      for i, r in enumerate(rows)))
    write_jsonl_atomic(out_dir / "predictions.jsonl", rows)
    model.save(out_dir / "model")
    sources = {s: model.pool_source_.count(s) for s in ("expert", "classifier", "seed")}
    from .cost import estimate

    llm = cfg.get("llm") or {}
    tokens = estimate(seed_texts=model.train_texts_, seed_labels=model.train_labels_, pool_texts=pool_texts,
                      calls=model.new_expert_calls_ if hasattr(expert_obj, "usage") else model.expert_calls_,
                      descriptions=descriptions, price_prompt=float(llm.get("price_prompt") or 0.0),
                      price_completion=float(llm.get("price_completion") or 0.0))
    report = {
        "pool_size": len(pool_texts), "seed_size": len(seed_texts), "classes": len(model.classes_),
        "subsets": len(model.subsets_), "expert": cfg["expert"], "budget_calls": model.budget_calls_, "expert_calls": model.expert_calls_, "new_expert_calls": model.new_expert_calls_,
        "rounds": model.history_, "stop_reason": model.stop_reason_,
        "stop_explanation": STOP_REASONS.get(model.stop_reason_, ""), "sources": sources,
        "wall_s": round(wall, 2),
        "expert_usage": expert_obj.usage.as_dict() if hasattr(expert_obj, "usage") else None,
        "token_estimate": tokens,
    }
    if base is not None:
        report["base_model"] = cfg["base_model"]
        report["added_classes"] = model.classes_[len(base.classes_):]
        report["changed_subsets"] = model.changed_subsets_
        report["retrained_classes"] = sorted({model.classes_[lab] for g in model.changed_subsets_
                                              for lab in model.subsets_[g]})
        if cfg.get("retrain_classes"):
            from .drift import compare, render

            rows = compare(base.class_stats_ or {}, model.class_stats_, labels=cfg["retrain_classes"])
            report["drift"] = rows
            log("drift since the model's own run (uncertain share of delivered texts; expert rejection rate):\n"
                + render(rows))
            if not base.class_stats_:
                log("warning: the base model recorded no per-class statistics (saved by an older redtext); "
                    "'before' columns are empty")
    write_text_atomic(out_dir / "report.json", json.dumps(report, indent=2, ensure_ascii=False))
    store.set_status(run_id, "done", model.stop_reason_)
    log(f"done: {len(pool_texts)} pool texts labelled ({sources['expert']} by the expert, {sources['classifier']} "
        f"by the classifier, {sources['seed']} from the seed); {model.expert_calls_} expert calls; "
        f"stopped because {STOP_REASONS.get(model.stop_reason_, model.stop_reason_)}; outputs in {out_dir}")
    return report


def dry_run_estimate(seed_rec, pool_rec, descriptions, budget_value, llm: dict, params: dict, *, log=print) -> dict:
    """What a run would ask and spend, before anything is sent or written."""
    from .cost import estimate
    from .red import resolve_budget

    calls = resolve_budget(budget_value, len(pool_rec.texts))
    if calls == 0 and budget_value:
        log(f"warning: --budget {budget_value} of {len(pool_rec.texts)} pool texts rounds down to 0 calls")
    est = estimate(seed_texts=seed_rec.texts, seed_labels=seed_rec.labels, pool_texts=pool_rec.texts, calls=calls,
                   descriptions=descriptions, price_prompt=float(llm.get("price_prompt") or 0.0),
                   price_completion=float(llm.get("price_completion") or 0.0))
    if llm.get("max_calls") is not None:
        est["run"]["calls_cap"] = int(llm["max_calls"])
    r, o = est["run"], est["llm_only"]
    print(json.dumps(est, indent=2))
    log(f"dry run: at most {r['calls']} expert questions, ~{r['prompt_tokens']:,} prompt + "
        f"{r['completion_tokens']:,} completion tokens (cost {r['cost']}); an LLM asked about every text with "
        f"every label listed: {o['calls']} calls, ~{o['prompt_tokens']:,} prompt tokens (cost {o['cost']}) — "
        f"{est['token_ratio']:.1%} of its tokens. Nothing was sent or written.")
    return est
