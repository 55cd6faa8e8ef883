"""A scriptable OpenAI-compatible chat server on 127.0.0.1 for tests.

It answers "yes"/"no" from a gold mapping (text -> label), reading the text from the
``<text>`` block and the label from the prompt (a choice question: the gold label's number among
the candidates, 0 when it is not offered), and can be told to misbehave: a ``plan``
function gets (request number, text, label) and returns one of
``("ok",)``, ``("reply", content)``, ``("status", code, headers)``, ``("hang", seconds)``,
``("truncated",)``, ``("empty",)`` or ``("echo", code)`` (an error whose body repeats the request's
Authorization header, as some gateways do). It records every request and the peak concurrency.
"""
from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TEXT = re.compile(r"<text>\n(.*)\n</text>", re.S)
LABEL = re.compile(r"^Label: (.*)$", re.M)



class _Server(ThreadingHTTPServer):
    """A client that hangs up mid-reply (redtext giving up after a 401, a timeout) is normal here:
    not worth a traceback on the test's stderr, which the tests read."""

    def handle_error(self, request, client_address):
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

class FakeLLM:
    def __init__(self, gold: dict[str, str] | None = None, plan=None, delay: float = 0.0, prompt_tokens=None):
        self.prompt_tokens = prompt_tokens or (lambda body: 100)
        self.gold = gold or {}
        self.plan = plan or (lambda n, text, label: ("ok",))
        self.delay = delay
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length))
                with server.lock:
                    n = len(server.requests)
                    server.requests.append(body)
                    server.headers.append(dict(self.headers))
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    server._answer(self, n, body)
                finally:
                    with server.lock:
                        server.in_flight -= 1

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @staticmethod
    def question(body: dict) -> tuple[str, str]:
        user = body["messages"][-1]["content"]
        m = TEXT.search(user)
        label = LABEL.search(user)  # a choice question has no one label
        return (m.group(1) if m else None), (label.group(1) if label else None)

    def asked(self) -> list[tuple[str, str]]:
        return [self.question(b) for b in self.requests]

    def _send(self, handler, code: int, payload: bytes, headers: dict | None = None):
        handler.send_response(code)
        handler.send_header("content-type", "application/json")
        for k, v in (headers or {}).items():
            handler.send_header(k, v)
        handler.send_header("content-length", str(len(payload)))
        handler.end_headers()
        try:
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _answer(self, handler, n: int, body: dict):
        text, label = self.question(body)
        action = self.plan(n, text, label)
        if self.delay:
            time.sleep(self.delay)
        kind = action[0]
        if kind == "hang":
            time.sleep(action[1])
            return self._send(handler, 200, b"{}")
        if kind == "status":
            return self._send(handler, action[1], b'{"error": {"message": "scripted"}}', action[2] if len(action) > 2 else None)
        if kind == "echo":
            auth = handler.headers.get("Authorization", "")
            body = json.dumps({"error": {"message": f"Incorrect API key provided: {auth}"}}).encode()
            return self._send(handler, action[1], body)
        if kind == "truncated":
            return self._send(handler, 200, b'{"id": "x", "choices": [{"message": {"content": "ye')
        if text is None:  # a describe request
            content = action[1] if kind == "reply" else f"Texts about {label}.\nShort and clear."
        elif label is None:  # a choice question: the gold label's number among the candidates, or 0
            listed = re.findall(r"^(\d+)\. (.*?)(?: — .*)?$", body["messages"][-1]["content"], re.M)
            number = next((n_ for n_, name in listed if name == self.gold.get(text)), "0")
            content = action[1] if kind == "reply" else number
        else:
            content = action[1] if kind == "reply" else ("yes" if self.gold.get(text) == label else "no")
        choices = [] if kind == "empty" else [{"index": 0, "message": {"role": "assistant", "content": content},
                                                "finish_reason": "stop"}]
        payload = {"id": f"c{n}", "object": "chat.completion", "model": body.get("model"), "choices": choices,
                   "usage": {"prompt_tokens": self.prompt_tokens(body), "completion_tokens": 1,
                             "total_tokens": self.prompt_tokens(body) + 1}}
        return self._send(handler, 200, json.dumps(payload).encode())

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
