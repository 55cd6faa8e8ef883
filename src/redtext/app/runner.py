"""What ``redtext run``, ``resume``, ``add-classes`` and ``retrain`` do: inputs -> store -> loop -> outputs.

A run folder holds ``run.db`` (:mod:`redtext.io.store`: everything the run knows), and once
the run is done ``predictions.jsonl``, ``model/`` and ``report.json``. :func:`start` checks
every input before anything is written, creates the store and runs; :func:`resume` continues a
stopped or killed run from its store. Both run the estimator with a journal in the store
(:class:`~redtext.app.journal.StoreJournal`), so every answer is committed before it is used
and a resumed run replays its rounds without asking again.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from ..errors import InputError

OUTPUTS = ("run.db", "predictions.jsonl", "model", "report.json")


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


class RunLock:
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
    from ..io.store import Store

    try:
        store = Store.open_readonly(db)
    except InputError:
        return False
    try:
        runs = [store.run_info(r)["status"] for r in range(1, (store.latest_run() or 0) + 1)]
        return all(s == "failed" for s in runs) and all(store.count_verdicts(r) == 0 for r in range(1, len(runs) + 1))
    except InputError:
        return False
    finally:
        store.close()


def _base_pool(model_dir: Path):
    """The pool of the run that trained ``model_dir`` (its parent's run.db), or None."""
    from ..io.records import Records
    from ..io.store import Store

    db = model_dir.parent / "run.db"
    if not db.is_file():
        return None
    store = Store.open_readonly(db)
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
    from ..estimator import RED
    from ..io.bundle import load_training

    base = RED.load(base_model)
    load_training(base.path_)
    unknown = [c for c in (retrain_classes or []) if c not in base.classes_]
    if unknown:
        raise InputError(f"--classes: {', '.join(unknown[:5])} not among the model's {len(base.classes_)} labels; "
                         f"see {Path(base_model) / 'manifest.json'}")
    if not base.manifest_["embedder"].get("spec"):
        raise InputError(f"{base_model} was trained with a custom embedder; grow it from Python with "
                         "RED.load(path, embedder=...) and RED.grow(...)")
    return base


def _storable(cfg: dict) -> dict:
    """The run config as stored: a --base-url's credentials (``http://user:KEY@host``) are left out."""
    from ..experts.llm import redact_url

    llm = dict(cfg.get("llm") or {})
    if llm.get("base_url"):
        llm["base_url"] = redact_url(llm["base_url"])
    return {**cfg, "llm": llm}


def expert_settings(cfg: dict, out_dir: Path, log, seed_gold: dict | None = None):
    """``seed_gold``: the seed's labels by text, which the simulated oracle answers the known-answer
    questions from (a gold file need not repeat the seed)."""
    from ..experts.registry import ExpertSettings

    return ExpertSettings(seed_gold=seed_gold or {}, gold=cfg.get("gold_path"), accuracy=cfg.get("oracle_accuracy"),
                          profile=cfg.get("expert_profile") or "careful",
                          seed=cfg["params"].get("random_state", 0), text_col=cfg["text_col"],
                          label_col=cfg["label_col"], id_col=cfg["id_col"], llm=cfg.get("llm") or {},
                          run_db=str(out_dir / "run.db"), log=log)


def _estimator(cfg: dict):
    """The estimator a run config describes (its backend built, not yet connected)."""
    from ..backends import get_backend
    from ..estimator import RED, saved_params

    params = cfg["params"]
    backend = get_backend(params.get("backend", "local"), params.get("address"))
    extra = {}
    if "quality" not in params:  # a run started before quality control: it resumes as it was started
        from ..options import QualityOptions

        extra["quality"] = QualityOptions(checks=0, audit=0)
    return RED(**saved_params(params), **extra, budget=cfg["budget"], backend=backend)


def start(*, seed: str | None, pool: str | None, out: str, expert: str, gold: str | None, descriptions: str | None,
          budget: str, params: dict, text_col: str, label_col: str, id_col: str, oracle_accuracy: float | None,
          llm: dict | None = None, dry_run: bool = False, log=print, base_model: str | None = None,
          retrain_classes: list[str] | None = None, expert_profile: str = "careful") -> dict:
    """Start a run. ``params`` are the estimator's (as :func:`redtext.estimator.saved_params` reads
    them) plus ``backend`` and ``address``. With ``base_model`` the run grows that model
    (add-classes: ``seed`` holds new labels; retrain: ``retrain_classes``); ``pool`` then
    defaults to the base run's pool."""
    from ..core.budget import parse_budget, resolve_budget
    from ..core.questions import can_choose
    from ..experts.registry import build_expert
    from ..io.records import Records, load_descriptions, load_pool, load_seed

    out_dir = Path(out)
    check_out_dir(out_dir)
    budget_value = parse_budget(budget)
    base = None
    if base_model is not None:
        base = _load_base(base_model, retrain_classes)
        base_model = str(base.path_)
        grown = {k: v for k, v in base.manifest_.get("params", {}).items() if k not in ("budget",)}
        params = {**grown, **{k: v for k, v in params.items() if k in ("random_state", "backend", "address")},
                  "embedder": base.manifest_["embedder"]["spec"]}
    seed_rec = load_seed(seed, text_col=text_col, label_col=label_col, id_col=id_col,
                         min_labels=1 if base is not None else 2) if seed else \
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
    if budget_value and resolve_budget(budget_value, len(pool_rec.texts)) == 0:
        log(f"warning: --budget {budget} of {len(pool_rec.texts)} pool texts rounds down to 0 expert calls; "
            "give a count instead, e.g. --budget 10")
    if dry_run:
        from .cost import dry_run_estimate

        return dry_run_estimate(seed_rec, pool_rec, desc, budget_value, llm or {}, log=log, params=params, expert=expert)
    if "quality" not in params:  # every new run records its quality-control shares
        from ..options import QualityOptions, options_to_json

        params = {**params, "quality": options_to_json(QualityOptions())}
    config = {
        "seed_path": str(Path(seed).resolve()) if seed else None,
        "pool_path": str(Path(pool).resolve()) if pool else None,
        "base_model": str(Path(base_model).resolve()) if base_model else None,
        "retrain_classes": retrain_classes,
        "descriptions_path": str(Path(descriptions).resolve()) if descriptions else None,
        "gold_path": str(Path(gold).resolve()) if gold else None, "expert": expert,
        "oracle_accuracy": oracle_accuracy, "expert_profile": expert_profile,
        "text_col": text_col, "label_col": label_col, "id_col": id_col,
        "budget": budget_value, "params": params, "llm": llm or {},
    }
    expert_obj = build_expert(expert, expert_settings(config, out_dir, log,
                                                      dict(zip(seed_rec.texts, seed_rec.labels))))
    model = _estimator(config)
    model._check_params()  # includes the embedder spec: fail before anything is written
    if model._rounds.question == "choice" and not can_choose(expert_obj):  # before anything is written
        raise InputError(f"--expert {expert} answers binary questions only; use --question binary or auto, or an "
                         "expert that answers choice questions (openai:, human, oracle, python: (text, candidates, ...))")
    from ..embed import get_embedder

    get_embedder(model.embedder)
    connect = getattr(model.backend, "connect", None)
    if connect is not None:  # a wrong Ray address fails here too
        connect()
    created = not out_dir.exists()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        lock = RunLock(out_dir).__enter__()
    except OSError as exc:
        from ..errors import StorageError

        raise StorageError(f"cannot write --out {out_dir} ({exc.strerror or exc}); choose a folder you can "
                           "write in") from None
    try:
        return _start_locked(out_dir, created, _storable(config), seed_rec, pool_rec, desc, expert_obj, log)
    finally:
        lock.__exit__(None, None, None)


def _start_locked(out_dir, created, config, seed_rec, pool_rec, desc, expert_obj, log):
    import shutil
    import sqlite3

    from ..errors import StorageError, storage_error
    from ..io.store import Store

    hint = "free some space or choose another --out"
    try:
        store = Store(out_dir / "run.db")
    except (OSError, sqlite3.Error) as exc:
        raise (storage_error(exc, str(out_dir), hint) or exc) from None
    run_id = None
    try:
        try:
            run_id = store.create_run(config)
            store.add_texts(run_id, "seed", seed_rec.ids, seed_rec.texts, seed_rec.labels)
            store.add_texts(run_id, "pool", pool_rec.ids, pool_rec.texts)
            store.add_descriptions(run_id, desc)
        except (OSError, sqlite3.Error) as exc:
            raise (storage_error(exc, str(out_dir), hint) or exc) from None
        return _execute(store, run_id, out_dir, expert_obj, log=log)
    except (InputError, StorageError) as exc:
        # bad input found late, or a disk that refuses writes, before any expert call: leave nothing behind
        if created and (run_id is None or _no_answers(store, run_id)):
            store.close()
            shutil.rmtree(out_dir, ignore_errors=True)
            if isinstance(exc, StorageError):
                raise StorageError(f"cannot write {out_dir} ({exc.reason}); nothing was kept (no expert answer "
                                   "yet): free some space and run the command again", exc.reason) from None
        raise
    finally:
        store.close()


def _no_answers(store, run_id) -> bool:
    try:
        return store.count_verdicts(run_id) == 0
    except Exception:  # noqa: BLE001 - a store that cannot even be read holds nothing worth keeping
        return True


def resume(out: str, *, log=print, llm_overrides: dict | None = None) -> dict:
    out_dir = Path(out)
    if not (out_dir / "run.db").is_file():
        raise InputError(f"{out_dir} holds no run (no run.db); start one with `redtext run ... --out {out_dir}`")
    with RunLock(out_dir):
        return _resume_locked(out_dir, log, llm_overrides or {})


def _resume_locked(out_dir: Path, log, llm_overrides: dict) -> dict:
    from ..experts.registry import build_expert
    from ..io.store import Store

    store = Store(out_dir / "run.db")
    try:
        run_id = store.latest_run()
        if run_id is None:
            raise InputError(f"{out_dir}/run.db holds no run; start one with `redtext run`")
        info = store.run_info(run_id)
        cfg = info["config"]
        changed = {k: v for k, v in llm_overrides.items() if v is not None}
        if changed:  # e.g. a corrected --base-url, or a raised --max-calls
            cfg["llm"] = {**(cfg.get("llm") or {}), **changed}
            store.update_config(run_id, _storable(cfg))
            info["status"] = "running"
            log(f"resuming with changed expert settings: {', '.join(sorted(changed))}")
        if info["status"] == "done" and info["stop_reason"] != "expert_limit" and \
                all((out_dir / name).exists() for name in OUTPUTS):
            log(f"run in {out_dir} is already complete (stopped: {info['stop_reason']}); nothing to do")
            return json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
        _, seed_texts, seed_labels = store.texts(run_id, "seed")
        expert_obj = build_expert(cfg["expert"], expert_settings(cfg, out_dir, log, dict(zip(seed_texts, seed_labels))))
        log(f"resuming run in {out_dir}: {store.count_verdicts(run_id)} stored verdicts will be replayed, "
            "not re-asked")
        return _execute(store, run_id, out_dir, expert_obj, log=log)
    finally:
        store.close()


def _embed(model, store, texts: list[str]):
    """Vectors of ``texts`` with the model's embedder on its backend, cached in the run's store."""
    from ..backends import get_backend
    from ..embed import CachedEmbedder, get_embedder

    embedder = get_embedder(model.embedder) if isinstance(model.embedder, str) else model.embedder
    backend = get_backend(model.backend)
    return CachedEmbedder(backend.wrap_embedder(embedder), store.embedding_cache(),
                          progress=bool(model.verbose)).encode(texts)


def _execute(store, run_id: int, out_dir: Path, expert_obj, *, log=print) -> dict:
    """Fit (or grow) and write the outputs; on any failure the run is marked failed and stays
    resumable — an interrupt becomes exit 130, a disk that refuses writes one line (exit 2)."""
    import sqlite3

    from ..errors import Interrupted, storage_error

    resume_hint = f"continue with `redtext resume {out_dir}`"
    try:
        return _fit_and_write(store, run_id, out_dir, expert_obj, log=log)
    except KeyboardInterrupt:
        _mark_failed(store, run_id)
        raise Interrupted(f"interrupted; every answer so far is kept: {resume_hint}") from None
    except (OSError, sqlite3.Error) as exc:
        _mark_failed(store, run_id)
        err = storage_error(exc, str(out_dir), f"free some space or fix the folder, then {resume_hint}")
        if err is not None:
            raise err from None
        raise
    except BaseException:
        _mark_failed(store, run_id)
        raise


def _mark_failed(store, run_id: int) -> None:
    try:
        store.set_status(run_id, "failed")
    except Exception:  # noqa: BLE001 - e.g. the disk is full: the status stays "running", resume still works
        pass


def _fit_and_write(store, run_id: int, out_dir: Path, expert_obj, *, log=print) -> dict:
    from ..core.stop import STOP_REASONS
    from ..estimator import RED
    from .journal import StoreJournal
    from .openworld import open_lines
    from .trust import trust_lines

    cfg = store.run_info(run_id)["config"]
    seed_ids, seed_texts, seed_labels = store.texts(run_id, "seed")
    pool_ids, pool_texts, _ = store.texts(run_id, "pool")
    if not pool_texts:
        raise InputError(f"the run in {out_dir} holds no pool texts (its start did not finish); remove the folder "
                         "and start the run again")
    descriptions = store.descriptions(run_id)
    t0 = time.perf_counter()
    base = None
    if cfg.get("base_model"):
        if not (Path(cfg["base_model"]) / "manifest.json").is_file():
            raise InputError(f"the model this run grows, {cfg['base_model']}, is gone; restore it to resume")
        template = _estimator(cfg)
        base = RED.load(cfg["base_model"], backend=template.backend)
        base_stats = base.class_stats_
        n_base = len(base.classes_)
        model = base.set_params(budget=cfg["budget"], random_state=template.random_state)
        X = _embed(model, store, seed_texts + pool_texts)
        model.grow(seed_texts, seed_labels, pool=pool_texts, pool_ids=pool_ids, expert=expert_obj,
                   descriptions=descriptions, embeddings=(X[:len(seed_texts)], X[len(seed_texts):]),
                   retrain=cfg.get("retrain_classes"), journal=StoreJournal(store, run_id))
    else:
        model = _estimator(cfg)
        X = _embed(model, store, seed_texts + pool_texts)
        model.fit(seed_texts, seed_labels, pool=pool_texts, pool_ids=pool_ids, expert=expert_obj,
                  descriptions=descriptions, embeddings=(X[:len(seed_texts)], X[len(seed_texts):]),
                  journal=StoreJournal(store, run_id))
    wall = time.perf_counter() - t0
    report = _write_outputs(store, run_id, out_dir, model, cfg, pool_ids, pool_texts, descriptions, expert_obj, wall,
                            X[len(seed_texts):])
    if base is not None:
        report.update(_grow_report(cfg, model, n_base, base_stats, log))
        _write_report(out_dir, report)
    store.set_status(run_id, "done", model.stop_reason_)
    s = report["sources"]
    why = STOP_REASONS.get(model.stop_reason_, model.stop_reason_)
    if model.stop_detail_:
        why = f"{why}: {model.stop_detail_}"
    log(f"done: {len(pool_texts)} pool texts labelled ({s['expert']} by the expert, {s['classifier']} "
        f"by the classifier, {s['seed']} from the seed); {model.expert_calls_} expert calls; "
        f"stopped because {why}; outputs in {out_dir}")
    for line in open_lines(report) + trust_lines(report):
        log(line)
    return report


def _write_report(out_dir: Path, report: dict) -> None:
    from ..io.atomic import write_text_atomic

    write_text_atomic(out_dir / "report.json", json.dumps(report, indent=2, ensure_ascii=False))


def _write_outputs(store, run_id, out_dir, model, cfg, pool_ids, pool_texts, descriptions, expert_obj, wall,
                   X_pool) -> dict:
    from ..core.stop import STOP_REASONS
    from .openworld import open_report
    from .trust import thin_labels, trust_report
    from ..io.atomic import write_jsonl_atomic
    from .cost import estimate

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
    model.columns_ = {"text_col": cfg.get("text_col", "text"), "id_col": cfg.get("id_col", "id")}
    model.save(out_dir / "model")
    sources = {s: model.pool_source_.count(s) for s in ("expert", "classifier", "seed")}
    llm = cfg.get("llm") or {}
    usage = getattr(expert_obj, "usage", None)
    tokens = estimate(seed_texts=model.train_texts_, seed_labels=model.train_labels_, pool_texts=pool_texts,
                      calls=model.expert_calls_, choice_calls=store.choice_questions(run_id),  # over every process
                      descriptions=descriptions, price_prompt=float(llm.get("price_prompt") or 0.0),
                      price_completion=float(llm.get("price_completion") or 0.0))
    report = {
        "pool_size": len(pool_texts), "seed_size": len(store.texts(run_id, "seed")[0]), "classes": len(model.classes_),
        "subsets": len(model.subsets_), "expert": cfg["expert"], "budget_calls": model.budget_calls_,
        "expert_calls": model.expert_calls_, "new_expert_calls": model.new_expert_calls_,
        "rounds": model.history_, "stop_reason": model.stop_reason_,
        "stop_explanation": STOP_REASONS.get(model.stop_reason_, ""), "stop_detail": model.stop_detail_,
        "sources": sources, "wall_s": round(wall, 2),
        "expert_usage": _run_usage(store, run_id, usage), "token_estimate": tokens,
        **trust_report(model), "thin_labels": thin_labels(store.texts(run_id, "seed")[2], model),
        "open_world": open_report(model, X_pool, pool_ids, pool_texts),
    }
    _write_report(out_dir, report)
    return report


def _run_usage(store, run_id: int, usage) -> dict | None:
    """The expert's usage over the whole run: HTTP calls, cost and tokens are the totals the store
    keeps across processes (a run, then its resumes); the rest, and ``this_process``, count the
    last process only."""
    if usage is None:
        return None
    mine = usage.as_dict()
    calls, cost, prompt, completion = store.usage(run_id)
    return {**mine, "http_calls": max(calls, mine["http_calls"]), "cost": round(max(cost, mine["cost"]), 6),
            "prompt_tokens": max(prompt, mine["prompt_tokens"]),
            "completion_tokens": max(completion, mine["completion_tokens"]), "this_process": mine}


def _grow_report(cfg: dict, model, n_base: int, base_stats, log) -> dict:
    report = {"base_model": cfg["base_model"], "added_classes": model.classes_[n_base:],
              "changed_subsets": model.changed_subsets_,
              "retrained_classes": sorted({model.classes_[lab] for g in model.changed_subsets_
                                           for lab in model.subsets_[g] if lab < len(model.classes_)})}
    if cfg.get("retrain_classes"):
        from ..core.drift import compare, render

        rows = compare(base_stats or {}, model.class_stats_, labels=cfg["retrain_classes"])
        report["drift"] = rows
        log("drift since the model's own run (uncertain share of delivered texts; expert rejection rate):\n"
            + render(rows))
        if not base_stats:
            log("warning: the base model recorded no per-class statistics (saved by an older redtext); "
                "'before' columns are empty")
    return report
