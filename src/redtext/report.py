"""``redtext report DIR``: one self-contained HTML page about a run folder.

What the page shows, and where each figure comes from:

- per-round curves — the ``rounds`` table (one JSON object of metrics per round: uncertain
  pool texts, texts asked, accepted / rejected / abstained answers, calls, mean confidence);
- cost per round — *not stored*: derived from the questions stored per round in ``verdicts``,
  priced with the run's own token estimate (:func:`redtext.cost.estimate`) or, when the run
  paid an LLM, the measured total in ``run_usage`` spread over rounds by questions answered;
- per label — questions asked and accepted (``verdicts``), the share of the classifier's top
  proposals the expert accepted, labels delivered by source and mean confidence
  (``predictions``, written when a run finishes);
- confusions — a rejected label followed by an accepted one for the same text, and close
  runner-up candidates among classifier-delivered labels;
- the examples the expert rejected, and why the loop stopped (``runs``).

The store is read in one read transaction with ``PRAGMA query_only``: a report never changes a
run, and a run still in progress can be reported from what it has stored. Plots are PNGs drawn
with matplotlib (Agg) and embedded as ``data:`` URIs; the page loads nothing from elsewhere
and runs no script. Module-level imports stay light so ``redtext --help`` is fast.
"""
from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import typer

from .errors import InputError

REQUIRED_TABLES = {
    "runs": {"id", "status", "config", "stop_reason", "created", "updated"},
    "texts": {"run_id", "role", "idx", "id", "text", "label"},
    "verdicts": {"run_id", "text", "label", "verdict", "expert", "round", "seq"},
    "rounds": {"run_id", "round", "metrics"},
    "predictions": {"run_id", "idx", "label", "confidence", "source", "candidates"},
}
RUNNER_UP_MARGIN = 0.1      # a classifier label whose runner-up scores within this counts as "close"
MAX_REJECTED_SHOWN = 200    # rows of the rejected-examples table
MAX_PAIRS_SHOWN = 25       # rows of each confusion table
MAX_PLOT_LABELS = 30        # labels drawn in the per-label charts (the tables list every label)


# ---------------------------------------------------------------------------------------------
# reading a run folder
# ---------------------------------------------------------------------------------------------
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
    verdicts: list                    # (seq, round, text, label, verdict: 1 | 0 | None, expert)
    predictions: list                 # (idx, label, confidence, source, candidates [[label, score], ...])
    usage: Optional[tuple]            # (http_calls, cost) from run_usage, None when not recorded
    report_json: Optional[dict] = None
    in_progress: bool = False         # another process holds the run folder's lock right now
    notes: list = field(default_factory=list)


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _lock_held(run_dir: Path) -> bool:
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


def _connect(db: Path):
    """Open an existing SQLite file without creating it and with writes refused."""
    import sqlite3
    from urllib.parse import quote

    uri = "file:" + quote(str(db.resolve()))
    try:
        conn = sqlite3.connect(uri + "?mode=rw", uri=True, timeout=30, isolation_level=None)
    except sqlite3.OperationalError:  # a read-only file or folder
        conn = sqlite3.connect(uri + "?mode=ro", uri=True, timeout=30, isolation_level=None)
    conn.execute("PRAGMA query_only = ON")
    return conn


def load_run(run_dir: Path) -> RunData:
    """Read the latest run of ``run_dir/run.db``; every problem becomes one-line :class:`InputError`."""
    import sqlite3

    from .store import run_db_path

    run_dir = Path(run_dir)
    db = run_db_path(run_dir)
    in_progress = _lock_held(run_dir)
    try:
        conn = _connect(db)
        try:
            conn.execute("BEGIN")  # one snapshot, even while a run is writing
            data = _read(conn, run_dir, db)
            conn.execute("COMMIT")
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise InputError(f"{db} cannot be read as a redtext store ({_one_line(exc)}); point at a run folder "
                         "made by `redtext run`") from None
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


