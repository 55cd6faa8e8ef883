"""Tests for redtext.embed: hashing embedder, embedding cache, registry, cached model builds, ONNX and fast."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from redtext.embed import CachedEmbedder, HashingEmbedder, get_embedder
from redtext.io.embed_cache import EmbeddingCache
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
    with pytest.raises(InputError, match="unknown embedder") as err:
        get_embedder("nope")
    message = str(err.value)
    assert "\n" not in message
    for spec in ("minilm", "minilm-torch", "fast", "hashing"):
        assert spec in message


def test_get_embedder_hashing_specs():
    assert isinstance(get_embedder("hashing"), HashingEmbedder)
    assert get_embedder("hashing").dim == 256
    assert get_embedder("hashing:32").dim == 32
    with pytest.raises(InputError):
        get_embedder("hashing:lots")


def test_default_spec_is_the_per_token_int8_onnx_model_and_torch_stays_reachable():
    # building these reads only small config files: no model is loaded or exported
    from redtext.embed.onnx import OnnxEmbedder
    from redtext.embed.sentence import SentenceTransformerEmbedder

    for spec in (None, "", "minilm", "default", "onnx", " MiniLM "):
        e = get_embedder(spec)
        assert isinstance(e, OnnxEmbedder), spec
        assert e.name == "all-MiniLM-L6-v2-onnx-pt8" and e.dim == 384 and e.quantization == "per-token"
        assert e._session is None  # nothing loaded yet
    torch_e = get_embedder("minilm-torch")
    assert isinstance(torch_e, SentenceTransformerEmbedder)
    assert torch_e.name == "all-MiniLM-L6-v2" and torch_e._model is None
    assert get_embedder("minilm-int8").name == "all-MiniLM-L6-v2-onnx-int8"  # the default before 0.2
    names = {get_embedder(s).name for s in ("minilm", "minilm-int8", "minilm-torch", "hashing", "hashing:64")}
    assert len(names) == 5  # the name identifies the vectors: every kind has its own


def test_get_embedder_local_folder_is_a_sentence_transformers_model(tmp_path):
    from redtext.embed.sentence import SentenceTransformerEmbedder

    e = get_embedder(str(tmp_path))
    assert isinstance(e, SentenceTransformerEmbedder)
    assert e.name == f"st:{tmp_path.resolve()}"


def test_bundles_saved_when_minilm_meant_torch_get_the_torch_embedder():
    from redtext.embed import embedder_for_saved

    assert embedder_for_saved("minilm", "all-MiniLM-L6-v2").name == "all-MiniLM-L6-v2"
    assert embedder_for_saved("minilm", "all-MiniLM-L6-v2-onnx-int8").name == "all-MiniLM-L6-v2-onnx-int8"
    assert embedder_for_saved("hashing:64", "something-else").name == HashingEmbedder(64).name


def test_fast_without_model2vec_is_one_line_input_error(monkeypatch):
    import importlib.metadata

    real = importlib.metadata.version

    def version(name):
        if name == "model2vec":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    with pytest.raises(InputError) as err:
        get_embedder("fast")
    assert "pip install 'redtext[fast]'" in str(err.value) and "\n" not in str(err.value)


def test_threads_follow_available_cores_and_env(monkeypatch):
    from redtext.embed.artifacts import available_cores

    monkeypatch.delenv("REDTEXT_THREADS", raising=False)
    n = available_cores()
    assert 1 <= n <= (os.cpu_count() or 1)
    monkeypatch.setenv("REDTEXT_THREADS", "3")
    assert available_cores() == 3
    monkeypatch.setenv("REDTEXT_THREADS", "many")
    with pytest.raises(InputError, match="REDTEXT_THREADS"):
        available_cores()


# --------------------------------------------------------------------------- cached builds: atomic, locked


def _write_parts(tmp: Path, text: str = "complete") -> None:
    (tmp / "part1").write_text(text)
    (tmp / "part2").write_text(text)


def test_build_once_builds_once_and_marks_complete(tmp_path):
    from redtext.embed.artifacts import build_once, is_complete, leftovers

    calls = []
    target = tmp_path / "models" / "thing-v1"
    for _ in range(3):
        out = build_once(target, lambda tmp: (calls.append(tmp), _write_parts(tmp)), what="a thing")
    assert out == target and len(calls) == 1
    assert is_complete(target) and (target / "part1").read_text() == "complete"
    assert leftovers(target) == []


def test_failed_build_leaves_nothing_and_says_so_in_one_line(tmp_path):
    from redtext.embed.artifacts import build_once, leftovers

    target = tmp_path / "thing-v1"

    def broken(tmp):
        (tmp / "part1").write_text("half")
        raise RuntimeError("disk full\nsecond line")

    with pytest.raises(InputError) as err:
        build_once(target, broken, what="a thing", fix="free some space")
    message = str(err.value)
    assert "\n" not in message and "could not build a thing" in message
    assert "disk full" in message and "free some space" in message
    assert not target.exists() and leftovers(target) == []

    def interrupted(tmp):
        (tmp / "part1").write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_once(target, interrupted, what="a thing")
    assert not target.exists() and leftovers(target) == []


def test_leftover_of_a_killed_build_is_never_used(tmp_path):
    from redtext.embed.artifacts import build_once, is_complete, leftovers

    target = tmp_path / "thing-v1"
    # what a build killed mid-write leaves: a temporary folder with partial files, and no target
    stale = tmp_path / ".thing-v1.abc123.tmp"
    stale.mkdir()
    (stale / "part1").write_text("garb")
    # and a folder at the target path without the completion marker (e.g. half copied by hand)
    target.mkdir()
    (target / "part1").write_text("garbage")
    assert not is_complete(target)
    built = []
    build_once(target, lambda tmp: (built.append(1), _write_parts(tmp)), what="a thing")
    assert built == [1]
    assert (target / "part1").read_text() == "complete" and is_complete(target)
    assert not stale.exists() and leftovers(target) == []


_BUILDER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from redtext.embed.artifacts import build_once

    target, log, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]

    def build(tmp):
        with open(log, "a") as fh:
            fh.write(f"{os.getpid()}\\n")
        (tmp / "part1").write_text("half")
        if mode == "hang":
            (tmp.parent / "started").write_text("1")
            time.sleep(120)
        time.sleep(1.0)
        (tmp / "part1").write_text("complete")

    build_once(target, build, what="a thing")
    print("done", (target / "part1").read_text())
""")


