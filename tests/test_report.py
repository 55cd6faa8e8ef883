"""`redtext report DIR`: the HTML page of a run folder, checked against what the store holds."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
from store_counts import QUESTIONS, questions_in

from redtext.cli import main
from redtext.testing import TOPICS, write_jsonl
from redtext.testing import topic_texts as make_texts

TESTS = Path(__file__).parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SECTIONS = ("summary", "quality", "stop", "rounds", "labels", "confusions", "rejected", "notes")
PLOTS = ("plot-uncertain", "plot-answers", "plot-calls", "plot-cost", "plot-confidence", "plot-acceptance",
         "plot-delivered")
HOSTILE_LABEL = '<img src=x onerror="alert(1)">'
DOLLAR_LABEL = 'a&b "c" $\\notamacro$ 5'   # matplotlib would fail on it as mathtext
HOSTILE_TEXT = "<script>alert('pwned')</script> rain forecast umbrella"


# -- helpers -------------------------------------------------------------------------------------
class Page(HTMLParser):
    """The parts of the page the tests read: text by element id, tables by id, images, attributes."""

    def __init__(self, markup: str):
        super().__init__(convert_charrefs=True)
        self.text: dict[str, str] = {}
        self.attrs: dict[str, dict] = {}
        self.tables: dict[str, list[list[str]]] = {}
        self.row_attrs: dict[str, list[dict]] = {}
        self.images: list[dict] = []
        self.tags: Counter = Counter()
        self._open: list[tuple[str, str | None]] = []
        self._ids: list[str] = []
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_body = False
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags[tag] += 1
        if tag == "img":
            self.images.append(a)
            return
        if tag in ("meta", "br", "hr", "link"):
            return
        ident = a.get("id")
        if ident:
            self.attrs[ident] = a
            self.text.setdefault(ident, "")
            self._ids.append(ident)
        self._open.append((tag, ident))
        if tag == "table":
            self._table = ident
            self.tables[ident] = []
            self.row_attrs[ident] = []
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self._row = []
            self.row_attrs[self._table].append(a)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("img", "meta", "br", "hr", "link"):
            return
        while self._open:
            t, ident = self._open.pop()
            if ident:
                self._ids.remove(ident)
            if t == tag:
                break
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "tbody":
            self._in_body = False

    def handle_data(self, data):
        for ident in self._ids:
            self.text[ident] += data
        if self._cell is not None:
            self._cell.append(data)


def cli(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def make_run(root: Path, *, name="run") -> Path:
    """A finished run made with the real CLI: hashing embedder, simulated oracle (80 % accurate, so the
    expert rejects and corrects), 12 labels, 300 pool texts — a few seconds."""
    seed_rows, pool_rows = make_texts(5, seed=1), make_texts(25, seed=2)
    root.mkdir(parents=True, exist_ok=True)
    seed = write_jsonl(root / "seed.jsonl", [{"text": t, "label": lab} for t, lab in seed_rows])
    pool = write_jsonl(root / "pool.jsonl", [{"id": f"p{i}", "text": t} for i, (t, _) in enumerate(pool_rows)])
    gold = write_jsonl(root / "gold.jsonl", [{"id": f"p{i}", "text": t, "label": lab}
                                             for i, (t, lab) in enumerate(pool_rows)])
    out = root / name
    code = main(["run", "--seed", str(seed), "--pool", str(pool), "--expert", "oracle", "--gold", str(gold),
                 "--out", str(out), "--embedder", "hashing", "--budget", "0.3", "--subset-size", "4",
                 "--oracle-accuracy", "0.8", "--question", "binary"])  # one verdict a question (choice: test_choice)
    assert code == 0
    return out


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REDTEXT_PROGRESS", "0")
        mp.setenv("REDTEXT_JOBS", "1")
        mp.setenv("REDTEXT_CACHE", str(root / "cache"))
        return make_run(root)


@pytest.fixture
def run_copy(finished_run, tmp_path):
    """A private copy of the finished run (tests that alter the store or write into the folder)."""
    dest = tmp_path / "copy"
    shutil.copytree(finished_run, dest, ignore=shutil.ignore_patterns(".lock", "report.html"))
    return dest


def rows_of(conn, sql, *args):
    return conn.execute(sql, args).fetchall()


def folder_state(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")} if path.is_dir() else set()


# -- the numbers on the page ---------------------------------------------------------------------
def test_page_numbers_match_the_store(run_copy, capsys):
    code, _, err = cli(["report", run_copy], capsys)
    assert code == 0, err
    assert err.strip() == f"wrote {run_copy / 'report.html'}"
    markup = (run_copy / "report.html").read_text(encoding="utf-8")
    page = Page(markup)
    report = json.loads((run_copy / "report.json").read_text())
    preds = [json.loads(line) for line in (run_copy / "predictions.jsonl").read_text().splitlines()]
    with sqlite3.connect(run_copy / "run.db") as conn:
        status, stop_reason = conn.execute("SELECT status, stop_reason FROM runs").fetchone()
        verdicts = rows_of(conn, "SELECT seq, round, text, label, verdict FROM verdicts ORDER BY seq")
        n_questions = questions_in(conn)
        # the loop's own questions about pool texts (not the known-answer checks nor the audit)
        loop_verdicts = rows_of(conn, "SELECT seq, round, text, label, verdict FROM verdicts WHERE kind = 'label' "
                                      "ORDER BY seq")
        rounds = [json.loads(m) for (m,) in rows_of(conn, "SELECT metrics FROM rounds ORDER BY round")]
    yes = sum(v[4] == 1 for v in verdicts)
    no = sum(v[4] == 0 for v in verdicts)
    assert yes and no, "the fixture run should have accepted and rejected answers"

    # summary
    summary = dict(page.tables["summary-table"])
    assert summary["classifier"] == "subsets of 4 labels"   # the run asked for --subset-size 4
    assert summary["selection"] == rounds[0]["selection"] and rounds[0]["selection"] in ("margin", "runner_up")
    for section in SECTIONS:
        assert section in page.attrs, f"section {section} missing"
    assert int(page.text["total-questions"]) == n_questions == report["expert_calls"]
    # how good the labels are: the known-answer and audit questions, the estimate, from report.json
    with sqlite3.connect(run_copy / "run.db") as conn:
        kinds = dict(conn.execute("SELECT kind, COUNT(*) FROM verdicts GROUP BY kind").fetchall())
    assert int(page.text["check-questions"]) == kinds.get("check", 0) == report["quality"]["checks"] > 0
    assert int(page.text["audit-questions"]) == kinds.get("audit", 0) == report["quality"]["audit"]
    est = report["estimate"]
    assert f"{est['pool_accuracy']:.1%}" in page.text["estimate"]
    strata = page.tables["estimate-strata"]
    assert sum(int(r[1]) for r in strata) == len(preds)
    assert int(page.text["total-accepted"]) == yes
    assert int(page.text["total-rejected"]) == no
    assert int(page.text["total-abstained"]) == len(verdicts) - yes - no
    for source in ("expert", "classifier", "seed"):
        assert int(page.text[f"delivered-{source}"]) == report["sources"][source] == \
            sum(p["source"] == source for p in preds)

    # why it stopped
    from redtext.core.stop import STOP_REASONS

    assert status == "done" and stop_reason == report["stop_reason"]
    stop = page.attrs["stop-reason"]
    assert stop["data-state"] == "done" and stop["data-reason"] == stop_reason
    assert STOP_REASONS[stop_reason] in page.text["stop-reason"]
    evidence = dict(page.tables["stop-evidence"])
    assert evidence["expert questions stored"] == f"{len(verdicts)} of a budget of {report['budget_calls']}"

    # per round: one row per stored round, the loop's own counts, the verdicts table by round
    table = page.tables["rounds-table"]
    assert [int(r[0]) for r in table] == [m["round"] for m in rounds]
    by_round = Counter(v[1] for v in verdicts)
    for row, m in zip(table, rounds):
        assert int(row[1]) == m["uncertain"]
        assert (int(row[4]), int(row[5]), int(row[6])) == (m["accepted"], m["rejected"], m["abstained"])
        assert int(row[7]) == m["round_calls"] and int(row[8]) == m["calls"] + m["round_calls"]
        assert int(row[9]) == by_round.get(m["round"], 0)
    assert sum(int(r[4]) for r in table) == sum(v[4] == 1 for v in loop_verdicts)
    assert sum(int(r[5]) for r in table) == sum(v[4] == 0 for v in loop_verdicts)
    assert int(table[-1][8]) == report["expert_calls"] - report["quality"]["audit"]  # the audit comes after
    # the derived cost column adds up to the total the note states
    assert "not stored" in page.text["cost-note"]
    assert abs(sum(float(r[13]) for r in table) - float(page.text["cost-total"])) <= len(table)
    assert float(page.text["cost-total"]) > 0

    # per label
    labels = {a["data-label"]: row for a, row in zip(page.row_attrs["labels-table"], page.tables["labels-table"])}
    assert set(labels) == set(TOPICS)
    asked = Counter(v[3] for v in loop_verdicts)
    accepted = Counter(v[3] for v in loop_verdicts if v[4] == 1)
    rejected = Counter(v[3] for v in loop_verdicts if v[4] == 0)
    for lab, row in labels.items():
        assert row[0] == lab and int(row[1]) == 5
        assert (int(row[2]), int(row[3]), int(row[4])) == (asked[lab], accepted[lab], rejected[lab])
        share = accepted[lab] / (accepted[lab] + rejected[lab]) if asked[lab] else None
        assert row[6] == ("—" if share is None else f"{share:.1%}")
        mine = [p for p in preds if p["label"] == lab]
        assert int(row[9]) == len(mine)
        assert int(row[10]) == sum(p["source"] == "expert" for p in mine)
        assert int(row[11]) == sum(p["source"] == "classifier" for p in mine)
        conf = [p["confidence"] for p in mine if p["source"] == "classifier"]
        assert row[13] == (f"{sum(conf) / len(conf):.3f}" if conf else "—")
    # the label table is ordered by questions asked
    assert [int(r[2]) for r in page.tables["labels-table"]] == sorted(asked.values(), reverse=True) + \
        [0] * (len(TOPICS) - len(asked))
    # top proposals: the first label asked about a text in a round
    first: dict = {}
    for seq, rnd, text, lab, v in loop_verdicts:
        first.setdefault((text, rnd), (lab, v))
    tops = Counter(lab for lab, _ in first.values())
    for lab, row in labels.items():
        assert int(row[7]) == tops[lab]

    # confusions: a rejected label, then another accepted for the same text
    expected = Counter()
    by_text: dict = {}
    for seq, rnd, text, lab, v in loop_verdicts:
        by_text.setdefault(text, []).append((lab, v))
    for answers in by_text.values():
        for k, (lab, v) in enumerate(answers):
            if v == 1:
                expected.update((earlier, lab) for earlier, w in answers[:k] if w == 0)
    shown = {(r[0], r[1]): int(r[2]) for r in page.tables["corrections-table"]}
    assert shown and all(expected[pair] == n for pair, n in shown.items())
    assert max(shown.values()) == max(expected.values())
    counts = [int(r[2]) for r in page.tables["corrections-table"]]
    assert counts == sorted(counts, reverse=True)

    # rejected examples: every rejection, in the order answered
    loop_no = sum(v[4] == 0 for v in loop_verdicts)
    assert int(page.text["rejected-count"]) == loop_no
    rej = page.tables["rejected-table"]
    assert len(rej) == min(loop_no, 200)
    stored_no = [(text, lab) for _, _, text, lab, v in loop_verdicts if v == 0]
    assert [(r[2], r[3]) for r in rej] == stored_no[:len(rej)]
    by_text_pred = {p["text"]: p for p in preds}
    seq_of = {(text, lab): seq for seq, _, text, lab, v in loop_verdicts if v == 0}
    assert any(r[4] != "—" for r in rej)
    for r in rej:  # the first label accepted for the text after this rejection
        later = [lab for seq, _, text, lab, v in loop_verdicts if v == 1 and text == r[2] and seq > seq_of[(r[2], r[3])]]
        assert r[4] == (later[0] if later else "—")
        assert r[5] == by_text_pred[r[2]]["label"] and r[6] == by_text_pred[r[2]]["source"]

    # plots: embedded PNGs, nothing loaded from elsewhere, no script
    assert sorted(img["id"] for img in page.images) == sorted(PLOTS)
    for img in page.images:
        assert img["src"].startswith("data:image/png;base64,")
        assert base64.b64decode(img["src"].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.tags["script"] == 0 and page.tags["link"] == 0 and page.tags["iframe"] == 0
    assert "http://" not in markup and "https://" not in markup
    assert not list(run_copy.glob(".report.html.*"))


def _rename_label(conn, old: str, new: str) -> None:
    for table in ("texts", "verdicts", "predictions"):
        conn.execute(f"UPDATE {table} SET label=? WHERE label=?", (new, old))
    rows = conn.execute("SELECT idx, candidates FROM predictions").fetchall()
    conn.executemany("UPDATE predictions SET candidates=? WHERE idx=?",
                     [(json.dumps([[new if lab == old else lab, s] for lab, s in json.loads(c)]), i) for i, c in rows])


def test_user_text_is_escaped_and_dollar_labels_plot(run_copy, capsys):
    out = run_copy
    with sqlite3.connect(out / "run.db") as conn:  # labels and a text no page should take as markup
        _rename_label(conn, "weather", HOSTILE_LABEL)
        _rename_label(conn, "banking", DOLLAR_LABEL)
        conn.execute("UPDATE texts SET text=? WHERE role='pool' AND idx=0", (HOSTILE_TEXT,))
        conn.execute("INSERT INTO verdicts(run_id, text, label, verdict, expert, round, seq, asked_at) "
                     "VALUES (1, ?, 'music', 0, 'test', 0, 100000, 0)", (HOSTILE_TEXT,))
    code, _, err = cli(["report", out], capsys)
    assert code == 0, err
    markup = (out / "report.html").read_text(encoding="utf-8")
    for raw in (HOSTILE_LABEL, DOLLAR_LABEL, HOSTILE_TEXT, "<script"):
        assert raw not in markup
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in markup
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in markup
    page = Page(markup)
    assert {a["data-label"] for a in page.row_attrs["labels-table"]} >= {HOSTILE_LABEL, DOLLAR_LABEL}
    assert HOSTILE_TEXT in [r[2] for r in page.tables["rejected-table"]]
    assert len(page.images) == len(PLOTS)


def test_store_is_left_untouched_and_html_goes_where_asked(run_copy, tmp_path, capsys):
    db = run_copy / "run.db"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    files = folder_state(run_copy)
    target = tmp_path / "pages" / "deep" / "r.html"
    code, _, err = cli(["report", run_copy, "--html", target], capsys)
    assert code == 0, err
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert folder_state(run_copy) == files  # no report.html, no -wal/-shm left behind
    code, _, err = cli(["report", run_copy, "--html", target], capsys)  # overwrites in place
    assert code == 0, err
    assert sorted(p.name for p in target.parent.iterdir()) == ["r.html"]


def test_cost_comes_from_prices_or_the_measured_total(run_copy, capsys):
    with sqlite3.connect(run_copy / "run.db") as conn:
        cfg = json.loads(conn.execute("SELECT config FROM runs").fetchone()[0])
        cfg["llm"]["price_prompt"], cfg["llm"]["price_completion"] = 1000.0, 2000.0
        conn.execute("UPDATE runs SET config=?", (json.dumps(cfg),))
        by_round = dict(conn.execute(f"SELECT round, {QUESTIONS} FROM verdicts GROUP BY round"))
    from redtext.app.report import load_run, summarize

    priced = summarize(load_run(run_copy))
    assert priced["cost"]["unit"] == "money" and priced["cost"]["kind"] == "estimated"
    per_q = [r["cost"] / by_round[r["round"]] for r in priced["rounds"] if by_round.get(r["round"])]
    assert max(per_q) - min(per_q) < 1e-9 and per_q[0] > 0
    tokens = priced["cost"]["tokens_per_question"]
    assert per_q[0] == pytest.approx(((tokens - 3) * 1000 + 3 * 2000) / 1e6)

    with sqlite3.connect(run_copy / "run.db") as conn:
        conn.execute("INSERT OR REPLACE INTO run_usage(run_id, http_calls, cost) VALUES (1, 123, 2.5)")
    measured = summarize(load_run(run_copy))
    assert measured["cost"]["kind"] == "measured" and measured["cost"]["total"] == pytest.approx(2.5)
    total_q = sum(by_round.values())
    for r in measured["rounds"]:
        assert r["cost"] == pytest.approx(2.5 * by_round.get(r["round"], 0) / total_q)
    code, _, err = cli(["report", run_copy], capsys)
    assert code == 0, err
    page = Page((run_copy / "report.html").read_text(encoding="utf-8"))
    assert float(page.text["cost-total"]) == pytest.approx(2.5)
    assert "123 HTTP calls" in page.text["cost-note"]
    assert dict(page.tables["stop-evidence"])["expert HTTP calls / cost"].startswith("123 / 2.5")


@pytest.mark.parametrize("status, reason, locked, state", [
    ("done", "budget", True, "done"),              # a `resume` that only says "already complete"
    ("done", "expert_limit", True, "running"),     # a resume raising the expert's limit keeps status done
    ("failed", None, True, "running"),             # a resume of a failed run keeps status failed
    ("failed", None, False, "failed"),
    ("running", None, False, "interrupted"),
])
def test_stop_section_follows_status_and_the_folder_lock(run_copy, capsys, status, reason, locked, state):
    import fcntl

    with sqlite3.connect(run_copy / "run.db") as conn:
        conn.execute("UPDATE runs SET status=?, stop_reason=?", (status, reason))
    with open(run_copy / ".lock", "a+") as lock:
        if locked:  # what `redtext run`/`resume` hold while they work
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, _, err = cli(["report", run_copy], capsys)
    assert code == 0, err
    page = Page((run_copy / "report.html").read_text(encoding="utf-8"))
    assert page.attrs["stop-reason"]["data-state"] == state
    headline = page.text["stop-reason"]
    if state == "done":
        assert headline.startswith("Stopped: budget")
    else:
        assert ("Still running" in headline) == (state == "running")
        assert state == "running" or f"redtext resume {run_copy}" in headline


# -- a run still in progress, then killed -----------------------------------------------------
def _cli_cmd(*args):
    return [sys.executable, "-c", "from redtext.cli import entry; entry()", *map(str, args)]


@pytest.mark.slow  # a real process, killed or fed at its prompt
def test_a_run_in_progress_is_reported_then_shown_interrupted_after_a_kill(tmp_path, capsys):
    seed_rows, pool_rows = make_texts(5, seed=1), make_texts(25, seed=2)
    seed = write_jsonl(tmp_path / "seed.jsonl", [{"text": t, "label": lab} for t, lab in seed_rows])
    pool = write_jsonl(tmp_path / "pool.jsonl", [{"id": f"p{i}", "text": t} for i, (t, _) in enumerate(pool_rows)])
    gold = write_jsonl(tmp_path / "gold.jsonl", [{"text": t, "label": lab} for t, lab in pool_rows])
    out = tmp_path / "live"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
               REDTEXT_TEST_GOLD=str(gold), REDTEXT_TEST_SLEEP="0.2", REDTEXT_PROGRESS="0")
    proc = subprocess.Popen(_cli_cmd("run", "--seed", seed, "--pool", pool, "--expert", "python:scripted_expert:ask",
                                     "--out", out, "--embedder", "hashing", "--budget", "90", "--subset-size", "4"),
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        stored = 0
        while time.time() < deadline and stored < 2:
            assert proc.poll() is None, proc.stderr.read().decode()
            if (out / "run.db").exists():
                try:
                    with sqlite3.connect(out / "run.db") as conn:
                        stored = conn.execute("SELECT COUNT(*) FROM rounds").fetchone()[0]
                except sqlite3.Error:
                    pass
            time.sleep(0.1)
        assert stored >= 2, "the run stored no rounds in time"
        code, _, err = cli(["report", out], capsys)
        assert code == 0, err
        assert proc.poll() is None, "the run finished before the report: not an in-progress check"
        page = Page((out / "report.html").read_text(encoding="utf-8"))
        assert page.attrs["stop-reason"]["data-state"] == "running"
        assert "Still running" in page.text["stop-reason"]
        assert len(page.tables["rounds-table"]) >= 2
        assert "none stored yet" in page.text["summary"]
        assert "plot-delivered" not in {i["id"] for i in page.images}
        assert {"plot-uncertain", "plot-calls", "plot-cost"} <= {i["id"] for i in page.images}
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        code, _, err = cli(["report", out], capsys)
        assert code == 0, err
        page = Page((out / "report.html").read_text(encoding="utf-8"))
        assert page.attrs["stop-reason"]["data-state"] == "interrupted"
        assert "redtext resume" in page.text["stop-reason"]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# -- bad input: one line, exit 2, nothing written -------------------------------------------------
def _store_without_rounds(path: Path) -> None:
    from redtext.io.store import Store

    path.mkdir()
    store = Store(path / "run.db")
    run = store.create_run({"expert": "oracle", "params": {}, "budget": 10})
    store.add_texts(run, "seed", ["s0", "s1"], ["a text", "b text"], ["a", "b"])
    store.add_texts(run, "pool", ["p0"], ["pool text"])
    store.close()


def _bad_cases(root: Path, good: Path) -> dict:
    (root / "a_file.txt").write_text("not a folder")
    (root / "empty").mkdir()
    for name in ("noise", "zero", "foreign", "newer", "broken_json", "odd_metrics"):
        (root / name).mkdir()
    (root / "noise" / "run.db").write_bytes(bytes(range(256)) * 20)
    (root / "zero" / "run.db").write_bytes(b"")
    with sqlite3.connect(root / "foreign" / "run.db") as conn:
        conn.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, name TEXT)")
    _store_without_rounds(root / "norounds")
    shutil.copytree(good, root / "newer_src", ignore=shutil.ignore_patterns(".lock", "report.html"))
    shutil.copy(root / "newer_src" / "run.db", root / "newer" / "run.db")
    with sqlite3.connect(root / "newer" / "run.db") as conn:
        conn.execute("PRAGMA user_version = 99")
    shutil.copy(root / "newer_src" / "run.db", root / "broken_json" / "run.db")
    with sqlite3.connect(root / "broken_json" / "run.db") as conn:
        conn.execute("UPDATE rounds SET metrics='{not json' WHERE round=0")
    shutil.copy(root / "newer_src" / "run.db", root / "odd_metrics" / "run.db")
    with sqlite3.connect(root / "odd_metrics" / "run.db") as conn:
        conn.execute("""UPDATE rounds SET metrics='{"round": 0, "accepted": "many"}' WHERE round=0""")
    return {
        "missing folder": ([root / "nowhere"], "does not exist"),
        "a file": ([root / "a_file.txt"], "not a run folder"),
        "no run.db": ([root / "empty"], "no run.db"),
        "random bytes": ([root / "noise"], "cannot be read"),
        "zero-byte run.db": ([root / "zero"], "not a redtext run store"),
        "foreign database": ([root / "foreign"], "not a redtext run store"),
        "newer schema": ([root / "newer"], "newer redtext"),
        "damaged round metrics": ([root / "broken_json"], "unreadable"),
        "odd round metrics": ([root / "odd_metrics"], "unreadable run data (ValueError"),
        "zero rounds": ([root / "norounds"], "no finished round"),
        "--html is a folder": ([root / "newer_src", "--html", root / "empty"], "is a folder"),
    }


def test_bad_input_is_one_line_exit_2_and_writes_nothing(finished_run, tmp_path, capsys):
    cases = _bad_cases(tmp_path, finished_run)
    for name, (args, needle) in cases.items():
        folder = args[0]
        before = folder_state(folder)
        code, stdout, err = cli(["report", *args], capsys)
        lines = err.strip().splitlines()
        assert code == 2, f"{name}: exit {code}, stderr {err!r}"
        assert len(lines) == 1 and lines[0].startswith("error: "), f"{name}: {err!r}"
        assert needle in lines[0], f"{name}: {lines[0]!r} does not mention {needle!r}"
        assert "Traceback" not in err and not stdout
        assert folder_state(folder) == before, f"{name}: files changed in {folder}"
        assert not (folder / "report.html").exists()
    assert folder_state(tmp_path / "empty") == set()


def test_bad_input_through_the_real_entry_point(tmp_path):
    _store_without_rounds(tmp_path / "norounds")
    proc = subprocess.run(_cli_cmd("report", tmp_path / "norounds"), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "norounds" / "report.html").exists()


# -- in a real browser -------------------------------------------------------------------------------
@pytest.mark.integration
def test_the_page_renders_in_chromium_with_every_plot_loaded(run_copy, capsys):
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is needed: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    code, _, err = cli(["report", run_copy], capsys)
    assert code == 0, err
    url = (run_copy / "report.html").resolve().as_uri()
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.goto(url)
            page.wait_for_load_state("load")
            images = page.evaluate("""() => [...document.images].map(i => ({id: i.id, complete: i.complete,
                                       w: i.naturalWidth, h: i.naturalHeight}))""")
            assert sorted(i["id"] for i in images) == sorted(PLOTS)
            for img in images:
                assert img["complete"] and img["w"] > 0 and img["h"] > 0, f"plot {img['id']} did not load"
            for section in SECTIONS:
                heading = page.locator(f"section#{section} h2")
                assert heading.count() == 1 and heading.is_visible(), f"section {section} not shown"
            assert page.locator("#stop-reason").inner_text().startswith("Stopped: ")
            assert page.locator("#labels-table tbody tr").count() == len(TOPICS)
            assert page.evaluate("document.scripts.length") == 0
            page.screenshot(path=str(run_copy / "page.png"), full_page=True)
        finally:
            browser.close()
    assert all(u.startswith(("file:", "data:")) for u in requests), requests


@pytest.mark.integration
def test_long_labels_fit_a_1400px_window_and_the_killed_run_says_so(run_copy, capsys):
    """Long label names wrap instead of stretching the page; a killed run's summary says it stopped."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is needed: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    long = {lab: f"{lab}_and_a_very_long_intent_name_that_goes_on_and_on_{i}" for i, lab in enumerate(TOPICS)}
    with sqlite3.connect(run_copy / "run.db") as conn:
        for old, new in long.items():
            conn.execute("UPDATE texts SET label=? WHERE label=?", (new, old))
            conn.execute("UPDATE verdicts SET label=? WHERE label=?", (new, old))
            conn.execute("UPDATE predictions SET label=? WHERE label=?", (new, old))
        conn.execute("UPDATE runs SET status='running', stop_reason=NULL")
    code, _, err = cli(["report", run_copy], capsys)
    assert code == 0, err
    page_html = (run_copy / "report.html").read_text(encoding="utf-8")
    assert "runner-up label" in page_html  # the close runner-ups table names its two label columns apart
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto((run_copy / "report.html").resolve().as_uri())
            page.wait_for_load_state("load")
            assert page.evaluate("document.documentElement.scrollWidth") <= 1400
            widths = page.evaluate("""() => [...document.querySelectorAll('table')].map(t =>
                                      [t.id, t.getBoundingClientRect().width, t.parentElement.clientWidth])""")
            for table_id, width, room in widths:
                assert width <= max(room, 1100) + 1, f"table {table_id} is {width:.0f}px wide in {room}px"
            status = page.locator("#summary-table tr", has_text="status").inner_text()
            assert "stopped before finishing" in status and "running" not in status.replace("status", "")
        finally:
            browser.close()
