"""``redtext report DIR``: one self-contained HTML page about a run folder.

What the page shows, and where each figure comes from:

- per-round curves — the ``rounds`` table (one JSON object of metrics per round: uncertain
  pool texts, texts asked, accepted / rejected / abstained answers, calls, mean confidence);
- cost per round — *not stored*: derived from the questions stored per round in ``verdicts``,
  priced with the run's own token estimate (:func:`redtext.app.cost.estimate`) or, when the run
  paid an LLM, the measured total in ``run_usage`` spread over rounds by questions answered;
- per label — questions asked and accepted (``verdicts``), the share of the classifier's top
  proposals the expert accepted, labels delivered by source and mean confidence
  (``predictions``, written when a run finishes);
- confusions — a rejected label followed by an accepted one for the same text, and close
  runner-up candidates among classifier-delivered labels;
- the examples the expert rejected, and why the loop stopped (``runs``).

The store is read in one read transaction through a read-only view
(:meth:`redtext.io.store.Store.open_readonly`): a report never changes a run, and a run still in progress can be reported from what it has stored. Plots are PNGs drawn
with matplotlib (Agg) and embedded as ``data:`` URIs; the page loads nothing from elsewhere
and runs no script. Module-level imports stay light so ``redtext --help`` is fast.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from ...errors import InputError, one_line as _one_line
from .data import load_run
from .html import render_html
from .plots import make_plots
from .summary import summarize

__all__ = ["build_report", "load_run", "summarize", "write_report"]


def build_report(run_dir: Path) -> str:
    """The whole page as a string (nothing is written)."""
    data = load_run(Path(run_dir))
    try:
        summary = summarize(data)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise InputError(f"{data.run_dir / 'run.db'} holds unreadable run data ({type(exc).__name__}: "
                         f"{_one_line(exc)}); it is damaged or not from redtext") from None
    return render_html(data, summary, make_plots(summary))


def write_report(run_dir: Path, html_path: Optional[Path] = None) -> Path:
    from ...io.atomic import write_text_atomic

    run_dir = Path(run_dir)
    target = Path(html_path) if html_path is not None else run_dir / "report.html"
    if target.is_dir():
        raise InputError(f"--html {target} is a folder; give a file name such as {target / 'report.html'}")
    page = build_report(run_dir)  # everything is rendered before a byte is written
    try:
        return write_text_atomic(target, page)
    except OSError as exc:
        raise InputError(f"cannot write {target} ({_one_line(exc.strerror or exc)}); choose another --html") \
            from None
