"""Shared fixtures: a small synthetic labelling problem (redtext.testing.topic_texts) that the
hashing embedder can learn, and a quiet, isolated environment for every test."""
from __future__ import annotations

import pytest

from redtext.testing import topic_texts, write_jsonl


@pytest.fixture
def problem(tmp_path):
    """seed.jsonl (5 per label), pool.jsonl (ids, no labels), gold.jsonl, test rows."""
    seed_rows = topic_texts(5, seed=1)
    pool_rows = topic_texts(25, seed=2)
    test_rows = topic_texts(10, seed=3)
    seed = write_jsonl(tmp_path / "seed.jsonl", [{"text": t, "label": lab} for t, lab in seed_rows])
    pool = write_jsonl(tmp_path / "pool.jsonl", [{"id": f"p{i}", "text": t} for i, (t, _) in enumerate(pool_rows)])
    gold = write_jsonl(tmp_path / "gold.jsonl",
                       [{"id": f"p{i}", "text": t, "label": lab} for i, (t, lab) in enumerate(pool_rows)])
    return {"dir": tmp_path, "seed": seed, "pool": pool, "gold": gold, "seed_rows": seed_rows,
            "pool_rows": pool_rows, "test_rows": test_rows}


@pytest.fixture(autouse=True)
def _quiet(monkeypatch, tmp_path_factory):
    from redtext.experts.llm import OpenAICompatibleExpert

    monkeypatch.setattr(OpenAICompatibleExpert, "BACKOFF", 0.02)  # retries in-process without the long waits
    monkeypatch.setenv("REDTEXT_PROGRESS", "0")
    monkeypatch.setenv("REDTEXT_JOBS", "1")
    monkeypatch.setenv("REDTEXT_CACHE", str(tmp_path_factory.mktemp("cache")))