def _read(conn, run_dir: Path, db: Path) -> RunData:
    from .store import SCHEMA_VERSION

    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise InputError(f"{db} was written by a newer redtext (schema {version} > {SCHEMA_VERSION}); "
                         "upgrade redtext to report on it")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    for table, columns in REQUIRED_TABLES.items():
        if table not in tables:
            raise InputError(f"{db} is not a redtext run store (it has no {table} table); point at a run "
                             "folder made by `redtext run`")
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        if not columns <= have:
            missing = ", ".join(sorted(columns - have))
            raise InputError(f"{db} is not a redtext run store (table {table} lacks {missing})")
    row = conn.execute("SELECT MAX(id), COUNT(*) FROM runs").fetchone()
    if row[0] is None:
        raise InputError(f"{db} holds no run; start one with `redtext run ... --out {run_dir}`")
    run_id, n_runs = int(row[0]), int(row[1])
    status, config_text, stop_reason, created, updated = conn.execute(
        "SELECT status, config, stop_reason, created, updated FROM runs WHERE id=?", (run_id,)).fetchone()
    try:
        config = json.loads(config_text)
        rounds = [json.loads(r[0]) for r in
                  conn.execute("SELECT metrics FROM rounds WHERE run_id=? ORDER BY round", (run_id,))]
        predictions = [(int(i), lab, float(c), src, json.loads(cands)) for i, lab, c, src, cands in conn.execute(
            "SELECT idx, label, confidence, source, candidates FROM predictions WHERE run_id=? ORDER BY idx",
            (run_id,))]
    except (ValueError, TypeError) as exc:
        raise InputError(f"{db} holds unreadable run data ({_one_line(exc)}); it is damaged or not from redtext") \
            from None
    if not isinstance(config, dict) or not all(isinstance(r, dict) for r in rounds):
        raise InputError(f"{db} holds unreadable run data; it is damaged or not from redtext")
    if not rounds:
        raise InputError(f"run {run_id} in {run_dir} has no finished round yet; report again once round 0 "
                         "is stored (or continue it with `redtext resume`)")
    texts = {"seed": ([], [], []), "pool": ([], [], [])}
    for role, ident, text, label in conn.execute(
            "SELECT role, id, text, label FROM texts WHERE run_id=? ORDER BY role, idx", (run_id,)):
        if role in texts:
            ids, txts, labels = texts[role]
            ids.append(ident)
            txts.append(text)
            labels.append(label)
    descriptions = {}
    if "descriptions" in tables:
        descriptions = dict(conn.execute("SELECT label, description FROM descriptions WHERE run_id=?", (run_id,)))
    verdicts = [(int(s), int(r), t, lab, None if v is None else int(v), e) for s, r, t, lab, v, e in conn.execute(
        "SELECT seq, round, text, label, verdict, expert FROM verdicts WHERE run_id=? ORDER BY seq", (run_id,))]
    usage = None
    if "run_usage" in tables:
        u = conn.execute("SELECT http_calls, cost FROM run_usage WHERE run_id=?", (run_id,)).fetchone()
        usage = None if u is None else (int(u[0]), float(u[1]))
    return RunData(run_dir=run_dir, run_id=run_id, runs_in_store=n_runs, status=str(status),
                   stop_reason=stop_reason, created=float(created), updated=float(updated), config=config,
                   rounds=rounds, seed_texts=texts["seed"][1], seed_labels=texts["seed"][2],
                   pool_ids=texts["pool"][0], pool_texts=texts["pool"][1], descriptions=descriptions,
                   verdicts=verdicts, predictions=predictions, usage=usage)


# ---------------------------------------------------------------------------------------------
# figures
# ---------------------------------------------------------------------------------------------
def _ratio(num: float, den: float) -> Optional[float]:
    return None if not den else num / den


def _budget_calls(data: RunData) -> Optional[int]:
    if data.report_json and isinstance(data.report_json.get("budget_calls"), int):
        return data.report_json["budget_calls"]
    from .red import resolve_budget

    try:
        return resolve_budget(data.config.get("budget"), len(data.pool_texts))
    except InputError:
        return None


def _cost_model(data: RunData, questions_per_round: dict) -> dict:
    """Cost per round, which the store does not record: what it is derived from, and the series."""
    from .cost import COMPLETION_TOKENS_PER_QUESTION, estimate

    llm = data.config.get("llm") or {}
    try:
        price_prompt = float(llm.get("price_prompt") or 0.0)
        price_completion = float(llm.get("price_completion") or 0.0)
    except (TypeError, ValueError):
        price_prompt = price_completion = 0.0
    avg_prompt = 0.0
    if data.pool_texts and data.seed_labels:
        est = estimate(seed_texts=data.seed_texts, seed_labels=data.seed_labels, pool_texts=data.pool_texts,
                       calls=1, descriptions=data.descriptions)
        avg_prompt = float(est["avg_prompt_tokens_per_question"])
    tokens_per_q = avg_prompt + COMPLETION_TOKENS_PER_QUESTION
    per_q_money = (avg_prompt * price_prompt + COMPLETION_TOKENS_PER_QUESTION * price_completion) / 1e6
    rounds = [int(r.get("round", i)) for i, r in enumerate(data.rounds)]
    questions = [questions_per_round.get(r, 0) for r in rounds]
    total_q = sum(questions_per_round.values())
    measured = data.usage[1] if data.usage else 0.0
    if measured > 0:
        series = [measured * q / total_q if total_q else 0.0 for q in questions]
        unit, kind = "money", "measured"
        how = (f"The run paid {measured:.6g} in all (run_usage: {data.usage[0]} HTTP calls); the store does not "
               "record cost per round, so the total is spread over rounds in proportion to the questions stored "
               "for each round (cache hits and retries make the true split differ).")
    elif per_q_money > 0:
        series = [per_q_money * q for q in questions]
        unit, kind = "money", "estimated"
        how = (f"Estimated: questions stored per round × {avg_prompt:.1f} prompt + {COMPLETION_TOKENS_PER_QUESTION} "
               f"completion tokens a question (≈ 4 characters a token) at the run's prices ({price_prompt:g} / "
               f"{price_completion:g} per million tokens).")
    else:
        series = [tokens_per_q * q for q in questions]
        unit, kind = "tokens", "estimated"
        how = (f"No money was spent or priced (expert {data.config.get('expert', '?')!s}); shown instead: estimated "
               f"tokens an LLM judge would use — questions stored per round × {tokens_per_q:.1f} tokens a "
               "question (≈ 4 characters a token).")
    return {"unit": unit, "kind": kind, "how": how, "series": series, "total": sum(series),
            "tokens_per_question": tokens_per_q}


