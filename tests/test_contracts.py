"""Every built-in plug-in passes the contract checks of redtext.testing, and the checks catch
plug-ins that break the protocol."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from redtext.backends import LocalBackend
from redtext.experts import SimulatedOracle
from redtext.experts.human import TerminalExpert
from redtext.experts.llm import OpenAICompatibleExpert
from redtext.experts.review import QueueExpert
from redtext.testing import HashingEmbedder, ScriptedExpert, check_backend, check_embedder, check_expert

from fake_llm import FakeLLM


def test_built_in_experts_pass(tmp_path):
    check_expert(SimulatedOracle({"an example text number 0 about alpha": "alpha"}, accuracy=0.9))
    check_expert(ScriptedExpert({"an example text number 1 about beta": "beta"}))
    check_expert(lambda text, label, context: label == "alpha")       # a plain function
    answers = iter(list("ynsyns") + ["1", "2", "0", "s", "3", "0"])   # binary, then choice questions
    check_expert(TerminalExpert(tmp_path / "human.db", input_fn=lambda prompt: next(answers), output=open("/dev/null", "w")))
    with FakeLLM() as llm:
        check_expert(OpenAICompatibleExpert("fake", base_url=llm.base_url, cache_path=tmp_path / "v.db"))


def test_the_review_queue_passes_while_someone_answers(tmp_path):
    from redtext.io.store import Store

    db = tmp_path / "run.db"
    Store(db).close()
    stop = threading.Event()

    def person():
        store = Store(db)
        while not stop.is_set():
            question, _, _ = store.next_queued()
            if question is not None:
                store.answer_queued(question["key"], question["label"] == "alpha")
        store.close()

    worker = threading.Thread(target=person, daemon=True)
    worker.start()
    try:
        check_expert(QueueExpert(db, poll=0.01, wait=30))
    finally:
        stop.set()
        worker.join(5)


def test_built_in_embedders_and_backends_pass():
    check_embedder(HashingEmbedder(dim=64))
    check_backend(LocalBackend())


class _NoName:
    name = ""

    def ask(self, questions):
        return [True for _ in questions]


class _TooFew:
    name = "too-few"

    def ask(self, questions):
        return [True][:len(questions) - 1]


class _Strings:
    name = "strings"
    batch_size = 4

    def ask(self, questions):
        return ["maybe" for _ in questions]


@pytest.mark.parametrize("bad,match", [(_NoName(), "name"), (_TooFew(), "answers"), (_Strings(), "answer must be")])
def test_the_expert_check_catches_broken_experts(bad, match):
    with pytest.raises(AssertionError, match=match):
        check_expert(bad)


class _BatchDependent:
    """A text's vector depends on its batch-mates (as dynamically quantised models do)."""

    name = "batch-dependent"
    dim = 8

    def encode(self, texts):
        rng = np.random.default_rng(len(texts))
        X = rng.normal(size=(len(texts), self.dim)).astype(np.float32)
        return X / np.linalg.norm(X, axis=1, keepdims=True)


class _Float64(_BatchDependent):
    name = "float64"

    def encode(self, texts):
        return np.ones((len(texts), self.dim)) / np.sqrt(self.dim)


@pytest.mark.parametrize("bad,match", [(_BatchDependent(), "batch"), (_Float64(), "float32")])
def test_the_embedder_check_catches_broken_embedders(bad, match):
    with pytest.raises(AssertionError, match=match):
        check_embedder(bad)


class _Shuffling(LocalBackend):
    def map(self, fn, jobs, n_jobs):
        return list(reversed(super().map(fn, jobs, n_jobs)))


def test_the_backend_check_catches_a_backend_that_loses_the_order():
    with pytest.raises(AssertionError, match="order"):
        check_backend(_Shuffling())
