"""Tests for redtext.embed: the hashing embedder, the embedding cache and the registry."""

from __future__ import annotations

import numpy as np
import pytest

from redtext.embed import CachedEmbedder, EmbeddingCache, HashingEmbedder, get_embedder
from redtext.errors import InputError

# --------------------------------------------------------------------------- helpers


class CountingEmbedder:
    """Wraps an embedder and records every text it is asked to embed."""

    def __init__(self, inner):
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.calls = 0
        self.seen: list[str] = []

    def encode(self, texts):
        self.calls += 1
        self.seen.extend(texts)
        return self.inner.encode(texts)


def cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


TEXTS = ["how do I reset my password", "I forgot my password", "what's the weather tomorrow",
         "refund for my order", "Refund for my order please"]

# --------------------------------------------------------------------------- HashingEmbedder


def test_hashing_embedder_shape_dtype_and_unit_norm():
    e = HashingEmbedder(dim=64)
    v = e.encode(TEXTS)
    assert v.shape == (len(TEXTS), 64)
    assert e.dim == 64
    assert v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert np.all(v >= 0)


def test_hashing_embedder_is_deterministic_across_instances_and_batches():
    a = HashingEmbedder().encode(TEXTS)
    b = HashingEmbedder().encode(TEXTS)
    np.testing.assert_array_equal(a, b)
    # a text's vector does not depend on its batch
    np.testing.assert_array_equal(HashingEmbedder().encode(TEXTS[2:3])[0], a[2])
    assert not np.allclose(a[0], a[2])


def test_hashing_embedder_empty_input():
    v = HashingEmbedder(dim=32).encode([])
    assert v.shape == (0, 32)
    assert v.dtype == np.float32


def test_hashing_embedder_similar_texts_are_closer():
    v = HashingEmbedder().encode(TEXTS)
    assert cos(v[3], v[4]) > cos(v[3], v[2]) + 0.2
    assert cos(v[0], v[1]) > cos(v[0], v[2])


def test_hashing_embedder_name_reflects_settings():
    assert HashingEmbedder(dim=64).name != HashingEmbedder(dim=128).name
    assert HashingEmbedder(dim=64, ngram_range=(2, 4)).name != HashingEmbedder(dim=64, ngram_range=(3, 5)).name


# --------------------------------------------------------------------------- CachedEmbedder


def test_cached_embedder_second_encode_makes_no_inner_calls(tmp_path):
    inner = CountingEmbedder(HashingEmbedder(dim=64))
    cache = EmbeddingCache(tmp_path / "cache" / "emb.sqlite")
    emb = CachedEmbedder(inner, cache, progress=False)
    assert emb.name == inner.name and emb.dim == 64
    first = emb.encode(TEXTS)
    calls_after_first = inner.calls
    assert calls_after_first >= 1
    assert sorted(inner.seen) == sorted(TEXTS)
    second = emb.encode(TEXTS)
    assert inner.calls == calls_after_first
    np.testing.assert_array_equal(first, second)
    # a subset, in another order, also comes from the cache
    third = emb.encode([TEXTS[3], TEXTS[0]])
    assert inner.calls == calls_after_first
    np.testing.assert_array_equal(third, first[[3, 0]])
    cache.close()


def test_cached_embedder_results_equal_inner_embedder(tmp_path):
    ref = HashingEmbedder(dim=64).encode(TEXTS)
    cache = EmbeddingCache(tmp_path / "emb.sqlite")
    emb = CachedEmbedder(HashingEmbedder(dim=64), cache, progress=False)
    np.testing.assert_array_equal(emb.encode(TEXTS), ref)
    # partly cached: new texts mixed with known ones
    more = ["a brand new text", TEXTS[1], "another new one", TEXTS[4]]
    np.testing.assert_array_equal(emb.encode(more), HashingEmbedder(dim=64).encode(more))
    cache.close()