def summarize(data: RunData) -> dict:
    """Every number on the page, as plain Python data (tests read this too)."""
    from collections import Counter, defaultdict

    classes = sorted(set(data.seed_labels) | {v[3] for v in data.verdicts} | {p[1] for p in data.predictions})
    text_to_idx: dict[str, int] = {}
    for i, t in enumerate(data.pool_texts):
        text_to_idx.setdefault(t, i)
    delivered = {p[0]: p for p in data.predictions}

    # -- verdicts ---------------------------------------------------------------------------
    totals = Counter()
    per_round_q: Counter = Counter()
    per_label = {lab: Counter() for lab in classes}
    by_text_round: dict = defaultdict(list)
    by_text: dict = defaultdict(list)
    for seq, rnd, text, lab, verdict, _expert in data.verdicts:
        key = {1: "accepted", 0: "rejected", None: "abstained"}.get(verdict, "abstained")
        totals[key] += 1
        per_round_q[rnd] += 1
        per_label[lab]["questions"] += 1
        per_label[lab][key] += 1
        by_text_round[(text, rnd)].append((seq, lab, verdict))
        by_text[text].append((seq, rnd, lab, verdict))
    for answers in by_text_round.values():  # the first label asked about a text in a round: its top proposal
        _, lab, verdict = min(answers)
        per_label[lab]["top_asked"] += 1
        if verdict is not None:
            per_label[lab]["top_answered"] += 1
            per_label[lab]["top_accepted"] += verdict == 1

    # -- delivered labels --------------------------------------------------------------------
    seed_counts = Counter(data.seed_labels)
    conf_sum: Counter = Counter()
    for _idx, lab, conf, source, _c in data.predictions:
        per_label[lab]["delivered"] += 1
        per_label[lab][f"delivered_{source}"] += 1
        if source == "classifier":
            conf_sum[lab] += conf
    sources = Counter(p[3] for p in data.predictions)
    label_rows = []
    for lab in classes:
        c = per_label[lab]
        label_rows.append({
            "label": lab, "seed": seed_counts.get(lab, 0), "questions": c["questions"],
            "accepted": c["accepted"], "rejected": c["rejected"], "abstained": c["abstained"],
            "acceptance": _ratio(c["accepted"], c["accepted"] + c["rejected"]),
            "top_asked": c["top_asked"], "top_acceptance": _ratio(c["top_accepted"], c["top_answered"]),
            "delivered": c["delivered"], "expert": c["delivered_expert"], "classifier": c["delivered_classifier"],
            "from_seed": c["delivered_seed"],
            "mean_confidence": _ratio(conf_sum[lab], c["delivered_classifier"]),
        })
    label_rows.sort(key=lambda r: (-r["questions"], -r["delivered"], r["label"]))

    # -- confusions ----------------------------------------------------------------------------
    corrections: Counter = Counter()
    correction_example: dict = {}
    rejected_rows = []
    for text, answers in by_text.items():
        answers.sort()
        for k, (seq, rnd, lab, verdict) in enumerate(answers):
            if verdict == 1:
                for _, _, earlier, v in answers[:k]:
                    if v == 0 and earlier != lab:
                        corrections[(earlier, lab)] += 1
                        correction_example.setdefault((earlier, lab), text)
            elif verdict == 0:
                idx = text_to_idx.get(text)
                final = delivered.get(idx) if idx is not None else None
                later = [lab2 for s2, _, lab2, v2 in answers if v2 == 1 and s2 > seq]
                rejected_rows.append({
                    "seq": seq, "round": rnd, "id": data.pool_ids[idx] if idx is not None else "", "text": text,
                    "label": lab, "accepted_later": later[0] if later else None,
                    "delivered": final[1] if final else None, "source": final[3] if final else None})
    rejected_rows.sort(key=lambda r: r["seq"])
    runner_ups: Counter = Counter()
    runner_up_example: dict = {}
    for idx, lab, conf, source, cands in data.predictions:
        if source != "classifier" or len(cands) < 2:
            continue
        (l1, s1), (l2, s2) = cands[0][:2], cands[1][:2]
        if l1 != l2 and float(s1) - float(s2) < RUNNER_UP_MARGIN:
            pair = tuple(sorted((l1, l2)))
            runner_ups[pair] += 1
            runner_up_example.setdefault(pair, data.pool_texts[idx] if idx < len(data.pool_texts) else "")

    # -- per round ---------------------------------------------------------------------------------
    cost = _cost_model(data, per_round_q)
    round_rows = []
    for i, r in enumerate(data.rounds):
        rnd = int(r.get("round", i))
        calls_before = int(r.get("calls", 0))
        round_calls = int(r.get("round_calls", 0))
        round_rows.append({
            "round": rnd, "uncertain": r.get("uncertain"), "all_noise": r.get("all_noise"),
            "selection": r.get("selection"),
            "texts_asked": int(r.get("texts_asked", 0)), "accepted": int(r.get("accepted", 0)),
            "rejected": int(r.get("rejected", 0)), "abstained": int(r.get("abstained", 0)),
            "round_calls": round_calls, "calls_total": calls_before + round_calls,
            "stored_questions": per_round_q.get(rnd, 0), "validated": r.get("validated"),
            "train_size": r.get("train_size"), "mean_confidence": r.get("mean_confidence"),
            "cost": cost["series"][i],
        })

    budget = _budget_calls(data)
    return {
        "run_id": data.run_id, "status": data.status, "stop_reason": data.stop_reason,
        "in_progress": data.in_progress, "classes": classes, "pool_size": len(data.pool_texts),
        "seed_size": len(data.seed_texts), "questions": len(data.verdicts), "accepted": totals["accepted"],
        "rejected": totals["rejected"], "abstained": totals["abstained"], "budget_calls": budget,
        "sources": {s: sources.get(s, 0) for s in ("expert", "classifier", "seed")},
        "has_predictions": bool(data.predictions),
        "mean_confidence_classifier": _ratio(sum(conf_sum.values()), sources.get("classifier", 0)),
        "labels": label_rows, "rounds": round_rows, "cost": cost,
        "corrections": [{"rejected": a, "accepted": b, "count": n, "example": correction_example[(a, b)]}
                        for (a, b), n in sorted(corrections.items(), key=lambda kv: (-kv[1], kv[0]))],
        "runner_ups": [{"a": a, "b": b, "count": n, "example": runner_up_example[(a, b)]}
                       for (a, b), n in sorted(runner_ups.items(), key=lambda kv: (-kv[1], kv[0]))],
        "rejected_examples": rejected_rows, "stop": _stop_story(data, round_rows, budget),
    }


