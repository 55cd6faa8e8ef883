"""Helpers for testing redtext and its plug-ins.

- :class:`ScriptedExpert` answers from known labels and records every question: the expert
  of redtext's own tests, and a stand-in for yours;
- :func:`topic_texts`: a small synthetic labelling problem the ``hashing`` embedder (a small
  deterministic embedder, :class:`redtext.embed.HashingEmbedder`) can learn;
- contract checks a plug-in can run in its own tests — :func:`check_expert`,
  :func:`check_embedder`, :func:`check_backend` — each raising ``AssertionError`` with a
  message naming what is wrong. Every built-in passes them (``tests/test_contracts.py``).
"""
from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .core.questions import NOT_ASKED, Context, Question
from .embed.hashing import HashingEmbedder
from .experts.base import BaseExpert, as_expert

__all__ = ["HashingEmbedder", "ScriptedExpert", "TOPICS", "check_backend", "check_embedder", "check_expert",
           "topic_texts", "write_jsonl"]


class ScriptedExpert(BaseExpert):
    """Answers "yes" exactly when the label is the text's known label (by id, else by text);
    abstains on a text it does not know. ``asked`` records every question in order."""

    name = "scripted"

    def __init__(self, gold_by_text: Mapping[str, str] | None = None, *, gold_by_id: Mapping[str, str] | None = None,
                 batch_size: int = 16):
        self.gold_by_text = dict(gold_by_text or {})
        self.gold_by_id = dict(gold_by_id or {})
        self.batch_size = batch_size
        self.asked: list[Question] = []

    def ask(self, questions: Sequence[Question]) -> list:
        out = []
        for q in questions:
            self.asked.append(q)
            gold = self.gold_by_id.get(q.text_id, self.gold_by_text.get(q.text))
            out.append(None if gold is None else gold == q.label)
        return out


TOPICS = {
    "weather": ["rain", "sunny", "forecast", "umbrella", "storm", "temperature"],
    "banking": ["account", "balance", "transfer", "deposit", "loan", "savings"],
    "travel": ["flight", "hotel", "passport", "luggage", "airport", "booking"],
    "cooking": ["recipe", "oven", "bake", "simmer", "ingredients", "spices"],
    "music": ["guitar", "concert", "playlist", "album", "melody", "drums"],
    "sports": ["football", "score", "match", "goal", "tennis", "league"],
    "health": ["doctor", "fever", "vaccine", "medicine", "clinic", "symptoms"],
    "school": ["homework", "teacher", "exam", "lecture", "classroom", "grades"],
    "garden": ["tomatoes", "compost", "seeds", "watering", "roses", "shovel"],
    "cars": ["engine", "tyres", "brakes", "garage", "mechanic", "diesel"],
    "pets": ["puppy", "kitten", "leash", "aquarium", "vet", "hamster"],
    "movies": ["cinema", "actor", "director", "trailer", "popcorn", "sequel"],
}
_FILLER = ["please", "tell", "me", "about", "the", "my", "need", "help", "with", "today", "could", "you", "what",
           "is", "a", "how", "do", "i"]


def topic_texts(n_per_label: int, seed: int, topics: Mapping[str, Sequence[str]] = TOPICS) -> list[tuple[str, str]]:
    """``(text, label)`` rows: two words of the label's topic, three filler words, sometimes a
    word of another topic (a little confusion), and a number; shuffled."""
    rng = random.Random(seed)
    rows = []
    for label, words in topics.items():
        for _ in range(n_per_label):
            picked = rng.sample(list(words), 2) + rng.sample(_FILLER, 3)
            if rng.random() < 0.25:
                other = rng.choice([t for t in topics if t != label])
                picked.append(rng.choice(list(topics[other])))
            rng.shuffle(picked)
            rows.append((" ".join(picked) + f" {rng.randint(0, 999)}", label))
    rng.shuffle(rows)
    return rows


def write_jsonl(path: str | Path, rows: Sequence[dict]) -> Path:
    path = Path(path)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# -- contract checks ---------------------------------------------------------------------------------
def _questions(labels: Sequence[str], n: int = 6) -> list[Question]:
    texts = [f"an example text number {i} about {labels[i % len(labels)]}" for i in range(n)]
    return [Question(text_id=f"check-{i}", text=t, label=labels[i % len(labels)],
                     context=Context(label=labels[i % len(labels)], description=None, examples=("a known example",)))
            for i, t in enumerate(texts)]


