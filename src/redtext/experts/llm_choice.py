"""Choice questions for the OpenAI-compatible expert (:class:`~redtext.experts.llm.OpenAICompatibleExpert`):
which of these numbered candidates fits the text, or none of them (0)? The same HTTP path, retries,
hard limits, cache and call log as the binary question; the reply must be a candidate's number or 0
(:func:`~redtext.experts.prompts.parse_choice`), asked once more when it is not, then an abstention.
The cache keeps the pick (or the abstention) as JSON under a key of the model, its settings, the
prompt version, the text and every candidate shown, in order.
"""
from __future__ import annotations

import asyncio
import math
from typing import Sequence

from ..errors import ExpertError
from .base import ABSTAINED, NOT_ASKED, ChoiceQuestion
from .cache import cache_key
from .prompts import CHOICE_VERSION, choice_messages, parse_choice


def run_coroutine(coro):
    """``asyncio.run``, also from code that already runs an event loop (e.g. Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()



class ChoiceAsking:
    """``ask_choice`` for :class:`~redtext.experts.llm.OpenAICompatibleExpert` (its ``_send``,
    ``_body``, ``cache``, ``usage`` and limits)."""

    async def _one_choice(self, client, sem: asyncio.Semaphore, q: ChoiceQuestion):
        """One choice question: a candidate's label, ``None`` (none of them), ``ABSTAINED`` after
        two malformed replies, ``NOT_ASKED`` when a limit or the server stops it."""
        import json

        messages = choice_messages(q)
        key = cache_key(model=self.model, params=self.params, prompt_version=CHOICE_VERSION, label="\x1f".join(q.labels),
                        text=q.text, context={"candidates": [[c.label, c.description, list(c.examples)]
                                                             for c in q.candidates]})
        if self.cache is not None:
            hit = self.cache.get_text(key)
            if hit is not None:
                self.usage.cache_hits += 1
                found = json.loads(hit)
                return ABSTAINED if found.get("abstained") else found.get("pick")
        body = self._body(messages)
        est_tokens = self._prompt_bound(messages)
        for _attempt in range(2):
            data, latency, tokens = await self._send(client, sem, body, est_tokens, key, CHOICE_VERSION)
            if data is None:
                return NOT_ASKED
            pt, ct, cost = tokens
            choices = data.get("choices") if isinstance(data, dict) else None
            choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
            content = (choice.get("message") or {}).get("content")
            content = content if isinstance(content, str) else None
            n = parse_choice(content, len(q.candidates))
            if self.cache is not None:
                self.cache.log_call(key=key, model=self.model, prompt_version=CHOICE_VERSION, request=body,
                                    reply=content, status="ok" if n is not None else "malformed", prompt_tokens=pt,
                                    completion_tokens=ct, cost=cost, latency_s=latency)
            if n is not None:
                pick = None if n == 0 else q.labels[n - 1]
                if self.cache is not None:
                    self.cache.put_text(key, json.dumps({"pick": pick, "confidence": _token_probability(
                        choice, str(n)) if self.logprobs else None}))
                return pick
            self.usage.malformed += 1
        self.usage.abstained += 1
        if self.cache is not None:
            self.cache.put_text(key, json.dumps({"abstained": True}))
        return ABSTAINED

    def ask_choice(self, questions: Sequence[ChoiceQuestion]) -> list:
        if not questions:
            return []
        errors_before = self.usage.errors
        answers = run_coroutine(self._ask_all(list(questions), self._one_choice))
        if all(a is NOT_ASKED for a in answers) and self.usage.errors > errors_before and not self.exhausted:
            raise ExpertError(f"every request to {self.shown_url} failed after {self.max_retries} retries "
                              f"(last: {self.usage.last_error}); check the server and --base-url")
        return answers


def _token_probability(choice: dict, token: str) -> float | None:
    """The probability of the reply's first token being ``token`` (from top_logprobs), if offered."""
    try:
        top = choice["logprobs"]["content"][0]["top_logprobs"]
    except (KeyError, IndexError, TypeError):
        return None
    for item in top:
        if str(item.get("token", "")).strip() == token:
            return math.exp(float(item.get("logprob", -100)))
    return None