def _stop_story(data: RunData, rounds: list, budget: Optional[int]) -> dict:
    """Why the loop stopped (or that it has not), with the figures behind the rule."""
    from .loop import MIN_TEXTS_FOR_GAIN, STOP_REASONS, LoopConfig

    params = data.config.get("params") or {}
    defaults = LoopConfig(budget=0)
    max_rounds = params.get("max_rounds", defaults.max_rounds)
    min_gain = params.get("min_gain", defaults.min_gain)
    patience = defaults.patience
    asked_rounds = [r for r in rounds if r["texts_asked"] > 0][-patience:]
    asked = sum(r["texts_asked"] for r in asked_rounds)
    share = _ratio(sum(r["accepted"] for r in asked_rounds), asked)
    evidence = [
        ("expert questions stored", f"{len(data.verdicts)}" + (f" of a budget of {budget}" if budget is not None
                                                               else "")),
        ("rounds stored", f"{len(rounds)} (cap: rounds 0–{max_rounds})"),
        (f"uncertain pool texts, last {min(len(rounds), patience + 1)} rounds",
         " → ".join(str(r["uncertain"]) for r in rounds[-(patience + 1):])),
        (f"accepted share of texts asked, last {len(asked_rounds)} asking rounds",
         (f"{share:.1%} of {asked} texts (stops under {min_gain:.0%} once at least {MIN_TEXTS_FOR_GAIN} were asked)"
          if share is not None else "no texts asked")),
    ]
    llm = data.config.get("llm") or {}
    if data.usage is not None:
        limits = ", ".join(f"{k} {llm[k]}" for k in ("max_calls", "max_cost") if llm.get(k) is not None)
        evidence.append(("expert HTTP calls / cost", f"{data.usage[0]} / {data.usage[1]:.6g}"
                         + (f" (limits: {limits})" if limits else "")))
    reason = data.stop_reason
    folder = str(data.run_dir)
    if data.in_progress:
        headline = (f"Still running: a redtext process is working in this folder. This page shows the "
                    f"{len(rounds)} rounds stored so far; report again later for the rest.")
        state = "running"
    elif data.status == "done" and reason:
        headline = f"Stopped: {reason} — {STOP_REASONS.get(reason, 'a reason this redtext does not know')}."
        state = "done"
    elif data.status == "running":
        headline = ("Stopped before finishing (killed or interrupted): no stop reason was recorded. "
                    f"`redtext resume {folder}` continues it without asking stored questions again.")
        state = "interrupted"
    else:
        headline = (f"The run ended with status {data.status!r}" + (f" ({reason})" if reason else "")
                    + f"; `redtext resume {folder}` continues it.")
        state = data.status
    return {"state": state, "reason": reason, "headline": headline, "evidence": evidence}