def _builder(tmp_path, target, log, mode):
    script = tmp_path / "builder.py"
    script.write_text(_BUILDER)
    return subprocess.Popen([sys.executable, str(script), str(target), str(log), mode],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_killed_build_process_leaves_no_model_and_frees_the_lock(tmp_path):
    from redtext.embed.artifacts import build_once, is_complete, leftovers

    target, log = tmp_path / "models" / "thing-v1", tmp_path / "log"
    proc = _builder(tmp_path, target, log, "hang")
    deadline = time.time() + 60
    while not (target.parent / "started").exists():
        assert proc.poll() is None and time.time() < deadline, proc.communicate()
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert not target.exists()  # the kill left only a temporary folder
    assert len(leftovers(target)) == 1
    # the lock died with the process: this build neither waits nor reads the leftover
    start = time.time()
    build_once(target, _write_parts, what="a thing")
    assert time.time() - start < 10
    assert is_complete(target) and (target / "part1").read_text() == "complete"
    assert leftovers(target) == []


def test_concurrent_processes_build_once(tmp_path):
    target, log = tmp_path / "models" / "thing-v1", tmp_path / "log"
    procs = [_builder(tmp_path, target, log, "slow") for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert all(out.strip() == "done complete" for out, _ in outs)
    assert len(log.read_text().split()) == 1  # the second process waited and used the first one's build


# --------------------------------------------------------------------------- OnnxEmbedder with a tiny stand-in model

HIDDEN = 8


def _tiny_model_dir(tmp_path: Path) -> Path:
    """A model folder with the real tokenizer and a config saying the hidden size is 8."""
    from redtext.embed.sentence import default_model_path

    src = default_model_path()
    d = tmp_path / "tiny-model"
    d.mkdir()
    (d / "tokenizer.json").write_bytes((src / "tokenizer.json").read_bytes())
    (d / "config.json").write_text(json.dumps({"hidden_size": HIDDEN}))
    (d / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 16}))
    return d


def _table(vocab: int = 30522) -> np.ndarray:
    return np.random.default_rng(7).normal(size=(vocab, HIDDEN)).astype(np.float32)


