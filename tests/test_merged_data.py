"""Benchmark datasets made by merging real ones: onet_clinc, 1,020 labels."""
from __future__ import annotations

import json


def test_onet_clinc_merges_two_real_label_spaces(monkeypatch, tmp_path):
    from redtext.bench.protocol import resolve_dataset

    monkeypatch.setenv("REDTEXT_CACHE", str(tmp_path))
    folder = resolve_dataset("onet_clinc")
    assert folder.name == "onet_clinc" and resolve_dataset("onet_clinc") == folder  # made once
    labels = {json.loads(line)["label"] for line in (folder / "train.jsonl").read_text().splitlines()}
    assert len(labels) == 1020
    described = [json.loads(line)["label"] for line in (folder / "labels.jsonl").read_text().splitlines()]
    assert len(described) == 870 and set(described) <= labels