# ---------------------------------------------------------------------------------------------
# plots
# ---------------------------------------------------------------------------------------------
def _plot_text(label: object, width: int = 28) -> str:
    s = str(label).replace("\n", " ")
    s = s if len(s) <= width else s[:width - 1] + "…"
    return s.replace("$", r"\$")  # matplotlib would read $...$ as mathematics


def _png(fig) -> str:
    import base64
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(height: float = 3.0, width: float = 5.8, *, rounds: bool = False):
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.subplots()
    if rounds:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("round")
    return fig, ax


def _values(rows: list, key: str) -> list:
    """A metric per round for plotting (missing in an older store: a gap, not a crash)."""
    return [float("nan") if r.get(key) is None else float(r[key]) for r in rows]


def make_plots(summary: dict) -> list[tuple[str, str, str]]:
    """(id, title, base64 PNG) per plot, drawn with matplotlib's Agg renderer."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    rounds = summary["rounds"]
    x = [r["round"] for r in rounds]
    plots = []

    def finish(ax, ylabel: str, grid_axis: str = "both") -> None:
        ax.set_ylabel(ylabel)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize=8)
        ax.grid(axis=grid_axis, alpha=0.3)

    fig, ax = _figure(rounds=True)
    ax.plot(x, _values(rounds, "uncertain"), marker="o", label="uncertain (confidence < 0.5)")
    ax.plot(x, _values(rounds, "all_noise"), marker=".", linestyle="--", label="every subset said NOISE")
    finish(ax, "unresolved pool texts")
    plots.append(("plot-uncertain", "Uncertain pool texts per round", _png(fig)))

    fig, ax = _figure(rounds=True)
    acc, rej, abst = _values(rounds, "accepted"), _values(rounds, "rejected"), _values(rounds, "abstained")
    ax.bar(x, acc, color="#2e7d32", label="accepted")
    ax.bar(x, rej, bottom=acc, color="#c62828", label="rejected")
    ax.bar(x, abst, bottom=[a + b for a, b in zip(acc, rej)], color="#9e9e9e", label="abstained")
    finish(ax, "expert answers", "y")
    plots.append(("plot-answers", "Expert answers per round", _png(fig)))

    fig, ax = _figure(rounds=True)
    ax.bar(x, _values(rounds, "round_calls"), color="#1565c0", alpha=0.6, label="calls this round")
    ax.plot(x, _values(rounds, "calls_total"), marker="o", color="#0d47a1", label="calls so far")
    if summary["budget_calls"]:
        ax.axhline(summary["budget_calls"], color="#ef6c00", linestyle="--", label=f"budget {summary['budget_calls']}")
    finish(ax, "expert calls")
    plots.append(("plot-calls", "Expert calls per round", _png(fig)))

    cost = summary["cost"]
    fig, ax = _figure(rounds=True)
    series = _values(rounds, "cost")
    running, cum = 0.0, []
    for v in series:
        running += v
        cum.append(running)
    ax.bar(x, series, color="#6a1b9a", alpha=0.6, label="this round")
    ax.plot(x, cum, marker="o", color="#4a148c", label="so far")
    finish(ax, f"{cost['kind']} {cost['unit']}")
    plots.append(("plot-cost", f"Cost per round ({cost['kind']} {cost['unit']})", _png(fig)))

    fig, ax = _figure(rounds=True)
    ax.plot(x, _values(rounds, "mean_confidence"), marker="o", color="#00695c")
    ax.set_ylim(0, 1.02)
    finish(ax, "mean confidence")
    plots.append(("plot-confidence", "Mean classifier confidence of unresolved pool texts", _png(fig)))

    asked = [r for r in summary["labels"] if r["acceptance"] is not None][:MAX_PLOT_LABELS]
    if asked:
        asked = sorted(asked, key=lambda r: (r["acceptance"], r["label"]))
        fig, ax = _figure(height=max(2.5, 0.25 * len(asked) + 1))
        ax.barh(range(len(asked)), [r["acceptance"] for r in asked], color="#2e7d32")
        ax.set_yticks(range(len(asked)), [_plot_text(r["label"]) for r in asked], fontsize=8)
        for k, r in enumerate(asked):
            ax.text(min(r["acceptance"], 0.98), k, f" {r['accepted']}/{r['accepted'] + r['rejected']}",
                    va="center", ha="right" if r["acceptance"] > 0.85 else "left", fontsize=7)
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of questions about the label the expert accepted")
        ax.grid(axis="x", alpha=0.3)
        plots.append(("plot-acceptance", "Acceptance per label", _png(fig)))

    if summary["has_predictions"]:
        top = sorted(summary["labels"], key=lambda r: (-r["delivered"], r["label"]))[:MAX_PLOT_LABELS][::-1]
        fig, ax = _figure(height=max(2.5, 0.25 * len(top) + 1))
        y = range(len(top))
        left = [0] * len(top)
        for key, color in (("from_seed", "#795548"), ("expert", "#2e7d32"), ("classifier", "#1565c0")):
            vals = [r[key] for r in top]
            ax.barh(y, vals, left=left, color=color, label={"from_seed": "seed"}.get(key, key))
            left = [a + b for a, b in zip(left, vals)]
        ax.set_yticks(list(y), [_plot_text(r["label"]) for r in top], fontsize=8)
        ax.set_xlabel("pool texts delivered")
        ax.legend(loc="lower right", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
        plots.append(("plot-delivered", "Labels delivered, by source", _png(fig)))
    return plots


# ---------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1100px;
 padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f3f3}
figure{display:inline-block;margin:.5em 1em .5em 0}figcaption{font-size:.85em;color:#555}
img{max-width:100%;height:auto;border:1px solid #eee}.note{color:#555;font-size:.9em}
.stop{padding:.6em 1em;background:#fff8e1;border-left:4px solid #ffb300}
.wrap{max-width:40em;word-wrap:break-word}.scroll{overflow-x:auto;max-width:100%}
"""


