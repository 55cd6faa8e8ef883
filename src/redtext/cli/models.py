"""``redtext classify``, ``serve``, ``describe`` and ``review``: use a model, describe labels,
answer a run's questions in a browser."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from . import app, log
from .options import Address, Backend, LabelCol, TextCol


@app.command()
def classify(
    model: Path = typer.Option(..., help="A model/ folder written by `redtext run`."),
    input: Path = typer.Option(..., "--input", help="Texts to classify (JSONL, CSV, Parquet, JSON)."),
    out: Path = typer.Option(..., help="Where to write predictions (JSONL)."),
    text_col: Optional[str] = typer.Option(None, help="Column holding the texts (default: the one the model's run "
                                                      "used, else text)."),
    id_col: Optional[str] = typer.Option(None, help="Column holding ids (default: the one the model's run used, "
                                                    "else id; row numbers when absent)."),
    backend: Backend = "local",
    address: Address = None,
):
    """Classify new texts with a trained model — no expert needed."""
    from ..app.classify import classify_file
    from ..backends import get_backend
    from ..errors import InputError
    from ..estimator import RED

    if out.is_dir():
        raise InputError(f"--out {out} is a folder; give a file name such as {out / 'predictions.jsonl'}")
    red = RED.load(model, backend=get_backend(backend, address))
    remembered = red.columns_ or {}  # the model remembers the columns of the run that trained it
    n = classify_file(red, input, out, text_col=text_col or remembered.get("text_col") or "text",
                      id_col=id_col or remembered.get("id_col") or "id", log=log)
    log(f"classified {n} texts -> {out}")


@app.command()
def serve(
    model: Path = typer.Option(..., help="A model/ folder written by `redtext run`."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0 exposes it to the network)."),
    port: int = typer.Option(8000, help="Port (0 picks a free one; the URL is printed)."),
    max_batch: int = typer.Option(256, help="Most texts in one /classify request."),
    max_bytes: int = typer.Option(1 << 20, help="Largest request body in bytes (larger: 413)."),
    workers: int = typer.Option(8, help="Connections served at once (threads); more wait, and beyond a queue get 503."),
    read_timeout: float = typer.Option(10.0, help="Seconds a client may take to send a request before it is dropped."),
):
    """Serve a trained model over HTTP: POST /classify {"texts": [...]}, GET /health. Ctrl-C stops it."""
    from ..app.serve import serve as do_serve

    do_serve(model, host, port, max_batch=max_batch, max_bytes=max_bytes, workers=workers,
             read_timeout=read_timeout, log=log)


@app.command()
def describe(
    seed: Path = typer.Option(..., help="Labelled seed examples."),
    describer: str = typer.Option(..., help="openai:MODEL — ideally a larger model than the judge."),
    out: Path = typer.Option(..., help="Where to write labels.jsonl (label, description, source)."),
    descriptions: Optional[Path] = typer.Option(None, help="Your own descriptions; they take precedence."),
    base_url: Optional[str] = typer.Option(None, help="Server URL (default: $OPENAI_BASE_URL or OpenAI's)."),
    examples: int = typer.Option(10, help="Examples per label shown to the describer."),
    concurrency: int = typer.Option(8, help="Requests in flight at once."),
    cache: Optional[Path] = typer.Option(None, help="Cache shared with runs (default ~/.cache/redtext/verdicts.db)."),
    text_col: TextCol = "text",
    label_col: LabelCol = "label",
):
    """Write one description per label from its examples (the label's "understanding").

    The file is plain JSONL: edit it, then pass it to `redtext run --descriptions`."""
    from ..app.describe import describe_labels

    describe_labels(seed, describer, out, descriptions=descriptions, base_url=base_url, examples=examples,
                    concurrency=concurrency, cache=cache, text_col=text_col, label_col=label_col, log=log)


@app.command()
def review(
    out: Path = typer.Argument(..., help="The --out folder of a run started with --expert review."),
    port: int = typer.Option(8765, help="Port on 127.0.0.1 (0 picks a free one)."),
):
    """Answer a run's queued questions in a web page on 127.0.0.1 (keys: y / n / s)."""
    from ..errors import InputError
    from ..experts.review import make_server

    if not (out / "run.db").is_file():
        raise InputError(f"{out} holds no run (no run.db); start one with `redtext run --expert review --out {out}`")
    if not 0 <= port <= 65535:
        raise InputError(f"--port {port}: must be from 0 to 65535 (0 picks a free port)")
    try:
        server = make_server(out / "run.db", port=port)
    except OSError as exc:
        raise InputError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror}); pick another --port") from None
    print(f"review at http://127.0.0.1:{server.server_address[1]}/  (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
