"""`redtext run --expert openai:...` end to end against a local scripted server, with faults;
the cache across runs; hard limits; dry run; kill and resume; the terminal human expert."""
from __future__ import annotations

import io
import json
import signal
import sqlite3
import subprocess
import time

import pytest
from fake_llm import FakeLLM
from store_counts import questions_in
from test_cli import _cli, base_args

from redtext.cli import main
from redtext.experts.base import NOT_ASKED, Context, Question
from redtext.experts.human import TerminalExpert


def llm_args(problem, out, server, cache, **over):
    args = base_args(problem, out, **{"--expert": "openai:fake-model", "--gold": None, "--base-url": server.base_url,
                                      "--cache": cache, "--concurrency": "4", **over})
    return args


def gold_of(problem):
    return {t: lab for t, lab in problem["pool_rows"]}


def faulty(n, text, label):
    if n % 7 == 3:
        return ("status", 500)
    if n % 11 == 5:
        return ("reply", "Maybe")
    if n == 1:
        return ("status", 429, {"Retry-After": "0.1"})
    return ("ok",)


def test_run_through_a_faulty_server_then_rerun_from_cache(problem, capsys):
    d = problem["dir"]
    with FakeLLM(gold_of(problem), faulty) as server:
        assert main([str(a) for a in llm_args(problem, d / "a", server, d / "cache.db")]) == 0, capsys.readouterr().err
        first = len(server.requests)
        report = json.loads((d / "a" / "report.json").read_text())
        usage = report["expert_usage"]
        assert usage["http_calls"] == first and usage["retries"] > 0 and usage["abstained"] >= 0
        assert report["expert_calls"] <= report["budget_calls"]
        assert server.max_in_flight <= 4
        # every answered question stored exactly once, none asked twice by the loop
        with sqlite3.connect(d / "a" / "run.db") as conn:
            rows = conn.execute("SELECT text, label, again FROM verdicts").fetchall()
            questions = questions_in(conn)
        assert len(rows) == len(set(rows)) and questions == report["expert_calls"]
        # tokens counted once per successful response (100 prompt tokens each in the fake)
        ok_calls = usage["http_calls"] - usage["errors"]
        assert usage["prompt_tokens"] == 100 * ok_calls
        # the same run again, new out dir, same cache: zero HTTP calls, same labels
        assert main([str(a) for a in llm_args(problem, d / "b", server, d / "cache.db")]) == 0
        assert len(server.requests) == first
    a = (d / "a" / "predictions.jsonl").read_text()
    b = (d / "b" / "predictions.jsonl").read_text()
    assert a == b
    report_b = json.loads((d / "b" / "report.json").read_text())
    assert report_b["expert_usage"]["http_calls"] == 0 and report_b["expert_usage"]["cache_hits"] > 0


def test_max_calls_stops_the_run_cleanly(problem, capsys):
    d = problem["dir"]
    with FakeLLM(gold_of(problem)) as server:
        code = main([str(a) for a in llm_args(problem, d / "lim", server, d / "c.db", **{"--max-calls": "7"})])
        assert code == 0, capsys.readouterr().err
        assert len(server.requests) <= 7
    report = json.loads((d / "lim" / "report.json").read_text())
    assert report["stop_reason"] == "expert_limit" and report["expert_calls"] <= 7
    # the limit holds across processes: resuming spends nothing more
    with FakeLLM(gold_of(problem)) as server:
        assert main(["resume", str(d / "lim")]) == 0
        assert server.requests == []
    first = report["expert_usage"]["http_calls"]
    # a raised limit: report.json counts the whole run's HTTP calls, not the last process's
    with FakeLLM(gold_of(problem)) as server:
        assert main(["resume", str(d / "lim"), "--max-calls", "20", "--base-url", server.base_url]) == 0, \
            capsys.readouterr().err
        second = len(server.requests)
    usage = json.loads((d / "lim" / "report.json").read_text())["expert_usage"]
    assert second > 0 and usage["http_calls"] == first + second <= 20
    assert usage["this_process"]["http_calls"] == second
    # tokens too are the whole run's (the fake server bills 100 prompt tokens and 1 completion a call)
    assert usage["prompt_tokens"] == 100 * (first + second) and usage["completion_tokens"] == first + second
    assert usage["this_process"]["prompt_tokens"] == 100 * second


