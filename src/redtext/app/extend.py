"""More questions for a finished run: ``redtext resume DIR --budget`` (a raised budget: the loop
goes on) and ``redtext audit DIR --calls N`` (N more audit questions: a tighter estimate)."""
from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .runner import RunLock, _estimator, _execute, _storable, expert_settings


def extend(out: str, *, budget=None, audit_calls: int | None = None, llm_overrides: dict | None = None,
           log=print) -> dict:
    """Continue a run with more questions: a raised ``budget`` (the loop goes on, the stored
    answers replayed), or ``audit_calls`` more audit questions (the loop replays as it ran —
    its budget and its known-answer count are kept as calls — and the audit's nested sample
    grows). Resumable like any run: the new settings are stored before anything is asked."""
    from ..core.budget import parse_budget, resolve_budget
    from ..experts.registry import build_expert
    from ..io.store import Store
    from ..options import QualityOptions, options_to_json

    out_dir = Path(out)
    if not (out_dir / "run.db").is_file():
        raise InputError(f"{out_dir} holds no run (no run.db); start one with `redtext run ... --out {out_dir}`")
    with RunLock(out_dir):
        store = Store(out_dir / "run.db")
        try:
            run_id = store.latest_run()
            info = store.run_info(run_id) if run_id is not None else None
            if info is None or info["status"] != "done":
                raise InputError(f"the run in {out_dir} has not finished; continue it with `redtext resume {out_dir}` "
                                 "first")
            cfg = info["config"]
            n_pool = len(store.texts(run_id, "pool")[0])
            calls = resolve_budget(cfg["budget"], n_pool)
            if budget is not None:
                new = resolve_budget(parse_budget(budget), n_pool)
                if new <= calls:
                    raise InputError(f"--budget {budget} is {new} calls; the run already had {calls}: give more")
                cfg["budget"] = new
                log(f"raising the budget of {out_dir} from {calls} to {new} expert calls")
            if audit_calls is not None:
                quality = _estimator(cfg)._quality
                checks, audit = quality.calls(calls)
                cfg["budget"] = calls + audit_calls   # the loop keeps its room: budget − audit
                cfg["params"] = {**cfg["params"], "quality": options_to_json(QualityOptions(checks=checks,
                                                                                            audit=audit + audit_calls))}
                log(f"auditing {audit_calls} more delivered labels of {out_dir} ({audit} were audited)")
            changed = {k: v for k, v in (llm_overrides or {}).items() if v is not None}
            if changed:  # e.g. a raised --max-calls along with the budget
                cfg["llm"] = {**(cfg.get("llm") or {}), **changed}
            store.set_status(run_id, "running", None)  # first: a run killed from here on is resumed, not "complete"
            store.update_config(run_id, _storable(cfg))
            _, seed_texts, seed_labels = store.texts(run_id, "seed")
            expert_obj = build_expert(cfg["expert"], expert_settings(cfg, out_dir, log,
                                                                      dict(zip(seed_texts, seed_labels))))
            return _execute(store, run_id, out_dir, expert_obj, log=log)
        finally:
            store.close()
