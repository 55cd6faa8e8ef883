"""The ``redtext`` command."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from .errors import InputError, RedtextError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Label large text pools into large label spaces with few examples, by Recursive "
                       "Expert Delegation (R.E.D.).")


EMBEDDER_HELP = ("minilm (default): all-MiniLM-L6-v2 as int8 ONNX, exported locally once (alias: onnx); "
                 "minilm-torch: the same model in torch, ~3x slower; fast: a static model distilled locally once, "
                 "~50x the texts/s, ~3 points less accurate (pip install 'redtext[fast]'); hashing[:DIM]: tests and "
                 "quick trials; or a local sentence-transformers folder.")


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _subset_size(value: str):
    """``--subset-size``: auto, 0 (flat) or a positive count."""
    if value.strip().lower() == "auto":
        return "auto"
    try:
        n = int(value)
    except ValueError:
        n = -1
    if n < 0:
        raise typer.BadParameter(f"{value!r}: give auto, 0 (one flat classifier) or a positive count of labels",
                                 param_hint="--subset-size")
    return n or None


@app.command()
def run(
    seed: Path = typer.Option(..., help="Labelled seed examples (JSONL, CSV, Parquet, JSON)."),
    pool: Path = typer.Option(..., help="Unlabelled texts to label."),
    expert: str = typer.Option(..., help="oracle (simulated; needs --gold), openai:MODEL, human, review "
                                         "or python:MODULE:FUNCTION."),
    out: Path = typer.Option(..., help="New folder for predictions.jsonl, model/, report.json and run.db."),
    descriptions: Optional[Path] = typer.Option(None, help="Label descriptions: rows of label,description."),
    gold: Optional[Path] = typer.Option(None, help="Hidden gold labels for --expert oracle."),
    budget: str = typer.Option("0.25", help="Expert calls: a count (500), a fraction of the pool (0.25) or 25%."),
    subset_size: str = typer.Option("auto", help="Labels per subset classifier; 0 = one flat classifier; auto = "
                                                 "flat below 1000 labels, subsets of 8 from 1000 on (see BENCHMARKS.md)."),
    noise_factor: float = typer.Option(2.0, help="NOISE rows per subset, as a multiple of its mean class size."),
    max_candidates: int = typer.Option(3, help="Candidates asked about per text and round (correction depth)."),
    max_rounds: int = typer.Option(20, help="Round cap."),
    min_gain: float = typer.Option(0.05, help="Stop when the share of asked texts the expert accepts falls under this."),
    noise_clusters: int = typer.Option(32, help="NOISE sub-classes per subset classifier (1 = a single NOISE class)."),
    uncertainty: str = typer.Option("auto", help="How texts are picked for the expert: auto (margin when the right label "
                                                 "is usually among the top candidates, else runner_up), margin, "
                                                 "runner_up, gain, reach or entropy; see BENCHMARKS.md."),
    reduce: str = typer.Option("none", help="Label-vector reduction before partitioning: none or umap."),
    embedder: str = typer.Option("minilm", help=EMBEDDER_HELP),
    text_col: str = typer.Option("text", help="Column holding the texts."),
    label_col: str = typer.Option("label", help="Column holding the labels (seed, gold)."),
    id_col: str = typer.Option("id", help="Column holding ids, if any (row numbers otherwise)."),
    oracle_accuracy: float = typer.Option(0.95, help="Accuracy of the simulated oracle."),
    random_state: int = typer.Option(0, help="Seed for every random choice."),
    base_url: Optional[str] = typer.Option(None, help="openai: server URL, e.g. http://127.0.0.1:8080/v1 "
                                                      "(default: $OPENAI_BASE_URL or OpenAI's)."),
    concurrency: int = typer.Option(8, help="openai: requests in flight at once."),
    timeout: float = typer.Option(60.0, help="openai: seconds before a request is abandoned and retried."),
    cache: Optional[Path] = typer.Option(None, help="openai: verdict cache shared across runs "
                                                    "(default ~/.cache/redtext/verdicts.db)."),
    max_calls: Optional[int] = typer.Option(None, help="openai: hard cap on HTTP calls, retries included."),
    max_cost: Optional[float] = typer.Option(None, help="openai: hard cap on money spent (prices below)."),
    price_prompt: float = typer.Option(0.0, help="openai: price per million prompt tokens."),
    price_completion: float = typer.Option(0.0, help="openai: price per million completion tokens."),
    logprobs: bool = typer.Option(False, help="openai: ask for logprobs and record a yes-confidence."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Estimate calls and tokens, send and write nothing."),
    backend: str = typer.Option("local", help="Where heavy stages run: local (processes on this machine) or ray."),
    address: Optional[str] = typer.Option(None, help="--backend ray: cluster address (auto or HOST:PORT); "
                                                     "a local Ray when omitted."),
):
    """Label a pool: train on the seed, ask the expert about uncertain texts, retrain, repeat.

    The API key of an openai: expert comes from REDTEXT_API_KEY or OPENAI_API_KEY, never from a flag."""
    from .runner import start

    size = _subset_size(subset_size)
    if reduce not in ("none", "umap"):
        raise typer.BadParameter("use none or umap", param_hint="--reduce")
    params = {"subset_size": size, "noise_factor": noise_factor, "max_candidates": max_candidates,
              "max_rounds": max_rounds, "embedder": embedder, "random_state": random_state,
              "noise_clusters": noise_clusters, "uncertainty": uncertainty, "min_gain": min_gain,
              "reduce": None if reduce == "none" else reduce, "backend": backend, "address": address}
    llm = {"base_url": base_url, "concurrency": concurrency, "timeout": timeout,
           "cache": str(cache.resolve()) if cache else None, "max_calls": max_calls, "max_cost": max_cost,
           "price_prompt": price_prompt, "price_completion": price_completion, "logprobs": logprobs}
    start(seed=str(seed), pool=str(pool), out=str(out), expert=expert, gold=str(gold) if gold else None,
          descriptions=str(descriptions) if descriptions else None, budget=budget, params=params,
          text_col=text_col, label_col=label_col, id_col=id_col, oracle_accuracy=oracle_accuracy, llm=llm,
          dry_run=dry_run, log=_log)


@app.command()
def resume(
    out: Path = typer.Argument(..., help="The --out folder of a run that was stopped or killed."),
    base_url: Optional[str] = typer.Option(None, help="openai: a corrected server URL."),
    max_calls: Optional[int] = typer.Option(None, help="openai: a new hard cap on HTTP calls (whole run)."),
    max_cost: Optional[float] = typer.Option(None, help="openai: a new hard cap on money (whole run)."),
    concurrency: Optional[int] = typer.Option(None, help="openai: requests in flight at once."),
):
    """Continue a stopped run; questions already answered are never asked again."""
    from .runner import resume as do_resume

    do_resume(str(out), log=_log, llm_overrides={"base_url": base_url, "max_calls": max_calls,
                                                 "max_cost": max_cost, "concurrency": concurrency})


def _grow(*, model: Path, seed: Optional[Path], pool: Optional[Path], classes: Optional[list[str]], expert: str,
          out: Path, gold, descriptions, budget, oracle_accuracy, random_state, text_col, label_col, id_col,
          base_url, concurrency, timeout, cache, max_calls, max_cost, backend, address) -> None:
    from .runner import start

    llm = {"base_url": base_url, "concurrency": concurrency, "timeout": timeout,
           "cache": str(cache.resolve()) if cache else None, "max_calls": max_calls, "max_cost": max_cost,
           "price_prompt": 0.0, "price_completion": 0.0, "logprobs": False}
    start(seed=str(seed) if seed else None, pool=str(pool) if pool else None, out=str(out), expert=expert,
          gold=str(gold) if gold else None, descriptions=str(descriptions) if descriptions else None,
          budget=budget, params={"random_state": random_state, "backend": backend, "address": address},
          text_col=text_col, label_col=label_col, id_col=id_col, oracle_accuracy=oracle_accuracy, llm=llm, log=_log,
          base_model=str(model), retrain_classes=classes)


_MODEL = typer.Option(..., help="The model/ folder of a finished run (or of an earlier add-classes/retrain).")
_POOL = typer.Option(None, help="Texts to label (default: the pool of the run that trained --model).")
_EXPERT = typer.Option(..., help="oracle (needs --gold), openai:MODEL, human, review or python:MODULE:FUNCTION.")
_OUT = typer.Option(..., help="New folder for this run's predictions.jsonl, model/, report.json and run.db.")


@app.command("add-classes")
def add_classes(
    model: Path = _MODEL,
    seed: Path = typer.Option(..., help="Labelled examples of the new labels (JSONL, CSV, Parquet, JSON)."),
    pool: Optional[Path] = _POOL,
    expert: str = _EXPERT,
    out: Path = _OUT,
    gold: Optional[Path] = typer.Option(None, help="Hidden gold labels for --expert oracle."),
    descriptions: Optional[Path] = typer.Option(None, help="Label descriptions: rows of label,description."),
    budget: str = typer.Option("0.1", help="Expert calls: a count, a fraction of the pool or a percentage."),
    oracle_accuracy: float = typer.Option(0.95, help="Accuracy of the simulated oracle."),
    random_state: int = typer.Option(0, help="Seed for every random choice."),
    text_col: str = typer.Option("text", help="Column holding the texts."),
    label_col: str = typer.Option("label", help="Column holding the labels."),
    id_col: str = typer.Option("id", help="Column holding ids, if any."),
    base_url: Optional[str] = typer.Option(None, help="openai: server URL."),
    concurrency: int = typer.Option(8, help="openai: requests in flight at once."),
    timeout: float = typer.Option(60.0, help="openai: seconds before a request is retried."),
    cache: Optional[Path] = typer.Option(None, help="openai: verdict cache shared across runs."),
    max_calls: Optional[int] = typer.Option(None, help="openai: hard cap on HTTP calls."),
    max_cost: Optional[float] = typer.Option(None, help="openai: hard cap on money spent."),
    backend: str = typer.Option("local", help="local or ray."),
    address: Optional[str] = typer.Option(None, help="--backend ray: cluster address."),
):
    """Add labels to a trained model: place them into subsets, retrain only those subsets.

    Every other subset keeps its classifier, so the existing labels keep their behaviour. The
    expert is asked only about labels of the retrained subsets. Resumable with `redtext resume`."""
    _grow(model=model, seed=seed, pool=pool, classes=None, expert=expert, out=out, gold=gold,
          descriptions=descriptions, budget=budget, oracle_accuracy=oracle_accuracy, random_state=random_state,
          text_col=text_col, label_col=label_col, id_col=id_col, base_url=base_url, concurrency=concurrency,
          timeout=timeout, cache=cache, max_calls=max_calls, max_cost=max_cost, backend=backend, address=address)


@app.command()
def retrain(
    model: Path = _MODEL,
    classes: str = typer.Option(..., help="Comma-separated labels to re-run the loop for (e.g. drifting ones)."),
    pool: Optional[Path] = _POOL,
    expert: str = _EXPERT,
    out: Path = _OUT,
    seed: Optional[Path] = typer.Option(None, help="Extra labelled examples for the named labels."),
    gold: Optional[Path] = typer.Option(None, help="Hidden gold labels for --expert oracle."),
    budget: str = typer.Option("0.1", help="Expert calls: a count, a fraction of the pool or a percentage."),
    oracle_accuracy: float = typer.Option(0.95, help="Accuracy of the simulated oracle."),
    random_state: int = typer.Option(0, help="Seed for every random choice."),
    text_col: str = typer.Option("text", help="Column holding the texts."),
    label_col: str = typer.Option("label", help="Column holding the labels."),
    id_col: str = typer.Option("id", help="Column holding ids, if any."),
    base_url: Optional[str] = typer.Option(None, help="openai: server URL."),
    concurrency: int = typer.Option(8, help="openai: requests in flight at once."),
    timeout: float = typer.Option(60.0, help="openai: seconds before a request is retried."),
    cache: Optional[Path] = typer.Option(None, help="openai: verdict cache shared across runs."),
    max_calls: Optional[int] = typer.Option(None, help="openai: hard cap on HTTP calls."),
    max_cost: Optional[float] = typer.Option(None, help="openai: hard cap on money spent."),
    backend: str = typer.Option("local", help="local or ray."),
    address: Optional[str] = typer.Option(None, help="--backend ray: cluster address."),
):
    """Re-run the loop for the named labels only (drift), and report how they moved.

    Retrains the subsets holding those labels; the expert is asked only about them. The drift
    report (printed, and in report.json) compares each label's uncertain share and expert
    rejection rate with the model's own run."""
    names = [c.strip() for c in classes.split(",") if c.strip()]
    if not names:
        raise InputError("--classes is empty; name the labels to retrain, e.g. --classes refund,card_lost")
    _grow(model=model, seed=seed, pool=pool, classes=names, expert=expert, out=out, gold=gold, descriptions=None,
          budget=budget, oracle_accuracy=oracle_accuracy, random_state=random_state, text_col=text_col,
          label_col=label_col, id_col=id_col, base_url=base_url, concurrency=concurrency, timeout=timeout,
          cache=cache, max_calls=max_calls, max_cost=max_cost, backend=backend, address=address)


