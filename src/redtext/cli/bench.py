"""``redtext bench`` and ``bench-scale``: the benchmark protocol with its baselines, and the scale benchmark."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import typer

from . import app, log
from .options import Address, Backend, Embedder, ExpertProfile, OracleAccuracy


def _write(path: Optional[Path], text: str) -> None:
    from ..io.atomic import write_text_atomic

    if path:
        write_text_atomic(path, text)
        log(f"wrote {path}")


@app.command()
def bench(
    dataset: str = typer.Argument(..., help="A name under ../shared/data or a folder with train.jsonl and test.jsonl."),
    k: int = typer.Option(30, help="Seed examples per class."),
    budget: str = typer.Option("0.25", help="Expert calls: a fraction of the pool (0.25), a percentage (25%) or a "
                                            "count (2000)."),
    seed: int = typer.Option(0, help="Random seed for the split, the oracle and the loop."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the result fields to this JSON file."),
    subset_size: int = typer.Option(8, help="Labels per subset for the red row (the partitioned loop; flat_al is "
                                            "the same loop with one flat classifier)."),
    noise_factor: float = typer.Option(2.0, help="NOISE multiple for the partitioned loop."),
    uncertainty: str = typer.Option("auto", help="Selection score for both loops: auto, margin, runner_up, gain, "
                                                 "reach or entropy."),
    embedder: Embedder = "minilm",
    oracle_accuracy: OracleAccuracy = None,
    expert_profile: ExpertProfile = "careful",
    markdown: Optional[Path] = typer.Option(None, help="Also write the table as Markdown to this file."),
    plot: Optional[Path] = typer.Option(None, help="Also plot accuracy against expert calls to this PNG."),
    backend: Backend = "local",
    address: Address = None,
    thin: int = typer.Option(0, help="Leave this many classes (drawn by --seed) one seed example each, the rest "
                                     "in the pool; reports their pool recall (thin_recall)."),
    oos: bool = typer.Option(False, "--oos", help="Open world: add the dataset's official out-of-scope texts "
                                                  "(clinc150's oos.jsonl) to pool and test as 'fits no label'."),
    open_world: str = typer.Option("auto", help="The loops' --open-world: auto, on or off (the closed baseline is "
                                                "always off)."),
    unknown_classes: Optional[float] = typer.Option(None, help="Open world: give this share of the labels (drawn by "
                                                              "--seed) no seed examples; their texts count as "
                                                              "'fits no label'."),
    question: str = typer.Option("auto", help="The loops' questions: auto, binary (is it this label?) or choice "
                                              "(which of these candidates, or none?)."),
    choices: int = typer.Option(5, help="Candidates per choice question (5: the best of 5, 10 and 20 at "
                                           "equal tokens on onet_titles)."),
    budget_tokens: Optional[int] = typer.Option(None, help="Cap the loops' expert tokens (prompt and reply, counted "
                                                           "with the real prompts); the call budget follows from it."),
    methods: str = typer.Option("red,flat_al,flat_seed,knn,gold_upper", help="The methods to run, comma-separated "
                                "(the default configuration's among them for the headline)."),
):
    """Run the benchmark protocol (the README's "Benchmark" section) with its baselines; print the table.

    The top-level JSON fields are the configuration `redtext run` uses by default (default_method)."""
    from rich.console import Console

    from ..backends import get_backend
    from ..bench.protocol import run_benchmark
    from ..bench.render import plot_curves, render_markdown, render_table, to_json
    from ..core.select import UNCERTAINTY
    from ..errors import InputError

    if unknown_classes is not None and not 0 < unknown_classes < 1:
        raise InputError(f"--unknown-classes {unknown_classes}: give a share of the labels above 0 and under 1, "
                         "e.g. 0.25")
    if subset_size < 1:
        raise InputError(f"--subset-size {subset_size}: must be ≥ 1")
    if uncertainty != "auto" and uncertainty not in UNCERTAINTY:
        raise InputError(f"--uncertainty {uncertainty!r}: use auto or one of {', '.join(UNCERTAINTY)}")
    if open_world not in ("auto", "on", "off"):
        raise InputError(f"--open-world {open_world!r}: use auto, on or off")
    from ..options import QUESTIONS, RoundOptions

    if question not in QUESTIONS:
        raise InputError(f"--question {question!r}: use {', '.join(QUESTIONS)}")
    if choices < 2:
        raise InputError(f"--choices {choices}: offer at least 2 candidates")
    if budget_tokens is not None and budget_tokens < 1:
        raise InputError(f"--budget-tokens {budget_tokens}: give a positive number of tokens")
    chosen = tuple(m.strip() for m in methods.split(",") if m.strip())
    known = ("red", "flat_al", "flat_seed", "knn", "gold_upper", "closed")
    if not chosen or any(m not in known for m in chosen):
        raise InputError(f"--methods {methods!r}: give some of {', '.join(known)}, comma-separated")
    params = {"noise_factor": noise_factor, "rounds": RoundOptions(question=question, choices=choices)}
    if open_world != "auto":
        params["open_world"] = open_world
    if uncertainty != "auto":
        params["uncertainty"] = uncertainty
    result = run_benchmark(dataset, k=k, budget=budget, seed=seed, embedder=embedder, subset_size=subset_size,
                           accuracy=oracle_accuracy, profile=expert_profile, log=log,
                           backend=get_backend(backend, address), red_params=params, thin=thin, oos=oos,
                           unknown=unknown_classes or 0.0, budget_tokens=budget_tokens, methods=chosen)
    Console(width=max(120, Console().width)).print(render_table(result))
    _write(json_out, json.dumps(to_json(result), indent=2))
    if plot:
        plot.parent.mkdir(parents=True, exist_ok=True)
        plot_curves(result, plot)
        log(f"wrote {plot}")
    if markdown:
        rel = os.path.relpath(plot, markdown.parent) if plot else None
        _write(markdown, render_markdown(result, plot=rel))


@app.command("bench-trust")
def bench_trust(
    datasets: str = typer.Option("clinc150,banking77,onet_titles", help="Comma-separated: clinc150, banking77, "
                                                                         "onet_titles (each at its protocol's k and budget)."),
    profiles: str = typer.Option("careful,agreeable,strict", help="Comma-separated oracle profiles."),
    seeds: str = typer.Option("0,1,2", help="Comma-separated seeds."),
    embedder: Embedder = "minilm",
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the rows to this JSON file."),
    markdown: Optional[Path] = typer.Option(None, help="Also write the table as Markdown to this file."),
):
    """The trust measurement: datasets × expert profiles × seeds with the default configuration;
    the run's own estimate and interval beside the truth, the expert's measured rates beside its true ones."""
    from ..bench.trust import run_grid, render
    from ..errors import InputError

    try:
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        raise InputError(f"--seeds {seeds!r}: give whole numbers separated by commas, e.g. 0,1,2") from None
    from ..experts.oracle import PROFILES

    profile_list = [p.strip() for p in profiles.split(",") if p.strip()]
    unknown = [p for p in profile_list if p not in PROFILES]
    if unknown or not profile_list or not seed_list:
        raise InputError(f"--profiles {profiles!r}: use some of {', '.join(PROFILES)}; --seeds must not be empty")
    rows = run_grid([d.strip() for d in datasets.split(",") if d.strip()], profile_list, seed_list,
                    embedder=embedder, log=log)
    table = render(rows)
    print(table)
    _write(json_out, json.dumps(rows, indent=2))
    _write(markdown, table)


@app.command("bench-scale")
def bench_scale(
    classes: int = typer.Option(1000, help="Labels in the synthetic label space (real classes merged or split)."),
    pool: int = typer.Option(100_000, help="Pool rows at the largest size (e.g. 100000 or 1000000)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write every figure to this JSON file."),
    markdown: Optional[Path] = typer.Option(None, help="Write the tables as Markdown to this file."),
    plot: Optional[Path] = typer.Option(None, help="Plot each stage's time and the peak memory against "
                                                   "the pool size to this PNG."),
    embedder: str = typer.Option("minilm", help="Embedder whose vectors the workload uses and whose "
                                                "throughput is measured (the project default: minilm)."),
    backend: Backend = "local",
    address: Address = None,
    sizes: Optional[str] = typer.Option(None, help="Pool sizes to measure, comma-separated (default: "
                                                   "10k, 30k, 100k, 300k, 1M below --pool, and --pool)."),
    k: int = typer.Option(10, help="Seed examples per label."),
    round_calls: Optional[int] = typer.Option(None, help="Expert questions per round (default "
                                                         "ceil(0.25 × pool / 8), the pace of the defaults)."),
    embed_sample: int = typer.Option(4000, help="Real texts embedded to measure embedding and classify throughput."),
    repeats: int = typer.Option(3, help="Throughput measurements (interleaved); the best of each is reported."),
    texts: Optional[int] = typer.Option(None, help="Use a random N of the real texts (default: all, ~58k)."),
    seed: int = typer.Option(0, help="Random seed of the workload."),
    cache: Optional[Path] = typer.Option(None, help="Embedding cache for the real texts "
                                                    "(default: the one `redtext bench` uses)."),
    workdir: Optional[Path] = typer.Option(None, help="Folder for the memory-mapped pool, stores and model "
                                                      "(default: a temporary folder, removed afterwards)."),
):
    """Measure each stage of a R.E.D. round at scale: embedding, partition, training, prediction,
    selection, store writes and peak memory — and how they grow with the pool size."""
    from rich.console import Console

    from ..bench.scale import run, validate
    from ..bench.scale.render import plot_growth, render_markdown, render_table
    from ..errors import InputError

    if repeats < 1:
        raise InputError(f"--repeats {repeats}: need at least 1")
    opts = validate(classes=classes, pool=pool, k=k, sizes=sizes, round_calls=round_calls, embed_sample=embed_sample,
                    texts=texts, outputs={"--json": json_out, "--markdown": markdown, "--plot": plot},
                    backend=backend, address=address, workdir=workdir)
    result = run(classes=classes, pool=pool, embedder=embedder, backend=backend, address=address, sizes=opts["sizes"],
                 k=k, round_calls=round_calls, embed_sample=embed_sample, texts=texts, seed=seed, cache=cache,
                 workdir=workdir, repeats=repeats, log=log)
    Console(width=max(120, Console().width)).print(render_table(result))
    _write(json_out, json.dumps(result, indent=2))
    if plot:
        plot_growth(result, plot)
        log(f"wrote {plot}")
    if markdown:
        rel = os.path.relpath(plot, markdown.parent) if plot else None
        _write(markdown, render_markdown(result, plot=rel))