def check_expert(expert, labels: Sequence[str] = ("alpha", "beta", "gamma")) -> None:
    """Check ``expert`` (an object with ``ask``, or a callable) against the expert protocol of
    :mod:`redtext.experts.base`: the hooks have the right types, ``prepare`` accepts the label
    space, ``ask`` returns one answer of an allowed kind per question, in a list — and, for an
    expert with ``ask_choice``, that it answers choice questions with an offered label, ``None``,
    ``ABSTAINED`` or ``NOT_ASKED``."""
    if hasattr(expert, "ask") and hasattr(expert, "name"):  # what the object says, before defaults fill gaps
        assert isinstance(expert.name, str) and expert.name, \
            f"expert.name must be a non-empty string, got {expert.name!r}"
    e = as_expert(expert)
    assert isinstance(e.name, str) and e.name, f"expert.name must be a non-empty string, got {e.name!r}"
    assert isinstance(e.batch_size, int) and e.batch_size >= 1, \
        f"expert.batch_size must be a whole number >= 1, got {e.batch_size!r}"
    assert isinstance(e.exhausted, bool), f"expert.exhausted must be True or False, got {e.exhausted!r}"
    assert isinstance(e.interactive, bool), f"expert.interactive must be True or False, got {e.interactive!r}"
    if e.usage is not None:
        for attr in ("http_calls", "cost"):
            assert isinstance(getattr(e.usage, attr, None), (int, float)), f"expert.usage.{attr} must be a number"
        assert isinstance(e.usage.as_dict(), dict), "expert.usage.as_dict() must return a dict"
    e.prepare(list(labels), np.eye(len(labels), dtype=np.float32))
    e.preload(0, 0.0)
    questions = _questions(list(labels))
    answers = e.ask(questions)
    assert isinstance(answers, list), f"expert.ask must return a list, got {type(answers).__name__}"
    assert len(answers) == len(questions), f"expert.ask returned {len(answers)} answers for {len(questions)} questions"
    for a in answers:
        assert a is None or a is NOT_ASKED or isinstance(a, (bool, np.bool_)), \
            f"an answer must be True, False, None (abstain) or NOT_ASKED, got {a!r}"
    assert e.ask([]) == [], "expert.ask([]) must return []"
    if callable(getattr(e, "ask_choice", None)):  # a chooser: which of these candidates, or none?
        from .core.questions import ABSTAINED, ChoiceQuestion

        choices = [ChoiceQuestion(q.text_id, q.text, tuple(Context(lab, None, ("a known example",)) for lab in labels))
                   for q in questions]
        picks = e.ask_choice(choices)
        assert isinstance(picks, list), f"expert.ask_choice must return a list, got {type(picks).__name__}"
        assert len(picks) == len(choices), \
            f"expert.ask_choice returned {len(picks)} answers for {len(choices)} questions"
        for a in picks:
            assert a is None or a is NOT_ASKED or a is ABSTAINED or a in labels, \
                f"a choice answer must be an offered label, None (none of them), ABSTAINED or NOT_ASKED, got {a!r}"
        assert e.ask_choice([]) == [], "expert.ask_choice([]) must return []"


def check_embedder(embedder, texts: Sequence[str] | None = None) -> None:
    """Check ``embedder`` against the embedder protocol of :mod:`redtext.embed.base`: ``name`` and
    ``dim``; ``encode`` gives ``(n, dim)`` float32 rows of unit (or zero) length, the same for the
    same text every time, whatever else is in the batch, and ``(0, dim)`` for no text."""
    texts = list(texts or ["a short text", "another, somewhat longer text about something else",
                           "a third text", "héllo wörld ✓", "x"])
    assert isinstance(embedder.name, str) and embedder.name, "embedder.name must be a non-empty string"
    dim = embedder.dim
    assert isinstance(dim, (int, np.integer)) and dim >= 1, f"embedder.dim must be a whole number >= 1, got {dim!r}"
    X = embedder.encode(texts)
    assert isinstance(X, np.ndarray) and X.shape == (len(texts), dim), \
        f"encode returned shape {getattr(X, 'shape', None)}, expected ({len(texts)}, {dim})"
    assert X.dtype == np.float32, f"encode must return float32, got {X.dtype}"
    norms = np.linalg.norm(X, axis=1)
    assert np.all((np.abs(norms - 1) < 1e-4) | (norms == 0)), "encode must return L2-normalised rows"
    alone = np.vstack([embedder.encode([t]) for t in texts])
    reversed_ = embedder.encode(texts[::-1])[::-1]
    assert np.allclose(X, alone, atol=1e-6) and np.allclose(X, reversed_, atol=1e-6), \
        "a text's vector must not depend on the other texts in its batch"
    empty = embedder.encode([])
    assert isinstance(empty, np.ndarray) and empty.shape == (0, dim), "encode([]) must return shape (0, dim)"


def _square(x):
    return x * x


def _rows_and_sums(X):
    return X * 2.0, X.sum(axis=1)


def check_backend(backend) -> None:
    """Check ``backend`` against the backend protocol of :mod:`redtext.backends`: ``map`` returns
    results in job order, ``predict`` reassembles every output's rows in order, and
    ``wrap_embedder`` keeps the embedder's name, dimension and vectors."""
    assert isinstance(getattr(backend, "name", None), str), "backend.name must be a string"
    jobs = [(i,) for i in range(7)]
    assert list(backend.map(_square, jobs, 2)) == [i * i for i in range(7)], "map must return results in job order"
    X = np.arange(40, dtype=np.float32).reshape(10, 4)
    doubled, sums = backend.predict(_rows_and_sums, X)
    assert np.array_equal(doubled, X * 2.0) and np.array_equal(sums, X.sum(axis=1)), \
        "predict must return predict_fn(X) with every output's rows in the order of X"
    emb = HashingEmbedder(dim=32)
    wrapped = backend.wrap_embedder(emb)
    assert wrapped.name == emb.name and wrapped.dim == emb.dim, "wrap_embedder must keep name and dim"
    texts = ["one text", "two texts", "three"]
    assert np.allclose(wrapped.encode(texts), emb.encode(texts), atol=1e-6), "wrap_embedder must keep the vectors"
