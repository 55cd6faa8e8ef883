"""Every number on the report page, from a run's stored data (:class:`~.data.RunData`)."""
from __future__ import annotations

from typing import Optional

from ...errors import InputError
from .data import MAX_PAIRS_SHOWN, RUNNER_UP_MARGIN, RunData  # noqa: F401

def _ratio(num: float, den: float) -> Optional[float]:
    return None if not den else num / den


def _budget_calls(data: RunData) -> Optional[int]:
    if data.report_json and isinstance(data.report_json.get("budget_calls"), int):
        return data.report_json["budget_calls"]
    from ...core.budget import resolve_budget

    try:
        return resolve_budget(data.config.get("budget"), len(data.pool_texts))
    except InputError:
        return None


def _cost_model(data: RunData) -> dict:
    """Cost per round, which the store does not record: what it is derived from, and the series.
    Each round's questions are priced as they were asked, binary or choice (:attr:`RunData.round_questions`)."""
    from ..cost import COMPLETION_TOKENS_PER_QUESTION, estimate

    llm = data.config.get("llm") or {}
    try:
        price_prompt = float(llm.get("price_prompt") or 0.0)
        price_completion = float(llm.get("price_completion") or 0.0)
    except (TypeError, ValueError):
        price_prompt = price_completion = 0.0
    rounds = [int(r.get("round", i)) for i, r in enumerate(data.rounds)]
    by_round = data.round_questions
    asked = [by_round.get(r, (0, 0)) for r in rounds]
    prompt = {"binary": 0.0, "choice": 0.0}
    if data.pool_texts and data.seed_labels:
        choices = ((data.config.get("params") or {}).get("rounds") or {}).get("choices", 5)
        for kind in ("binary", "choice") if any(c for _, c in by_round.values()) else ("binary",):
            prompt[kind] = float(estimate(seed_texts=data.seed_texts, seed_labels=data.seed_labels,
                                          pool_texts=data.pool_texts, calls=1, descriptions=data.descriptions,
                                          question=kind, choices=int(choices))["avg_prompt_tokens_per_question"])
    tokens = {k: v + COMPLETION_TOKENS_PER_QUESTION for k, v in prompt.items()}
    money = {k: (v * price_prompt + COMPLETION_TOKENS_PER_QUESTION * price_completion) / 1e6 for k, v in prompt.items()}
    def priced_tokens(b: int, c: int) -> float:
        return b * tokens["binary"] + c * tokens["choice"]

    est_tokens = [priced_tokens(b, c) for b, c in asked]
    all_tokens = sum(priced_tokens(b, c) for b, c in by_round.values())
    n_choice = sum(c for _, c in by_round.values())
    priced = (f"questions stored per round × {prompt['binary']:.1f} prompt + {COMPLETION_TOKENS_PER_QUESTION} "
              "completion tokens a question" + (f" ({prompt['choice']:.1f} prompt tokens a choice question, "
                                                f"{n_choice} of them)" if n_choice else "")
              + " (≈ 4 characters a token)")
    measured = data.usage[1] if data.usage else 0.0
    if measured > 0:
        series = [measured * t / all_tokens if all_tokens else 0.0 for t in est_tokens]
        unit, kind = "money", "measured"
        how = (f"The run paid {measured:.6g} in all (run_usage: {data.usage[0]} HTTP calls); the store does not "
               "record cost per round, so the total is spread over rounds in proportion to their estimated tokens "
               "(cache hits and retries make the true split differ).")
    elif money["binary"] > 0:
        series = [b * money["binary"] + c * money["choice"] for b, c in asked]
        unit, kind = "money", "estimated"
        how = (f"Estimated: {priced}, at the run's prices ({price_prompt:g} / {price_completion:g} per million "
               "tokens).")
    else:
        series = est_tokens
        unit, kind = "tokens", "estimated"
        how = (f"No money was spent or priced (expert {data.config.get('expert', '?')!s}); shown instead: estimated "
               f"tokens an LLM judge would use — {priced}.")
    return {"unit": unit, "kind": kind, "how": how, "series": series, "total": sum(series),
            "tokens_per_question": tokens["binary"],
            "tokens_per_choice_question": tokens["choice"] if n_choice else None, "questions": [b + c for b, c in asked]}


#: how the report names "fits no label"
NO_LABEL = "(no label)"