@app.command()
def classify(
    model: Path = typer.Option(..., help="A model/ folder written by `redtext run`."),
    input: Path = typer.Option(..., "--input", help="Texts to classify (JSONL, CSV, Parquet, JSON)."),
    out: Path = typer.Option(..., help="Where to write predictions (JSONL)."),
    text_col: str = typer.Option("text", help="Column holding the texts."),
    id_col: str = typer.Option("id", help="Column holding ids, if any."),
    backend: str = typer.Option("local", help="Where heavy stages run: local (processes on this machine) or ray."),
    address: Optional[str] = typer.Option(None, help="--backend ray: cluster address (auto or HOST:PORT); "
                                                     "a local Ray when omitted."),
):
    """Classify new texts with a trained model — no expert needed."""
    from .data import load_pool, write_jsonl_atomic
    from .red import RED

    if out.is_dir():
        raise InputError(f"--out {out} is a folder; give a file name such as {out / 'predictions.jsonl'}")
    red = RED.load(model, backend=backend, address=address)
    red.progress = True
    rec = load_pool(input, text_col=text_col, id_col=id_col)
    for w in rec.warnings:
        _log(f"warning: {w}")
    pred = red.predict_details(rec.texts)
    from .predict import prediction_row

    rows = ({"id": rec.ids[i], "text": rec.texts[i], **prediction_row(red.classes_, pred, i)}
            for i in range(len(rec.texts)))
    n = write_jsonl_atomic(out, rows)
    _log(f"classified {n} texts -> {out}")


