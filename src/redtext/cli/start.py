"""``redtext run``, ``resume``, ``add-classes`` and ``retrain``: start or continue a run folder."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from . import app, log
from .options import (Address, Audit, Backend, BaseUrl, Cache, Checks, Concurrency, Descriptions, Embedder, Expert, ExpertProfile,
                      Gold, GrowBudget, GrowPool, IdCol, LabelCol, MaxCalls, MaxCost, Model, OracleAccuracy, Out,
                      RandomState, TextCol, Timeout, llm_settings)


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
    expert: Expert = ...,
    out: Path = typer.Option(..., help="New folder for predictions.jsonl, model/, report.json and run.db."),
    descriptions: Descriptions = None,
    gold: Gold = None,
    budget: str = typer.Option("0.25", help="Expert calls: a count (500), a fraction of the pool (0.25) or 25%."),
    subset_size: str = typer.Option("auto", help="Labels per subset classifier; 0 = one flat classifier; auto = "
                                                 "flat below 3000 labels, subsets of 8 from 3000 on (see BENCHMARKS.md)."),
    noise_factor: float = typer.Option(2.0, help="NOISE rows per subset, as a multiple of its mean class size."),
    max_candidates: int = typer.Option(3, help="Candidates asked about per text and round (correction depth)."),
    max_rounds: int = typer.Option(20, help="Round cap."),
    min_gain: float = typer.Option(0.05, help="Stop when the share of asked texts the expert accepts falls under this."),
    noise_clusters: int = typer.Option(32, help="NOISE sub-classes per subset classifier (1 = a single NOISE class)."),
    uncertainty: str = typer.Option("auto", help="How texts are picked for the expert: auto (margin when the right label "
                                                 "is usually among the top candidates, else runner_up), margin, "
                                                 "runner_up, gain, reach or entropy; see BENCHMARKS.md."),
    reduce: str = typer.Option("none", help="Label-vector reduction before partitioning: none or umap."),
    open_world: str = typer.Option("auto", help="May a text fit no label? auto: when the expert's answers show "
                                                "such texts (a likelihood-ratio test), they get label null and "
                                                "become proposals for new labels; on: always allowed; off: every "
                                                "text gets a label."),
    question: str = typer.Option("auto", help="What the expert is asked: binary (does the text belong to this "
                                              "label?), choice (which of these candidates, or none?) or auto "
                                              "(choice when the seed shows the top candidates often miss the "
                                              "truth, or once the expert is measured saying yes to wrong labels "
                                              "too often, and it can choose; see BENCHMARKS.md)."),
    embedder: Embedder = "minilm",
    text_col: TextCol = "text",
    label_col: LabelCol = "label",
    id_col: IdCol = "id",
    oracle_accuracy: OracleAccuracy = None,
    expert_profile: ExpertProfile = "careful",
    checks: Checks = "0.03",
    audit: Audit = "0.02",
    random_state: RandomState = 0,
    base_url: BaseUrl = None,
    concurrency: Concurrency = 8,
    timeout: Timeout = 60.0,
    cache: Cache = None,
    max_calls: MaxCalls = None,
    max_cost: MaxCost = None,
    price_prompt: float = typer.Option(0.0, help="openai: price per million prompt tokens."),
    price_completion: float = typer.Option(0.0, help="openai: price per million completion tokens."),
    logprobs: bool = typer.Option(False, help="openai: ask for logprobs and record a yes-confidence."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Estimate calls and tokens, send and write nothing."),
    backend: Backend = "local",
    address: Address = None,
):
    """Label a pool: train on the seed, ask the expert about uncertain texts, retrain, repeat.

    The API key of an openai: expert comes from REDTEXT_API_KEY or OPENAI_API_KEY, never from a flag."""
    from ..app.runner import start
    from ..options import ClassifierOptions, RoundOptions, options_to_json
    from .options import parse_quality

    size = _subset_size(subset_size)
    if reduce not in ("none", "umap"):
        raise typer.BadParameter("use none or umap", param_hint="--reduce")
    if open_world not in ("auto", "on", "off"):
        raise typer.BadParameter("use auto, on or off", param_hint="--open-world")
    classifier = ClassifierOptions(noise_factor=noise_factor, noise_clusters=noise_clusters,
                                   reduce=None if reduce == "none" else reduce)
    from ..options import QUESTIONS

    if question not in QUESTIONS:
        raise typer.BadParameter(f"use {', '.join(QUESTIONS)}", param_hint="--question")
    rounds = RoundOptions(max_rounds=max_rounds, min_gain=min_gain, question=question)
    params = {"subset_size": size, "max_candidates": max_candidates, "embedder": embedder,
              "random_state": random_state, "uncertainty": uncertainty, "open_world": open_world,
              "classifier": options_to_json(classifier), "rounds": options_to_json(rounds),
              "quality": options_to_json(parse_quality(checks, audit)), "backend": backend, "address": address}
    llm = llm_settings(base_url=base_url, concurrency=concurrency, timeout=timeout, cache=cache, max_calls=max_calls,
                       max_cost=max_cost, price_prompt=price_prompt, price_completion=price_completion,
                       logprobs=logprobs)
    start(seed=str(seed), pool=str(pool), out=str(out), expert=expert, gold=str(gold) if gold else None,
          descriptions=str(descriptions) if descriptions else None, budget=budget, params=params,
          text_col=text_col, label_col=label_col, id_col=id_col, oracle_accuracy=oracle_accuracy, llm=llm,
          dry_run=dry_run, log=log, expert_profile=expert_profile)


@app.command()
def resume(
    out: Path = typer.Argument(..., help="The --out folder of a run that was stopped or killed."),
    base_url: Optional[str] = typer.Option(None, help="openai: a corrected server URL."),
    max_calls: Optional[int] = typer.Option(None, help="openai: a new hard cap on HTTP calls (whole run)."),
    max_cost: Optional[float] = typer.Option(None, help="openai: a new hard cap on money (whole run)."),
    concurrency: Optional[int] = typer.Option(None, help="openai: requests in flight at once."),
    budget: Optional[str] = typer.Option(None, help="A finished run: raise its budget (a fraction of the pool, a "
                                                    "percentage or a count) and continue the loop."),
):
    """Continue a stopped run; questions already answered are never asked again. With --budget, extend
    a finished one."""
    from ..app.runner import resume as do_resume

    overrides = {"base_url": base_url, "max_calls": max_calls, "max_cost": max_cost, "concurrency": concurrency}
    if budget is not None:
        from ..app.extend import extend

        extend(str(out), budget=budget, llm_overrides=overrides, log=log)
        return
    do_resume(str(out), log=log, llm_overrides=overrides)


@app.command()
def audit(
    out: Path = typer.Argument(..., metavar="DIR", help="The --out folder of a finished run."),
    calls: int = typer.Option(..., help="More delivered labels to put to the expert (resumable, cached)."),
):
    """Tighten a run's estimate of its accuracy: N more stratified audit questions; the labels do not change."""
    from ..app.extend import extend
    from ..errors import InputError

    if calls < 1:
        raise InputError(f"--calls {calls}: give at least 1 more audit question")
    extend(str(out), audit_calls=calls, log=log)