def summarize(data: RunData) -> dict:
    """Every number on the page, as plain Python data (tests read this too)."""
    from collections import Counter, defaultdict

    # "fits no label" (an open-world run) gets a row of its own, under a name no label can have
    predictions = [(i, NO_LABEL if lab is None else lab, conf, src,
                    [[NO_LABEL if c[0] is None else c[0], *c[1:]] for c in cands])
                   for i, lab, conf, src, cands in data.predictions]
    classes = sorted(set(data.seed_labels) | {v[3] for v in data.verdicts} | {p[1] for p in predictions})
    text_to_idx: dict[str, int] = {}
    for i, t in enumerate(data.pool_texts):
        text_to_idx.setdefault(t, i)
    delivered = {p[0]: p for p in predictions}

    # -- verdicts ---------------------------------------------------------------------------
    totals = Counter()
    per_label = {lab: Counter() for lab in classes}
    by_text_round: dict = defaultdict(list)
    by_text: dict = defaultdict(list)
    kinds = Counter(v[6] for v in data.checks)
    for _seq, _rnd, _text, _lab, verdict, _expert, _kind in data.checks:  # known-answer and audit questions
        totals[{1: "accepted", 0: "rejected", None: "abstained"}.get(verdict, "abstained")] += 1
    for seq, rnd, text, lab, verdict, _expert in data.verdicts:
        key = {1: "accepted", 0: "rejected", None: "abstained"}.get(verdict, "abstained")
        totals[key] += 1
        per_label[lab]["questions"] += 1
        per_label[lab][key] += 1
        by_text_round[(text, rnd)].append((seq, lab, verdict))
        by_text[text].append((seq, rnd, lab, verdict))
    for answers in by_text_round.values():  # the first label asked about a text in a round: its top proposal
        _, lab, verdict = min(answers)
        per_label[lab]["top_asked"] += 1
        if verdict is not None:
            per_label[lab]["top_answered"] += 1
            per_label[lab]["top_accepted"] += verdict == 1

    # -- delivered labels --------------------------------------------------------------------
    seed_counts = Counter(data.seed_labels)
    conf_sum: Counter = Counter()
    for _idx, lab, conf, source, _c in predictions:
        per_label[lab]["delivered"] += 1
        per_label[lab][f"delivered_{source}"] += 1
        if source == "classifier":
            conf_sum[lab] += conf
    sources = Counter(p[3] for p in predictions)
    label_rows = []
    for lab in classes:
        c = per_label[lab]
        label_rows.append({
            "label": lab, "seed": seed_counts.get(lab, 0), "questions": c["questions"],
            "accepted": c["accepted"], "rejected": c["rejected"], "abstained": c["abstained"],
            "acceptance": _ratio(c["accepted"], c["accepted"] + c["rejected"]),
            "top_asked": c["top_asked"], "top_acceptance": _ratio(c["top_accepted"], c["top_answered"]),
            "delivered": c["delivered"], "expert": c["delivered_expert"], "classifier": c["delivered_classifier"],
            "from_seed": c["delivered_seed"],
            "mean_confidence": _ratio(conf_sum[lab], c["delivered_classifier"]),
        })
    label_rows.sort(key=lambda r: (-r["questions"], -r["delivered"], r["label"]))

    # -- confusions ----------------------------------------------------------------------------
    corrections: Counter = Counter()
    correction_example: dict = {}
    rejected_rows = []
    for text, answers in by_text.items():
        answers.sort()
        for k, (seq, rnd, lab, verdict) in enumerate(answers):
            if verdict == 1:
                for _, _, earlier, v in answers[:k]:
                    if v == 0 and earlier != lab:
                        corrections[(earlier, lab)] += 1
                        correction_example.setdefault((earlier, lab), text)
            elif verdict == 0:
                idx = text_to_idx.get(text)
                final = delivered.get(idx) if idx is not None else None
                later = [lab2 for s2, _, lab2, v2 in answers if v2 == 1 and s2 > seq]
                rejected_rows.append({
                    "seq": seq, "round": rnd, "id": data.pool_ids[idx] if idx is not None else "", "text": text,
                    "label": lab, "accepted_later": later[0] if later else None,
                    "delivered": final[1] if final else None, "source": final[3] if final else None})
    rejected_rows.sort(key=lambda r: r["seq"])
    runner_ups: Counter = Counter()
    runner_up_example: dict = {}
    for idx, lab, conf, source, cands in predictions:
        if source != "classifier" or len(cands) < 2:
            continue
        (l1, s1), (l2, s2) = cands[0][:2], cands[1][:2]
        if l1 != l2 and float(s1) - float(s2) < RUNNER_UP_MARGIN:
            pair = tuple(sorted((l1, l2)))
            runner_ups[pair] += 1
            runner_up_example.setdefault(pair, data.pool_texts[idx] if idx < len(data.pool_texts) else "")

    # -- per round ---------------------------------------------------------------------------------
    cost = _cost_model(data)
    round_rows = []
    for i, r in enumerate(data.rounds):
        rnd = int(r.get("round", i))
        calls_before = int(r.get("calls", 0))
        round_calls = int(r.get("round_calls", 0))
        round_rows.append({
            "round": rnd, "uncertain": r.get("uncertain"), "all_noise": r.get("all_noise"),
            "selection": r.get("selection"),
            "texts_asked": int(r.get("texts_asked", 0)), "accepted": int(r.get("accepted", 0)),
            "rejected": int(r.get("rejected", 0)), "abstained": int(r.get("abstained", 0)),
            "round_calls": round_calls, "calls_total": calls_before + round_calls,
            "stored_questions": cost["questions"][i], "validated": r.get("validated"),
            "train_size": r.get("train_size"), "mean_confidence": r.get("mean_confidence"),
            "cost": cost["series"][i],
        })

    budget = _budget_calls(data)
    return {
        "run_id": data.run_id, "status": data.status, "stop_reason": data.stop_reason,
        "in_progress": data.in_progress, "classes": classes, "pool_size": len(data.pool_texts),
        "seed_size": len(data.seed_texts), "questions": _questions(data),
        "check_questions": kinds.get("check", 0), "audit_questions": kinds.get("audit", 0),
        "accepted": totals["accepted"],
        "rejected": totals["rejected"], "abstained": totals["abstained"], "budget_calls": budget,
        "sources": {s: sources.get(s, 0) for s in ("expert", "classifier", "seed")},
        "has_predictions": bool(data.predictions),
        "mean_confidence_classifier": _ratio(sum(conf_sum.values()), sources.get("classifier", 0)),
        "labels": label_rows, "rounds": round_rows, "cost": cost,
        "corrections": [{"rejected": a, "accepted": b, "count": n, "example": correction_example[(a, b)]}
                        for (a, b), n in sorted(corrections.items(), key=lambda kv: (-kv[1], kv[0]))],
        "runner_ups": [{"a": a, "b": b, "count": n, "example": runner_up_example[(a, b)]}
                       for (a, b), n in sorted(runner_ups.items(), key=lambda kv: (-kv[1], kv[0]))],
        "rejected_examples": rejected_rows, "stop": _stop_story(data, round_rows, budget),
    }