@app.command()
def bench(
    dataset: str = typer.Argument(..., help="A name under ../shared/data or a folder with train.jsonl and test.jsonl."),
    k: int = typer.Option(30, help="Seed examples per class."),
    budget: float = typer.Option(0.25, help="Expert calls as a fraction of the pool (≤ 1) or a count (> 1)."),
    seed: int = typer.Option(0, help="Random seed for the split, the oracle and the loop."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the result fields to this JSON file."),
    subset_size: int = typer.Option(8, help="Labels per subset for the red row (the partitioned loop; flat_al is "
                                            "the same loop with one flat classifier)."),
    noise_factor: float = typer.Option(2.0, help="NOISE multiple for R.E.D."),
    uncertainty: str = typer.Option("auto", help="Selection score for R.E.D. and flat_al: auto, margin, "
                                                 "runner_up, gain, reach or entropy."),
    embedder: str = typer.Option("minilm", help="Embedder for every method. " + EMBEDDER_HELP),
    oracle_accuracy: float = typer.Option(0.95, help="Accuracy of the simulated oracle."),
    markdown: Optional[Path] = typer.Option(None, help="Also write the table as Markdown to this file."),
    plot: Optional[Path] = typer.Option(None, help="Also plot accuracy against expert calls to this PNG."),
    backend: str = typer.Option("local", help="Where heavy stages run: local (processes on this machine) or ray."),
    address: Optional[str] = typer.Option(None, help="--backend ray: cluster address (auto or HOST:PORT); "
                                                     "a local Ray when omitted."),
):
    """Run the benchmark protocol of DESIGN.md with its baselines, and print the table."""
    import json

    from rich.console import Console

    from .atomic import write_text_atomic
    from .bench import render_table, run_benchmark, to_json
    from .errors import InputError

    if budget < 0:
        raise InputError(f"--budget {budget}: must be ≥ 0")
    if subset_size < 1:
        raise InputError(f"--subset-size {subset_size}: must be ≥ 1")
    from .select import UNCERTAINTY

    if uncertainty != "auto" and uncertainty not in UNCERTAINTY:
        raise InputError(f"--uncertainty {uncertainty!r}: use auto or one of {', '.join(UNCERTAINTY)}")
    result = run_benchmark(dataset, k=k, budget=budget if budget <= 1 else int(budget), seed=seed,
                           embedder=embedder, subset_size=subset_size, noise_factor=noise_factor,
                           accuracy=oracle_accuracy, log=_log, backend=backend, address=address,
                           red_params=None if uncertainty == "auto" else {"uncertainty": uncertainty})
    Console(width=max(120, Console().width)).print(render_table(result))
    if json_out:
        write_text_atomic(json_out, json.dumps(to_json(result), indent=2))
        _log(f"wrote {json_out}")
    if plot:
        from .bench import plot_curves

        plot.parent.mkdir(parents=True, exist_ok=True)
        plot_curves(result, plot)
        _log(f"wrote {plot}")
    if markdown:
        import os

        from .bench import render_markdown

        rel = os.path.relpath(plot, markdown.parent) if plot else None
        write_text_atomic(markdown, render_markdown(result, plot=rel))
        _log(f"wrote {markdown}")


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
    text_col: str = typer.Option("text", help="Column holding the texts."),
    label_col: str = typer.Option("label", help="Column holding the labels."),
):
    """Write one description per label from its examples (the label's "understanding").

    The file is plain JSONL: edit it, then pass it to `redtext run --descriptions`."""
    from .data import load_descriptions, load_seed, write_jsonl_atomic
    from .errors import InputError
    from .experts.registry import build_expert

    if out.is_dir():
        raise InputError(f"--out {out} is a folder; give a file name such as {out / 'labels.jsonl'}")
    if not describer.startswith("openai:"):
        raise InputError(f"--describer {describer!r}: use openai:MODEL")
    if examples < 1:
        raise InputError(f"--examples {examples}: must be at least 1")
    rec = load_seed(seed, text_col=text_col, label_col=label_col)
    given: dict[str, str] = {}
    if descriptions:
        given, warnings = load_descriptions(descriptions, known_labels=set(rec.labels))
        for w in warnings:
            _log(f"warning: {w}")
    by_label: dict[str, list[str]] = {}
    for t, lab in zip(rec.texts, rec.labels):
        by_label.setdefault(lab, []).append(t)
    todo = {lab: texts[:examples] for lab, texts in sorted(by_label.items()) if lab not in given}
    expert = build_expert(describer, llm={"base_url": base_url, "concurrency": concurrency,
                                          "cache": str(cache) if cache else None})
    _log(f"describing {len(todo)} labels with {describer} ({len(given)} given by you are kept)")
    made = expert.describe(todo) if todo else {}
    rows, missing = [], []
    for lab in sorted(by_label):
        if lab in given:
            rows.append({"label": lab, "description": given[lab], "source": "user"})
        elif made.get(lab):
            rows.append({"label": lab, "description": made[lab], "source": describer})
        else:
            missing.append(lab)
    write_jsonl_atomic(out, rows)
    usage = expert.usage.as_dict()
    _log(f"wrote {len(rows)} descriptions to {out} ({usage['http_calls']} calls, {usage['cache_hits']} from cache, "
         f"{usage['prompt_tokens'] + usage['completion_tokens']} tokens)")
    if missing:
        _log(f"warning: no description for {len(missing)} labels ({', '.join(missing[:5])}); run again to retry")


