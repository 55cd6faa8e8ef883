"""``redtext describe``: one description per label (its "understanding"), written by an LLM from
the label's examples, into an editable JSONL file."""
from __future__ import annotations

from pathlib import Path

from ..errors import InputError


def describe_labels(seed: Path, describer: str, out: Path, *, descriptions: Path | None = None,
                    base_url: str | None = None, examples: int = 10, concurrency: int = 8, cache: Path | None = None,
                    text_col: str = "text", label_col: str = "label", log=print) -> list[dict]:
    from ..experts.registry import ExpertSettings, build_expert
    from ..io.atomic import write_jsonl_atomic
    from ..io.records import load_descriptions, load_seed

    if Path(out).is_dir():
        raise InputError(f"--out {out} is a folder; give a file name such as {Path(out) / 'labels.jsonl'}")
    if not describer.startswith("openai:"):
        raise InputError(f"--describer {describer!r}: use openai:MODEL")
    if examples < 1:
        raise InputError(f"--examples {examples}: must be at least 1")
    rec = load_seed(seed, text_col=text_col, label_col=label_col)
    given: dict[str, str] = {}
    if descriptions:
        given, warnings = load_descriptions(descriptions, known_labels=set(rec.labels))
        for w in warnings:
            log(f"warning: {w}")
    by_label: dict[str, list[str]] = {}
    for t, lab in zip(rec.texts, rec.labels):
        by_label.setdefault(lab, []).append(t)
    todo = {lab: texts[:examples] for lab, texts in sorted(by_label.items()) if lab not in given}
    expert = build_expert(describer, ExpertSettings(llm={"base_url": base_url, "concurrency": concurrency,
                                                         "cache": str(cache) if cache else None}))
    log(f"describing {len(todo)} labels with {describer} ({len(given)} given by you are kept)")
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
    log(f"wrote {len(rows)} descriptions to {out} ({usage['http_calls']} calls, {usage['cache_hits']} from cache, "
        f"{usage['prompt_tokens'] + usage['completion_tokens']} tokens)")
    if missing:
        log(f"warning: no description for {len(missing)} labels ({', '.join(missing[:5])}); run again to retry")
    return rows
