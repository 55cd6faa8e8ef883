"""What the report reads: one consistent snapshot of a run folder, through the store's API."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

RUNNER_UP_MARGIN = 0.1      # a classifier label whose runner-up scores within this counts as "close"
MAX_REJECTED_SHOWN = 200    # rows of the rejected-examples table
MAX_PAIRS_SHOWN = 25        # rows of each confusion table
MAX_PLOT_LABELS = 30        # labels drawn in the per-label charts (the tables list every label)


@dataclass
class RunData:
    """Everything the page needs, read from one consistent snapshot of ``run.db``."""

    run_dir: Path
    run_id: int
    runs_in_store: int
    status: str
    stop_reason: Optional[str]
    created: float
    updated: float
    config: dict
    rounds: list                      # metrics dicts, ordered by round
    seed_texts: list
    seed_labels: list
    pool_ids: list
    pool_texts: list
    descriptions: dict
    verdicts: list                    # the loop's answers: (seq, round, text, label, verdict: 1 | 0 | None, expert)
    predictions: list                 # (idx, label, confidence, source, candidates [[label, score], ...])
    usage: Optional[tuple]            # (http_calls, cost) from run_usage, None when not recorded
    report_json: Optional[dict] = None
    in_progress: bool = False         # another process holds the run folder's lock right now
    notes: list = field(default_factory=list)
    checks: list = field(default_factory=list)  # known-answer and audit answers: (..., expert, kind)
    questions: int | None = None      # questions asked (a choice question's rows count once); None: the rows
    round_questions: dict = field(default_factory=dict)  # round -> (binary, choice) questions, every kind


def lock_held(run_dir: Path) -> bool:
    """Whether a ``redtext run``/``resume`` process is working in the folder (it holds ``.lock``).

    Only looks when the lock file exists, and takes a shared lock for an instant (never creates
    the file)."""
    lock = run_dir / ".lock"
    if not lock.is_file():
        return False
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX
        return False
    try:
        fh = open(lock, "r")
    except OSError:
        return False
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return False
    finally:
        fh.close()


def load_run(run_dir: Path) -> RunData:
    """Read the latest run of ``run_dir/run.db`` (never changing it); every problem becomes one
    :class:`~redtext.errors.InputError` line."""
    from ...errors import InputError
    from ...io.store import Store, run_db_path

    run_dir = Path(run_dir)
    db = run_db_path(run_dir)
    in_progress = lock_held(run_dir)
    store = Store.open_readonly(db)
    try:
        snap = store.snapshot()
    finally:
        store.close()
    if not snap.rounds:
        raise InputError(f"run {snap.run_id} in {run_dir} has no finished round yet; report again once round 0 "
                         "is stored (or continue it with `redtext resume`)")
    data = RunData(run_dir=run_dir, run_id=snap.run_id, runs_in_store=snap.runs_in_store, status=snap.status,
                   stop_reason=snap.stop_reason, created=snap.created, updated=snap.updated, config=snap.config,
                   rounds=snap.rounds, seed_texts=snap.seed_texts, seed_labels=snap.seed_labels,
                   pool_ids=snap.pool_ids, pool_texts=snap.pool_texts, descriptions=snap.descriptions,
                   verdicts=[v[:6] for v in snap.verdicts if v[6] == "label"],
                   checks=[v for v in snap.verdicts if v[6] != "label"], predictions=snap.predictions,
                   questions=sum(snap.questions.values()), round_questions=snap.round_questions,
                   usage=snap.usage)
    # a resume does not reset the status of a failed run, nor of one stopped by the expert's own limit
    data.in_progress = in_progress and (data.status != "done" or data.stop_reason == "expert_limit")
    report_path = run_dir / "report.json"
    if report_path.is_file():
        try:
            rep = json.loads(report_path.read_text(encoding="utf-8"))
            data.report_json = rep if isinstance(rep, dict) else None
        except (OSError, UnicodeDecodeError, ValueError):
            data.notes.append("report.json could not be read; everything here comes from run.db")
    return data
