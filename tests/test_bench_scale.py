"""Tests for `redtext bench-scale`: a tiny real run, bad input, and the workload builders."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from redtext.bench.scale.workload import FIELDS, make_pool, parse_sizes, relabel
from redtext.cli import main
from redtext.errors import InputError


def _data_available() -> bool:
    from redtext.bench.protocol import resolve_dataset

    try:
        resolve_dataset("onet_titles")
        resolve_dataset("clinc150")
    except InputError:
        return False
    return True


needs_data = pytest.mark.skipif(not _data_available(), reason="needs ../shared/data/{onet_titles,clinc150}")


@needs_data
@pytest.mark.slow  # a process per pool size
def test_tiny_run_writes_every_field_with_sane_values(tmp_path, capsys):
    out = tmp_path / "out" / "scale.json"
    md = tmp_path / "out" / "table.md"
    png = tmp_path / "out" / "growth.png"
    code = main(["bench-scale", "--classes", "50", "--pool", "2000", "--sizes", "500", "--embedder", "hashing",
                 "--texts", "3000", "--embed-sample", "300", "--cache", str(tmp_path / "emb.db"),
                 "--json", str(out), "--markdown", str(md), "--plot", str(png)])
    assert code == 0, capsys.readouterr().err
    result = json.loads(out.read_text())
    for field in FIELDS:
        assert isinstance(result[field], (int, float)) and math.isfinite(result[field]), field
        assert result[field] > 0, field
    assert result["classes"] == 50 and result["pool"] == 2000
    # per-stage figures add up to the round; throughput and memory are plausible
    assert result["round_overhead_s"] >= result["train_s"] + result["predict_s"] - 1e-6
    assert result["classify_texts_per_s"] <= 2 * result["raw_embed_texts_per_s"]
    assert 30 < result["peak_rss_mb"] < 4096
    assert result["peak_rss_total_mb"] >= result["peak_rss_mb"]
    assert result["train_rows"] >= 50 * 10  # k = 10 seed rows per label, plus validated texts
    # a round's share of the budget, less the known-answer checks and the audit (each at most a tenth)
    assert math.ceil(0.8 * 0.25 * 2000 / 8) <= result["round_calls"] <= math.ceil(0.25 * 2000 / 8)
    # two measured rounds, plus the known-answer checks and the audit (at most a fifth of the budget)
    assert 0 < result["expert_calls"] <= 2 * result["round_calls"] + 0.2 * 0.25 * 2000
    assert set(result["targets_met"]) == {"round_overhead_s", "classify_ratio", "peak_rss_mb"}
    assert result["targets_met"]["peak_rss_mb"] is True
    # the loop learnt something: far above chance (1/50) on the synthetic gold
    assert result["pool_accuracy"] > 0.1
    assert [g["size"] for g in result["growth"]] == [500, 2000]
    assert all(g["predict_s"] > 0 and g["peak_rss_mb"] > 0 for g in result["growth"])
    assert "| pool |" in md.read_text() and "growth.png" in md.read_text()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("args,needle", [
    (["--classes", "1"], "--classes 1"),
    (["--classes", "50", "--pool", "20"], "--pool 20"),
    (["--k", "0"], "--k 0"),
    (["--sizes", "10,abc"], "--sizes"),
    (["--classes", "50", "--pool", "2000", "--sizes", "30"], "--sizes"),
])
def test_bad_numbers_exit_2_with_one_line(args, needle, capsys):
    code = main(["bench-scale", "--embedder", "hashing", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("error:") and needle in err


def test_unwritable_json_path_exits_2_before_any_work(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for bad in (blocker / "scale.json", tmp_path):  # under a file; a folder
        code = main(["bench-scale", "--classes", "50", "--pool", "2000", "--embedder", "hashing",
                     "--json", str(bad)])
        err = capsys.readouterr().err
        assert code == 2, err
        assert len(err.strip().splitlines()) == 1 and err.startswith("error:") and "--json" in err


def test_parse_sizes_ladder_and_explicit():
    assert parse_sizes(None, 100_000, 1000) == [10_000, 30_000, 100_000]
    assert parse_sizes(None, 1_000_000, 1000) == [10_000, 30_000, 100_000, 300_000, 1_000_000]
    assert parse_sizes(None, 2000, 50) == [200, 666, 2000]
    assert parse_sizes("500, 1_000", 2000, 50) == [500, 1000, 2000]
    with pytest.raises(InputError):
        parse_sizes("5000", 2000, 50)


def _clusters(n_classes=30, per=12, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, dim))
    y = np.repeat(np.arange(n_classes), per)
    X = centres[y] + 0.2 * rng.normal(size=(len(y), dim))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X.astype(np.float32), [f"c{v}" for v in y]


@pytest.mark.parametrize("target", [2, 7, 30, 45, 100])
def test_relabel_gives_exactly_the_requested_labels(target):
    X, real = _clusters()
    label, names = relabel(X, real, target)
    assert len(names) == len(set(names)) == target
    assert sorted(set(label.tolist())) == list(range(target))  # every label holds a text
    real_arr = np.array(real)
    if target <= 30:  # merging never splits a real class
        for c in set(real):
            assert len(set(label[real_arr == c].tolist())) == 1
    else:  # splitting never mixes real classes
        for g in range(target):
            assert len(set(real_arr[label == g].tolist())) == 1


def test_relabel_merges_similar_classes():
    # two near-identical classes and one far away: going to 2 labels merges the near pair
    rng = np.random.default_rng(1)
    a = np.eye(8)[0]
    centres = np.stack([a, a + 0.05 * np.eye(8)[1], np.eye(8)[5]])
    y = np.repeat([0, 1, 2], [5, 4, 6])
    X = centres[y] + 0.01 * rng.normal(size=(len(y), 8))
    label, _ = relabel(X, [f"r{v}" for v in y], 2)
    assert label[y == 0][0] == label[y == 1][0] != label[y == 2][0]


def test_relabel_refuses_more_labels_than_texts():
    X, real = _clusters(n_classes=3, per=2)
    with pytest.raises(InputError):
        relabel(X, real, 7)


def test_pool_rows_are_distinct_unit_vectors_and_smaller_pools_are_prefixes(tmp_path):
    X, _ = _clusters(n_classes=5, per=4)
    big, src_big = make_pool(X, 300, 3, tmp_path / "a.npy")
    small, src_small = make_pool(X, 120, 3, tmp_path / "b.npy")
    np.testing.assert_allclose(np.linalg.norm(big, axis=1), 1.0, atol=1e-5)
    assert len(np.unique(np.asarray(big), axis=0)) == 300  # no two rows identical
    np.testing.assert_array_equal(np.asarray(small), np.asarray(big)[:120])
    np.testing.assert_array_equal(src_small, src_big[:120])
    # each row stays close to its source text's vector, but is not a copy of it
    cos = np.sum(np.asarray(big) * X[src_big], axis=1)
    assert cos.min() > 0.85 and cos.max() < 0.9999