def _fake_export(calls: list):
    """Stands in for the export: writes a small valid ONNX graph (masked mean of a token table)."""
    def export(model_dir, out_dir, quantization="per-token"):
        import onnx
        from onnx import TensorProto, helper, numpy_helper

        calls.append(Path(out_dir))
        nodes = [
            helper.make_node("Gather", ["table", "input_ids"], ["tokens"], axis=0),
            helper.make_node("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT),
            helper.make_node("Unsqueeze", ["maskf", "axis2"], ["mask3"]),
            helper.make_node("Mul", ["tokens", "mask3"], ["masked"]),
            helper.make_node("ReduceSum", ["masked", "axis1"], ["total"], keepdims=0),
            helper.make_node("ReduceSum", ["mask3", "axis1"], ["count"], keepdims=0),
            helper.make_node("Div", ["total", "count"], ["embedding"]),
        ]
        graph = helper.make_graph(
            nodes, "tiny",
            [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
             helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
            [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", HIDDEN])],
            [numpy_helper.from_array(_table(), "table"),
             numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
             numpy_helper.from_array(np.array([2], dtype=np.int64), "axis2")])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        onnx.save(model, str(Path(out_dir) / "model.onnx"))
        return Path(out_dir) / "model.onnx"
    return export


TEXTS_MIXED = ["hi", "how do i reset my password", "", "a much longer text about transferring money " * 5,
               "weather", "play some jazz music in the kitchen please", "ok", "what's my balance"]


def _reference(model_dir: Path, texts, max_length: int = 16) -> np.ndarray:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()  # the packaged tokenizer pads to 128 by default
    tok.enable_truncation(max_length=max_length)
    table = _table()
    ref = np.stack([table[tok.encode(t).ids].mean(axis=0) for t in texts])
    return ref / np.linalg.norm(ref, axis=1, keepdims=True)


def test_onnx_embedder_batches_by_length_and_keeps_input_order(tmp_path, monkeypatch):
    import redtext.embed.onnx as onnx_mod

    monkeypatch.setenv("REDTEXT_CACHE", str(tmp_path / "cache"))
    calls = []
    monkeypatch.setattr(onnx_mod, "export", _fake_export(calls))
    model_dir = _tiny_model_dir(tmp_path)
    e = onnx_mod.OnnxEmbedder(model_dir, batch_size=3, max_tokens=24, threads=1)
    assert e.dim == HIDDEN and e.max_length == 16
    assert e.name.startswith("onnx-pt8:") and e.name != onnx_mod.FORMATS["per-token"][1]
    seen_widths = []
    real_batches = e._batches

    def batches(lengths):
        out = real_batches(lengths)
        for idx in out:
            seen_widths.append((len(idx), int(lengths[idx].max()), sorted(lengths[idx].tolist())))
        return out

    e._batches = batches
    v = e.encode(TEXTS_MIXED)
    assert v.shape == (len(TEXTS_MIXED), HIDDEN) and v.dtype == np.float32
    np.testing.assert_allclose(v, _reference(model_dir, TEXTS_MIXED), atol=1e-5)
    for rows, width, _ in seen_widths:  # dynamic padding within the limits
        assert rows <= 3 and (rows == 1 or rows * width <= 24)
    all_lengths = [lens for _, _, lens in seen_widths]
    assert [x for lens in all_lengths for x in lens] == sorted(x for lens in all_lengths for x in lens)
    # a text's vector does not depend on its neighbours' padding (this stand-in has no quantisation)
    np.testing.assert_allclose(e.encode(TEXTS_MIXED[3:4])[0], v[3], atol=1e-5)
    assert e.encode([]).shape == (0, HIDDEN)
    assert len(calls) == 1 and e.model_path.is_file()
    assert str(e.model_path).startswith(str(tmp_path / "cache" / "models"))
    # a second embedder reuses the cached build
    again = onnx_mod.OnnxEmbedder(model_dir, threads=1)
    np.testing.assert_allclose(again.encode(TEXTS_MIXED), v, atol=1e-5)
    assert len(calls) == 1


def test_onnx_interrupted_export_leaves_no_model_and_is_redone(tmp_path, monkeypatch):
    import redtext.embed.onnx as onnx_mod
    from redtext.embed.artifacts import leftovers

    monkeypatch.setenv("REDTEXT_CACHE", str(tmp_path / "cache"))
    model_dir = _tiny_model_dir(tmp_path)

    def killed(model_dir, out_dir, quantization="per-token"):
        (Path(out_dir) / "model.onnx").write_bytes(b"\x08\x07half an onnx file")
        raise KeyboardInterrupt  # stands in for a kill in the middle of writing

    monkeypatch.setattr(onnx_mod, "export", killed)
    e = onnx_mod.OnnxEmbedder(model_dir, threads=1)
    with pytest.raises(KeyboardInterrupt):
        e.encode(["hello"])
    assert not e.model_folder.exists() and not e.model_path.exists()
    # a kill -9 would also leave the temporary folder: put one back, with a partial model in it
    stale = e.model_folder.parent / f".{e.model_folder.name}.k1ll3d.tmp"
    stale.mkdir()
    (stale / "model.onnx").write_bytes(b"\x08\x07half an onnx file")

    def failing(model_dir, out_dir, quantization="per-token"):
        raise RuntimeError("torch.onnx.export blew up")

    monkeypatch.setattr(onnx_mod, "export", failing)
    with pytest.raises(InputError) as err:
        onnx_mod.OnnxEmbedder(model_dir, threads=1).encode(["hello"])
    assert "\n" not in str(err.value) and "blew up" in str(err.value) and "minilm-torch" in str(err.value)
    assert not e.model_folder.exists() and leftovers(e.model_folder) == []

    calls = []
    monkeypatch.setattr(onnx_mod, "export", _fake_export(calls))
    v = onnx_mod.OnnxEmbedder(model_dir, threads=1).encode(["hello"])
    assert len(calls) == 1
    np.testing.assert_allclose(v, _reference(model_dir, ["hello"]), atol=1e-5)


def test_onnx_damaged_cached_model_is_rebuilt(tmp_path, monkeypatch):
    import redtext.embed.onnx as onnx_mod

    monkeypatch.setenv("REDTEXT_CACHE", str(tmp_path / "cache"))
    model_dir = _tiny_model_dir(tmp_path)
    calls = []
    monkeypatch.setattr(onnx_mod, "export", _fake_export(calls))
    e = onnx_mod.OnnxEmbedder(model_dir, threads=1)
    first = e.encode(["hello"])
    e.model_path.write_bytes(b"not an onnx model")  # damaged after the fact
    again = onnx_mod.OnnxEmbedder(model_dir, threads=1).encode(["hello"])
    assert len(calls) == 2
    np.testing.assert_allclose(again, first, atol=1e-6)


def test_onnx_embedder_pickles_without_its_session(tmp_path, monkeypatch):
    import pickle

    import redtext.embed.onnx as onnx_mod

    monkeypatch.setenv("REDTEXT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(onnx_mod, "export", _fake_export([]))
    e = onnx_mod.OnnxEmbedder(_tiny_model_dir(tmp_path), threads=1)
    v = e.encode(TEXTS_MIXED)
    clone = pickle.loads(pickle.dumps(e))
    assert clone._session is None and clone.name == e.name
    np.testing.assert_allclose(clone.encode(TEXTS_MIXED), v, atol=1e-6)


# --------------------------------------------------------------------------- StaticEmbedder with a stand-in distillation


def _fake_static_folder(folder: Path, dim: int) -> np.ndarray:
    from safetensors.numpy import save_file

    from redtext.embed.artifacts import COMPLETE
    from redtext.embed.sentence import default_model_path

    folder.mkdir(parents=True)
    (folder / "tokenizer.json").write_bytes((default_model_path() / "tokenizer.json").read_bytes())
    vectors = np.random.default_rng(3).normal(size=(30522, dim)).astype(np.float16)
    save_file({"embeddings": vectors}, str(folder / "model.safetensors"))
    (folder / COMPLETE).write_text("{}")
    return vectors.astype(np.float32)


def test_static_embedder_is_a_normalised_mean_of_token_vectors(tmp_path, monkeypatch):
    pytest.importorskip("model2vec")
    from tokenizers import Tokenizer

    from redtext.embed.static import StaticEmbedder

    monkeypatch.setenv("REDTEXT_CACHE", str(tmp_path / "cache"))
    e = StaticEmbedder(pca_dims=16)
    assert e.name.startswith("all-MiniLM-L6-v2-static-pca16-m2v") and e.dim == 16
    assert e.name != StaticEmbedder(pca_dims=32).name
    vectors = _fake_static_folder(e.model_folder, 16)
    texts = ["how do i reset my password", "", "\u2603\u2603", "Hello  hello"]
    v = e.encode(texts)
    assert v.shape == (4, 16) and v.dtype == np.float32
    tok = Tokenizer.from_file(str(e.model_folder / "tokenizer.json"))
    tok.no_padding()
    for i in (0, 3):
        ids = [t for t in tok.encode(texts[i], add_special_tokens=False).ids if t != tok.token_to_id("[UNK]")]
        ref = vectors[ids].mean(axis=0)
        np.testing.assert_allclose(v[i], ref / np.linalg.norm(ref), atol=1e-5)
    assert not v[1].any() and not v[2].any()  # no known token: a zero vector
    np.testing.assert_array_equal(e.encode(texts[3:]), v[3:])
    assert e.encode([]).shape == (0, 16)


# --------------------------------------------------------------------------- the real models (slow)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory):
    """One cache for the real ONNX export and fast distillation, shared by the slow tests."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture
def real_models(model_cache, monkeypatch):
    monkeypatch.setenv("REDTEXT_CACHE", str(model_cache))
    return model_cache


def _clinc(n_labels: int = 20, per_label: int = 15) -> tuple[list[str], list[str]]:
    from redtext.bench.protocol import resolve_dataset

    try:
        folder = resolve_dataset("clinc150")
    except InputError:
        pytest.skip("clinc150 is not available under ../shared/data (or $REDTEXT_DATA)")
    rows = [json.loads(line) for line in (folder / "train.jsonl").read_text().splitlines() if line.strip()]
    labels = sorted({r["label"] for r in rows})[:n_labels]
    texts, ys = [], []
    for lab in labels:
        picked = [r["text"] for r in rows if r["label"] == lab][:per_label]
        texts += picked
        ys += [lab] * len(picked)
    return texts, ys


def _neighbours(x: np.ndarray, k: int) -> np.ndarray:
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    return np.argsort(-sims, axis=1, kind="stable")[:, :k]


@pytest.mark.slow
def test_default_minilm_model(real_models):
    import logging

    root_level, offline_flag = logging.getLogger().level, os.environ.get("HF_HUB_OFFLINE")
    e = get_embedder("minilm")
    assert e.dim == 384
    v = e.encode(["how do I reset my password", "I forgot my password", "what's the weather tomorrow"])
    # the export's silencing and offline switch do not leak into the caller's process
    assert logging.getLogger().level == root_level and os.environ.get("HF_HUB_OFFLINE") == offline_flag
    assert v.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert cos(v[0], v[1]) > cos(v[0], v[2]) + 0.3
    assert e.model_path.is_file() and str(e.model_path).startswith(str(real_models))


@pytest.mark.slow
def test_default_onnx_matches_the_torch_model_on_real_texts(real_models):
    texts, _ = _clinc()  # 300 real texts
    fast = get_embedder("minilm").encode(texts)
    ref = get_embedder("minilm-torch").encode(texts)
    assert fast.shape == ref.shape == (len(texts), 384)
    np.testing.assert_allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    cosines = (fast * ref).sum(axis=1)
    assert cosines.mean() >= 0.98 and cosines.min() > 0.9
    # the same neighbours, mostly
    # measured: mean cosine 0.993, min 0.965, 5-neighbour overlap 0.94
    overlap = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(_neighbours(fast, 5), _neighbours(ref, 5))])
    assert overlap > 0.85
    # the export is cached: a fresh embedder reuses it; vectors are stable up to int8 batch effects
    again = get_embedder("onnx").encode(texts)
    assert ((again * fast).sum(axis=1)).min() > 0.999


@pytest.fixture(scope="session")
def fast_embedder(model_cache):
    """Distil the fast embedder once, with every network connection refused."""
    pytest.importorskip("model2vec")
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access attempted during distillation")

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REDTEXT_CACHE", str(model_cache))
        mp.setattr(socket.socket, "connect", refuse)
        mp.setattr(socket.socket, "connect_ex", refuse)
        mp.setattr(socket, "create_connection", refuse)
        e = get_embedder("fast")
        e.encode(["warm up"])
    assert attempts == []
    return e


@pytest.mark.slow
def test_fast_embedder_sanity_and_agreement_with_the_default(fast_embedder, real_models):
    texts, labels = _clinc()
    labels = np.array(labels)
    v = fast_embedder.encode(texts)
    assert v.shape == (len(texts), 256) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(fast_embedder.encode(texts[:7]), v[:7])  # batch-independent
    assert fast_embedder.model_folder.is_dir() and str(fast_embedder.model_folder).startswith(str(real_models))
    # the same vectors as model2vec's own encoder (float16 rounding aside)
    from model2vec import StaticModel

    m2v = StaticModel.from_pretrained(str(fast_embedder.model_folder))
    np.testing.assert_allclose(v, m2v.encode(texts, use_multiprocessing=False), atol=2e-3)

    ref = get_embedder("minilm").encode(texts)
    # measured on these 300 texts (20 clinc150 labels x 15): 5-neighbour overlap with the default 0.65;
    # leave-one-out 1-NN label accuracy 0.93 (default 0.98, torch 0.97)
    overlap = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(_neighbours(v, 5), _neighbours(ref, 5))])
    assert overlap > 0.55
    acc_fast = (labels[_neighbours(v, 1)[:, 0]] == labels).mean()
    acc_ref = (labels[_neighbours(ref, 1)[:, 0]] == labels).mean()
    assert acc_fast > 0.88 and acc_fast > acc_ref - 0.1
    # the cached distillation is reused: a fresh embedder loads, not distils
    from redtext.embed import static as static_mod

    def no_distil(*a, **k):
        raise AssertionError("distilled again")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(static_mod, "distill_static", no_distil)
        np.testing.assert_array_equal(get_embedder("fast").encode(texts[:5]), v[:5])


@pytest.mark.slow
def test_classify_gives_the_same_labels_alone_and_among_other_texts(tmp_path, capsys):
    """The default embedder is batch-invariant: 2,000 banking77 texts classified alone and shuffled
    among 3,000 clinc150 texts get identical labels and confidences (issue #12)."""
    from redtext.bench.protocol import resolve_dataset
    from redtext.cli import main
    from redtext.io.records import load_gold
    from redtext.testing import write_jsonl

    try:
        bank, clinc = resolve_dataset("banking77"), resolve_dataset("clinc150")
    except InputError:
        pytest.skip("../shared/data is not here")
    b = load_gold(bank / "train.jsonl")
    c = load_gold(clinc / "train.jsonl")
    rng = np.random.default_rng(0)
    seed_rows = [(t, lab) for t, lab in zip(b.texts, b.labels)]
    picked = rng.permutation(len(seed_rows))
    seed = write_jsonl(tmp_path / "seed.jsonl", [{"text": seed_rows[i][0], "label": seed_rows[i][1]}
                                                for i in picked[:770]])
    texts = [seed_rows[i][0] for i in picked[770:2770]]
    others = [c.texts[i] for i in rng.permutation(len(c.texts))[:3000]]
    alone = write_jsonl(tmp_path / "alone.jsonl", [{"id": f"b{i}", "text": t} for i, t in enumerate(texts)])
    mixed_rows = [{"id": f"b{i}", "text": t} for i, t in enumerate(texts)] + \
        [{"id": f"c{i}", "text": t} for i, t in enumerate(others)]
    mixed = write_jsonl(tmp_path / "mixed.jsonl", [mixed_rows[i] for i in rng.permutation(len(mixed_rows))])
    pool = write_jsonl(tmp_path / "pool.jsonl", [{"text": t} for t in texts[:50]])
    assert main(["run", "--seed", str(seed), "--pool", str(pool), "--expert", "oracle", "--gold", str(seed),
                 "--out", str(tmp_path / "run"), "--budget", "0"]) == 0, capsys.readouterr().err
    for name, path in (("alone", alone), ("mixed", mixed)):
        assert main(["classify", "--model", str(tmp_path / "run" / "model"), "--input", str(path), "--out",
                     str(tmp_path / f"{name}.out.jsonl")]) == 0, capsys.readouterr().err
    got = {name: {r["id"]: r for r in map(json.loads, (tmp_path / f"{name}.out.jsonl").read_text().splitlines())}
           for name in ("alone", "mixed")}
    assert len(got["alone"]) == 2000
    for i, row in got["alone"].items():
        other = got["mixed"][i]
        assert row["label"] == other["label"]
        assert abs(row["confidence"] - other["confidence"]) <= 1e-6
        assert [c["label"] for c in row["candidates"]] == [c["label"] for c in other["candidates"]]
