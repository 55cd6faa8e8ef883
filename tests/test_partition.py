"""Tests for redtext.partition: label vectors and the split of the label space into subsets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from redtext.core.partition import partition_labels
from redtext.core.vectors import label_vectors

# --------------------------------------------------------------------------- helpers


def unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def random_vectors(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


def paired_vectors(n_pairs: int, dim: int = 32, seed: int = 0, jitter: float = 1e-3) -> np.ndarray:
    """Labels 2k and 2k+1 are near-duplicates; different pairs are unrelated."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n_pairs, dim))
    return (np.repeat(base, 2, axis=0) + jitter * rng.normal(size=(2 * n_pairs, dim))).astype(np.float32)


def subset_of(parts: list[list[int]]) -> dict[int, int]:
    return {label: i for i, part in enumerate(parts) for label in part}


def split_pairs(parts: list[list[int]], n_pairs: int) -> list[int]:
    """Pairs whose two labels ended up in the same subset."""
    where = subset_of(parts)
    return [k for k in range(n_pairs) if where[2 * k] == where[2 * k + 1]]


def assert_is_partition(parts: list[list[int]], n_labels: int) -> None:
    flat = [label for part in parts for label in part]
    assert sorted(flat) == list(range(n_labels)), "every label must appear in exactly one subset"
    assert len(flat) == len(set(flat))
    assert all(len(part) > 0 for part in parts), "no empty subsets"


# --------------------------------------------------------------------------- label_vectors


def test_label_vectors_are_normalised_means_of_examples():
    X = np.array([[1.0, 0.0, 0.0],
                  [0.0, 1.0, 0.0],   # label 0: mean (0.5, 0.5, 0)
                  [0.0, 0.0, 3.0],   # label 1: mean (0, 0, 3)
                  [2.0, 0.0, 0.0],
                  [0.0, 0.0, 2.0],
                  [2.0, 0.0, 2.0]],  # label 2: mean (4/3, 0, 4/3)
                 dtype=np.float32)
    y = np.array([0, 0, 1, 2, 2, 2])
    v = label_vectors(X, y, 3)
    assert v.shape == (3, 3)
    assert v.dtype == np.float32
    expected = unit(np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 3.0], [4 / 3, 0.0, 4 / 3]]))
    np.testing.assert_allclose(v, expected, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-6)


def test_label_vectors_order_of_examples_does_not_matter():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 8)).astype(np.float32)
    y = rng.integers(0, 5, size=40)
    perm = rng.permutation(40)
    np.testing.assert_allclose(label_vectors(X, y, 5), label_vectors(X[perm], y[perm], 5), atol=1e-6)


# --------------------------------------------------------------------------- partition_labels


@pytest.mark.parametrize("n_labels,subset_size", [(10, 4), (7, 3), (23, 5), (40, 7), (100, 9), (12, 1), (13, 12)])
def test_every_label_in_exactly_one_subset_and_no_subset_too_big(n_labels, subset_size):
    v = random_vectors(n_labels, seed=n_labels)
    parts = partition_labels(v, subset_size, reduce=None)
    assert_is_partition(parts, n_labels)
    assert max(len(p) for p in parts) <= subset_size
    # the fewest subsets that can hold every label
    assert len(parts) == math.ceil(n_labels / subset_size)


