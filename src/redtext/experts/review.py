"""A person as the expert, through a small web page: ``redtext review DIR``.

The run (``--expert review``) puts its questions into the review queue of ``DIR/run.db``
(:mod:`redtext.io.store`) and waits; ``redtext review DIR`` serves the queue on 127.0.0.1 — the
label, its understanding, the nearest known examples and the text, with keyboard shortcuts
(y / n / s, u to undo the last answer while the run has not used it yet) and progress — or, for a
choice question, the text and its numbered candidates (a click, or keys 1–9 then a, b, …; 0 for
none of them); once
the run is over the page says so and stops polling. Each answer is committed to the queue the moment it is given, so
nothing is lost, and a resumed run takes answered questions from the queue without asking again.
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Sequence

from .base import ABSTAINED, NOT_ASKED, BaseExpert, ChoiceQuestion, Question
from .cache import cache_key


def _key(q) -> str:
    if isinstance(q, ChoiceQuestion):
        return cache_key(model="review", params={}, prompt_version="review-choice-v1", label="\x1f".join(q.labels),
                         text=q.text, context={})
    return cache_key(model="review", params={}, prompt_version="review-v1", label=q.label, text=q.text, context={})


def _chosen(q: ChoiceQuestion, number):
    """A stored choice number as the answer: a candidate's label, None (0), ABSTAINED (skipped)."""
    if number is None:
        return ABSTAINED
    return None if number == 0 or number > len(q.labels) else q.labels[number - 1]


