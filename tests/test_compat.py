"""Run folders and model bundles written by redtext 0.1 (tests/data/old_run_v0_1: a finished run,
store schema 2, a bundle whose manifest holds the old flat parameters) still open: report,
export, classify, resume and add-classes work on them."""
from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from redtext import RED
from redtext.cli import main

OLD = Path(__file__).parent / "data" / "old_run_v0_1"


@pytest.fixture
def old(tmp_path):
    d = tmp_path / "old"
    shutil.copytree(OLD, d)
    with sqlite3.connect(d / "run.db") as conn:  # the user's files sit where the run can find them
        cfg = json.loads(conn.execute("SELECT config FROM runs").fetchone()[0])
        for key in ("seed_path", "pool_path", "gold_path"):
            cfg[key] = str(d / Path(cfg[key]).name)
        conn.execute("UPDATE runs SET config=?", (json.dumps(cfg),))
    return d


def _cli(args, capsys):
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def test_the_old_bundle_loads_with_its_flat_parameters(old):
    manifest = json.loads((old / "model" / "manifest.json").read_text())
    assert "noise_factor" in manifest["params"] and "max_rounds" in manifest["params"]  # written by 0.1
    model = RED.load(old / "model")
    assert model.classifier.noise_factor == manifest["params"]["noise_factor"]
    assert model.rounds.max_rounds == manifest["params"]["max_rounds"]
    assert model.classes_ == manifest["classes"]


def test_report_export_and_classify_open_the_old_run(old, tmp_path, capsys):
    code, err = _cli(["report", old], capsys)
    assert code == 0, err
    code, err = _cli(["export", old, "--format", "csv"], capsys)
    assert code == 0, err
    assert (old / "export.csv").read_text().count("\n") == 1 + sum(1 for _ in open(old / "pool.jsonl"))
    code, err = _cli(["classify", "--model", old / "model", "--input", old / "pool.jsonl", "--out", tmp_path / "c.jsonl"],
                     capsys)
    assert code == 0, err
    delivered = [json.loads(line) for line in (old / "predictions.jsonl").read_text().splitlines()]
    classified = [json.loads(line) for line in (tmp_path / "c.jsonl").read_text().splitlines()]
    for d, c in zip(delivered, classified):  # the saved model labels the pool as the run's classifier did
        if d["source"] == "classifier":
            assert c["label"] == d["label"]


def test_an_interrupted_old_run_resumes_replaying_its_answers(old, capsys):
    with sqlite3.connect(old / "run.db") as conn:
        answered = conn.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
        conn.execute("UPDATE runs SET status='running', stop_reason=NULL")
    before = [json.loads(line)["label"] for line in (old / "predictions.jsonl").read_text().splitlines()]
    (old / "predictions.jsonl").unlink()
    code, err = _cli(["resume", old], capsys)
    assert code == 0, err
    report = json.loads((old / "report.json").read_text())
    # today's loop weighs answers as evidence, so its replayed rounds may want a few more answers
    # within the run's budget; what 0.1 recorded is replayed, never asked again
    assert report["expert_calls"] == answered + report["new_expert_calls"]
    assert report["expert_calls"] <= report["budget_calls"]
    with sqlite3.connect(old / "run.db") as conn:
        pairs = conn.execute("SELECT text, label, COUNT(*) FROM verdicts GROUP BY text, label").fetchall()
    assert all(n == 1 for _, _, n in pairs) and len(pairs) == report["expert_calls"]
    after = [json.loads(line)["label"] for line in (old / "predictions.jsonl").read_text().splitlines()]
    gold = [json.loads(line)["label"] for line in (old / "gold.jsonl").read_text().splitlines()]
    assert len(after) == len(before) == len(gold)
    # the labels are today's delivery of the same answers: no worse than 0.1 delivered them
    right_before, right_after = (sum(a == g for a, g in zip(x, gold)) for x in (before, after))
    assert right_after >= right_before - 2, (right_before, right_after)


def test_the_old_model_grows(old, tmp_path, capsys):
    from redtext.testing import write_jsonl

    seed = write_jsonl(tmp_path / "new.jsonl", [{"text": f"zebra giraffe safari number {i}", "label": "zoo"}
                                               for i in range(4)] +
                       [{"text": f"rocket orbit planet number {i}", "label": "space"} for i in range(4)])
    code, err = _cli(["add-classes", "--model", old / "model", "--seed", seed, "--expert", "oracle", "--gold",
                      old / "gold.jsonl", "--out", tmp_path / "grown", "--budget", "5"], capsys)
    assert code == 0, err
    assert "zoo" in RED.load(tmp_path / "grown" / "model").classes_
