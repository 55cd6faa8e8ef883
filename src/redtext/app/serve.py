"""``redtext serve --model DIR/model``: classify texts over HTTP with a trained model.

A small JSON API on the standard library's ``ThreadingHTTPServer`` (no extra dependency):

* ``POST /classify`` with ``{"texts": ["...", ...]}`` answers
  ``{"results": [{"label", "confidence", "all_noise", "candidates": [{"label", "score"}]}]}``,
  one result per text, in order — the same figures as ``redtext classify``.
* ``GET /health`` answers ``{"status": "ok", "classes", "embedder", "version", "max_batch", "max_bytes"}``.

Request bodies are bounded: a missing ``Content-Length`` or one over ``--max-bytes`` is
answered 413 without reading the body; bad JSON, a missing/empty ``texts`` list, a text that
is not a non-blank string, or more texts than ``--max-batch`` are answered 400. Every error is
``{"error": "..."}``. The model is loaded (and run once) before the server listens; predictions
are serialised with a lock, so concurrent requests are safe with any embedder.
"""
from __future__ import annotations

import json
import sys
import threading

from ..errors import InputError

ROUTES = {"/classify": "POST", "/health": "GET"}
DEFAULT_MAX_BATCH = 256
DEFAULT_MAX_BYTES = 1 << 20


class Classifier:
    """A loaded model behind a lock: ``classify(texts)`` -> JSON-ready results."""

    def __init__(self, model_path, *, backend="local"):
        from ..estimator import RED

        self.red = RED.load(model_path, backend=backend)
        self.red.verbose = False
        self.lock = threading.Lock()
        self.embedder = self.red.embedder_.name
        self.classify(["warm up"])  # load the embedder now: failures show before the server listens

    def classify(self, texts: list[str]) -> list[dict]:
        from .classify import classify_texts

        with self.lock:
            return classify_texts(self.red, texts)


