"""Experts importable as ``python:scripted_expert:NAME`` by CLI tests (tests/ on PYTHONPATH).

``ask`` answers from the gold file named by REDTEXT_TEST_GOLD and appends every question to
the log named by REDTEXT_TEST_LOG *after* answering, optionally sleeping first
(REDTEXT_TEST_SLEEP seconds) so a test can kill the process mid-round.
"""
from __future__ import annotations

import json
import os
import time

_gold: dict[str, str] | None = None


def _load():
    global _gold
    if _gold is None:
        with open(os.environ["REDTEXT_TEST_GOLD"], encoding="utf-8") as fh:
            _gold = {r["text"]: r["label"] for r in map(json.loads, fh)}
    return _gold


def ask(text, label, context):
    answer = _load().get(text) == label
    time.sleep(float(os.environ.get("REDTEXT_TEST_SLEEP", "0")))
    log = os.environ.get("REDTEXT_TEST_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(json.dumps([text, label]) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    return answer


def broken(text, label, context):
    raise RuntimeError("service unavailable")


_calls = {"n": 0, "interrupted": False}


def interrupt_after_5(text, label, context):
    """Answers yes five times, then raises KeyboardInterrupt once (as Ctrl-C in the expert would); yes after."""
    _calls["n"] += 1
    if _calls["n"] > 5 and not _calls["interrupted"]:
        _calls["interrupted"] = True
        raise KeyboardInterrupt
    return True
