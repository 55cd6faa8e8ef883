"""``redtext report`` and ``export``: what a run folder holds, for people and for other tools."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from . import app, log


@app.command()
def report(
    run_dir: Path = typer.Argument(..., metavar="DIR", help="A run folder written by `redtext run` (holds run.db)."),
    html_out: Optional[Path] = typer.Option(None, "--html", help="Where to write the page (default DIR/report.html)."),
):
    """Write a self-contained HTML report of a run: per-round curves, per-label figures, confusions,
    rejected examples and why the loop stopped. Works on a run still in progress."""
    from ..app.report import write_report

    log(f"wrote {write_report(run_dir, html_out)}")


@app.command()
def export(
    run_dir: Path = typer.Argument(..., metavar="DIR", help="The --out folder of a run made by `redtext run`."),
    fmt: str = typer.Option("jsonl", "--format", "-f",
                            help="jsonl, csv, parquet, label-studio (tasks JSON + labelling config XML) "
                                 "or argilla (records JSONL + label list)."),
    out: Optional[Path] = typer.Option(None, help="File to write (default: DIR/export.<ext>)."),
    min_confidence: Optional[float] = typer.Option(None, help="Add a needs_review column: true for rows whose "
                                                              "(calibrated) confidence is under this, e.g. 0.9."),
):
    """Export a run's labelled pool with confidence and provenance (expert verdicts, round, candidates)."""
    from ..app.export import export as do_export

    files = do_export(run_dir, fmt, out, min_confidence=min_confidence, log=log)
    log(f"exported the pool of {run_dir} as {fmt.strip().lower()} -> {', '.join(map(str, files))}")


@app.command()
def propose(
    run_dir: Path = typer.Argument(..., metavar="DIR", help="The --out folder of a finished open-world run."),
    out: Optional[Path] = typer.Option(None, help="Seed file to write (default: DIR/proposals.jsonl)."),
    per_proposal: int = typer.Option(30, help="Texts written per proposed label, the most typical first."),
):
    """Write the run's proposals for new labels (clusters of the texts that fit no label) as a seed
    file: edit the label names, drop the rows that are not a label, pass it to `redtext add-classes`."""
    from ..app.openworld import propose_file

    propose_file(run_dir, out or Path(run_dir) / "proposals.jsonl", per_proposal=per_proposal, log=log)
