"""Token and call estimates: what a run will cost, and what asking an LLM about every text would."""
from __future__ import annotations

import json

import random
from typing import Sequence

from ..core.questions import ChoiceQuestion, Context, Question
from ..experts.llm import estimate_tokens, messages_tokens
from ..experts.prompts import choice_messages, judge_messages

COMPLETION_TOKENS_PER_QUESTION = 3     # "yes" / "no" plus end of turn
COMPLETION_TOKENS_LLM_ONLY = 12        # a label name


def estimate(*, seed_texts: Sequence[str], seed_labels: Sequence[str], pool_texts: Sequence[str], calls: int,
             descriptions: dict[str, str] | None = None, n_examples: int = 6, price_prompt: float = 0.0,
             price_completion: float = 0.0, sample: int = 200, random_state: int = 0, question: str = "binary",
             choices: int = 10) -> dict:
    """Rough token counts (≈ 4 characters a token) for ``calls`` questions about this pool —
    binary ones, or choice ones of ``choices`` candidates — and for the LLM-only alternative: one
    prompt per pool text listing every label."""
    from ..core.choice import CHOICE_EXAMPLES

    descriptions = descriptions or {}
    rng = random.Random(random_state)
    by_label: dict[str, list[str]] = {}
    for t, lab in zip(seed_texts, seed_labels):
        by_label.setdefault(lab, []).append(t)
    labels = sorted(by_label)
    per_question = []
    for _ in range(min(sample, max(1, len(pool_texts)))):
        text = pool_texts[rng.randrange(len(pool_texts))] if pool_texts else ""
        if question == "choice":
            shown = rng.sample(labels, min(choices, len(labels)))
            cands = tuple(Context(lab, descriptions.get(lab), tuple(by_label[lab][:CHOICE_EXAMPLES])) for lab in shown)
            per_question.append(messages_tokens(choice_messages(ChoiceQuestion("x", text, cands))))
            continue
        label = labels[rng.randrange(len(labels))]
        ctx = Context(label=label, description=descriptions.get(label), examples=tuple(by_label[label][:n_examples]))
        per_question.append(messages_tokens(judge_messages(Question("x", text, label, ctx))))
    avg_q = sum(per_question) / len(per_question)
    listing = "\n".join(f"- {lab}" + (f": {descriptions[lab]}" if lab in descriptions else "") for lab in labels)
    listing_tokens = estimate_tokens(listing) + 60
    pool_tokens = sum(estimate_tokens(t) for t in pool_texts)
    run = {"calls": int(calls), "prompt_tokens": int(round(avg_q * calls)),
           "completion_tokens": int(calls * COMPLETION_TOKENS_PER_QUESTION)}
    llm_only = {"calls": len(pool_texts), "prompt_tokens": int(listing_tokens * len(pool_texts) + pool_tokens),
                "completion_tokens": int(len(pool_texts) * COMPLETION_TOKENS_LLM_ONLY)}
    for d in (run, llm_only):
        d["cost"] = round((d["prompt_tokens"] * price_prompt + d["completion_tokens"] * price_completion) / 1e6, 4)
    ratio = (run["prompt_tokens"] + run["completion_tokens"]) / max(1, llm_only["prompt_tokens"] + llm_only["completion_tokens"])
    return {"run": run, "llm_only": llm_only, "token_ratio": round(ratio, 4), "question": question,
            "avg_prompt_tokens_per_question": round(avg_q, 1)}


def dry_run_estimate(seed_rec, pool_rec, descriptions, budget_value, llm: dict, *, log=print,
                     question: str = "binary") -> dict:
    """What a run would ask and spend, before anything is sent or written (``question="auto"`` is
    decided from the seed's embeddings, which a dry run does not compute: counted as binary)."""
    from ..core.budget import resolve_budget

    question = "choice" if question == "choice" else "binary"

    calls = resolve_budget(budget_value, len(pool_rec.texts))
    est = estimate(seed_texts=seed_rec.texts, seed_labels=seed_rec.labels, pool_texts=pool_rec.texts, calls=calls,
                   descriptions=descriptions, price_prompt=float(llm.get("price_prompt") or 0.0),
                   price_completion=float(llm.get("price_completion") or 0.0), question=question)
    capped = []
    if llm.get("max_calls") is not None and int(llm["max_calls"]) < calls:
        capped.append(f"--max-calls {llm['max_calls']}")
        calls = int(llm["max_calls"])
    per_call = est["run"]["cost"] / max(1, est["run"]["calls"])
    if llm.get("max_cost") is not None and per_call > 0 and int(float(llm["max_cost"]) / per_call) < calls:
        capped.append(f"--max-cost {llm['max_cost']}")
        calls = int(float(llm["max_cost"]) / per_call)
    if capped:  # the hard limits stop the run first: estimate what they let through
        est = estimate(seed_texts=seed_rec.texts, seed_labels=seed_rec.labels, pool_texts=pool_rec.texts,
                       calls=calls, descriptions=descriptions, price_prompt=float(llm.get("price_prompt") or 0.0),
                       price_completion=float(llm.get("price_completion") or 0.0), question=question)
        est["run"]["capped_by"] = capped
    r, o = est["run"], est["llm_only"]
    print(json.dumps(est, indent=2))
    log(f"dry run: at most {r['calls']} {question} expert questions{' (' + ', '.join(capped) + ')' if capped else ''}, ~{r['prompt_tokens']:,} prompt + "
        f"{r['completion_tokens']:,} completion tokens (cost {r['cost']}); an LLM asked about every text with "
        f"every label listed: {o['calls']} calls, ~{o['prompt_tokens']:,} prompt tokens (cost {o['cost']}) — "
        f"{est['token_ratio']:.1%} of its tokens. Nothing was sent or written.")
    return est
