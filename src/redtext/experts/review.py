"""A person as the expert, through a small web page: ``redtext review DIR``.

The run (``--expert review``) puts its questions into a queue table in ``DIR/run.db`` and
waits; ``redtext review DIR`` serves the queue on 127.0.0.1 — the label, its understanding,
the nearest known examples and the text, with keyboard shortcuts (y / n / s) and progress.
Each answer is committed to the queue the moment it is given, so nothing is lost, and a
resumed run takes answered questions from the queue without asking again.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Sequence

from .base import NOT_ASKED, Question
from .cache import cache_key

_SCHEMA = """CREATE TABLE IF NOT EXISTS review_queue (
    key TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    text_id TEXT NOT NULL,
    text TEXT NOT NULL,
    label TEXT NOT NULL,
    description TEXT,
    examples TEXT NOT NULL,
    status TEXT NOT NULL,          -- pending | answered
    verdict INTEGER,               -- 1 yes, 0 no, NULL skipped
    queued REAL NOT NULL,
    answered REAL
)"""


def _key(q: Question) -> str:
    return cache_key(model="review", params={}, prompt_version="review-v1", label=q.label, text=q.text, context={})


def _connect(path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=60, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(_SCHEMA)
    return conn


class QueueExpert:
    """Queues questions for ``redtext review`` and waits for the answers."""

    batch_size = 20
    name = "review"

    def __init__(self, db_path: str | Path, *, poll: float = 0.3, wait: float | None = None, log=None):
        self.db_path = Path(db_path)
        self._conn = None
        self.poll = poll
        self.wait = wait          # give up waiting after this many seconds (None: wait forever)
        self.exhausted = False
        self.log = log or (lambda msg: None)
        self._told = False

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:  # opened on first use: the run folder exists by then
            self._conn = _connect(self.db_path)
        return self._conn

    def ask(self, questions: Sequence[Question]) -> list:
        keys = [_key(q) for q in questions]
        seq = self.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM review_queue").fetchone()[0]
        self.conn.execute("BEGIN IMMEDIATE")
        for n, (k, q) in enumerate(zip(keys, questions)):
            self.conn.execute(
                "INSERT OR IGNORE INTO review_queue(key, seq, text_id, text, label, description, examples, status, "
                "queued) VALUES (?,?,?,?,?,?,?,?,?)",
                (k, seq + n + 1, q.text_id, q.text, q.label, q.context.description, json.dumps(list(q.context.examples)),
                 "pending", time.time()))
        self.conn.execute("COMMIT")
        if not self._told:
            self.log(f"questions are waiting: answer them with `redtext review {self.db_path.parent}`")
            self._told = True
        start = time.time()
        while True:
            marks = ",".join("?" * len(keys))
            rows = dict((k, (s, v)) for k, s, v in self.conn.execute(
                f"SELECT key, status, verdict FROM review_queue WHERE key IN ({marks})", keys))
            if all(rows[k][0] == "answered" for k in keys):
                return [None if rows[k][1] is None else bool(rows[k][1]) for k in keys]
            if self.wait is not None and time.time() - start > self.wait:
                self.exhausted = True
                return [(None if rows[k][1] is None else bool(rows[k][1])) if rows[k][0] == "answered" else NOT_ASKED
                        for k in keys]
            time.sleep(self.poll)


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>redtext review</title>
<style>
body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}
.label{font-size:1.4rem;font-weight:600}.desc{color:#555;margin:.3rem 0 1rem}
.text{font-size:1.25rem;background:#f4f6fb;border-left:4px solid #4a6cf7;padding:1rem;margin:1rem 0;white-space:pre-wrap}
ul{color:#444}button{font-size:1.1rem;padding:.5rem 1.2rem;margin-right:.5rem;cursor:pointer}
#progress{color:#666;font-size:.9rem}kbd{background:#eee;border-radius:3px;padding:0 .3rem}
</style></head><body>
<h1>Does this text belong to the label?</h1>
<div id="progress">loading…</div>
<div id="card" hidden>
  <div class="label" id="label"></div><div class="desc" id="desc"></div>
  <div>Known examples of this label:</div><ul id="examples"></ul>
  <div class="text" id="text"></div>
  <button id="yes" data-verdict="yes">Yes <kbd>y</kbd></button>
  <button id="no" data-verdict="no">No <kbd>n</kbd></button>
  <button id="skip" data-verdict="skip">Skip <kbd>s</kbd></button>
</div>
<div id="empty" hidden>No questions are waiting. This page checks again every few seconds.</div>
<script>
let current = null;
async function next() {
  const r = await fetch('/api/next'); const q = await r.json();
  document.getElementById('progress').textContent = `${q.answered} answered, ${q.pending} waiting`;
  current = q.question;
  document.getElementById('card').hidden = !current; document.getElementById('empty').hidden = !!current;
  if (!current) { setTimeout(next, 2000); return; }
  document.getElementById('label').textContent = current.label;
  document.getElementById('desc').textContent = current.description || '';
  const ul = document.getElementById('examples'); ul.innerHTML = '';
  for (const e of current.examples) { const li = document.createElement('li'); li.textContent = e; ul.appendChild(li); }
  document.getElementById('text').textContent = current.text;
}
async function answer(verdict) {
  if (!current) return;
  const key = current.key; current = null;
  await fetch('/api/answer', {method: 'POST', headers: {'Content-Type': 'application/json'},
                              body: JSON.stringify({key, verdict})});
  next();
}
for (const b of document.querySelectorAll('button')) b.onclick = () => answer(b.dataset.verdict);
document.addEventListener('keydown', e => {
  const m = {y: 'yes', n: 'no', s: 'skip'}[e.key]; if (m) answer(m);
});
next();
</script></body></html>
"""