def _questions(data: RunData) -> int:
    return data.questions if data.questions is not None else len(data.verdicts) + len(data.checks)


def _stop_story(data: RunData, rounds: list, budget: Optional[int]) -> dict:
    """Why the loop stopped (or that it has not), with the figures behind the rule."""
    from ...core.stop import MIN_TEXTS_FOR_GAIN, STOP_REASONS, StopRules, gain_window
    from ...estimator import saved_params
    from ...options import RoundOptions

    try:
        opts = saved_params(data.config.get("params") or {}).get("rounds") or RoundOptions()
    except InputError:
        opts = RoundOptions()
    rules = StopRules(budget=budget or 0, max_rounds=opts.max_rounds, min_gain=opts.min_gain)
    max_rounds, min_gain, patience = rules.max_rounds, rules.min_gain, rules.patience
    accepted, asked = gain_window(rules, rounds)
    asked_rounds = [r for r in rounds if r["texts_asked"] > 0][-patience:]
    share = _ratio(accepted, asked)
    evidence = [
        ("expert questions stored", f"{_questions(data)}" + (f" of a budget of {budget}" if budget is not None
                                                               else "")),
        ("rounds stored", f"{len(rounds)} (cap: rounds 0–{max_rounds})"),
        (f"uncertain pool texts, last {min(len(rounds), patience + 1)} rounds",
         " → ".join(str(r["uncertain"]) for r in rounds[-(patience + 1):])),
        (f"accepted share of texts asked, last {len(asked_rounds)} asking rounds",
         (f"{share:.1%} of {asked} texts (stops under {min_gain:.0%} once at least {MIN_TEXTS_FOR_GAIN} were asked)"
          if share is not None else "no texts asked")),
    ]
    llm = data.config.get("llm") or {}
    if data.usage is not None:
        limits = ", ".join(f"{k} {llm[k]}" for k in ("max_calls", "max_cost") if llm.get(k) is not None)
        evidence.append(("expert HTTP calls / cost", f"{data.usage[0]} / {data.usage[1]:.6g}"
                         + (f" (limits: {limits})" if limits else "")))
    reason = data.stop_reason
    folder = str(data.run_dir)
    if data.in_progress:
        headline = (f"Still running: a redtext process is working in this folder. This page shows the "
                    f"{len(rounds)} rounds stored so far; report again later for the rest.")
        state = "running"
    elif data.status == "done" and reason:
        headline = f"Stopped: {reason} — {STOP_REASONS.get(reason, 'a reason this redtext does not know')}."
        state = "done"
    elif data.status == "running":
        headline = ("Stopped before finishing (killed or interrupted): no stop reason was recorded. "
                    f"`redtext resume {folder}` continues it without asking stored questions again.")
        state = "interrupted"
    else:
        headline = (f"The run ended with status {data.status!r}" + (f" ({reason})" if reason else "")
                    + f"; `redtext resume {folder}` continues it.")
        state = data.status
    return {"state": state, "reason": reason, "headline": headline, "evidence": evidence}
