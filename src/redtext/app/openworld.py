"""The open world in a run's outputs: how many texts fit no label, and the proposals for new
labels made from them (report.json's ``open_world``; ``redtext propose DIR``)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import InputError

#: the texts of each proposal ``redtext propose`` writes as seed examples, most typical first
PER_PROPOSAL = 30


def open_report(model, X_pool: np.ndarray, pool_ids: list[str], pool_texts: list[str]) -> dict | None:
    """report.json's ``open_world``: the mode, the share of "no label" the answers measured, the
    texts delivered with no label (by source), and the proposals clustered from them (each with
    its size, keywords, typical texts and every member's id, most typical first). None for a
    closed model."""
    from ..core.proposals import propose_pool

    if not getattr(model, "open_world_", False):
        return None
    sources = [src for lab, src in zip(model.pool_labels_, model.pool_source_) if lab is None]
    props = propose_pool(X_pool, pool_texts, model.pool_labels_, random_state=model.random_state)
    proposals = [{**p.as_dict(pool_texts), "ids": [pool_ids[i] for i in p.members.tolist()]} for p in props]
    return {"mode": model.open_world, "none_share": float(getattr(model, "none_share_", 0.0)),
            "no_label": {"texts": len(sources), "expert": sources.count("expert"),
                         "classifier": sources.count("classifier")},
            "proposals": proposals}


def open_lines(report: dict) -> list[str]:
    """The CLI's line about texts that fit no label, when there are any."""
    ow = report.get("open_world") or {}
    n = (ow.get("no_label") or {}).get("texts", 0)
    if not n:
        return []
    props = ow.get("proposals") or []
    shown = ", ".join(f"{p['name']} ({p['size']})" for p in props[:5])
    tail = f"; {len(props)} proposals for new labels: {shown} — `redtext propose DIR` writes them as a seed" \
        if props else ""
    return [f"{n} pool texts fit no label ({ow['no_label']['expert']} by the expert's answers, "
            f"{ow['no_label']['classifier']} by the classifier){tail}"]


def propose_file(run_dir: Path, out: Path, *, per_proposal: int = PER_PROPOSAL, log=print) -> int:
    """``redtext propose DIR``: the run's proposals as a seed file for ``redtext add-classes``
    (JSONL ``{"text", "label"}``, the suggested name as the label, the most typical texts of each
    proposal first). Edit the names, drop what is not a label, and pass it as ``--seed``.
    Returns the rows written."""
    from ..io.atomic import write_jsonl_atomic

    run_dir = Path(run_dir)
    report_path, preds_path = run_dir / "report.json", run_dir / "predictions.jsonl"
    if not report_path.is_file() or not preds_path.is_file():
        raise InputError(f"{run_dir} holds no finished run (report.json and predictions.jsonl); "
                         "give the --out folder of a finished `redtext run`")
    if per_proposal < 1:
        raise InputError(f"--per-proposal {per_proposal}: give at least 1")
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
        texts = {}
        for line in preds_path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                texts[str(row["id"])] = row["text"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{run_dir}: report.json or predictions.jsonl is damaged ({exc}); run it again") from None
    ow = report.get("open_world")
    if not isinstance(ow, dict):
        raise InputError(f"{run_dir} was a closed-world run (every text got a label); run it with "
                         "--open-world auto or on to get proposals")
    proposals = ow.get("proposals") or []
    if not proposals:
        n = (ow.get("no_label") or {}).get("texts", 0)
        raise InputError(f"{run_dir}: nothing to propose — {n} texts fit no label, and no group of at least 10 "
                         "of them is coherent enough to name" if n else
                         f"{run_dir}: nothing to propose — every pool text got a label")
    rows = []
    for p in proposals:
        for i in p["ids"][:per_proposal]:
            if i in texts:
                rows.append({"text": texts[i], "label": p["name"]})
        log(f"{p['name']}: {p['size']} texts; keywords {', '.join(p['keywords'])}; e.g. {p['typical'][0]!r}")
    write_jsonl_atomic(out, rows)
    log(f"wrote {len(rows)} seed rows for {len(proposals)} proposed labels to {out}; edit the labels, drop "
        f"the rows that are not one, then: redtext add-classes --model {run_dir}/model --seed {out} ...")
    return len(rows)
