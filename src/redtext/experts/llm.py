"""An expert behind any OpenAI-compatible chat API (OpenAI, vLLM, Ollama, llama.cpp, gateways).

Async HTTP with bounded concurrency; retries with exponential backoff and jitter on 429, 5xx,
timeouts, connection errors and unreadable bodies, honouring ``Retry-After``; strict yes/no
parsing (logprobs give a confidence where the server offers them); a malformed reply is asked
once more, then recorded as an abstention — never taken as "yes". Choice questions
(:meth:`OpenAICompatibleExpert.ask_choice`) go the same way: the reply must be a candidate's
number or 0 (none of them). Hard limits on HTTP calls
and on money are checked *before* each request is sent, with the worst-case cost of requests
in flight reserved, so concurrency can never overshoot them. The API key comes from
``REDTEXT_API_KEY`` or ``OPENAI_API_KEY`` and is never logged or stored.
"""
from __future__ import annotations

import asyncio
import math
import os
import random
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..errors import ExpertError, InputError
from .base import NOT_ASKED, BaseExpert, Question
from .cache import VerdictCache, cache_key
from .llm_choice import ChoiceAsking, run_coroutine as _run
from .prompts import DESCRIBE_VERSION, JUDGE_VERSION, describe_messages, judge_messages, parse_yes_no

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524}


def api_key_from_env() -> str | None:
    return os.environ.get("REDTEXT_API_KEY") or os.environ.get("OPENAI_API_KEY") or None


_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]+@")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{4,}")


def redact_url(url: str | None) -> str | None:
    """``url`` without credentials: ``http://user:KEY@host`` -> ``http://***@host``."""
    return None if url is None else _USERINFO.sub(r"\1***@", url)


