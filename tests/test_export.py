"""`redtext export DIR`: every format's content against the run's own files, and bad input."""
from __future__ import annotations

import csv
import json
import shutil
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import redtext

from redtext.testing import topic_texts as make_texts, write_jsonl
from redtext.cli import main

# texts a CSV writer gets wrong if it can: commas, quotes, newlines (\n and \r\n), unicode
TRICKY = [
    ('she said "hello, world" then\nleft: café ☕ 日本語 rain forecast umbrella', "weather"),
    ("loan, balance, transfer; \"quoted\" 'single' account", "banking"),
    ("flight hotel\r\npassport — naïve Zoë ✈ luggage", "travel"),
]


def build_run(base: Path) -> dict:
    """A finished run on the synthetic problem with the hashing embedder (a few seconds): the pool
    holds the TRICKY texts, a copy of a seed text (source seed) and a text twice (one verdict)."""
    base.mkdir(parents=True, exist_ok=True)
    seed_rows = make_texts(5, seed=1)
    pool_rows = make_texts(20, seed=2) + TRICKY + [seed_rows[0]]
    pool_rows.append(pool_rows[0])
    write_jsonl(base / "seed.jsonl", [{"text": t, "label": lab} for t, lab in seed_rows])
    write_jsonl(base / "pool.jsonl", [{"id": f"p{i}", "text": t} for i, (t, _) in enumerate(pool_rows)])
    write_jsonl(base / "gold.jsonl", [{"id": f"p{i}", "text": t, "label": lab} for i, (t, lab) in enumerate(pool_rows)])
    out = base / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REDTEXT_PROGRESS", "0")
        mp.setenv("REDTEXT_JOBS", "1")
        mp.setenv("REDTEXT_CACHE", str(base / "cache"))
        code = main(["run", "--seed", str(base / "seed.jsonl"), "--pool", str(base / "pool.jsonl"), "--expert",
                     "oracle", "--gold", str(base / "gold.jsonl"), "--out", str(out), "--embedder", "hashing",
                     "--budget", "0.4", "--subset-size", "4", "--question", "binary"])  # choice rows: test_choice
    assert code == 0
    return {"dir": out, "pool_rows": pool_rows, "seed_rows": seed_rows}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return build_run(tmp_path_factory.mktemp("export"))


@pytest.fixture
def run_copy(run, tmp_path):
    """A private copy of the run folder, for tests that write into it or change it."""
    dst = tmp_path / "run"
    shutil.copytree(run["dir"], dst)
    return dst


def cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def listing(folder: Path) -> list[str]:
    """File names, less SQLite's own side files (a reader of a WAL database may leave them)."""
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(("-wal", "-shm")))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def verdicts_of(run_dir: Path) -> dict[str, dict[str, tuple]]:
    with sqlite3.connect(run_dir / "run.db") as conn:
        # a choice question's candidates seen but not picked (NULL beside a pick) are no verdicts of their own
        rows = conn.execute("SELECT text, label, verdict, round FROM verdicts v WHERE kind = 'label' AND NOT ("
                            "question IS NOT NULL AND verdict IS NULL AND EXISTS (SELECT 1 FROM verdicts p "
                            "WHERE p.question = v.question AND p.verdict = 1))").fetchall()
    out: dict[str, dict[str, tuple]] = {}
    for text, label, verdict, round_no in rows:
        out.setdefault(text, {})[label] = (verdict, round_no)
    return out


