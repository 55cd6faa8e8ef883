"""``redtext export DIR``: a run's labelled pool, with provenance, for other tools.

One row per pool text, in pool order: the delivered ``label`` (``null`` — empty in CSV — when
the text fits none of the labels: an open-world run), its ``confidence``, its
``source`` (``expert``, ``classifier`` or ``seed``), the ``round`` it was settled in (the round
of the expert's acceptance; ``null`` for seed and classifier labels), the ``expert`` that
answered about the text, the expert's verdicts on the text (``accepted``, ``rejected`` and
``abstained`` labels), ``all_noise`` and the ranked ``candidates``. With ``min_confidence``
(``--min-confidence X``) a last column ``needs_review`` is true for the rows under ``X`` (seed
rows never): the ones to route to people. Delivered confidences are calibrated (the run's
measured sharpness), so about a share ``c`` of the rows near confidence ``c`` are right.

Formats: ``jsonl``, ``csv`` (list columns as JSON arrays), ``parquet``, ``label-studio`` (a
JSON list of tasks with pre-annotations, plus the labelling config XML written next to it)
and ``argilla`` (records for ``Dataset.records.log`` of Argilla 2.x, plus the label list
written next to it). Every file is written atomically: bad input leaves nothing behind.

Rows come from ``run.db`` (texts, predictions, verdicts); ``all_noise`` is only kept in
``predictions.jsonl`` and is read from there when it matches the store (``null`` otherwise).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from ..errors import InputError

FORMATS = {  # format -> default file name in the run folder
    "jsonl": "export.jsonl",
    "csv": "export.csv",
    "parquet": "export.parquet",
    "label-studio": "export.label-studio.json",
    "argilla": "export.argilla.jsonl",
}
COLUMNS = ("id", "text", "label", "confidence", "source", "round", "expert", "accepted", "rejected",
           "abstained", "all_noise", "candidates")
# files of the run itself: an export must never replace them
_RUN_FILES = ("run.db", "run.db-wal", "run.db-shm", "predictions.jsonl", "report.json", "model", ".lock")


# -- reading a run ---------------------------------------------------------------------------
def load_rows(run_dir: str | os.PathLike, *, log=None) -> tuple[list[dict], dict]:
    """The pool of the run in ``run_dir`` as export rows, and facts about the run
    (``classes``, ``status``, ``run_id``)."""
    from ..io.store import Store, run_db_path

    run_dir = Path(run_dir)
    db = run_db_path(run_dir)
    store = Store.open_readonly(db)
    try:
        snap = store.snapshot()
    finally:
        store.close()
    status, preds = snap.status, snap.predictions
    if not preds:
        raise InputError(f"the run in {run_dir} has no predictions yet (status: {status}); "
                         f"finish it with `redtext resume {run_dir}`, then export")
    if [p[0] for p in preds] != list(range(len(snap.pool_texts))):
        raise InputError(f"the predictions in {db} do not match its {len(snap.pool_texts)} pool texts; "
                         f"rerun `redtext resume {run_dir}` to write them again")
    if status != "done" and log is not None:
        log(f"warning: the run in {run_dir} is not finished (status: {status}); exporting the predictions "
            "of its last completed pass")
    verdicts: dict[str, dict] = {}
    for _seq, round_no, text, label, verdict, expert, kind in snap.verdicts:
        if kind != "label":  # known-answer checks (seed texts) and audit questions are not provenance
            continue
        v = verdicts.setdefault(text, {"accepted": {}, "rejected": [], "abstained": [], "expert": expert})
        if verdict is None:
            v["abstained"].append(label)
        elif verdict:
            v["accepted"][label] = int(round_no)
        else:
            v["rejected"].append(label)
    all_noise = _all_noise(run_dir / "predictions.jsonl", snap.pool_ids)

    rows = []
    for i, (idx, label, conf, source, cands) in enumerate(preds):
        text = snap.pool_texts[i]
        v = verdicts.get(text)
        accepted = v["accepted"] if v else {}
        settled = None
        if source == "expert":
            settled = accepted.get(label, min(accepted.values()) if accepted else None)
        rows.append({
            "id": snap.pool_ids[i], "text": text, "label": label, "confidence": float(conf), "source": source,
            "round": settled, "expert": v["expert"] if v else None, "accepted": list(accepted),
            "rejected": list(v["rejected"]) if v else [], "abstained": list(v["abstained"]) if v else [],
            "all_noise": all_noise[i] if all_noise is not None else None,
            "candidates": [{"label": None if c[0] is None else str(c[0]), "score": float(c[1])} for c in cands],
        })
    # every label the model knows (a run that grew a model has seed examples of its new labels only)
    classes = set(snap.seed_labels) | set(_model_classes(run_dir / "model" / "manifest.json"))
    classes |= {r["label"] for r in rows} | {c["label"] for r in rows for c in r["candidates"]}
    classes.discard(None)  # "fits no label" (open world) is not a class
    return rows, {"classes": sorted(classes), "status": status, "run_id": snap.run_id}


def _model_classes(manifest: Path) -> list[str]:
    try:
        classes = json.loads(manifest.read_text(encoding="utf-8")).get("classes") or []
    except (OSError, ValueError, AttributeError):
        return []
    return [str(c) for c in classes] if isinstance(classes, list) else []


def _all_noise(path: Path, ids: list[str]) -> list[bool] | None:
    """``all_noise`` per pool text from ``predictions.jsonl`` when it matches the store."""
    if not path.is_file():
        return None
    flags = []
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                row = json.loads(line)
                if len(flags) >= len(ids) or row.get("id") != ids[len(flags)]:
                    return None
                flags.append(bool(row.get("all_noise", False)))
    except (OSError, ValueError, AttributeError):
        return None
    return flags if len(flags) == len(ids) else None


# -- writing -----------------------------------------------------------------------------------
def _atomic(path: Path, mode: str = "w"):
    from ..io.atomic import atomic_output

    return atomic_output(path, mode)


def write_jsonl(rows: list[dict], out: Path) -> list[Path]:
    from ..io.atomic import write_jsonl_atomic

    write_jsonl_atomic(out, rows)
    return [out]


def write_csv(rows: list[dict], out: Path) -> list[Path]:
    import csv

    with _atomic(out) as fh:
        writer = csv.writer(fh, lineterminator="\n")
        review = bool(rows) and "needs_review" in rows[0]
        writer.writerow(COLUMNS + (("needs_review",) if review else ()))
        for r in rows:
            writer.writerow([
                r["id"], r["text"], r["label"], r["confidence"], r["source"],
                "" if r["round"] is None else r["round"], r["expert"] or "",
                _json(r["accepted"]), _json(r["rejected"]), _json(r["abstained"]),
                "" if r["all_noise"] is None else str(r["all_noise"]).lower(), _json(r["candidates"]),
            ] + ([str(r["needs_review"]).lower()] if review else []))
    return [out]


def write_parquet(rows: list[dict], out: Path) -> list[Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    strings = pa.list_(pa.string())
    schema = pa.schema([
        ("id", pa.string()), ("text", pa.string()), ("label", pa.string()), ("confidence", pa.float64()),
        ("source", pa.string()), ("round", pa.int64()), ("expert", pa.string()), ("accepted", strings),
        ("rejected", strings), ("abstained", strings), ("all_noise", pa.bool_()),
        ("candidates", pa.list_(pa.struct([("label", pa.string()), ("score", pa.float64())]))),
    ])
    columns = COLUMNS
    if rows and "needs_review" in rows[0]:
        schema, columns = schema.append(pa.field("needs_review", pa.bool_())), COLUMNS + ("needs_review",)
    table = pa.table({name: [r[name] for r in rows] for name in columns}, schema=schema)
    with _atomic(out, "path") as tmp:
        pq.write_table(table, tmp)
    return [out]


def label_studio_config(classes: list[str]) -> str:
    """The labelling config the tasks match: a Text object ``text`` and a single-choice
    Choices control ``label`` with every class (and a filter box, for large label spaces)."""
    from xml.sax.saxutils import quoteattr

    choices = "\n".join(f"    <Choice value={quoteattr(c)}/>" for c in classes)
    return ("<View>\n"
            '  <Text name="text" value="$text"/>\n'
            '  <Filter name="filter" toName="label" minlength="0" placeholder="Filter labels"/>\n'
            '  <Choices name="label" toName="text" choice="single" showInline="false">\n'
            f"{choices}\n"
            "  </Choices>\n"
            "</View>\n")


def _sidecar(out: Path, suffix: str) -> Path:
    side = out.with_suffix(suffix)
    return side if side != out else out.with_name(out.name + suffix)


def write_label_studio(rows: list[dict], out: Path, classes: list[str]) -> list[Path]:
    from .._version import __version__

    model_version = f"redtext-{__version__}"
    config = _sidecar(out, ".xml")
    # both files land together or neither does: the config is replaced only once the tasks are written
    with _atomic(out) as fh, _atomic(config) as cfg:
        cfg.write(label_studio_config(classes))
        fh.write("[")
        for n, r in enumerate(rows):
            task = {
                "data": {"text": r["text"], "pool_id": r["id"], "source": r["source"],
                         "confidence": r["confidence"], "round": r["round"], "expert": r["expert"],
                         "accepted": r["accepted"], "rejected": r["rejected"],
                         **({"needs_review": r["needs_review"]} if "needs_review" in r else {})},
                "meta": {"all_noise": r["all_noise"], "candidates": r["candidates"],
                         "abstained": r["abstained"]},
                # a text that fits no label comes without a pre-annotation
                "predictions": [] if r["label"] is None else [{
                    "model_version": model_version, "score": r["confidence"],
                    "result": [{"from_name": "label", "to_name": "text", "type": "choices",
                                "value": {"choices": [r["label"]]}}],
                }],
            }
            fh.write(("\n" if n == 0 else ",\n") + json.dumps(task, ensure_ascii=False))
        fh.write("\n]\n")
    return [out, config]


def argilla_records(rows: list[dict]) -> list[dict]:
    """Records for ``Dataset.records.log(records, mapping=ARGILLA_MAPPING)`` in Argilla 2.x: the field
    ``text``, the suggestion for the question ``label`` (with ``score`` and ``agent``), metadata."""
    from .._version import __version__

    out = []
    for r in rows:
        if r["source"] == "expert":
            agent = f"expert:{r['expert']}" if r["expert"] else "expert"
        elif r["source"] == "classifier":
            agent = f"redtext-{__version__}"
        else:
            agent = r["source"]
        out.append({
            "id": r["id"], "text": r["text"], "label": r["label"], "score": r["confidence"], "agent": agent,
            # metadata: Argilla skips None, and terms properties take lists
            "source": r["source"], "confidence": r["confidence"], "round": r["round"], "expert": r["expert"],
            "accepted": r["accepted"] or None, "rejected": r["rejected"] or None,
            "candidates": [c["label"] for c in r["candidates"]] or None,
            **({"needs_review": r["needs_review"]} if "needs_review" in r else {}),
        })
    return out


ARGILLA_MAPPING = {"score": "label.suggestion.score", "agent": "label.suggestion.agent"}


def write_argilla(rows: list[dict], out: Path, classes: list[str]) -> list[Path]:

    labels = _sidecar(out, ".labels.json")
    with _atomic(out) as fh, _atomic(labels) as lab:  # both files land together or neither does
        lab.write(json.dumps(classes, ensure_ascii=False, indent=1) + "\n")
        encode = json.JSONEncoder(ensure_ascii=False).encode
        for record in argilla_records(rows):
            fh.write(encode(record) + "\n")
    return [out, labels]


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False)


# -- the command ---------------------------------------------------------------------------------
def export(run_dir: str | os.PathLike, fmt: str = "jsonl", out: str | os.PathLike | None = None, *,
           min_confidence: float | None = None, log=None) -> list[Path]:
    """Write the pool of the run in ``run_dir`` as ``fmt``; returns the files written."""
    import math

    fmt = (fmt or "").strip().lower()
    if fmt not in FORMATS:
        raise InputError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
    if min_confidence is not None and not (math.isfinite(min_confidence) and 0.0 <= min_confidence <= 1.0):
        raise InputError(f"--min-confidence {min_confidence}: give a confidence between 0 and 1, e.g. 0.9")
    run_dir = Path(run_dir)
    out_path = Path(out) if out is not None else run_dir / FORMATS[fmt]
    if out_path.is_dir():
        raise InputError(f"--out {out_path} is a folder; give a file name such as {out_path / FORMATS[fmt]}")
    rows, facts = load_rows(run_dir, log=log)
    if min_confidence is not None:
        for r in rows:
            r["needs_review"] = r["source"] != "seed" and r["confidence"] < min_confidence
        if log is not None:
            n = sum(r["needs_review"] for r in rows)
            log(f"{n} of {len(rows)} rows are under confidence {min_confidence} (needs_review: true)")
    targets = [out_path]
    if fmt == "label-studio":
        targets.append(_sidecar(out_path, ".xml"))
    elif fmt == "argilla":
        targets.append(_sidecar(out_path, ".labels.json"))
    protected = {(run_dir / name).resolve() for name in _RUN_FILES}
    for target in targets:
        if target.resolve() in protected:
            raise InputError(f"--out {out_path} would overwrite {target.name} of the run; choose another file name")
        if target.is_dir():
            raise InputError(f"{target} is a folder; choose another --out")
    writers = {"jsonl": write_jsonl, "csv": write_csv, "parquet": write_parquet}
    try:
        if fmt in writers:
            return writers[fmt](rows, out_path)
        if fmt == "label-studio":
            return write_label_studio(rows, out_path, facts["classes"])
        return write_argilla(rows, out_path, facts["classes"])
    except OSError as exc:
        raise InputError(f"cannot write {out_path} ({exc.strerror or exc}); check the folder exists and "
                         "is writable, or choose another --out") from None