class QueueExpert(BaseExpert):
    """Queues questions for ``redtext review`` and waits for the answers."""

    batch_size = 20
    name = "review"

    def __init__(self, db_path: str | Path, *, poll: float = 0.3, wait: float | None = None, log=None):
        self.db_path = Path(db_path)
        self._store = None
        self.poll = poll
        self.wait = wait          # give up waiting after this many seconds (None: wait forever)
        self.exhausted = False
        self.log = log or (lambda msg: None)
        self._told = False

    @property
    def store(self):
        if self._store is None:  # opened on first use: the run folder exists by then
            from ..io.store import Store

            self._store = Store(self.db_path)
        return self._store

    def ask(self, questions: Sequence[Question]) -> list:
        keys = [_key(q) for q in questions]
        self.store.queue_questions([(k, q.text_id, q.text, q.label, q.context.description, list(q.context.examples))
                                    for k, q in zip(keys, questions)])
        return self._wait(keys, lambda j, v: v, raw=False)

    def ask_choice(self, questions: Sequence[ChoiceQuestion]) -> list:
        keys = [_key(q) for q in questions]
        self.store.queue_questions([(k, q.text_id, q.text, " | ".join(q.labels), None,
                                     {"choices": [{"label": c.label, "description": c.description,
                                                   "examples": list(c.examples)} for c in q.candidates]})
                                    for k, q in zip(keys, questions)])
        return self._wait(keys, lambda j, v: _chosen(questions[j], v), raw=True)

    def _wait(self, keys: list[str], convert, *, raw: bool) -> list:
        if not self._told:
            self.log(f"questions are waiting: answer them with `redtext review {self.db_path.parent}`")
            self._told = True
        start = time.time()
        while True:
            taken = self.store.take_answers(keys, raw=raw)
            if taken is not None:
                return [convert(j, v) for j, v in enumerate(taken)]
            if self.wait is not None and time.time() - start > self.wait:
                self.exhausted = True
                self.exhausted_reason = f"nobody answered the review page for {self.wait:g} s"
                done = [k for k in keys if self.store.queued_answers([k])[k][0] in ("answered", "used")]
                taken = dict(zip(done, self.store.take_answers(done, raw=raw) or [])) if done else {}
                return [convert(j, taken[k]) if k in taken else NOT_ASKED for j, k in enumerate(keys)]
            time.sleep(self.poll)


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>redtext review</title>
<style>
body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}
.label{font-size:1.4rem;font-weight:600}.desc{color:#555;margin:.3rem 0 1rem}
.text{font-size:1.25rem;background:#f4f6fb;border-left:4px solid #4a6cf7;padding:1rem;margin:1rem 0;white-space:pre-wrap}
ul{color:#444}button{font-size:1.1rem;padding:.5rem 1.2rem;margin-right:.5rem;cursor:pointer}
#progress{color:#666;font-size:.9rem}kbd{background:#eee;border-radius:3px;padding:0 .3rem}
#choices li{margin:.4rem 0}#choices button{text-align:left;width:100%}.ex{color:#666;font-size:.9rem}
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
  <button id="undo" data-undo="1" hidden>Undo <kbd>u</kbd></button>
</div>
<div id="choice" hidden>
  <div class="text" id="ctext"></div>
  <div>Which label fits this text?</div>
  <ol id="choices"></ol>
  <button id="none" data-choice="0">None of them <kbd>0</kbd></button>
  <button id="cskip" data-verdict="skip">Skip <kbd>s</kbd></button>
  <button id="cundo" hidden>Undo <kbd>u</kbd></button>
</div>
<div id="empty" hidden>No questions are waiting. This page checks again every few seconds.</div>
<div id="over" hidden></div>
<script>
let current = null, last = null;
async function next() {
  const r = await fetch('/api/next'); const q = await r.json();
  document.getElementById('progress').textContent = `${q.answered} answered, ${q.pending} waiting`;
  current = q.question;
  document.getElementById('undo').hidden = !last;
  document.getElementById('cundo').hidden = !last;
  const over = !current && q.run && q.run.over;
  const choice = !!(current && current.choices);
  document.getElementById('card').hidden = !current || choice;
  document.getElementById('choice').hidden = !choice;
  document.querySelector('h1').textContent = choice ? 'Which label fits this text?' : 'Does this text belong to the label?';
  document.getElementById('empty').hidden = !!current || over;
  document.getElementById('over').hidden = !over;
  if (over) {
    document.getElementById('over').textContent = `The run is over (${q.run.status}` +
      (q.run.stop_reason ? `: ${q.run.stop_reason}` : '') + '). Thank you — you can close this page.';
    return;
  }
  if (!current) { setTimeout(next, 2000); return; }
  if (choice) {
    document.getElementById('ctext').textContent = current.text;
    const ol = document.getElementById('choices'); ol.innerHTML = '';
    current.choices.forEach((c, i) => {
      const li = document.createElement('li'); const b = document.createElement('button');
      b.dataset.choice = String(i + 1); b.onclick = () => answer(null, i + 1);
      const name = document.createElement('strong'); name.textContent = c.label; b.appendChild(name);
      if (c.description) b.appendChild(document.createTextNode(' — ' + c.description));
      const k = document.createElement('kbd'); k.textContent = KEYS[i] || ''; b.appendChild(document.createTextNode(' ')); b.appendChild(k);
      for (const e of c.examples) { const d = document.createElement('div'); d.className = 'ex'; d.textContent = 'e.g. ' + e; b.appendChild(d); }
      li.appendChild(b); ol.appendChild(li);
    });
    return;
  }
  document.getElementById('label').textContent = current.label;
  document.getElementById('desc').textContent = current.description || '';
  const ul = document.getElementById('examples'); ul.innerHTML = '';
  for (const e of current.examples) { const li = document.createElement('li'); li.textContent = e; ul.appendChild(li); }
  document.getElementById('text').textContent = current.text;
}
const KEYS = '123456789abcdefghijklmnopqrt';
async function answer(verdict, choice) {
  if (!current) return;
  const key = current.key; current = null;
  const payload = choice === undefined || choice === null ? {key, verdict} : {key, choice};
  const r = await fetch('/api/answer', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                        body: JSON.stringify(payload)});
  last = r.ok ? key : null;
  next();
}
async function undo() {
  if (!last) return;
  const key = last; last = null;
  const r = await fetch('/api/undo', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                      body: JSON.stringify({key})});
  if (!r.ok) document.getElementById('progress').textContent = 'too late to undo: the run already used that answer';
  else next();
}
for (const b of document.querySelectorAll('button[data-verdict]')) b.onclick = () => answer(b.dataset.verdict);
document.getElementById('none').onclick = () => answer(null, 0);
document.getElementById('undo').onclick = undo;
document.getElementById('cundo').onclick = undo;
document.addEventListener('keydown', e => {
  if (e.key === 'u') { undo(); return; }
  if (current && current.choices) {
    if (e.key === 's') { answer('skip'); return; }
    if (e.key === '0') { answer(null, 0); return; }
    const i = KEYS.indexOf(e.key); if (i >= 0 && i < current.choices.length) answer(null, i + 1);
    return;
  }
  const m = {y: 'yes', n: 'no', s: 'skip'}[e.key]; if (m) answer(m);
});
next();
</script></body></html>
"""

MAX_BODY = 64 * 1024


def make_server(db_path: str | Path, host: str = "127.0.0.1", port: int = 8765) -> ThreadingHTTPServer:
    from ..io.store import Store

    store = Store(db_path, threads=True)
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
                    question, pending, answered = store.next_queued()
                    status, reason = store.run_state()
                run = {"status": status, "stop_reason": reason, "over": status in ("done", "failed")}
                self._json(200, {"question": question, "pending": pending, "answered": answered, "run": run})
            elif self.path == "/health":
                self._json(200, {"ok": True})
            else:
                self._json(404, {"error": "not found"})

        def do_POST(self):
            if self.path not in ("/api/answer", "/api/undo"):
                return self._json(404, {"error": "not found"})
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length <= 0 or length > MAX_BODY:
                return self._json(413 if length > MAX_BODY else 400, {"error": "bad body size"})
            try:
                data = json.loads(self.rfile.read(length))
                key = str(data["key"])
                if self.path == "/api/undo":
                    with lock:
                        done = store.undo_queued(key)
                    return self._json(200 if done else 409, {"ok": done})
                if "choice" in data:  # a choice question: the candidate's number, 0 for none of them
                    verdict = data["choice"]
                    if not isinstance(verdict, int) or isinstance(verdict, bool) or not 0 <= verdict <= 99:
                        raise ValueError("choice")
                else:
                    verdict = {"yes": True, "no": False, "skip": None}[data["verdict"]]
            except (ValueError, KeyError, TypeError, RecursionError):
                return self._json(400, {"error": "expected {key, verdict: yes|no|skip}, {key, choice: N} "
                                                 "(or {key} to undo)"})
            with lock:
                done = store.answer_queued(key, verdict)
            self._json(200 if done else 409, {"ok": done})

    return ThreadingHTTPServer((host, port), Handler)
