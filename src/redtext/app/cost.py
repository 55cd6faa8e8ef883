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
             choices: int = 5, choice_calls: int = 0) -> dict:
    """Rough token counts (≈ 4 characters a token) for ``calls`` questions about this pool —
    binary ones, or choice ones of ``choices`` candidates (``question="choice"``; with binary
    ``question``, ``choice_calls`` of the ``calls`` are choice ones, as a run that asks a choice
    after a "no" has asked) — and for the LLM-only alternative: one prompt per pool text listing
    every label."""
    from ..core.choice import CHOICE_EXAMPLES

    descriptions = descriptions or {}
    by_label: dict[str, list[str]] = {}
    for t, lab in zip(seed_texts, seed_labels):
        by_label.setdefault(lab, []).append(t)
    labels = sorted(by_label)

    def average(kind: str) -> float:  # the mean prompt of ``sample`` questions of that kind
        rng = random.Random(random_state)
        per_question = []
        for _ in range(min(sample, max(1, len(pool_texts)))):
            text = pool_texts[rng.randrange(len(pool_texts))] if pool_texts else ""
            if kind == "choice":
                shown = rng.sample(labels, min(choices, len(labels)))
                cands = tuple(Context(lab, descriptions.get(lab), tuple(by_label[lab][:CHOICE_EXAMPLES]))
                              for lab in shown)
                per_question.append(messages_tokens(choice_messages(ChoiceQuestion("x", text, cands))))
                continue
            label = labels[rng.randrange(len(labels))]
            ctx = Context(label=label, description=descriptions.get(label), examples=tuple(by_label[label][:n_examples]))
            per_question.append(messages_tokens(judge_messages(Question("x", text, label, ctx))))
        return sum(per_question) / len(per_question)

    n_choice = int(calls) if question == "choice" else min(int(choice_calls), int(calls))
    avg_q = average(question if question == "choice" else "binary")
    prompt = avg_q * (int(calls) - n_choice) + (average("choice") * n_choice if n_choice else 0.0)
    listing = "\n".join(f"- {lab}" + (f": {descriptions[lab]}" if lab in descriptions else "") for lab in labels)
    listing_tokens = estimate_tokens(listing) + 60
    pool_tokens = sum(estimate_tokens(t) for t in pool_texts)
    run = {"calls": int(calls), "prompt_tokens": int(round(prompt)),
           "completion_tokens": int(calls * COMPLETION_TOKENS_PER_QUESTION)}
    if n_choice and question != "choice":
        run["choice_calls"] = n_choice
    llm_only = {"calls": len(pool_texts), "prompt_tokens": int(listing_tokens * len(pool_texts) + pool_tokens),
                "completion_tokens": int(len(pool_texts) * COMPLETION_TOKENS_LLM_ONLY)}
    for d in (run, llm_only):
        d["cost"] = round((d["prompt_tokens"] * price_prompt + d["completion_tokens"] * price_completion) / 1e6, 4)
    ratio = (run["prompt_tokens"] + run["completion_tokens"]) / max(1, llm_only["prompt_tokens"] + llm_only["completion_tokens"])
    return {"run": run, "llm_only": llm_only, "token_ratio": round(ratio, 4), "question": question,
            "avg_prompt_tokens_per_question": round(avg_q, 1)}


def resolve_dry_question(question: str, seed_rec, embedder: str | None, expert: str) -> tuple[str, dict]:
    """What a run started with ``question`` asks, decided as the loop decides it: ``auto`` from the
    seed's leave-one-out top-3 recall (:func:`redtext.core.select.top3_recall`) — which needs the
    seed's embeddings, computed here and kept nowhere — and whether the expert answers choice
    questions. Returns ``(question, detail)``, the question one of ``binary``, ``choice`` and
    ``binary+choice`` (binary first, a choice question after a "no")."""
    from ..core.choice import choice_after_a_no, resolve_question
    from ..core.select import top3_recall

    if question != "auto":
        return question, {}
    if not _can_choose(expert):
        return "binary", {"auto": "the expert answers binary questions only"}
    from ..embed import embed_with_progress, get_embedder

    names = sorted(set(seed_rec.labels))
    index = {name: i for i, name in enumerate(names)}
    X = embed_with_progress(get_embedder(embedder), list(seed_rec.texts), description="embedding the seed")
    recall = top3_recall(X, [index[lab] for lab in seed_rec.labels], len(names))
    asked = resolve_question("auto", recall, True)
    detail = {"auto": "decided from the seed as the run decides it",
              "seed_top3_recall": None if recall is None else round(float(recall), 4)}
    return ("binary+choice" if choice_after_a_no("auto", asked, True) else asked), detail


