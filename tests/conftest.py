"""Shared fixtures: a small synthetic labelling problem that the hashing embedder can learn."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

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
FILLER = ["please", "tell", "me", "about", "the", "my", "need", "help", "with", "today", "could", "you", "what",
          "is", "a", "how", "do", "i"]


def make_texts(n_per_label: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    rows = []
    for label, words in TOPICS.items():
        for _ in range(n_per_label):
            picked = rng.sample(words, 2) + rng.sample(FILLER, 3)
            # a little confusion: sometimes a word of another topic
            if rng.random() < 0.25:
                other = rng.choice([t for t in TOPICS if t != label])
                picked.append(rng.choice(TOPICS[other]))
            rng.shuffle(picked)
            rows.append((" ".join(picked) + f" {rng.randint(0, 999)}", label))
    rng.shuffle(rows)
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def problem(tmp_path):
    """seed.jsonl (5 per label), pool.jsonl (ids, no labels), gold.jsonl, test rows."""
    seed_rows = make_texts(5, seed=1)
    pool_rows = make_texts(25, seed=2)
    test_rows = make_texts(10, seed=3)
    seed = write_jsonl(tmp_path / "seed.jsonl", [{"text": t, "label": lab} for t, lab in seed_rows])
    pool = write_jsonl(tmp_path / "pool.jsonl", [{"id": f"p{i}", "text": t} for i, (t, _) in enumerate(pool_rows)])
    gold = write_jsonl(tmp_path / "gold.jsonl",
                       [{"id": f"p{i}", "text": t, "label": lab} for i, (t, lab) in enumerate(pool_rows)])
    return {"dir": tmp_path, "seed": seed, "pool": pool, "gold": gold, "seed_rows": seed_rows,
            "pool_rows": pool_rows, "test_rows": test_rows}


@pytest.fixture(autouse=True)
def _quiet(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("REDTEXT_PROGRESS", "0")
    monkeypatch.setenv("REDTEXT_JOBS", "1")
    monkeypatch.setenv("REDTEXT_CACHE", str(tmp_path_factory.mktemp("cache")))