class _Reject(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def parse_texts(body: bytes, max_batch: int) -> list[str]:
    """The ``texts`` of a /classify body, or :class:`_Reject` (400) saying what is wrong."""
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise _Reject(400, "the body is not UTF-8; send JSON such as {\"texts\": [\"...\"]}") from None
    except ValueError as exc:
        raise _Reject(400, f"the body is not valid JSON ({exc}); send {{\"texts\": [\"...\"]}}") from None
    if not isinstance(data, dict) or "texts" not in data:
        raise _Reject(400, "missing \"texts\"; send {\"texts\": [\"...\"]}")
    texts = data["texts"]
    if not isinstance(texts, list):
        raise _Reject(400, "\"texts\" must be a list of strings")
    if not texts:
        raise _Reject(400, "\"texts\" is empty; send at least one text")
    if len(texts) > max_batch:
        raise _Reject(400, f"{len(texts)} texts is more than --max-batch {max_batch}; split the batch")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise _Reject(400, f"texts[{i}] is not a string ({type(t).__name__})")
        if not t.strip():
            raise _Reject(400, f"texts[{i}] is blank; send non-blank texts")
    return texts


def make_server(classifier: Classifier, host: str = "127.0.0.1", port: int = 8000, *,
                max_batch: int = DEFAULT_MAX_BATCH, max_bytes: int = DEFAULT_MAX_BYTES):
    """A ``ThreadingHTTPServer`` bound to ``host:port`` (not yet serving)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from .._version import __version__

    health = {"status": "ok", "classes": len(classifier.red.classes_), "embedder": classifier.embedder,
              "version": __version__, "max_batch": max_batch, "max_bytes": max_bytes}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = f"redtext/{__version__}"
        timeout = 60  # a client that stops sending mid-request frees its thread

        _linger = False

        def log_message(self, *args):
            pass

        def finish(self):
            super().finish()
            if self._linger:
                _drain(self.connection)

        def _send(self, code: int, payload: dict, *, close: bool = False, head: bool = False, allow: str = ""):
            body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            if allow:
                self.send_header("Allow", allow)
            if close:  # the body was not read: the connection cannot carry another request
                self.send_header("Connection", "close")
                self.close_connection = True
                self._linger = True
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _has_body(self) -> bool:
            return self.headers.get("Content-Length", "0").strip() not in ("", "0") or \
                "Transfer-Encoding" in self.headers

        def _route(self, method: str) -> bool:
            """Answer 404/405 and return False unless ``method`` is right for the path."""
            path = self.path.split("?", 1)[0]
            if path not in ROUTES:
                self._send(404, {"error": f"not found: {path}; use POST /classify or GET /health"},
                           close=self._has_body(), head=method == "HEAD")
                return False
            if ROUTES[path] != method and not (method == "HEAD" and ROUTES[path] == "GET"):
                allow = "GET, HEAD" if ROUTES[path] == "GET" else ROUTES[path]
                self._send(405, {"error": f"{method} is not allowed on {path}; use {ROUTES[path]}"},
                           close=self._has_body(), head=method == "HEAD", allow=allow)
                return False
            return True

        def do_GET(self):
            if self._route("GET"):
                self._send(200, health)

        def do_HEAD(self):
            if self._route("HEAD"):
                self._send(200, health, head=True)

        def do_POST(self):
            if not self._route("POST"):
                return
            raw = self.headers.get("Content-Length")
            if raw is None:
                return self._send(413, {"error": f"send a Content-Length header (at most {max_bytes} bytes)"},
                                  close=True)
            if not raw.strip().isdigit():
                return self._send(400, {"error": f"bad Content-Length {raw!r}"}, close=True)
            length = int(raw)
            if length > max_bytes:
                return self._send(413, {"error": f"the body is {length} bytes, more than --max-bytes {max_bytes}; "
                                                 "send fewer or shorter texts"}, close=True)
            try:
                body = self.rfile.read(length)
            except OSError:  # timed out or reset mid-body
                body = b""
            if len(body) < length:
                self.close_connection = True  # the client went away mid-body
                return
            try:
                texts = parse_texts(body, max_batch)
            except _Reject as exc:
                return self._send(exc.code, {"error": exc.message})
            try:
                results = classifier.classify(texts)
            except Exception as exc:  # a bug or a broken model: one line to the client, the server stays up
                return self._send(500, {"error": f"internal error: {type(exc).__name__}: {exc}".replace("\n", " ")})
            self._send(200, {"results": results})

        def _other(self):
            self._route(self.command)

        do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _other

    class Server(ThreadingHTTPServer):
        request_queue_size = 64
        daemon_threads = True

    return Server((host, port), Handler)


def _drain(sock, seconds: float = 2.0, limit: int = 16 << 20) -> None:
    """Close gently after refusing an unread body: stop sending, then read (and drop) what the
    client is still sending for a moment, so that closing does not reset the connection before
    the client has read the answer."""
    import socket
    import time

    try:
        sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + seconds
        got = 0
        while got < limit:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            sock.settimeout(left)
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += len(chunk)
    except OSError:
        pass


def serve(model, host: str = "127.0.0.1", port: int = 8000, *, max_batch: int = DEFAULT_MAX_BATCH,
          max_bytes: int = DEFAULT_MAX_BYTES, log=None) -> None:
    """Load ``model``, listen on ``host:port`` and serve until SIGINT or SIGTERM."""
    import signal

    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    if not 0 <= port <= 65535:
        raise InputError(f"--port {port}: must be from 0 to 65535 (0 picks a free port)")
    if max_batch < 1:
        raise InputError(f"--max-batch {max_batch}: must be at least 1")
    if max_bytes < 1:
        raise InputError(f"--max-bytes {max_bytes}: must be at least 1")
    classifier = Classifier(model)
    try:
        server = make_server(classifier, host, port, max_batch=max_batch, max_bytes=max_bytes)
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); pick another --host or --port") \
            from None
    bound_host, bound_port = server.server_address[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    log(f"serving {model} ({len(classifier.red.classes_)} classes, embedder {classifier.embedder}) at "
        f"http://{shown}:{bound_port}/  — POST /classify, GET /health; Ctrl-C to stop")

    def _stop(signum, frame):
        raise KeyboardInterrupt

    # SIGINT too: a shell without job control starts background commands with SIGINT ignored
    signals = (signal.SIGINT, signal.SIGTERM) if threading.current_thread() is threading.main_thread() else ()
    previous = {sig: signal.signal(sig, _stop) for sig in signals}
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.server_close()
    log("stopped")