def test_dry_run_respects_the_hard_limits(problem, capsys):
    d = problem["dir"]
    with FakeLLM(gold_of(problem)) as server:
        code = main([str(a) for a in llm_args(problem, d / "dry", server, d / "c.db", **{"--max-calls": "5"})]
                    + ["--dry-run"])
        out, err = capsys.readouterr()
        assert code == 0, err
    est = json.loads(out)
    assert est["run"]["calls"] == 5 and "at most 5 binary (a choice of 5 after a 'no') expert questions" in err
    assert est["up_to"]["prompt_tokens"] > est["run"]["prompt_tokens"]  # the same 5, every one a choice
    assert "--max-calls 5" in err


def test_dry_run_sends_and_writes_nothing(problem, capsys):
    d = problem["dir"]
    with FakeLLM(gold_of(problem)) as server:
        code = main([str(a) for a in llm_args(problem, d / "dry", server, d / "c.db")] + ["--dry-run"])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert server.requests == []
    assert not (d / "dry").exists() and not (d / "c.db").exists()
    est = json.loads(out)
    assert est["run"]["calls"] == int(0.3 * len(problem["pool_rows"]))
    assert 0 < est["run"]["prompt_tokens"] < est["llm_only"]["prompt_tokens"]
    assert est["llm_only"]["calls"] == len(problem["pool_rows"])
    assert "Nothing was sent" in err


def _answered(cache_db):
    with sqlite3.connect(cache_db) as conn:
        rows = conn.execute("SELECT request FROM expert_calls WHERE status IN ('ok', 'malformed')").fetchall()
    return {FakeLLM.question(json.loads(r[0])) for r in rows}


