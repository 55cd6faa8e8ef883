"""`redtext run --expert review` + `redtext review DIR`, answered in headless Chromium."""
from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import time

import pytest

from test_cli import _cli, base_args

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.integration


def test_a_person_answers_the_queue_in_a_browser(problem, tmp_path):
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), "Debian's chromium is needed: `make test` installs it (apt-get install chromium)"
    out = problem["dir"] / "rev"
    env = dict(os.environ, REDTEXT_PROGRESS="0")
    run = subprocess.Popen(_cli(*base_args(problem, out, **{"--expert": "review", "--gold": None, "--budget": "6"})),
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (out / "run.db").exists() and time.time() < deadline:
        time.sleep(0.1)
    server = subprocess.Popen(_cli("review", out, "--port", "0"), env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+/", server.stdout.readline()).group(0)
        answers = 0
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page()
            page.goto(url)
            while run.poll() is None and time.time() < deadline:
                card = page.locator("#card")
                try:
                    card.wait_for(state="visible", timeout=3000)
                except Exception:
                    continue
                label = page.locator("#label").inner_text()
                text = page.locator("#text").inner_text()
                assert label and text
                assert page.locator("#examples li").count() >= 1
                # the keyboard shortcut first, then the buttons; "no" for the last question
                if answers == 0:
                    page.keyboard.press("y")
                elif answers < 5:
                    page.locator("#yes").click()
                else:
                    page.locator("#no").click()
                answers += 1
                page.wait_for_function(f"document.getElementById('progress').textContent.startsWith('{answers} answered')",
                                       timeout=5000)
            run.wait(timeout=120)
            assert run.returncode == 0, run.stderr.read()
            # the run is over: the page says so instead of checking again forever
            page.locator("#over").wait_for(state="visible", timeout=10000)
            assert "The run is over (done" in page.locator("#over").inner_text()
            page.screenshot(path=str(tmp_path / "review.png"))
            browser.close()
    finally:
        for p in (server, run):
            if p.poll() is None:
                p.kill()
    report = json.loads((out / "report.json").read_text())
    assert report["expert_calls"] == answers == 6
    with sqlite3.connect(out / "run.db") as conn:
        verdicts = [r[0] for r in conn.execute("SELECT verdict FROM verdicts ORDER BY seq")]
    assert verdicts == [1, 1, 1, 1, 1, 0]


def test_an_answer_is_undone_in_the_browser_until_the_run_takes_it(tmp_path):
    """``u`` puts the last answer back in the queue (the same question comes back); once the run
    has taken the answers, undo is refused and the page says so."""
    import threading

    from playwright.sync_api import sync_playwright

    from redtext.experts.review import make_server
    from redtext.io.store import Store

    db = tmp_path / "run.db"
    store = Store(db)
    store.queue_questions([("k1", "p1", "first text about rain", "weather", None, ["sunny today"]),
                           ("k2", "p2", "second text about loans", "banking", None, ["my account"])])
    server = make_server(db, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    progress = "document.getElementById('progress').textContent"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page()
            page.goto(url)
            page.locator("#card").wait_for(state="visible", timeout=5000)
            assert page.locator("#text").inner_text() == "first text about rain"
            page.keyboard.press("n")  # a slip
            page.wait_for_function(f"{progress}.startsWith('1 answered')", timeout=5000)
            assert page.locator("#text").inner_text() == "second text about loans"
            page.keyboard.press("u")
            page.wait_for_function(f"{progress}.startsWith('0 answered')", timeout=5000)
            assert page.locator("#text").inner_text() == "first text about rain"  # back, first in line
            page.keyboard.press("y")
            page.wait_for_function(f"{progress}.startsWith('1 answered')", timeout=5000)
            page.locator("#yes").click()
            page.wait_for_function(f"{progress}.startsWith('2 answered')", timeout=5000)
            assert store.take_answers(["k1", "k2"]) == [True, True]  # the run takes them
            page.keyboard.press("u")
            page.wait_for_function(f"{progress}.includes('too late to undo')", timeout=5000)
            browser.close()
    finally:
        server.shutdown()
        store.close()


def test_a_person_answers_choice_questions_in_the_browser(tmp_path):
    """A choice question on the page: the text and its numbered candidates; a key or a click picks
    one, 0 says none of them; the run gets the labels."""
    import threading

    from playwright.sync_api import sync_playwright

    from redtext.core.questions import ChoiceQuestion, Context
    from redtext.experts.review import QueueExpert, make_server

    db = tmp_path / "run.db"
    expert = QueueExpert(db, poll=0.05)
    cands = (Context("weather", "rain and sun", ("is it sunny",)), Context("banking", None, ("my account",)),
             Context("travel", None, ()))
    questions = [ChoiceQuestion(f"p{i}", text, cands) for i, text in enumerate(
        ["will it rain tomorrow", "book me a flight", "what is the meaning of life"])]
    got = {}
    worker = threading.Thread(target=lambda: got.setdefault("answers", expert.ask_choice(questions)), daemon=True)
    worker.start()
    while not db.exists():
        time.sleep(0.05)
    time.sleep(0.3)
    server = make_server(db, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    progress = "document.getElementById('progress').textContent"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page()
            page.goto(url)
            page.locator("#choice").wait_for(state="visible", timeout=5000)
            assert page.locator("#card").is_hidden()
            assert page.locator("#ctext").inner_text() == "will it rain tomorrow"
            assert page.locator("#choices li").count() == 3
            assert "rain and sun" in page.locator("#choices li").nth(0).inner_text()
            page.keyboard.press("1")
            page.wait_for_function(f"{progress}.startsWith('1 answered')", timeout=5000)
            page.locator("#choices li button").nth(2).click()  # travel, by a click
            page.wait_for_function(f"{progress}.startsWith('2 answered')", timeout=5000)
            page.keyboard.press("0")
            worker.join(timeout=10)
            browser.close()
    finally:
        server.shutdown()
    assert got["answers"] == ["weather", "travel", None]