def test_jsonl_has_every_pool_text_with_its_label_and_provenance(run, run_copy, capsys):
    code, _, err = cli(capsys, "export", run_copy)
    assert code == 0, err
    out = run_copy / "export.jsonl"  # the default: DIR/export.<ext>
    rows = read_jsonl(out)
    preds = read_jsonl(run_copy / "predictions.jsonl")
    assert len(rows) == len(preds) == 20 * 12 + len(TRICKY) + 2
    assert [r["text"] for r in rows] == [p["text"] for p in preds]
    for r, p in zip(rows, preds):
        assert list(r) == ["id", "text", "label", "confidence", "source", "round", "expert", "accepted", "rejected",
                           "abstained", "all_noise", "candidates"]
        for key in ("id", "label", "confidence", "source", "all_noise", "candidates"):
            assert r[key] == p[key], key
    verdicts = verdicts_of(run_copy)
    sources = {r["source"] for r in rows}
    assert sources == {"expert", "classifier", "seed"}
    for r in rows:
        asked = verdicts.get(r["text"], {})
        assert sorted(r["accepted"]) == sorted(lab for lab, (v, _) in asked.items() if v == 1)
        assert sorted(r["rejected"]) == sorted(lab for lab, (v, _) in asked.items() if v == 0)
        assert sorted(r["abstained"]) == sorted(lab for lab, (v, _) in asked.items() if v is None)
        assert (r["expert"] is None) == (not asked)
        if r["source"] == "expert":
            assert r["label"] in r["accepted"] and 0.0 < r["confidence"] <= 1.0  # the label's posterior
            if len(r["accepted"]) == 1:  # one yes and only no's besides: the yes dominates
                assert r["confidence"] > 0.5
            assert r["round"] == asked[r["label"]][1] and r["round"] >= 0
            assert r["expert"].startswith("oracle")
        else:
            assert r["round"] is None
    # the copy of a seed text takes the seed's label; the repeated text shares its verdicts
    seed_text, seed_label = run["seed_rows"][0]
    seed_rows = [r for r in rows if r["source"] == "seed"]
    assert len(seed_rows) == 1 and seed_rows[0]["id"] == f"p{len(rows) - 2}"
    assert (seed_rows[0]["text"], seed_rows[0]["label"], seed_rows[0]["accepted"]) == (seed_text, seed_label, [])
    first, last = rows[0], rows[-1]
    assert first["text"] == last["text"]
    assert (first["label"], first["accepted"], first["rejected"]) == (last["label"], last["accepted"], last["rejected"])
    assert any(r["rejected"] for r in rows)
    assert "export.jsonl" in err


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_min_confidence_marks_the_rows_to_route_to_people(run_copy, capsys, fmt):
    code, _, err = cli(capsys, "export", run_copy, "--format", fmt, "--min-confidence", "0.9")
    assert code == 0, err
    preds = read_jsonl(run_copy / "predictions.jsonl")
    out = run_copy / f"export.{fmt}"
    if fmt == "jsonl":
        flags = [r["needs_review"] for r in read_jsonl(out)]
    elif fmt == "csv":
        with open(out, newline="", encoding="utf-8") as fh:
            flags = [r["needs_review"] == "true" for r in csv.DictReader(fh)]
    else:
        import pyarrow.parquet as pq

        flags = pq.read_table(out).column("needs_review").to_pylist()
    expected = [p["source"] != "seed" and p["confidence"] < 0.9 for p in preds]
    assert flags == expected and any(expected) and not all(expected)
    assert f"{sum(expected)} of {len(preds)} rows are under confidence 0.9" in err
    # without the option the columns stay as they were
    code, _, err = cli(capsys, "export", run_copy, "--format", "jsonl", "--out", run_copy / "plain.jsonl")
    assert code == 0 and "needs_review" not in read_jsonl(run_copy / "plain.jsonl")[0]