@app.command()
def review(
    out: Path = typer.Argument(..., help="The --out folder of a run started with --expert review."),
    port: int = typer.Option(8765, help="Port on 127.0.0.1 (0 picks a free one)."),
):
    """Answer a run's queued questions in a web page on 127.0.0.1 (keys: y / n / s)."""
    from .errors import InputError
    from .experts.review import make_server

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


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every failure becomes one ``error:`` line and an exit code, never a traceback."""
    try:  # recent typer ships its own copy of click
        from typer._click.exceptions import ClickException
    except ImportError:  # pragma: no cover - older typer uses click itself
        from click import ClickException
    from typer import Abort, Exit

    try:
        app(args=argv, standalone_mode=False, prog_name="redtext")
    except RedtextError as exc:
        from .errors import ExpertError

        hint = "; fix it and continue with `redtext resume DIR`" if isinstance(exc, ExpertError) else ""
        print(f"error: {exc}{hint}", file=sys.stderr)
        return exc.exit_code
    except Exit as exc:
        return exc.exit_code
    except Abort:
        print("error: aborted", file=sys.stderr)
        return 130
    except ClickException as exc:
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            print(ctx.get_help(), file=sys.stderr)
            return 2
        hint = f"; see `{ctx.command_path} --help`" if ctx is not None else ""
        print(f"error: {exc.format_message().rstrip('.')}".replace("\n", " ") + hint, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; a run can be continued with `redtext resume DIR`", file=sys.stderr)
        return 130
    except MemoryError:
        print("error: out of memory; try a smaller pool or more memory", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: one line for the user, the traceback on request
        import os

        if os.environ.get("REDTEXT_DEBUG"):
            raise
        msg = f"{type(exc).__name__}: {exc}".replace("\n", " ")
        print(f"error: internal error ({msg}); rerun with REDTEXT_DEBUG=1 for the traceback and please report it",
              file=sys.stderr)
        return 1
    return 0


def entry() -> None:
    sys.exit(main())


# Commands that live in their own modules (each module's ``command`` is a typer command;
# module-level imports there stay light so `redtext --help` is fast).
def _register() -> None:
    from . import bench_scale, export, report, serve

    app.command("report")(report.command)
    app.command("export")(export.command)
    app.command("serve")(serve.command)
    app.command("bench-scale")(bench_scale.command)


_register()
