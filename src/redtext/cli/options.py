"""Options several commands share, defined once (typer has no option groups: ``Annotated`` aliases)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

EMBEDDER_HELP = ("minilm (default): all-MiniLM-L6-v2 as ONNX, exported locally once (alias: onnx); "
                 "minilm-torch: the same model in torch, ~3x slower; fast: a static model distilled locally once, "
                 "~50x the texts/s, ~3 points less accurate (pip install 'redtext\\[fast]'); hashing[:DIM]: tests and "
                 "quick trials; or a local sentence-transformers folder.")
EXPERT_HELP = "oracle (simulated; needs --gold), openai:MODEL, human, review or python:MODULE:FUNCTION."

Expert = Annotated[str, typer.Option(help=EXPERT_HELP)]
Gold = Annotated[Optional[Path], typer.Option(help="Hidden gold labels for --expert oracle.")]
Descriptions = Annotated[Optional[Path], typer.Option(help="Label descriptions: rows of label,description.")]
OracleAccuracy = Annotated[Optional[float], typer.Option(help="oracle: accuracy of the careful profile "
                                                                "(default 0.95).")]
ExpertProfile = Annotated[str, typer.Option(help="oracle: careful (5 % errors), agreeable (says yes to a confusable "
                                                 "wrong label 40 % of the time, like LLM judges) or strict (rejects "
                                                 "15 % of right labels).")]
Checks = Annotated[str, typer.Option(help="Known-answer questions from the seed that measure the expert's error "
                                           "rates: a share of the budget (0.03) or a count (40); 0 = none.")]
Audit = Annotated[str, typer.Option(help="Delivered labels put to the expert after the loop to estimate the pool's "
                                          "accuracy with an interval: a share of the budget (0.02) or a count; 0 = none.")]
RandomState = Annotated[int, typer.Option(help="Seed for every random choice.")]
TextCol = Annotated[str, typer.Option(help="Column holding the texts.")]
LabelCol = Annotated[str, typer.Option(help="Column holding the labels (seed, gold).")]
IdCol = Annotated[str, typer.Option(help="Column holding ids, if any (row numbers otherwise).")]
Embedder = Annotated[str, typer.Option(help=EMBEDDER_HELP)]
Backend = Annotated[str, typer.Option(help="Where heavy stages run: local (processes on this machine) or ray.")]
Address = Annotated[Optional[str], typer.Option(help="--backend ray: cluster address (auto or HOST:PORT); "
                                                     "a local Ray when omitted.")]
# an openai: expert
BaseUrl = Annotated[Optional[str], typer.Option(help="openai: server URL, e.g. http://127.0.0.1:8080/v1 "
                                                     "(default: $OPENAI_BASE_URL or OpenAI's).")]
Concurrency = Annotated[int, typer.Option(help="openai: requests in flight at once.")]
Timeout = Annotated[float, typer.Option(help="openai: seconds before a request is abandoned and retried.")]
Cache = Annotated[Optional[Path], typer.Option(help="openai: verdict cache shared across runs "
                                                    "(default ~/.cache/redtext/verdicts.db).")]
MaxCalls = Annotated[Optional[int], typer.Option(help="openai: hard cap on HTTP calls, retries included.")]
MaxCost = Annotated[Optional[float], typer.Option(help="openai: hard cap on money spent (prices below).")]
# growing a model
Model = Annotated[Path, typer.Option(help="The model/ folder of a finished run (or of an earlier add-classes/retrain).")]
GrowPool = Annotated[Optional[Path], typer.Option(help="Texts to label (default: the pool of the run that trained "
                                                       "--model).")]
Out = Annotated[Path, typer.Option(help="New folder for this run's predictions.jsonl, model/, report.json and run.db.")]
GrowBudget = Annotated[str, typer.Option(help="Expert calls: a count, a fraction of the pool or a percentage.")]


def llm_settings(*, base_url=None, concurrency=8, timeout=60.0, cache=None, max_calls=None, max_cost=None,
                 price_prompt=0.0, price_completion=0.0, logprobs=False) -> dict:
    """The ``llm`` settings of a run config from the openai: options."""
    return {"base_url": base_url, "concurrency": concurrency, "timeout": timeout,
            "cache": str(Path(cache).resolve()) if cache else None, "max_calls": max_calls, "max_cost": max_cost,
            "price_prompt": price_prompt, "price_completion": price_completion, "logprobs": logprobs}


def parse_quality(checks, audit):
    """``--checks`` and ``--audit`` as given on the command line (a share of the budget or a count)."""
    from ..core.budget import parse_budget
    from ..errors import InputError
    from ..options import QualityOptions

    values = {}
    for flag, value in (("--checks", checks), ("--audit", audit)):
        try:
            values[flag] = parse_budget(value, flag=flag)
        except InputError:
            raise InputError(f"{flag} {value!r}: give a share of the budget (0.03), a percentage (3%) or a count "
                             "of calls (40); 0 turns it off") from None
    return QualityOptions(checks=values["--checks"], audit=values["--audit"])