def test_csv_round_trips_commas_quotes_newlines_and_unicode(run_copy, capsys):
    out = run_copy / "sub" / "pool.csv"  # missing folders are made
    code, _, err = cli(capsys, "export", run_copy, "--format", "csv", "--out", out)
    assert code == 0, err
    preds = read_jsonl(run_copy / "predictions.jsonl")
    with open(out, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(preds)
    assert [r["text"] for r in rows] == [p["text"] for p in preds]
    for text, _ in TRICKY:
        assert text in {r["text"] for r in rows}
    for r, p in zip(rows, preds):
        assert (r["id"], r["label"], r["source"]) == (p["id"], p["label"], p["source"])
        assert float(r["confidence"]) == p["confidence"]
        assert json.loads(r["candidates"]) == p["candidates"]
        assert r["all_noise"] == str(p["all_noise"]).lower()
        assert isinstance(json.loads(r["accepted"]), list) and isinstance(json.loads(r["rejected"]), list)
        assert (r["round"] == "") == (p["source"] != "expert")
    assert not [f for f in out.parent.iterdir() if f.name.endswith(".tmp")]


def test_parquet_is_readable_by_pyarrow_with_typed_columns(run_copy, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    code, _, err = cli(capsys, "export", run_copy, "--format", "parquet")
    assert code == 0, err
    table = pq.read_table(run_copy / "export.parquet")
    assert table.column_names == ["id", "text", "label", "confidence", "source", "round", "expert", "accepted",
                                  "rejected", "abstained", "all_noise", "candidates"]
    assert table.schema.field("confidence").type == pa.float64()
    assert table.schema.field("round").type == pa.int64()
    assert table.schema.field("accepted").type == pa.list_(pa.string())
    assert table.schema.field("candidates").type == pa.list_(pa.struct([("label", pa.string()),
                                                                        ("score", pa.float64())]))
    cli(capsys, "export", run_copy)
    assert table.to_pylist() == read_jsonl(run_copy / "export.jsonl")


def test_label_studio_tasks_and_config_match(run_copy, capsys):
    code, _, err = cli(capsys, "export", run_copy, "--format", "label-studio")
    assert code == 0, err
    tasks = json.loads((run_copy / "export.label-studio.json").read_text(encoding="utf-8"))
    preds = read_jsonl(run_copy / "predictions.jsonl")
    assert isinstance(tasks, list) and len(tasks) == len(preds)
    for task, p in zip(tasks, preds):
        assert set(task) == {"data", "meta", "predictions"}
        assert task["data"]["text"] == p["text"] and task["data"]["pool_id"] == p["id"]
        assert task["data"]["source"] == p["source"]
        [pred] = task["predictions"]
        assert pred["model_version"].startswith("redtext-")
        assert pred["score"] == p["confidence"]
        assert pred["result"] == [{"from_name": "label", "to_name": "text", "type": "choices",
                                   "value": {"choices": [p["label"]]}}]
        assert task["meta"]["candidates"] == p["candidates"]
    # the labelling config names what the tasks refer to, and lists every label of the model
    root = ET.parse(run_copy / "export.label-studio.xml").getroot()
    assert root.tag == "View"
    text = root.find("Text")
    assert text.get("name") == "text" and text.get("value") == "$text"
    choices = root.find("Choices")
    assert choices.get("name") == "label" and choices.get("toName") == "text" and choices.get("choice") == "single"
    values = [c.get("value") for c in choices.findall("Choice")]
    manifest = json.loads((run_copy / "model" / "manifest.json").read_text())
    assert values == sorted(manifest["classes"])
    assert {p["label"] for p in preds} <= set(values)
    assert root.find("Filter").get("toName") == "label"


def test_label_studio_config_escapes_labels():
    from redtext.app.export import label_studio_config

    labels = ['q&a', 'say "hi"', "<tag>", "l'été"]
    root = ET.fromstring(label_studio_config(labels))
    assert [c.get("value") for c in root.iter("Choice")] == labels


def test_argilla_records_follow_the_records_log_layout(run_copy, capsys):
    from redtext.app.export import ARGILLA_MAPPING

    code, _, err = cli(capsys, "export", run_copy, "--format", "argilla")
    assert code == 0, err
    records = read_jsonl(run_copy / "export.argilla.jsonl")
    labels = json.loads((run_copy / "export.argilla.labels.json").read_text(encoding="utf-8"))
    preds = read_jsonl(run_copy / "predictions.jsonl")
    manifest = json.loads((run_copy / "model" / "manifest.json").read_text())
    assert labels == sorted(manifest["classes"])
    assert len(records) == len(preds)
    metadata = {"source", "confidence", "round", "expert", "accepted", "rejected", "candidates"}
    for rec, p in zip(records, preds):
        # id, the field, the question's suggestion (+ score, agent through the mapping), metadata
        assert set(rec) == {"id", "text", "label", "score", "agent"} | metadata
        assert (rec["id"], rec["text"], rec["label"], rec["score"]) == (p["id"], p["text"], p["label"],
                                                                        p["confidence"])
        assert rec["label"] in labels
        assert rec["agent"] == {"expert": "expert:oracle(accuracy=0.95,seed=0)", "seed": "seed"}.get(
            p["source"], f"redtext-{redtext.__version__}")
        assert rec["candidates"] == [c["label"] for c in p["candidates"]]
        for key in ("accepted", "rejected"):  # Argilla skips None; an empty terms list is not sent
            assert rec[key] is None or (isinstance(rec[key], list) and rec[key])
        assert isinstance(rec["round"], int) if p["source"] == "expert" else rec["round"] is None
    assert ARGILLA_MAPPING == {"score": "label.suggestion.score", "agent": "label.suggestion.agent"}


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet", "label-studio", "argilla"])
def test_unfinished_run_with_no_predictions_is_refused_and_writes_nothing(tmp_path, capsys, fmt):
    from redtext.io.store import Store

    run_dir = tmp_path / "half"
    run_dir.mkdir()
    store = Store(run_dir / "run.db")
    run_id = store.create_run({"expert": "oracle"})
    store.add_texts(run_id, "seed", ["s0", "s1"], ["a b", "c d"], ["x", "y"])
    store.add_texts(run_id, "pool", ["p0"], ["e f"])
    store.close()
    before = listing(run_dir)
    code, _, err = cli(capsys, "export", run_dir, "--format", fmt)
    assert code == 2
    assert err.count("\n") == 1 and "no predictions" in err and "redtext resume" in err
    assert listing(run_dir) == before == ["run.db"]


def test_bad_input_is_one_line_exit_2_and_writes_nothing(run, tmp_path, capsys):
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "run.db").write_bytes(b"not a database at all" * 100)
    empty = tmp_path / "empty"
    empty.mkdir()
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    folder = tmp_path / "folder"
    folder.mkdir()
    run_dir = run["dir"]
    cases = {
        "missing run": ([tmp_path / "nope"], "does not exist"),
        "a file, not a run folder": ([a_file], "is a file"),
        "folder without run.db": ([empty], "no run.db"),
        "corrupt run.db": ([garbage], "run.db"),
        "unknown format": ([run_dir, "--format", "xlsx"], "xlsx"),
        "out is a folder": ([run_dir, "--out", folder], "is a folder"),
        "out would replace run.db": ([run_dir, "--out", run_dir / "run.db"], "overwrite"),
        "out would replace predictions": ([run_dir, "--out", run_dir / "predictions.jsonl"], "overwrite"),
        "out would replace report.json": ([run_dir, "--format", "label-studio", "--out", run_dir / "report.json"],
                                          "overwrite"),
        "confidence over 1": ([run_dir, "--min-confidence", "1.5"], "between 0 and 1"),
        "confidence not a number": ([run_dir, "--min-confidence", "nan"], "between 0 and 1"),
    }
    before = {p: listing(p) for p in (run_dir, garbage, empty, folder, tmp_path)}
    db_bytes = (run_dir / "run.db").read_bytes()
    for name, (args, needle) in cases.items():
        code, _, err = cli(capsys, "export", *args)
        assert code == 2, (name, err)
        assert err.startswith("error: ") and err.count("\n") == 1, (name, err)
        assert needle in err, (name, err)
    assert {p: listing(p) for p in before} == before
    assert (run_dir / "run.db").read_bytes() == db_bytes


def test_failed_run_with_earlier_predictions_exports_with_a_warning(run_copy, capsys):
    with sqlite3.connect(run_copy / "run.db") as conn:
        conn.execute("UPDATE runs SET status='failed'")
    (run_copy / "predictions.jsonl").unlink()  # all_noise is only known from it
    code, _, err = cli(capsys, "export", run_copy)
    assert code == 0, err
    assert "warning" in err and "failed" in err
    rows = read_jsonl(run_copy / "export.jsonl")
    assert len(rows) == 20 * 12 + len(TRICKY) + 2
    assert all(r["all_noise"] is None for r in rows)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    from redtext.app.export import _atomic

    target = tmp_path / "export.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with _atomic(target) as fh:
            fh.write("half a file")
            raise RuntimeError("disk on fire")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.csv"]