@pytest.mark.parametrize("n_labels,subset_size", [(20, 4), (30, 10), (12, 6), (50, 25), (9, 3)])
def test_sizes_equal_when_subset_size_divides_label_count(n_labels, subset_size):
    parts = partition_labels(random_vectors(n_labels, seed=7), subset_size, reduce=None)
    assert [len(p) for p in parts] == [subset_size] * (n_labels // subset_size)


def test_subset_sizes_are_balanced():
    unbalanced = []
    for n_labels, subset_size in [(7, 3), (10, 4), (17, 5), (22, 4), (25, 7), (26, 6), (40, 14),
                                  (1000, 30)]:
        for seed in range(3):
            v = random_vectors(n_labels, seed=100 * n_labels + seed)
            sizes = [len(p) for p in partition_labels(v, subset_size, reduce=None, random_state=seed)]
            if max(sizes) - min(sizes) > 1:
                unbalanced.append((n_labels, subset_size, seed, sizes))
    assert unbalanced == []


def test_deterministic_for_same_random_state():
    v = random_vectors(60, seed=11)
    a = partition_labels(v, 7, reduce=None, random_state=5)
    b = partition_labels(v.copy(), 7, reduce=None, random_state=5)
    assert a == b


def test_random_state_breaks_ties():
    # all labels identical: every choice is a tie, so the seeded tie-break decides
    v = np.ones((30, 8), dtype=np.float32)
    results = {tuple(map(tuple, partition_labels(v, 5, reduce=None, random_state=s))) for s in range(6)}
    assert len(results) > 1
    for s in range(3):
        assert partition_labels(v, 5, reduce=None, random_state=s) == \
            partition_labels(v, 5, reduce=None, random_state=s)


@pytest.mark.parametrize("subset_size", [None, 8, 9, 100])
def test_no_subset_size_or_at_least_n_labels_gives_one_subset(subset_size):
    parts = partition_labels(random_vectors(8), subset_size, reduce=None)
    assert parts == [list(range(8))]


def test_subset_size_below_one_is_rejected():
    with pytest.raises(ValueError):
        partition_labels(random_vectors(8), 0, reduce=None)


def test_unknown_reduction_is_rejected():
    with pytest.raises(ValueError, match="unknown reduction"):
        partition_labels(random_vectors(40), 5, reduce="pca")


def test_dissimilar_labels_are_grouped_together():
    # two tight clusters of labels: with two subsets, each subset takes one label from each cluster
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 32))
    v = np.vstack([a + 0.01 * rng.normal(size=(5, 32)), b + 0.01 * rng.normal(size=(5, 32))])
    # cluster of labels 0..4 around a, 5..9 around b: 10 labels in 5 subsets of 2
    parts = partition_labels(v.astype(np.float32), 2, reduce=None)
    assert_is_partition(parts, 10)
    for part in parts:
        assert len(part) == 2
        assert (part[0] < 5) != (part[1] < 5), f"subset {part} holds two labels of the same cluster"


@pytest.mark.parametrize("n_pairs", [2, 5, 13, 30])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_near_duplicate_pairs_split_between_two_subsets(n_pairs, seed):
    v = paired_vectors(n_pairs, seed=1000 * seed + n_pairs)
    parts = partition_labels(v, n_pairs, reduce=None, random_state=seed)
    assert len(parts) == 2
    assert_is_partition(parts, 2 * n_pairs)
    assert split_pairs(parts, n_pairs) == []


def test_near_duplicate_pairs_split_when_there_is_plenty_of_room():
    # 6 labels in subsets of 5 -> two subsets of 3; pair partners must be apart
    for seed in range(5):
        v = paired_vectors(3, seed=seed)
        parts = partition_labels(v, 5, reduce=None, random_state=seed)
        assert split_pairs(parts, 3) == []


def test_near_duplicate_pairs_always_split_with_many_subsets():
    together = []
    for n_pairs, subset_size in [(12, 8), (15, 6), (16, 11), (18, 6), (20, 14), (21, 14), (23, 16)]:
        for seed in range(2):
            v = paired_vectors(n_pairs, seed=seed + 7 * n_pairs)
            parts = partition_labels(v, subset_size, reduce=None, random_state=seed)
            assert_is_partition(parts, 2 * n_pairs)
            bad = split_pairs(parts, n_pairs)
            if bad:
                together.append((2 * n_pairs, subset_size, seed, bad))
    assert together == []


@pytest.mark.slow  # UMAP's numba JIT takes ~12 s on first use in a process
def test_near_duplicate_pairs_split_after_umap_reduction():
    # 40 labels (20 near-duplicate pairs), reduced with UMAP before measuring similarity.
    # UMAP compiles with numba on first use, so all checks share one test.
    for seed in range(4):
        v = paired_vectors(20, seed=seed)
        parts = partition_labels(v, 20, reduce="umap", random_state=seed)
        assert len(parts) == 2
        assert_is_partition(parts, 40)
        assert max(len(p) for p in parts) <= 20
        assert split_pairs(parts, 20) == [], f"seed {seed}: near-duplicates share a subset"
        assert partition_labels(v, 20, reduce="umap", random_state=seed) == parts


def test_thousand_labels_without_reduction():
    v = random_vectors(1000, dim=64, seed=3)
    parts = partition_labels(v, 30, reduce=None, random_state=0)
    assert_is_partition(parts, 1000)
    assert len(parts) == 34
    assert max(len(p) for p in parts) <= 30
    assert partition_labels(v, 30, reduce=None, random_state=0) == parts