@pytest.mark.slow  # a real process, killed or fed at its prompt
def test_killed_mid_flight_resume_reasks_only_unanswered(problem):
    d = problem["dir"]
    with FakeLLM(gold_of(problem), delay=0.05) as server:
        args = llm_args(problem, d / "k", server, d / "cache.db", **{"--budget": "60"})
        proc = subprocess.Popen(_cli(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 120
        while len(server.requests) < 20 and time.time() < deadline:
            if proc.poll() is not None:
                raise AssertionError(proc.stderr.read().decode())
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        time.sleep(0.3)
        before = len(server.requests)
        answered = _answered(d / "cache.db")
        assert answered, "nothing answered before the kill"
        resumed = subprocess.run(_cli("resume", d / "k"), capture_output=True, text=True, timeout=300)
        assert resumed.returncode == 0, resumed.stderr
        after = server.asked()[before:]
    assert not set(after) & answered, "a question answered before the kill was sent again"
    report = json.loads((d / "k" / "report.json").read_text())
    assert report["expert_calls"] <= 60


def test_terminal_human_expert_answers_undo_skip_quit(tmp_path):
    qs = [Question(f"i{n}", f"text {n}", "alpha", Context("alpha", "first", ("ex",))) for n in range(5)]
    script = iter(["y", "n", "u", "y", "maybe?", "s", "q"])
    out = io.StringIO()
    human = TerminalExpert(tmp_path / "h.db", input_fn=lambda prompt: next(script), output=out)
    answers = human.ask(qs)
    assert answers[:3] == [True, True, None] and answers[3] is NOT_ASKED and answers[4] is NOT_ASKED
    assert human.exhausted and "text 0" in out.getvalue() and "? y = yes" in out.getvalue()
    # answers were persisted as given: a new session is not asked them again
    script2 = iter(["n", "y"])
    again = TerminalExpert(tmp_path / "h.db", input_fn=lambda prompt: next(script2), output=io.StringIO())
    assert again.ask(qs) == [True, True, None, False, True]


@pytest.mark.slow  # a real process, killed or fed at its prompt
def test_cli_human_expert_quits_on_end_of_input_and_resumes(problem):
    d = problem["dir"]
    # y/n answers: binary questions only (number keys for choice questions: test_choice)
    args = base_args(problem, d / "h", **{"--expert": "human", "--gold": None, "--budget": "12", "--question": "binary"})
    first = subprocess.run(_cli(*args), input="y\nn\ny\n", capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    report = json.loads((d / "h" / "report.json").read_text())
    assert report["stop_reason"] == "expert_limit" and report["expert_calls"] == 3
    assert "label:" in first.stderr and "text:" in first.stderr
    # a run the expert stopped continues on resume, the three answers kept
    second = subprocess.run(_cli("resume", d / "h"), input="y\n" * 40, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    report = json.loads((d / "h" / "report.json").read_text())
    assert report["expert_calls"] == 12 and report["stop_reason"] == "budget"
    with sqlite3.connect(d / "h" / "run.db") as conn:
        rows = conn.execute("SELECT text, label, verdict FROM verdicts ORDER BY seq").fetchall()
    assert len(rows) == 12 and [r[2] for r in rows[:3]] == [1, 0, 1]


def test_describe_writes_editable_descriptions_and_keeps_the_users(problem, capsys):
    from redtext.testing import write_jsonl

    d = problem["dir"]
    mine = write_jsonl(d / "mine.jsonl", [{"label": "weather", "description": "my own words"}])
    with FakeLLM() as server:
        args = ["describe", "--seed", problem["seed"], "--describer", "openai:big-model", "--out", d / "labels.jsonl",
                "--descriptions", mine, "--base-url", server.base_url, "--cache", d / "c.db"]
        assert main([str(a) for a in args]) == 0, capsys.readouterr().err
        n = len(server.requests)
        assert n == 11  # 12 labels, one given by the user
        rows = [json.loads(line) for line in (d / "labels.jsonl").read_text().splitlines()]
        by = {r["label"]: r for r in rows}
        assert by["weather"] == {"label": "weather", "description": "my own words", "source": "user"}
        assert by["music"]["description"] == "Texts about music. Short and clear."
        assert by["music"]["source"] == "openai:big-model"
        # examples of the label were shown to the describer
        prompts = [b["messages"][-1]["content"] for b in server.requests]
        music = [p for p in prompts if "Label: music" in p]
        assert len(music) == 1 and sum(w in music[0] for w in ("guitar", "concert", "playlist", "album")) >= 2
        # a second run is served from the cache
        assert main([str(a) for a in args]) == 0
        assert len(server.requests) == n
    # the written file feeds `redtext run --descriptions`
    with FakeLLM(gold_of(problem)) as server:
        code = main([str(a) for a in llm_args(problem, d / "r", server, d / "c2.db", **{"--descriptions": d / "labels.jsonl",
                                                                                       "--budget": "10"})])
        assert code == 0
        assert any("What the label means: Texts about" in b["messages"][-1]["content"] for b in server.requests)


def test_resume_takes_a_corrected_base_url_and_a_raised_limit(problem, capsys):
    d = problem["dir"]
    with FakeLLM(gold_of(problem)) as server:
        wrong = "http://127.0.0.1:9/v1"  # nothing listens on the discard port
        code = main([str(a) for a in llm_args(problem, d / "fix", server, d / "c.db", **{"--base-url": wrong,
                                                                                        "--budget": "12"})])
        assert code == 1 and "redtext resume" in capsys.readouterr().err
        assert main(["resume", str(d / "fix"), "--base-url", server.base_url]) == 0, capsys.readouterr().err
        assert 0 < len(server.requests)
    report = json.loads((d / "fix" / "report.json").read_text())
    # the resumed run asked through the corrected URL and finished within its budget
    assert report["stop_reason"] in ("budget", "saturated") and 0 < report["expert_calls"] <= 12
    assert report["new_expert_calls"] == len(server.requests) == report["expert_calls"]