def scrub(text: str, secrets=()) -> str:
    """``text`` with every secret, ``Bearer``/``Basic`` credential and URL password replaced by ``***``
    — for every message that can reach a terminal, a log or a file (servers echo headers back)."""
    text = str(text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return _BEARER.sub(r"\1 ***", _USERINFO.sub(r"\1***@", text))


def estimate_tokens(text: str) -> int:
    """A rough token count (≈ 4 characters a token) for estimates before anything is sent."""
    return max(1, math.ceil(len(text) / 4))


def messages_tokens(messages: list[dict]) -> int:
    return sum(estimate_tokens(m["content"]) + 4 for m in messages)


def messages_tokens_bound(messages: list[dict]) -> int:
    """An upper bound on prompt tokens: no tokenizer makes more tokens than UTF-8 bytes (plus a
    few per message for the chat template) — what hard cost limits reserve before sending."""
    return sum(len(m["content"].encode("utf-8")) + 16 for m in messages)


#: what :meth:`OpenAIExpert._reserve` answers when the cost cap leaves no room *yet*
_WAIT = object()


@dataclass
class Usage:
    http_calls: int = 0
    cache_hits: int = 0
    retries: int = 0
    errors: int = 0
    malformed: int = 0
    abstained: int = 0
    rejected: int = 0                 # requests the server refused (400/413/422): question skipped
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    max_in_flight: int = 0
    last_error: str | None = field(default=None, repr=False)

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d.pop("last_error", None)
        d["cost"] = round(d["cost"], 6)
        return d


class _Transient(Exception):
    def __init__(self, message: str, retry_after: float | None = None, maybe_billed: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.maybe_billed = maybe_billed   # the server may have done (and billed) the work


class _Rejected(Exception):
    """The server refused this one request (400/413/422: e.g. the text is too long)."""


class OpenAICompatibleExpert(ChoiceAsking, BaseExpert):
    """``ask(questions)`` -> verdicts, one chat completion per question (cache permitting)."""

    batch_size = 64
    BACKOFF = 0.5  # seconds before the first retry; doubled for each next one (with jitter)

    def __init__(self, model: str, *, base_url: str | None = None, api_key: str | None = None,
                 concurrency: int = 8, timeout: float = 60.0, max_retries: int = 5, backoff: float | None = None,
                 max_backoff: float = 30.0, temperature: float = 0.0, max_tokens: int = 3, logprobs: bool = False,
                 price_prompt: float = 0.0, price_completion: float = 0.0, max_calls: int | None = None,
                 max_cost: float | None = None, cache_path: str | Path | None = None, transport=None,
                 seed: int | None = 0):
        if not model:
            raise InputError("the LLM expert needs a model name, e.g. --expert openai:gpt-4o-mini")
        if concurrency < 1:
            raise InputError(f"--concurrency {concurrency}: must be at least 1")
        self.model = model
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1").rstrip("/")
        if "***@" in self.base_url:
            raise InputError("the --base-url of this run held credentials, which are never stored; give it again "
                             "(redtext resume DIR --base-url URL), or put the key in REDTEXT_API_KEY")
        if not self.base_url.startswith(("http://", "https://")):
            raise InputError(f"--base-url {redact_url(self.base_url)!r}: expected http(s)://HOST[:PORT]/v1")
        self.shown_url = redact_url(self.base_url)  # what messages say: never a credential
        self._api_key = api_key if api_key is not None else api_key_from_env()
        self.concurrency = concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = self.BACKOFF if backoff is None else backoff
        self.max_backoff = max_backoff
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.logprobs = logprobs
        self.price_prompt = price_prompt          # per million prompt tokens
        self.price_completion = price_completion  # per million completion tokens
        self.max_calls = max_calls
        self.max_cost = max_cost
        self.seed = seed
        self.cache = VerdictCache(cache_path) if cache_path else None
        self.transport = transport
        self.name = f"openai:{model}"
        self.usage = Usage()
        self.exhausted = False
        self._reserved_calls = 0
        self._reserved_cost = 0.0
        self._in_flight = 0

    def __repr__(self) -> str:  # never shows the key
        return f"OpenAICompatibleExpert(model={self.model!r}, base_url={self.shown_url!r})"

    @property
    def params(self) -> dict:
        """What changes the answers (part of the cache key)."""
        return {"temperature": self.temperature, "max_tokens": self.max_tokens, "logprobs": self.logprobs,
                "seed": self.seed}

    def preload(self, http_calls: int, cost: float) -> None:
        """Start the hard limits from what earlier processes of the same run already spent."""
        self._reserved_calls = max(self._reserved_calls, int(http_calls))
        self._spent_before = float(cost)

    def _prompt_bound(self, messages: list[dict]) -> int:
        return messages_tokens_bound(messages)

    # -- limits -------------------------------------------------------------------------
    def _failures(self) -> str:
        """``; N of M HTTP calls failed (last: ...)`` when calls failed in this process, else ``""``."""
        u = self.usage
        if not u.errors:
            return ""
        return f"; {u.errors} of {u.http_calls} HTTP calls failed (last: {u.last_error})"

    def _worst_cost(self, prompt_tokens: int) -> float:
        return (prompt_tokens * self.price_prompt + self.max_tokens * self.price_completion) / 1e6

    def _reserve(self, prompt_tokens: int) -> float | None:
        """Reserve one call before sending; ``None`` when a hard limit forbids it."""
        if self.max_calls is not None and self._reserved_calls >= self.max_calls:
            self.exhausted = True
            self.exhausted_reason = f"--max-calls {self.max_calls} was reached{self._failures()}"
            return None
        worst = self._worst_cost(prompt_tokens)
        spent = self.usage.cost + getattr(self, "_spent_before", 0.0)
        if self.max_cost is not None and spent + self._reserved_cost + worst > self.max_cost + 1e-12:
            if self._reserved_cost > 0:
                return _WAIT  # replies in flight will release what they did not use: try again then
            self.exhausted = True
            self.exhausted_reason = (f"--max-cost {self.max_cost:g} was reached (spent {spent:.6g}; one more "
                                     f"question could cost up to {worst:.6g}){self._failures()}")
            return None
        self._reserved_calls += 1
        self._reserved_cost += worst
        return worst

    # -- HTTP ---------------------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        return scrub(text, [self._api_key or ""])

    def _headers(self) -> dict:
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _body(self, messages: list[dict]) -> dict:
        body = {"model": self.model, "messages": messages, "temperature": self.temperature,
                "max_tokens": self.max_tokens}
        if self.seed is not None:
            body["seed"] = self.seed
        if self.logprobs:
            body["logprobs"] = True
            body["top_logprobs"] = 5
        return body

    async def _post(self, client, body: dict) -> dict:
        import httpx

        try:
            resp = await client.post(f"{self.base_url}/chat/completions", json=body, headers=self._headers())
        except httpx.TimeoutException as exc:
            raise _Transient(self._scrub(f"{type(exc).__name__}: {exc}"), maybe_billed=True) from None
        except httpx.TransportError as exc:
            raise _Transient(self._scrub(f"{type(exc).__name__}: {exc}")) from None
        if resp.status_code in RETRY_STATUS:
            retry_after = None
            header = resp.headers.get("retry-after")
            if header:
                try:
                    retry_after = float(header)
                except ValueError:
                    retry_after = None
            raise _Transient(f"HTTP {resp.status_code}", retry_after)
        detail = self._scrub(resp.text[:300]).replace("\n", " ")[:200]
        if resp.status_code in (400, 413, 422):
            raise _Rejected(f"HTTP {resp.status_code}: {detail}")
        if resp.status_code >= 400:
            raise ExpertError(f"{self.shown_url} answered HTTP {resp.status_code}: {detail}")
        try:
            data = resp.json()
        except ValueError:
            raise _Transient("unreadable JSON body", maybe_billed=True) from None
        if not isinstance(data, dict):
            raise _Transient("unexpected JSON body (not an object)", maybe_billed=True)
        return data

    def _parse(self, data: dict) -> tuple[bool | None, float | None, str | None]:
        choices = data.get("choices") if isinstance(data, dict) else None
        if not choices or not isinstance(choices, list):
            return None, None, None
        choice = choices[0] if isinstance(choices[0], dict) else {}
        content = (choice.get("message") or {}).get("content")
        content = content if isinstance(content, str) else None
        verdict = parse_yes_no(content)
        confidence = None
        if verdict is not None and self.logprobs:
            confidence = _yes_probability(choice)
        return verdict, confidence, content

    async def _send(self, client, sem: asyncio.Semaphore, body: dict, est_tokens: int, key: str,
                    version: str):
        """One billed reply for ``body``: ``(data, latency, tokens)``, retrying transient failures
        with backoff; ``(None, 0, None)`` when a hard limit forbids sending or retries run out.
        Usage and cost are counted here, once per reply that arrived."""
        for retry in range(self.max_retries + 1):
            reserved = self._reserve(est_tokens)
            while reserved is _WAIT:  # near the cost cap: one question at a time, as reservations free up
                await asyncio.sleep(0.005)
                reserved = self._reserve(est_tokens)
            if reserved is None:
                return None, 0.0, None
            async with sem:
                self._in_flight += 1
                self.usage.max_in_flight = max(self.usage.max_in_flight, self._in_flight)
                t0 = time.perf_counter()
                try:
                    self.usage.http_calls += 1
                    data = await self._post(client, body)
                    error = None
                except _Transient as exc:
                    error = exc
                except _Rejected as exc:
                    self._reserved_cost -= reserved
                    self.usage.errors += 1
                    self.usage.rejected += 1
                    self.usage.last_error = str(exc)
                    if self.cache is not None:
                        self.cache.log_call(key=key, model=self.model, prompt_version=version, request=body,
                                            reply=None, status="error", error=str(exc))
                    return None, 0.0, None  # this question is skipped; the run goes on
                finally:
                    self._in_flight -= 1
            latency = time.perf_counter() - t0
            self._reserved_cost -= reserved  # the reservation becomes the real cost below (or nothing)
            if error is not None and error.maybe_billed:
                self.usage.cost += reserved  # may have been billed: count the worst case as spent
            if error is None:
                usage = data.get("usage") if isinstance(data, dict) else None
                usage = usage or {}
                pt, ct = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
                cost = (pt * self.price_prompt + ct * self.price_completion) / 1e6
                self.usage.prompt_tokens += pt
                self.usage.completion_tokens += ct
                self.usage.cost += cost
                return data, latency, (pt, ct, cost)
            self.usage.errors += 1
            self.usage.last_error = str(error)
            if self.cache is not None:
                self.cache.log_call(key=key, model=self.model, prompt_version=version, request=body, reply=None,
                                    status="error", error=str(error), latency_s=latency)
            if retry == self.max_retries:
                return None, 0.0, None  # errors are never cached: a later run asks again
            self.usage.retries += 1
            delay = error.retry_after if error.retry_after is not None else \
                self.backoff * (2 ** retry) * random.uniform(0.5, 1.5)
            await asyncio.sleep(min(self.max_backoff, max(0.0, delay)))
        return None, 0.0, None

    async def _one(self, client, sem: asyncio.Semaphore, q: Question):
        messages = judge_messages(q)
        key = cache_key(model=self.model, params=self.params, prompt_version=JUDGE_VERSION, label=q.label,
                        text=q.text, context={"description": q.context.description,
                                              "examples": list(q.context.examples)})
        if self.cache is not None:
            found, verdict, _ = self.cache.get(key)
            if found:
                self.usage.cache_hits += 1
                return verdict
        body = self._body(messages)
        est_tokens = messages_tokens_bound(messages)
        for _attempt in range(2):  # the original question, then once more on a malformed reply
            data, latency, tokens = await self._send(client, sem, body, est_tokens, key, JUDGE_VERSION)
            if data is None:
                return NOT_ASKED
            pt, ct, cost = tokens
            verdict, confidence, content = self._parse(data)
            status = "ok" if verdict is not None else "malformed"
            if self.cache is not None:
                self.cache.log_call(key=key, model=self.model, prompt_version=JUDGE_VERSION, request=body,
                                    reply=content, status=status, prompt_tokens=pt, completion_tokens=ct, cost=cost,
                                    latency_s=latency)
            if verdict is not None:
                if self.cache is not None:
                    self.cache.put(key, verdict, confidence)
                return verdict
            self.usage.malformed += 1
        self.usage.abstained += 1
        if self.cache is not None:
            self.cache.put(key, None, None)  # a real (malformed) answer, twice: an abstention
        return None

    async def _ask_all(self, questions: Sequence, one=None) -> list:
        """Every question through ``one(client, sem, question)`` (default: the binary question),
        on one client with bounded concurrency."""
        import httpx

        one = one or self._one
        sem = asyncio.Semaphore(self.concurrency)
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        async with httpx.AsyncClient(timeout=self.timeout, limits=limits, transport=self.transport) as client:
            return await asyncio.gather(*(one(client, sem, q) for q in questions))

    # -- label understanding -------------------------------------------------------------
    async def _describe_one(self, client, sem, label: str, examples: list[str], max_tokens: int) -> str | None:
        messages = describe_messages(label, examples)
        key = cache_key(model=self.model, params={**self.params, "max_tokens": max_tokens},
                        prompt_version=DESCRIBE_VERSION, label=label, text="", context={"examples": examples})
        if self.cache is not None:
            hit = self.cache.get_text(key)
            if hit is not None:
                self.usage.cache_hits += 1
                return hit
        body = {**self._body(messages), "max_tokens": max_tokens}
        body.pop("logprobs", None)
        body.pop("top_logprobs", None)
        data, _, tokens = await self._send(client, sem, body, messages_tokens_bound(messages), key,
                                           DESCRIBE_VERSION)
        if data is None:
            return None
        pt, ct, _cost = tokens
        choices = data.get("choices") or []
        first = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
        content = (first.get("message") or {}).get("content")
        content = content if isinstance(content, str) else None
        if self.cache is not None:
            self.cache.log_call(key=key, model=self.model, prompt_version=DESCRIBE_VERSION, request=body,
                                reply=content, status="ok" if content else "malformed", prompt_tokens=pt,
                                completion_tokens=ct)
        text = " ".join((content or "").split())
        if not text:
            return None
        if self.cache is not None:
            self.cache.put_text(key, text)
        return text

    def describe(self, examples_by_label: dict[str, list[str]], *, max_tokens: int = 120) -> dict[str, str | None]:
        """One short description per label from its examples (None where the model gave none)."""
        import httpx

        async def run():
            sem = asyncio.Semaphore(self.concurrency)
            async with httpx.AsyncClient(timeout=self.timeout, transport=self.transport) as client:
                labels = list(examples_by_label)
                out = await asyncio.gather(*(self._describe_one(client, sem, lab, examples_by_label[lab], max_tokens)
                                             for lab in labels))
                return dict(zip(labels, out))

        return _run(run())

    def ask(self, questions: Sequence[Question]) -> list:
        if not questions:
            return []
        errors_before = self.usage.errors
        answers = _run(self._ask_all(list(questions)))
        failed = sum(1 for a in answers if a is NOT_ASKED)
        if failed == len(answers) and self.usage.errors > errors_before and not self.exhausted:
            raise ExpertError(f"every request to {self.shown_url} failed after {self.max_retries} retries "
                              f"(last: {self.usage.last_error}); check the server and --base-url")
        return answers


def _yes_probability(choice: dict) -> float | None:
    try:
        top = choice["logprobs"]["content"][0]["top_logprobs"]
    except (KeyError, IndexError, TypeError):
        return None
    p_yes = p_no = 0.0
    for item in top:
        token = str(item.get("token", "")).strip().lower()
        p = math.exp(float(item.get("logprob", -100)))
        if token.startswith("yes"):
            p_yes += p
        elif token.startswith("no"):
            p_no += p
    return None if p_yes + p_no == 0 else p_yes / (p_yes + p_no)