def _can_choose(expert: str) -> bool:
    """Does the ``--expert`` spec answer choice questions? Every built-in one does; a
    ``python:`` one when its object has ``ask_choice`` (importing it has no side effect a run
    would not have; nothing else is built)."""
    from ..core.questions import can_choose

    if (expert or "").startswith("python:"):
        from ..experts.base import load_python_expert

        return can_choose(load_python_expert(expert))
    return True


def dry_run_estimate(seed_rec, pool_rec, descriptions, budget_value, llm: dict, *, log=print,
                     params: dict | None = None, expert: str = "") -> dict:
    """What a run with these estimator ``params`` would ask and spend, before anything is sent or a
    run written. ``auto`` is decided as the run decides it (:func:`resolve_dry_question`); where it
    asks binary questions with a choice question after a "no", how many follow a "no" is known
    only once the expert answers: the estimate counts every question binary, and ``up_to`` every
    question a choice."""
    from ..core.budget import resolve_budget

    rounds = (params or {}).get("rounds") or {}
    question, choices = rounds.get("question", "auto"), int(rounds.get("choices", 5))
    embedder = (params or {}).get("embedder")

    asked, detail = resolve_dry_question(question, seed_rec, embedder, expert)
    first = "choice" if asked == "choice" else "binary"
    prices = {"price_prompt": float(llm.get("price_prompt") or 0.0),
              "price_completion": float(llm.get("price_completion") or 0.0)}

    def tokens(calls: int, kind: str) -> dict:
        return estimate(seed_texts=seed_rec.texts, seed_labels=seed_rec.labels, pool_texts=pool_rec.texts,
                        calls=calls, descriptions=descriptions, question=kind, choices=choices, **prices)

    calls = resolve_budget(budget_value, len(pool_rec.texts))
    est = tokens(calls, first)
    capped = []
    if llm.get("max_calls") is not None and int(llm["max_calls"]) < calls:
        capped.append(f"--max-calls {llm['max_calls']}")
        calls = int(llm["max_calls"])
    per_call = est["run"]["cost"] / max(1, est["run"]["calls"])
    if llm.get("max_cost") is not None and per_call > 0 and int(float(llm["max_cost"]) / per_call) < calls:
        capped.append(f"--max-cost {llm['max_cost']}")
        calls = int(float(llm["max_cost"]) / per_call)
    if capped:  # the hard limits stop the run first: estimate what they let through
        est = tokens(calls, first)
        est["run"]["capped_by"] = capped
    est["question"] = asked
    est.update(detail)
    if asked == "binary+choice":
        high = tokens(calls, "choice")["run"]
        if llm.get("max_cost") is not None:  # the cost cap holds whatever the mix
            high["cost"] = min(high["cost"], float(llm["max_cost"]))
        est["up_to"] = {k: high[k] for k in ("prompt_tokens", "completion_tokens", "cost")}
    r, o = est["run"], est["llm_only"]
    print(json.dumps(est, indent=2))
    kinds = {"binary": "binary", "choice": f"choice ({choices} candidates)",
             "binary+choice": f"binary (a choice of {choices} after a 'no')"}[asked]
    spread = (f" (up to ~{est['up_to']['prompt_tokens']:,} prompt tokens, cost {est['up_to']['cost']}, if every "
              "question were a choice)" if "up_to" in est else "")
    log(f"dry run: at most {r['calls']} {kinds} expert questions{' (' + ', '.join(capped) + ')' if capped else ''}, "
        f"~{r['prompt_tokens']:,} prompt + {r['completion_tokens']:,} completion tokens (cost {r['cost']}){spread}; "
        f"an LLM asked about every text with every label listed: {o['calls']} calls, ~{o['prompt_tokens']:,} prompt "
        f"tokens (cost {o['cost']}) — {est['token_ratio']:.1%} of its tokens. Nothing was sent and no run was written.")
    return est
