"""`redtext serve`: the HTTP API over a real socket on 127.0.0.1, in a separate process."""
from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from redtext.testing import topic_texts as make_texts, write_jsonl
from test_export import TRICKY, build_run

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

MAX_BATCH = 8
MAX_BYTES = 4096


def redtext_exe() -> str:
    exe = Path(sys.executable).parent / "redtext"
    return str(exe) if exe.exists() else shutil.which("redtext")


def env() -> dict:
    return dict(os.environ, REDTEXT_PROGRESS="0", REDTEXT_JOBS="1")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return build_run(tmp_path_factory.mktemp("serve"))["dir"] / "model"


class Server:
    def __init__(self, model: Path, *extra):
        self.proc = subprocess.Popen([redtext_exe(), "serve", "--model", str(model), "--port", "0",
                                      "--max-batch", str(MAX_BATCH), "--max-bytes", str(MAX_BYTES), *map(str, extra)],
                                     env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()  # the URL, printed once the server listens
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert found, f"no URL on stderr: {line!r} {self.proc.stderr.read() if self.proc.poll() is not None else ''}"
        self.port = int(found.group(1))

    def request(self, method: str, path: str, body=None, headers=None) -> tuple[int, dict, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            data = json.dumps(body).encode("utf-8") if body is not None and not isinstance(body, bytes) else body
            conn.request(method, path, body=data, headers=headers or {})
            resp = conn.getresponse()
            raw = resp.read()
            return resp.status, dict(resp.getheaders()), (json.loads(raw) if raw else {})
        finally:
            conn.close()

    def raw(self, request: bytes) -> tuple[int, dict]:
        """Send bytes as they are (to leave out Content-Length); the status and JSON body."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            sock.sendall(request)
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
        return int(head.split()[1]), json.loads(body)

    def stop(self) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        return code, self.proc.stderr.read()


@pytest.fixture(scope="module")
def server(model):
    srv = Server(model)
    yield srv
    srv.stop()


def test_health_names_the_model(server, model):
    status, headers, body = server.request("GET", "/health")
    manifest = json.loads((model / "manifest.json").read_text())
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert body["status"] == "ok"
    assert body["classes"] == len(manifest["classes"]) == 12
    assert body["embedder"] == manifest["embedder"]["name"]
    from redtext import __version__

    assert body["version"] == __version__
    assert (body["max_batch"], body["max_bytes"]) == (MAX_BATCH, MAX_BYTES)


def test_a_batch_equals_redtext_classify_on_the_same_texts(server, model, tmp_path):
    texts = [t for t, _ in make_texts(1, seed=7)[:MAX_BATCH - 2]] + [TRICKY[0][0], "  padded  text  "]
    assert len(texts) == MAX_BATCH
    status, _, body = server.request("POST", "/classify", {"texts": texts})
    assert status == 200
    results = body["results"]
    assert len(results) == len(texts)
    write_jsonl(tmp_path / "in.jsonl", [{"id": f"t{i}", "text": t} for i, t in enumerate(texts)])
    done = subprocess.run([redtext_exe(), "classify", "--model", str(model), "--input", str(tmp_path / "in.jsonl"),
                           "--out", str(tmp_path / "out.jsonl")], env=env(), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    expected = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [e["text"] for e in expected] == texts
    for got, want in zip(results, expected):
        assert set(got) == {"label", "confidence", "all_noise", "candidates"}
        assert got == {k: want[k] for k in ("label", "confidence", "all_noise", "candidates")}
    assert {r["label"] for r in results[:MAX_BATCH - 2]} - {lab for _, lab in make_texts(1, seed=7)} == set()


def test_concurrent_requests_get_the_same_answers(server):
    batches = [[t for t, _ in make_texts(1, seed=s)[:4]] for s in range(10, 16)]
    sequential = [server.request("POST", "/classify", {"texts": b})[2] for b in batches]
    answers: dict[int, dict] = {}

    def ask(i):
        answers[i] = server.request("POST", "/classify", {"texts": batches[i]})[2]

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [answers[i] for i in range(len(batches))] == sequential


def test_request_size_is_bounded_with_413(server):
    for size in (MAX_BYTES, 2 << 20):  # just over, and far over (the client is still sending when refused)
        big = {"texts": ["word " * (size // 5)]}
        status, headers, body = server.request("POST", "/classify", big)
        assert status == 413 and "max-bytes" in body["error"]
        assert headers["Content-Type"].startswith("application/json")
    status, body = server.raw(b"POST /classify HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert status == 413 and "Content-Length" in body["error"]
    # the server still answers after refusing bodies it did not read
    assert server.request("POST", "/classify", {"texts": ["rain"]})[0] == 200


@pytest.mark.parametrize("body, needle", [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe", "UTF-8"),
    ({"text": ["a"]}, "texts"),
    (["a"], "texts"),
    ({"texts": "rain"}, "list"),
    ({"texts": []}, "empty"),
    ({"texts": ["rain", 3]}, "texts[1]"),
    ({"texts": ["rain", None]}, "texts[1]"),
    ({"texts": ["rain", "   "]}, "blank"),
    ({"texts": ["rain"] * (MAX_BATCH + 1)}, "max-batch"),
])
def test_bad_requests_are_400_with_a_message(server, body, needle):
    status, headers, answer = server.request("POST", "/classify", body)
    assert status == 400
    assert headers["Content-Type"].startswith("application/json")
    assert needle in answer["error"]


def test_unknown_paths_are_404_and_wrong_methods_405(server):
    status, _, body = server.request("GET", "/nope")
    assert status == 404 and "not found" in body["error"]
    assert server.request("POST", "/classify/extra", {"texts": ["a"]})[0] == 404
    status, headers, body = server.request("GET", "/classify")
    assert status == 405 and headers["Allow"] == "POST" and "POST" in body["error"]
    status, headers, _ = server.request("POST", "/health", {"texts": ["a"]})
    assert status == 405 and "GET" in headers["Allow"]
    assert server.request("DELETE", "/classify")[0] == 405
    assert server.request("PUT", "/elsewhere", b"x")[0] == 404
    assert server.request("GET", "/health?verbose=1")[0] == 200


def test_sigint_stops_the_server_cleanly(model):
    srv = Server(model)
    assert srv.request("GET", "/health")[0] == 200
    code, err = srv.stop()
    assert code == 0, err
    assert "Traceback" not in err and "stopped" in err
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=2).close()


def test_a_bad_model_path_fails_before_listening(tmp_path):
    for path in (tmp_path / "missing", tmp_path):
        done = subprocess.run([redtext_exe(), "serve", "--model", str(path), "--port", "0"], env=env(),
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2
        assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
        assert "manifest.json" in done.stderr and "http://" not in done.stderr
    done = subprocess.run([redtext_exe(), "serve", "--model", str(tmp_path), "--max-batch", "0"], env=env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--max-batch" in done.stderr
