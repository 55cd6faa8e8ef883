"""``redtext serve --model DIR/model``: classify texts over HTTP with a trained model.

A small JSON API on the standard library's HTTP server (no extra dependency):

* ``POST /classify`` with ``{"texts": ["...", ...]}`` answers
  ``{"results": [{"label", "confidence", "all_noise", "candidates": [{"label", "score"}]}]}``,
  one result per text, in order — the same figures as ``redtext classify``.
* ``GET /health`` answers ``{"status": "ok", "classes", "embedder", "version", "max_batch", "max_bytes"}``.

Request bodies are bounded: a missing ``Content-Length`` or one over ``--max-bytes`` is
answered 413 without reading the body; bad JSON, a missing/empty ``texts`` list, a text that
is not a non-blank string (or not valid Unicode), JSON nested too deep, a request line or
header the server cannot parse, or more texts than ``--max-batch`` are answered 400. Every
error is ``{"error": "..."}``. Connections are served by a bounded pool of worker threads
(``--workers``); a client that stops sending is dropped after ``--read-timeout`` seconds, and
when every worker is busy and the waiting line is full, new connections get 503 at once. The
model is loaded (and run once) before the server listens; predictions are serialised with a
lock, so concurrent requests are safe with any embedder.
"""
from __future__ import annotations

import json
import sys
import threading
from http.server import HTTPServer

from ..errors import InputError

ROUTES = {"/classify": "POST", "/health": "GET"}
DEFAULT_MAX_BATCH = 256
DEFAULT_MAX_BYTES = 1 << 20
DEFAULT_WORKERS = 8
DEFAULT_READ_TIMEOUT = 10.0
WAITING_PER_WORKER = 8     # connections that may wait for a worker, per worker; beyond: 503


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
    except RecursionError:
        raise _Reject(400, "the JSON is nested too deeply; send {\"texts\": [\"...\"]}") from None
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
        try:
            t.encode("utf-8")
        except UnicodeEncodeError:
            raise _Reject(400, f"texts[{i}] is not valid Unicode (a lone surrogate); send well-formed text") from None
    return texts


def make_server(classifier: Classifier, host: str = "127.0.0.1", port: int = 8000, *,
                max_batch: int = DEFAULT_MAX_BATCH, max_bytes: int = DEFAULT_MAX_BYTES,
                workers: int = DEFAULT_WORKERS, read_timeout: float = DEFAULT_READ_TIMEOUT):
    """An HTTP server bound to ``host:port`` (not yet serving), ``workers`` threads at most."""
    from http.server import BaseHTTPRequestHandler

    from .._version import __version__

    health = {"status": "ok", "classes": len(classifier.red.classes_), "embedder": classifier.embedder,
              "version": __version__, "max_batch": max_batch, "max_bytes": max_bytes}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = f"redtext/{__version__}"
        timeout = read_timeout  # a client that stops sending frees its worker after this long

        _linger = False

        def log_message(self, *args):
            pass

        def send_error(self, code, message=None, explain=None):
            """What the standard library answers with an HTML page (a junk request line, bad
            headers, an unknown method): the same JSON error as every other answer."""
            if code == 505:  # a version this server does not speak is a malformed request like any other
                code, message = 400, f"{message or 'unsupported HTTP version'}; use HTTP/1.1"
            if code == 414 or code >= 500 and code != 501:
                text = message or "the request could not be handled"
            else:
                text = f"{message or 'bad request'}; send POST /classify with {{\"texts\": [...]}} or GET /health"
            if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
                self.request_version = "HTTP/1.1"  # a junk request line: answer with a status line all the same
            try:
                self._send(code, {"error": text}, close=True)
            except OSError:
                self.close_connection = True

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
            body = _read_body(self.rfile, length, read_timeout)
            if body is None:
                self.close_connection = True  # the client went away, stalled or dripped mid-body
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

    return PooledServer((host, port), Handler, workers=workers)


def _read_body(rfile, length: int, seconds: float) -> bytes | None:
    """``length`` bytes, or None when the client stops, resets, or takes longer than ``seconds``
    in all (a client dripping a byte at a time does not hold a worker for longer)."""
    import time

    deadline = time.monotonic() + seconds
    parts, got = [], 0
    try:
        while got < length:
            if time.monotonic() > deadline:
                return None
            chunk = rfile.read1(min(65536, length - got)) if hasattr(rfile, "read1") else rfile.read(length - got)
            if not chunk:
                return None
            parts.append(chunk)
            got += len(chunk)
    except OSError:  # timed out or reset
        return None
    return b"".join(parts)


class PooledServer(HTTPServer):
    """An HTTP server whose connections are handled by at most ``workers`` threads.

    Connections beyond the workers wait (``WAITING_PER_WORKER`` per worker); beyond that a
    connection gets a 503 JSON answer at once and is closed — so a thousand stalled clients
    hold ``workers`` threads and no more, and each for at most the read timeout."""

    request_queue_size = 128

    def __init__(self, address, handler, *, workers: int):
        from concurrent.futures import ThreadPoolExecutor

        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="redtext-serve")
        self.slots = threading.BoundedSemaphore(workers * (1 + WAITING_PER_WORKER))
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        if not self.slots.acquire(blocking=False):
            _busy(request)
            self.shutdown_request(request)
            return
        try:
            self.pool.submit(self._work, request, client_address)
        except RuntimeError:  # shutting down
            self.slots.release()
            self.shutdown_request(request)

    def _work(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:  # noqa: BLE001 - one broken connection never stops the server
            pass
        finally:
            self.shutdown_request(request)
            self.slots.release()

    def handle_error(self, request, client_address):  # no tracebacks on stderr
        pass

    def server_close(self):
        super().server_close()
        self.pool.shutdown(wait=False, cancel_futures=True)


def _busy(sock) -> None:
    body = b'{"error": "the server is busy; try again in a moment"}'
    try:
        sock.settimeout(1.0)
        sock.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\nConnection: close\r\nRetry-After: 1\r\n\r\n" + body)
    except OSError:
        pass


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
          max_bytes: int = DEFAULT_MAX_BYTES, workers: int = DEFAULT_WORKERS,
          read_timeout: float = DEFAULT_READ_TIMEOUT, log=None) -> None:
    """Load ``model``, listen on ``host:port`` and serve until SIGINT or SIGTERM."""
    import signal

    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    if not 0 <= port <= 65535:
        raise InputError(f"--port {port}: must be from 0 to 65535 (0 picks a free port)")
    if max_batch < 1:
        raise InputError(f"--max-batch {max_batch}: must be at least 1")
    if max_bytes < 1:
        raise InputError(f"--max-bytes {max_bytes}: must be at least 1")
    if not 1 <= workers <= 256:
        raise InputError(f"--workers {workers}: must be from 1 to 256")
    if not 0.1 <= read_timeout <= 3600:
        raise InputError(f"--read-timeout {read_timeout}: give seconds from 0.1 to 3600")
    classifier = Classifier(model)
    try:
        server = make_server(classifier, host, port, max_batch=max_batch, max_bytes=max_bytes, workers=workers,
                             read_timeout=read_timeout)
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