def test_cached_embedder_embeds_duplicates_once(tmp_path):
    inner = CountingEmbedder(HashingEmbedder(dim=64))
    cache = EmbeddingCache(tmp_path / "emb.sqlite")
    emb = CachedEmbedder(inner, cache, progress=False)
    batch = ["same", "other", "same", "same", "other", "third"]
    out = emb.encode(batch)
    assert sorted(inner.seen) == ["other", "same", "third"]
    assert out.shape == (6, 64)
    np.testing.assert_array_equal(out[0], out[2])
    np.testing.assert_array_equal(out[0], out[3])
    np.testing.assert_array_equal(out[1], out[4])
    np.testing.assert_array_equal(out, HashingEmbedder(dim=64).encode(batch))
    assert emb.misses == 3
    cache.close()


def test_cache_persists_across_instances(tmp_path):
    path = tmp_path / "emb.sqlite"
    cache = EmbeddingCache(path)
    first = CachedEmbedder(HashingEmbedder(dim=64), cache, progress=False).encode(TEXTS)
    cache.close()
    inner = CountingEmbedder(HashingEmbedder(dim=64))
    cache = EmbeddingCache(path)
    again = CachedEmbedder(inner, cache, progress=False).encode(TEXTS)
    assert inner.calls == 0
    np.testing.assert_array_equal(again, first)
    cache.close()


def test_cache_keys_include_the_model_name(tmp_path):
    cache = EmbeddingCache(tmp_path / "emb.sqlite")
    CachedEmbedder(HashingEmbedder(dim=64, ngram_range=(2, 4)), cache, progress=False).encode(TEXTS)
    inner = CountingEmbedder(HashingEmbedder(dim=64, ngram_range=(3, 5)))
    out = CachedEmbedder(inner, cache, progress=False).encode(TEXTS)
    assert sorted(inner.seen) == sorted(TEXTS)
    np.testing.assert_array_equal(out, HashingEmbedder(dim=64, ngram_range=(3, 5)).encode(TEXTS))
    cache.close()


def test_cached_embedder_empty_input(tmp_path):
    inner = CountingEmbedder(HashingEmbedder(dim=16))
    cache = EmbeddingCache(tmp_path / "emb.sqlite")
    out = CachedEmbedder(inner, cache, progress=False).encode([])
    assert out.shape == (0, 16)
    assert inner.seen == []
    cache.close()


# --------------------------------------------------------------------------- registry


def test_get_embedder_unknown_spec_is_input_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="unknown embedder"):
        get_embedder("nope")


def test_get_embedder_hashing_specs():
    assert isinstance(get_embedder("hashing"), HashingEmbedder)
    assert get_embedder("hashing").dim == 256
    assert get_embedder("hashing:32").dim == 32
    with pytest.raises(InputError):
        get_embedder("hashing:lots")


@pytest.mark.slow
def test_default_minilm_model():
    e = get_embedder("minilm")
    assert e.dim == 384
    v = e.encode(["how do I reset my password", "I forgot my password", "what's the weather tomorrow"])
    assert v.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert cos(v[0], v[1]) > cos(v[0], v[2]) + 0.3


@pytest.mark.slow
def test_onnx_int8_export_of_the_default_model_matches_it(tmp_path, monkeypatch):
    from redtext.embed import get_embedder

    monkeypatch.setenv("REDTEXT_CACHE", str(tmp_path))
    texts = ["how do i reset my password", "I forgot my password", "what's the weather tomorrow",
             "transfer 100 dollars to savings", "play some jazz music", "book a table for two tonight",
             "is my card blocked", "translate hello into french"]
    onnx = get_embedder("onnx")
    fast = onnx.encode(texts)
    assert onnx.model_path.is_file() and str(onnx.model_path).startswith(str(tmp_path))
    ref = get_embedder("minilm").encode(texts)
    assert fast.shape == (len(texts), 384)
    np.testing.assert_allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    cos = (fast * ref).sum(axis=1)
    assert cos.mean() > 0.98 and cos.min() > 0.93
    assert fast[0] @ fast[1] > fast[0] @ fast[2]
    # the export is cached: a second embedder reuses the file and gives the same vectors
    again = get_embedder("onnx").encode(texts)
    np.testing.assert_allclose(again, fast, atol=1e-6)