def _grow(*, model: Path, seed: Optional[Path], pool: Optional[Path], classes: Optional[list[str]], expert: str,
          out: Path, gold, descriptions, budget, oracle_accuracy, random_state, text_col, label_col, id_col,
          base_url, concurrency, timeout, cache, max_calls, max_cost, backend, address) -> None:
    from ..app.runner import start

    llm = llm_settings(base_url=base_url, concurrency=concurrency, timeout=timeout, cache=cache, max_calls=max_calls,
                       max_cost=max_cost)
    start(seed=str(seed) if seed else None, pool=str(pool) if pool else None, out=str(out), expert=expert,
          gold=str(gold) if gold else None, descriptions=str(descriptions) if descriptions else None,
          budget=budget, params={"random_state": random_state, "backend": backend, "address": address},
          text_col=text_col, label_col=label_col, id_col=id_col, oracle_accuracy=oracle_accuracy, llm=llm, log=log,
          base_model=str(model), retrain_classes=classes)


@app.command("add-classes")
def add_classes(
    model: Model = ...,
    seed: Path = typer.Option(..., help="Labelled examples of the new labels (JSONL, CSV, Parquet, JSON)."),
    pool: GrowPool = None,
    expert: Expert = ...,
    out: Out = ...,
    gold: Gold = None,
    descriptions: Descriptions = None,
    budget: GrowBudget = "0.1",
    oracle_accuracy: OracleAccuracy = None,
    random_state: RandomState = 0,
    text_col: TextCol = "text",
    label_col: LabelCol = "label",
    id_col: IdCol = "id",
    base_url: BaseUrl = None,
    concurrency: Concurrency = 8,
    timeout: Timeout = 60.0,
    cache: Cache = None,
    max_calls: MaxCalls = None,
    max_cost: MaxCost = None,
    backend: Backend = "local",
    address: Address = None,
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
    model: Model = ...,
    classes: str = typer.Option(..., help="Comma-separated labels to re-run the loop for (e.g. drifting ones)."),
    pool: GrowPool = None,
    expert: Expert = ...,
    out: Out = ...,
    seed: Optional[Path] = typer.Option(None, help="Extra labelled examples for the named labels."),
    gold: Gold = None,
    budget: GrowBudget = "0.1",
    oracle_accuracy: OracleAccuracy = None,
    random_state: RandomState = 0,
    text_col: TextCol = "text",
    label_col: LabelCol = "label",
    id_col: IdCol = "id",
    base_url: BaseUrl = None,
    concurrency: Concurrency = 8,
    timeout: Timeout = 60.0,
    cache: Cache = None,
    max_calls: MaxCalls = None,
    max_cost: MaxCost = None,
    backend: Backend = "local",
    address: Address = None,
):
    """Re-run the loop for the named labels only (drift), and report how they moved.

    Retrains the subsets holding those labels; the expert is asked only about them. The drift
    report (printed, and in report.json) compares each label's uncertain share and expert
    rejection rate with the model's own run."""
    from ..errors import InputError

    names = [c.strip() for c in classes.split(",") if c.strip()]
    if not names:
        raise InputError("--classes is empty; name the labels to retrain, e.g. --classes refund,card_lost")
    _grow(model=model, seed=seed, pool=pool, classes=names, expert=expert, out=out, gold=gold, descriptions=None,
          budget=budget, oracle_accuracy=oracle_accuracy, random_state=random_state, text_col=text_col,
          label_col=label_col, id_col=id_col, base_url=base_url, concurrency=concurrency, timeout=timeout,
          cache=cache, max_calls=max_calls, max_cost=max_cost, backend=backend, address=address)
