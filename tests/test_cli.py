"""The `redtext` command: end to end, bad input, kill and resume."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from store_counts import questions_in

from redtext.cli import main
from redtext.testing import write_jsonl

TESTS = Path(__file__).parent


def run_cli(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def base_args(problem, out, **over):
    args = {"--seed": problem["seed"], "--pool": problem["pool"], "--expert": "oracle", "--gold": problem["gold"],
            "--out": out, "--embedder": "hashing", "--budget": "0.3", "--subset-size": "4"}
    args.update(over)
    flat = ["run"]
    for k, v in args.items():
        if v is not None:
            flat += [k, v]
    return flat


def test_run_writes_every_output_and_classify_uses_the_model(problem, capsys):
    out = problem["dir"] / "out"
    code, _, err = run_cli(base_args(problem, out), capsys)
    assert code == 0, err
    run_err = err
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    gold = {json.loads(line)["id"]: json.loads(line)["label"] for line in problem["gold"].read_text().splitlines()}
    assert [p["id"] for p in preds] == [f"p{i}" for i in range(len(gold))]
    assert {p["source"] for p in preds} <= {"expert", "classifier", "seed"}
    assert any(p["source"] == "expert" for p in preds)
    with sqlite3.connect(out / "run.db") as conn:
        asked = {t for (t,) in conn.execute("SELECT text FROM verdicts WHERE kind = 'label'")}
    for p in preds:
        assert 0.0 <= p["confidence"] <= 1.0
        # a text the expert was never asked about takes the classifier's best candidate
        assert p["candidates"][0]["label"] == p["label"] or p["source"] != "classifier" or p["text"] in asked
        scores = [c["score"] for c in p["candidates"]]
        assert scores == sorted(scores, reverse=True)
    accuracy = sum(p["label"] == gold[p["id"]] for p in preds) / len(preds)
    assert accuracy > 0.7
    report = json.loads((out / "report.json").read_text())
    assert report["expert_calls"] <= report["budget_calls"] == int(0.3 * len(gold))
    assert report["stop_reason"] in {"budget", "saturated", "no_gain", "round_cap", "pool_exhausted"}
    assert report["rounds"] and report["rounds"][0]["round"] == 0
    assert (out / "model" / "manifest.json").is_file() and (out / "run.db").is_file()
    with sqlite3.connect(out / "run.db") as conn:
        assert questions_in(conn) == report["expert_calls"]
    # classify new texts with the saved model, no expert
    new = write_jsonl(problem["dir"] / "new.jsonl", [{"text": t} for t, _ in problem["test_rows"]])
    code, _, err = run_cli(["classify", "--model", out / "model", "--input", new, "--out",
                            problem["dir"] / "new_preds.jsonl"], capsys)
    assert code == 0, err
    labelled = [json.loads(line) for line in (problem["dir"] / "new_preds.jsonl").read_text().splitlines()]
    assert len(labelled) == len(problem["test_rows"])
    right = sum(r["label"] == lab for r, (_, lab) in zip(labelled, problem["test_rows"]))
    assert right / len(labelled) > 0.6
    # the saved model's confidences are the run's: calibrated by the same measured sharpness
    manifest = json.loads((out / "model" / "manifest.json").read_text())
    assert manifest["sharpness"] == report["sharpness"] and manifest["sharpness"] != 1.0
    code, _, err = run_cli(["classify", "--model", out / "model", "--input", problem["pool"], "--out",
                            problem["dir"] / "pool_preds.jsonl"], capsys)
    assert code == 0, err
    again = [json.loads(line) for line in (problem["dir"] / "pool_preds.jsonl").read_text().splitlines()]
    unasked = [(p, q) for p, q in zip(preds, again) if p["source"] == "classifier" and p["text"] not in asked]
    assert unasked and all(p["label"] == q["label"] and abs(p["confidence"] - q["confidence"]) < 1e-5
                           for p, q in unasked)
    # what the run says about its own quality, without gold
    est, quality = report["estimate"], report["expert_quality"]
    assert 0.0 <= est["low"] <= est["pool_accuracy"] <= est["high"] <= 1.0 and est["calls"] == report["quality"]["audit"]
    assert quality["calls"] == report["quality"]["checks"] > 0 and quality["warning"] is None  # the oracle is careful
    assert f"~{100 * est['pool_accuracy']:.1f} % right, 95 % interval" in run_err.splitlines()[-1]
    # resume on a finished run does nothing and says so
    code, _, err = run_cli(["resume", out], capsys)
    assert code == 0 and "already complete" in err


def test_budget_zero_labels_with_the_classifier_only(problem, capsys):
    out = problem["dir"] / "out0"
    code, _, err = run_cli(base_args(problem, out, **{"--budget": "0"}), capsys)
    assert code == 0, err
    report = json.loads((out / "report.json").read_text())
    assert report["expert_calls"] == 0 and report["stop_reason"] == "no_budget"
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert {p["source"] for p in preds} == {"classifier"}


def _bad_inputs(problem):
    d = problem["dir"]
    (d / "empty.jsonl").write_text("")
    write_jsonl(d / "nolabel.jsonl", [{"text": "a"}, {"text": "b"}])
    write_jsonl(d / "blank.jsonl", [{"text": "x y", "label": "a"}, {"text": "  ", "label": "b"}])
    (d / "latin1.jsonl").write_bytes('{"text": "caf\xe9", "label": "a"}\n'.encode("latin-1"))
    write_jsonl(d / "conflict.jsonl", [{"text": "same", "label": "a"}, {"text": "same", "label": "b"}])
    write_jsonl(d / "onelabel.jsonl", [{"text": "x", "label": "a"}, {"text": "y", "label": "a"}])
    (d / "seed.txt").write_text("text,label\n")
    held = d / "held"
    held.mkdir()
    (held / "run.db").write_text("")
    return {
        "empty seed": ({"--seed": d / "empty.jsonl"}, "empty"),
        "missing label column": ({"--seed": d / "nolabel.jsonl"}, "label"),
        "missing text column": ({"--seed": d / "nolabel.jsonl", "--text-col": "body"}, "body"),
        "blank seed text": ({"--seed": d / "blank.jsonl"}, "blank"),
        "non-utf8": ({"--seed": d / "latin1.jsonl"}, "UTF-8"),
        "conflicting duplicate": ({"--seed": d / "conflict.jsonl"}, "same"),
        "single label": ({"--seed": d / "onelabel.jsonl"}, "2"),
        "unknown format": ({"--seed": d / "seed.txt"}, ".txt"),
        "missing file": ({"--pool": d / "nope.jsonl"}, "nope.jsonl"),
        "out dir holds a run": ({"--out": held}, "resume"),
        "negative budget": ({"--budget": "-5"}, "budget"),
        "budget not a number": ({"--budget": "lots"}, "budget"),
        "unknown expert": ({"--expert": "magic"}, "magic"),
        "oracle without gold": ({"--gold": None}, "--gold"),
        "python expert missing": ({"--expert": "python:no_such_module_xyz:ask"}, "no_such_module_xyz"),
        "unknown embedder": ({"--embedder": "bert-huge"}, "bert-huge"),
    }


def test_every_bad_input_is_one_line_exit_2_and_writes_nothing(problem, capsys):
    cases = _bad_inputs(problem)
    for name, (over, needle) in cases.items():
        out = over.get("--out", problem["dir"] / f"out-{name.replace(' ', '_')}")
        code, stdout, err = run_cli(base_args(problem, out, **{k: v for k, v in over.items() if k != "--out"}),
                                    capsys)
        lines = [line for line in err.splitlines() if line.startswith("error:")]
        assert code == 2, f"{name}: exit {code}, stderr {err!r}"
        assert len(lines) == 1 and "Traceback" not in err, f"{name}: {err!r}"
        assert needle.lower() in lines[0].lower(), f"{name}: {lines[0]!r} does not mention {needle!r}"
        if name != "out dir holds a run":
            assert not out.exists(), f"{name}: left {out} behind"


def test_documented_handling_of_odd_but_valid_input(problem, capsys):
    d = problem["dir"]
    rows = [{"text": t, "label": lab} for t, lab in problem["seed_rows"]]
    rows.append({"text": "a lonely unicorn question", "label": "unicorns"})  # a class with one example
    rows.append(dict(rows[0]))  # an exact duplicate row
    seed = write_jsonl(d / "seed2.jsonl", rows)
    pool_rows = [{"id": f"p{i}", "text": t} for i, (t, _) in enumerate(problem["pool_rows"])]
    pool_rows.append({"id": "dup", "text": pool_rows[0]["text"]})      # duplicate pool text
    pool_rows.append({"id": "blank", "text": "   "})                   # blank pool text
    pool_rows.append({"id": "seedcopy", "text": rows[1]["text"]})       # identical to a seed text
    pool = write_jsonl(d / "pool2.jsonl", pool_rows)
    desc = write_jsonl(d / "labels.jsonl", [{"label": "weather", "description": "about weather"},
                                            {"label": "astrology", "description": "not in the seed"}])
    out = d / "odd"
    code, _, err = run_cli(base_args(problem, out, **{"--seed": seed, "--pool": pool, "--descriptions": desc}),
                           capsys)
    assert code == 0, err
    for needle in ("single example", "duplicate", "blank", "more than once", "astrology"):
        assert needle in err, f"no warning about {needle}: {err}"
    preds = {p["id"]: p for p in map(json.loads, (out / "predictions.jsonl").read_text().splitlines())}
    assert "blank" not in preds
    assert preds["dup"]["label"] == preds["p0"]["label"]
    assert preds["seedcopy"]["label"] == rows[1]["label"] and preds["seedcopy"]["source"] == "seed"


def test_bench_runs_every_method_and_writes_the_json_fields(tmp_path, capsys):
    from redtext.testing import topic_texts as make_texts

    data = tmp_path / "tiny"
    data.mkdir()
    write_jsonl(data / "train.jsonl", [{"text": t, "label": lab} for t, lab in make_texts(20, seed=5)])
    # one class with fewer examples than --k: all of them go to the seed
    rows = [json.loads(line) for line in (data / "train.jsonl").read_text().splitlines()]
    rows = [r for r in rows if r["label"] != "pets"] + [r for r in rows if r["label"] == "pets"][:3]
    write_jsonl(data / "train.jsonl", rows)
    write_jsonl(data / "test.jsonl", [{"text": t, "label": lab} for t, lab in make_texts(5, seed=6)])
    out = tmp_path / "bench.json"
    code, stdout, err = run_cli(["bench", data, "--k", "5", "--budget", "0.2", "--embedder", "hashing",
                                 "--subset-size", "4", "--json", out, "--markdown", tmp_path / "b.md",
                                 "--plot", tmp_path / "b.png"], capsys)
    assert code == 0, err
    result = json.loads(out.read_text())
    expected = {"dataset", "classes", "k", "pool_size", "default_method", "expert_profile", "expert_calls", "pool_accuracy",
                "test_accuracy", "test_macro_f1", "rounds", "stop_reason", "wall_s", "peak_rss_mb", "methods",
                "selection", "estimate", "expert_quality", "expert_precision", "calibration_ece", "quality_calls", "found",
                "question", "tokens"}
    assert set(result) == expected
    methods = result["methods"]
    assert set(methods) == {"red", "flat_seed", "flat_al", "knn", "gold_upper"}
    for b in methods.values():
        assert {"pool_accuracy", "test_accuracy", "expert_calls"} <= set(b)
    # the headline is what `redtext run` does by default: one flat classifier at 12 labels
    assert result["default_method"] == "flat_al"
    for key in ("pool_accuracy", "test_accuracy", "expert_calls", "stop_reason", "estimate", "expert_quality"):
        assert result[key] == methods["flat_al"][key]
    est = result["estimate"]  # the label-free estimate of pool accuracy, with its 95 % interval
    assert 0.0 <= est["low"] <= est["pool_accuracy"] <= est["high"] <= 1.0
    q = result["expert_quality"]  # measured on known-answer questions, with the oracle's true rates beside
    assert q["positives"] + q["negatives"] > 0 and 0.0 <= q["tpr_low"] <= q["tpr"] <= q["tpr_high"] <= 1.0
    assert result["classes"] == 12 and result["k"] == 5
    assert result["pool_size"] == len(rows) - 11 * 5 - 3
    assert result["expert_calls"] <= int(0.2 * result["pool_size"])
    assert methods["red"]["expert_calls"] <= int(0.2 * result["pool_size"])
    assert methods["gold_upper"]["test_accuracy"] >= methods["flat_seed"]["test_accuracy"] - 0.05
    assert "flat_al" in stdout and "gold_upper" in stdout
    md = (tmp_path / "b.md").read_text()
    assert result["selection"] in ("margin", "runner_up")
    assert f"selection {result['selection']} (auto)" in md
    assert "| flat_al |" in md and "| red |" in md and "![tiny" in md and "(b.png)" in md
    assert (tmp_path / "b.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_bad_dataset_and_k(tmp_path, capsys):
    code, _, err = run_cli(["bench", tmp_path / "nothing_here"], capsys)
    assert code == 2 and "not found" in err
    code, _, err = run_cli(["bench", tmp_path / "nothing_here", "--k", "0"], capsys)
    assert code == 2
    code, _, err = run_cli(["bench", tmp_path / "nothing_here", "--uncertainty", "luck"], capsys)
    assert code == 2 and "--uncertainty 'luck'" in err and "runner_up" in err


def _env(problem, log):
    env = dict(os.environ)
    env.update(PYTHONPATH=os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")]), REDTEXT_TEST_GOLD=str(problem["gold"]),
               REDTEXT_TEST_LOG=str(log), REDTEXT_PROGRESS="0")
    return env


def _cli(*args):
    return [sys.executable, "-c", "from redtext.cli import entry; entry()", *map(str, args)]


@pytest.mark.slow  # a real process, killed or fed at its prompt
def test_sigkill_mid_round_then_resume_never_reasks_a_stored_question(problem):
    out = problem["dir"] / "killed"
    log = problem["dir"] / "asked.log"
    env = _env(problem, log)
    env["REDTEXT_TEST_SLEEP"] = "0.05"
    args = base_args(problem, out, **{"--expert": "python:scripted_expert:ask", "--gold": None, "--budget": "90"})
    proc = subprocess.Popen(_cli(*args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline:
        if log.exists() and len(log.read_text().splitlines()) >= 25:
            break
        if proc.poll() is not None:
            pytest.fail(f"run ended before it could be killed: {proc.stderr.read().decode()}")
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "predictions.jsonl").exists() and not (out / "report.json").exists()
    asked_before = [tuple(json.loads(line)) for line in log.read_text().splitlines()]
    with sqlite3.connect(out / "run.db") as conn:
        stored = {(t, lab) for t, lab in conn.execute("SELECT text, label FROM verdicts")}
    # the kill may land between the expert's answer (logged) and its commit: at most that one is lost
    assert len(asked_before) - 1 <= len(stored) < 90
    assert set(asked_before) - stored <= {asked_before[-1]}
    resumed = subprocess.run(_cli("resume", out), env=_env(problem, log), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    asked_all = [tuple(json.loads(line)) for line in log.read_text().splitlines()]
    asked_after = asked_all[len(asked_before):]
    assert not set(asked_after) & stored, "a question with a stored verdict was asked again"
    assert len(set(asked_after)) == len(asked_after)
    report = json.loads((out / "report.json").read_text())
    assert report["expert_calls"] <= 90
    assert len(set(asked_all)) == report["expert_calls"]
    preds = (out / "predictions.jsonl").read_text().splitlines()
    assert len(preds) == len(problem["pool_rows"])


def test_cli_subprocess_bad_input_has_no_traceback(problem, tmp_path):
    proc = subprocess.run(_cli("run", "--seed", tmp_path / "missing.jsonl", "--pool", problem["pool"], "--expert",
                               "oracle", "--gold", problem["gold"], "--out", tmp_path / "o"),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("error:") and len(proc.stderr.strip().splitlines()) == 1
    proc = subprocess.run(_cli("run", "--seed", problem["seed"]), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "--pool" in proc.stderr


def test_expert_that_fails_stops_cleanly_and_can_resume(problem):
    out = problem["dir"] / "broken"
    env = _env(problem, problem["dir"] / "unused.log")
    proc = subprocess.run(_cli(*base_args(problem, out, **{"--expert": "python:scripted_expert:broken",
                                                           "--gold": None})),
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "service unavailable" in proc.stderr
    assert "redtext resume" in proc.stderr
    assert not (out / "predictions.jsonl").exists()


def test_a_second_process_on_the_same_run_folder_is_refused(problem, capsys):
    import fcntl

    out = problem["dir"] / "locked"
    assert run_cli(base_args(problem, out, **{"--budget": "5"}), capsys)[0] == 0
    with open(out / ".lock", "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, _, err = run_cli(["resume", out], capsys)
    assert code == 2 and "another redtext process" in err


def test_a_failed_start_does_not_block_the_folder(problem, capsys):
    out = problem["dir"] / "again"
    out.mkdir()
    from redtext.io.store import Store

    s = Store(out / "run.db")
    s.set_status(s.create_run({}), "failed")  # what a start that crashed before any question leaves
    s.close()
    code, _, err = run_cli(base_args(problem, out, **{"--budget": "5"}), capsys)
    assert code == 0, err
    assert (out / "report.json").is_file()


def test_more_bad_values_are_one_line_errors(problem, capsys, tmp_path):
    for over, needle in [({"--budget": "nan"}, "budget"), ({"--budget": "inf"}, "budget"),
                         ({"--embedder": "hashing:0"}, "hashing"), ({"--noise-factor": "nan"}, "noise_factor"),
                         ({"--subset-size": "big"}, "subset-size"), ({"--subset-size": "-2"}, "subset-size"),
                         ({"--uncertainty": "luck"}, "uncertainty")]:
        out = tmp_path / f"o{len(needle)}{over.get('--budget', '')}"
        code, _, err = run_cli(base_args(problem, out, **over), capsys)
        assert code == 2 and needle in err and "internal error" not in err, (over, err)
    code, _, err = run_cli(["review", problem["dir"], "--port", "70000"], capsys)
    assert code == 2  # no run.db there: the folder is checked first


def test_no_arguments_prints_the_help_once_and_version_prints_the_version(capsys):
    import redtext

    code, out, err = run_cli([], capsys)
    assert (out + err).count("Usage: redtext") == 1
    code, out, _ = run_cli(["--version"], capsys)
    assert code == 0 and out.strip() == f"redtext {redtext.__version__}"
    code, out, _ = run_cli(["run", "--help"], capsys)
    assert "redtext[fast]" in out.replace("\n", "").replace("│", "").replace(" ", "")


def test_a_model_remembers_the_columns_of_its_run(problem, capsys):
    """#17 item 7: a run on `utterance`/`msg_id` columns; classify needs no --text-col again."""
    d = problem["dir"]
    rename = {"text": "utterance", "id": "msg_id", "label": "intent"}
    for name in ("seed", "pool", "gold"):
        rows = [json.loads(line) for line in problem[name].read_text().splitlines()]
        write_jsonl(d / f"{name}_cols.jsonl", [{rename.get(k, k): v for k, v in r.items()} for r in rows])
    out = d / "cols"
    args = base_args({"seed": d / "seed_cols.jsonl", "pool": d / "pool_cols.jsonl", "gold": d / "gold_cols.jsonl"},
                     out) + ["--text-col", "utterance", "--label-col", "intent", "--id-col", "msg_id"]
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    code, _, err = run_cli(["classify", "--model", out / "model", "--input", d / "pool_cols.jsonl", "--out",
                            d / "cols.jsonl"], capsys)
    assert code == 0, err
    rows = [json.loads(line) for line in (d / "cols.jsonl").read_text().splitlines()]
    pool = [json.loads(line) for line in (d / "pool_cols.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [p["msg_id"] for p in pool]
    # an explicit option still wins
    code, _, err = run_cli(["classify", "--model", out / "model", "--input", d / "pool_cols.jsonl", "--out",
                            d / "cols2.jsonl", "--text-col", "nope"], capsys)
    assert code == 2 and "no column 'nope'" in err


def test_bench_trust_table_counts_coverage_and_refuses_bad_input(capsys):
    from redtext.bench.trust import render

    rows = [{"dataset": "d", "profile": p, "seed": 0, "pool": 0.95, "test": 0.9, "expert_precision": 0.9,
             "estimate": 0.94, "low": lo, "high": hi, "covered": lo <= 0.95 <= hi, "fpr": 0.1, "true_fpr": 0.05,
             "true_fpr_binary": 0.08 if p == "careful" else 0.2, "tpr": 1.0, "true_tpr": 0.95, "ece": 0.01, "calls": 100, "qc_calls": 3, "audit_calls": 2,
             "stop": "budget", "wall_s": 1.0} for p, lo, hi in (("careful", 0.93, 0.96), ("strict", 0.96, 0.97))]
    table = render(rows)
    assert "covers the true pool accuracy in 1 of 2 runs" in table
    assert "| d | careful | 0 | 95.00 |" in table and "| no |" in table
    assert "on every verdict (a choice's unpicked candidates count as no): mean 0.050, max 0.050" in table
    assert "on binary questions: mean 0.060, max 0.100, within 0.05 in 1 of 2 runs" in table
    assert "| 0.100 / 0.080 / 0.050 |" in table
    for args, needle in ((["bench-trust", "--datasets", "nope"], "use some of"),
                         (["bench-trust", "--seeds", "a"], "whole numbers"),
                         (["bench-trust", "--profiles", "kind"], "use some of")):
        code, _, err = run_cli(args, capsys)
        assert code == 2 and needle in err, err


def test_the_bench_meter_measures_the_true_fpr_of_binary_pool_questions_only():
    """The rate the known-answer checks estimate: yes to a wrong label, binary questions about
    pool texts only (a seed text's check and a right label do not count)."""
    from redtext.bench.tokens import TokenMeter
    from redtext.core.questions import Context, Question

    class Scripted:
        name, batch_size = "scripted", 8
        truth = {"a": "x", "b": "x", "c": "y", "s": "x"}

        def gold(self, q):
            return self.truth[q.text]

        def ask(self, questions):
            return [q.label in ("x", "z") for q in questions]  # says yes to x and to z

    meter = TokenMeter(Scripted())
    assert meter.binary_fpr is None
    qs = [Question(i, t, lab, Context(lab)) for i, t, lab in
          (("1", "a", "x"), ("2", "b", "z"), ("3", "c", "x"), ("4", "c", "w"), ("seed:0", "s", "z"))]
    assert meter.ask(qs) == [True, True, True, False, True]
    assert meter.binary_fpr == 2 / 3  # wrong labels asked about pool texts: b/z yes, c/x yes, c/w no