MAX_BODY = 64 * 1024


def make_server(db_path: str | Path, host: str = "127.0.0.1", port: int = 8765) -> ThreadingHTTPServer:
    conn = _connect(db_path)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _json(self, code: int, payload: dict):
            body = json.dumps(payload).encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path in ("/", "/index.html"):
                body = PAGE.encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif self.path == "/api/next":
                with lock:
                    row = conn.execute("SELECT key, text, label, description, examples FROM review_queue "
                                       "WHERE status='pending' ORDER BY seq LIMIT 1").fetchone()
                    pending = conn.execute("SELECT COUNT(*) FROM review_queue WHERE status='pending'").fetchone()[0]
                    answered = conn.execute("SELECT COUNT(*) FROM review_queue WHERE status='answered'").fetchone()[0]
                question = None if row is None else {"key": row[0], "text": row[1], "label": row[2],
                                                     "description": row[3], "examples": json.loads(row[4])}
                self._json(200, {"question": question, "pending": pending, "answered": answered})
            elif self.path == "/health":
                self._json(200, {"ok": True})
            else:
                self._json(404, {"error": "not found"})

        def do_POST(self):
            if self.path != "/api/answer":
                return self._json(404, {"error": "not found"})
            length = int(self.headers.get("Content-Length") or 0)
            if length <= 0 or length > MAX_BODY:
                return self._json(413 if length > MAX_BODY else 400, {"error": "bad body size"})
            try:
                data = json.loads(self.rfile.read(length))
                key, verdict = str(data["key"]), {"yes": 1, "no": 0, "skip": None}[data["verdict"]]
            except (ValueError, KeyError, TypeError):
                return self._json(400, {"error": "expected {key, verdict: yes|no|skip}"})
            with lock:
                cur = conn.execute("UPDATE review_queue SET status='answered', verdict=?, answered=? "
                                   "WHERE key=? AND status='pending'", (verdict, time.time(), key))
            self._json(200 if cur.rowcount else 409, {"ok": bool(cur.rowcount)})

    return ThreadingHTTPServer((host, port), Handler)