def _classifier_summary(subset_size, n_labels: int) -> str:
    """"flat" or "subsets of N", with "(auto)" when the run left the choice to ``subset_size="auto"``."""
    from .red import resolve_subset_size

    size = resolve_subset_size(subset_size, n_labels)
    text = "one flat classifier" if size is None else f"subsets of {size} labels"
    return text + (" (auto)" if subset_size == "auto" else "")


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _pct(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:.1%}"


def _num(value: object, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _more(total: int, what: str) -> str:
    if total <= MAX_PAIRS_SHOWN:
        return ""
    return f'<p class="note">The {MAX_PAIRS_SHOWN} most frequent of {total} {_e(what)} are shown.</p>'


def _table(table_id: str, headers: list, rows: list, numeric: set, row_attrs=None) -> str:
    out = [f'<div class="scroll"><table id="{_e(table_id)}"><thead><tr>']
    out += [f"<th>{_e(h)}</th>" for h in headers]
    out.append("</tr></thead><tbody>")
    for k, row in enumerate(rows):
        attrs = row_attrs(k) if row_attrs else ""
        out.append(f"<tr{attrs}>")
        for j, cell in enumerate(row):
            cls = ' class="n"' if j in numeric else (' class="wrap"' if isinstance(cell, str) and len(cell) > 60
                                                      else "")
            out.append(f"<td{cls}>{_e(cell)}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def render_html(data: RunData, summary: dict, plots: list) -> str:
    s = summary
    cfg = data.config
    params = cfg.get("params") or {}
    stop = s["stop"]
    title = f"redtext report — {data.run_dir.resolve().name}"
    generated = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
    parts = [f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
             f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style>'
             "</head><body>",
             f"<h1>{_e(title)}</h1>",
             f"<p class=\"note\">Run folder <code>{_e(data.run_dir.resolve())}</code>, run {data.run_id}"
             + (f" (the latest of {data.runs_in_store} in run.db)" if data.runs_in_store > 1 else "")
             + f"; generated {_e(generated)}; last stored change "
             f"{_e(time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(data.updated)))}.</p>"]

    # summary
    rows = [("status", s["status"] + (" (in progress)" if s["in_progress"] else "")),
            ("stop reason", s["stop_reason"] or "—"),
            ("expert", cfg.get("expert", "?")),
            ("pool texts", s["pool_size"]), ("seed examples", s["seed_size"]), ("labels", len(s["classes"])),
            ("rounds stored", len(s["rounds"])),
            ("budget (expert calls)", "—" if s["budget_calls"] is None else s["budget_calls"]),
            ("classifier", _classifier_summary(params.get("subset_size", 8), len(s["classes"]))),
            ("selection", next((r.get("selection") for r in s["rounds"] if r.get("selection")),
                               params.get("uncertainty", "margin"))),
            ("embedder", params.get("embedder", "?"))]
    parts.append('<section id="summary"><h2>Summary</h2>')
    parts.append('<table id="summary-table"><tbody>')
    parts += [f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows]
    parts.append(
        f'<tr><th>expert questions stored</th><td><span id="total-questions">{s["questions"]}</span>: '
        f'<span id="total-accepted">{s["accepted"]}</span> accepted, '
        f'<span id="total-rejected">{s["rejected"]}</span> rejected, '
        f'<span id="total-abstained">{s["abstained"]}</span> abstained</td></tr>')
    if s["has_predictions"]:
        src = s["sources"]
        parts.append(f'<tr><th>labels delivered</th><td><span id="delivered-expert">{src["expert"]}</span> by the '
                     f'expert, <span id="delivered-classifier">{src["classifier"]}</span> by the classifier '
                     f'(mean confidence {_num(s["mean_confidence_classifier"])}), '
                     f'<span id="delivered-seed">{src["seed"]}</span> from the seed</td></tr>')
    else:
        parts.append("<tr><th>labels delivered</th><td>none stored yet: predictions are written when the run "
                     "finishes</td></tr>")
    if data.report_json and data.report_json.get("wall_s") is not None:
        parts.append(f"<tr><th>wall time (last process)</th><td>{_e(data.report_json['wall_s'])} s</td></tr>")
    parts.append("</tbody></table></section>")

    # stop
    parts.append(f'<section id="stop"><h2>Why the loop stopped</h2><p class="stop" id="stop-reason" '
                 f'data-state="{_e(stop["state"])}" data-reason="{_e(stop["reason"] or "")}">'
                 f'{_e(stop["headline"])}</p>')
    parts.append(_table("stop-evidence", ["figure", "value"], stop["evidence"], set()))
    parts.append("</section>")

    # rounds
    by_id = {p[0]: p for p in plots}

    def fig(pid):
        if pid not in by_id:
            return ""
        _, caption, png = by_id[pid]
        return (f'<figure><img id="{_e(pid)}" alt="{_e(caption)}" src="data:image/png;base64,{png}">'
                f"<figcaption>{_e(caption)}</figcaption></figure>")

    cost = s["cost"]
    parts.append('<section id="rounds"><h2>Per round</h2>')
    parts += [fig(p) for p in ("plot-uncertain", "plot-answers", "plot-calls", "plot-cost", "plot-confidence")]
    unit = cost["unit"]
    parts.append(_table(
        "rounds-table",
        ["round", "uncertain", "all NOISE", "texts asked", "accepted", "rejected", "abstained", "calls",
         "calls so far", "questions stored", "validated", "train size", "mean confidence",
         f"{cost['kind']} {unit}"],
        [[r["round"], r["uncertain"], r["all_noise"], r["texts_asked"], r["accepted"], r["rejected"],
          r["abstained"], r["round_calls"], r["calls_total"], r["stored_questions"], r["validated"], r["train_size"],
          _num(r["mean_confidence"]), f"{r['cost']:.6g}" if unit == "money" else f"{r['cost']:.0f}"]
         for r in s["rounds"]], set(range(14))))
    parts.append(f'<p class="note" id="cost-note">Cost per round is not stored by redtext. {_e(cost["how"])} '
                 f'Total: <span id="cost-total">{_e(format(cost["total"], ".6g"))}</span> {_e(unit)}.</p>')
    parts.append('<p class="note">“calls” and “accepted/rejected” are what the loop counted in each round '
                 '(a resumed run replays stored answers into the round that asks them); “questions stored” counts '
                 'the verdicts table by the round each answer was first given.</p></section>')

    # labels
    parts.append('<section id="labels"><h2>Per label</h2>')
    parts += [fig(p) for p in ("plot-acceptance", "plot-delivered")]
    parts.append('<p class="note">Estimates, not measured accuracy: “acceptance” is the share of the expert’s '
                 'yes/no answers about the label that were yes; “top proposal accepted” counts only questions where '
                 'the label was the classifier’s best remaining candidate for that text in that round — the '
                 'classifier’s precision on the uncertain texts it was asked about, which understates its '
                 'precision on the confident rest. “mean confidence” is the classifier’s own score over the texts '
                 'it labelled. '
                 f'Charts show at most {MAX_PLOT_LABELS} labels; the table lists all.</p>')
    label_rows = s["labels"]
    parts.append(_table(
        "labels-table",
        ["label", "seed examples", "questions", "accepted", "rejected", "abstained", "acceptance",
         "top proposals asked", "top proposal accepted", "delivered", "by expert", "by classifier", "from seed",
         "mean confidence (classifier)"],
        [[r["label"], r["seed"], r["questions"], r["accepted"], r["rejected"], r["abstained"], _pct(r["acceptance"]),
          r["top_asked"], _pct(r["top_acceptance"]), r["delivered"], r["expert"], r["classifier"], r["from_seed"],
          _num(r["mean_confidence"])] for r in label_rows],
        set(range(1, 14)), row_attrs=lambda k: f' data-label="{_e(label_rows[k]["label"])}"'))
    if not s["has_predictions"]:
        parts.append('<p class="note">No labels delivered yet: predictions are stored when the run finishes.</p>')
    parts.append("</section>")

    # confusions
    parts.append('<section id="confusions"><h2>Most confused labels</h2>'
                 '<h3>Corrections by the expert</h3><p class="note">The expert rejected the first label, then '
                 'accepted the second, for the same text.</p>')
    if s["corrections"]:
        parts.append(_table("corrections-table", ["rejected", "accepted instead", "texts", "example"],
                            [[c["rejected"], c["accepted"], c["count"], c["example"]]
                             for c in s["corrections"][:MAX_PAIRS_SHOWN]], {2}))
        parts.append(_more(len(s["corrections"]), "pairs"))
    else:
        parts.append('<p id="corrections-none">No text had a label rejected and another accepted.</p>')
    parts.append(f'<h3>Close runner-ups</h3><p class="note">Classifier-delivered labels whose second candidate '
                 f'scored within {RUNNER_UP_MARGIN:g} of the first.</p>')
    if s["runner_ups"]:
        parts.append(_table("runner-ups-table", ["label", "label", "texts", "example"],
                            [[c["a"], c["b"], c["count"], c["example"]] for c in s["runner_ups"][:MAX_PAIRS_SHOWN]],
                            {2}))
        parts.append(_more(len(s["runner_ups"]), "pairs"))
    elif s["has_predictions"]:
        parts.append('<p id="runner-ups-none">No classifier label had a close runner-up.</p>')
    else:
        parts.append('<p id="runner-ups-none">No predictions stored yet.</p>')
    parts.append("</section>")

    # rejected
    rej = s["rejected_examples"]
    parts.append(f'<section id="rejected"><h2>Examples the expert rejected</h2><p class="note">'
                 f'<span id="rejected-count">{len(rej)}</span> rejections'
                 + (f"; the first {MAX_REJECTED_SHOWN} are shown" if len(rej) > MAX_REJECTED_SHOWN else "")
                 + ", in the order they were answered.</p>")
    if rej:
        parts.append(_table("rejected-table", ["round", "id", "text", "rejected label", "accepted later",
                                               "delivered label", "source"],
                            [[r["round"], r["id"], r["text"], r["label"], r["accepted_later"] or "—",
                              r["delivered"] or "—", r["source"] or "—"] for r in rej[:MAX_REJECTED_SHOWN]], {0}))
    parts.append("</section>")

    # notes
    notes = list(data.notes)
    notes.append("Cost per round is derived, not stored (see under Per round).")
    if data.runs_in_store > 1:
        notes.append(f"run.db holds {data.runs_in_store} runs; this page is about the latest, run {data.run_id}.")
    parts.append('<section id="notes"><h2>Notes</h2><ul>' + "".join(f"<li>{_e(n)}</li>" for n in notes)
                 + "</ul></section></body></html>\n")
    return "".join(parts)


def build_report(run_dir: Path) -> str:
    """The whole page as a string (nothing is written)."""
    data = load_run(Path(run_dir))
    try:
        summary = summarize(data)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise InputError(f"{data.run_dir / 'run.db'} holds unreadable run data ({type(exc).__name__}: "
                         f"{_one_line(exc)}); it is damaged or not from redtext") from None
    return render_html(data, summary, make_plots(summary))


def write_report(run_dir: Path, html_path: Optional[Path] = None) -> Path:
    from .atomic import write_text_atomic

    run_dir = Path(run_dir)
    target = Path(html_path) if html_path is not None else run_dir / "report.html"
    if target.is_dir():
        raise InputError(f"--html {target} is a folder; give a file name such as {target / 'report.html'}")
    page = build_report(run_dir)  # everything is rendered before a byte is written
    try:
        return write_text_atomic(target, page)
    except OSError as exc:
        raise InputError(f"cannot write {target} ({_one_line(exc.strerror or exc)}); choose another --html") \
            from None


def command(
    run_dir: Path = typer.Argument(..., metavar="DIR", help="A run folder written by `redtext run` (holds run.db)."),
    html_out: Optional[Path] = typer.Option(None, "--html", help="Where to write the page (default DIR/report.html)."),
):
    """Write a self-contained HTML report of a run: per-round curves, per-label figures, confusions,
    rejected examples and why the loop stopped. Works on a run still in progress."""
    import sys

    path = write_report(run_dir, html_out)
    print(f"wrote {path}", file=sys.stderr)
