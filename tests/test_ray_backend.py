"""--backend ray: the same answers as the local backend, through Ray Data and Ray tasks.

One local Ray (2 CPUs) serves the whole module. The in-process shortcut for small predictions is
switched off (REDTEXT_RAY_LOCAL_ROWS=0) and blocks are made small, so these tiny problems really
go through map_batches in several blocks.
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

from redtext import RED, RoundOptions  # noqa: E402
from redtext.backends import LocalBackend, get_backend  # noqa: E402
from redtext.backends.ray import RayBackend, RayEmbedder, _spec_of, check_address  # noqa: E402
from redtext.cli import main  # noqa: E402
from redtext.embed import CachedEmbedder, HashingEmbedder  # noqa: E402
from redtext.io.embed_cache import EmbeddingCache  # noqa: E402
from redtext.errors import InputError  # noqa: E402
from redtext.experts import SimulatedOracle  # noqa: E402

pytestmark = [pytest.mark.timeout(300), pytest.mark.ray]


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    if started:
        ray.shutdown()


@pytest.fixture(autouse=True)
def distributed(monkeypatch):
    monkeypatch.setenv("REDTEXT_RAY_LOCAL_ROWS", "0")    # never the in-process shortcut
    monkeypatch.setenv("REDTEXT_RAY_BLOCK_ROWS", "128")  # several prediction blocks
    monkeypatch.setenv("REDTEXT_RAY_EMBED_ROWS", "100")  # several embedding blocks


def _texts(problem):
    return [t for t, _ in problem["seed_rows"] + problem["pool_rows"]]


def test_get_backend_ray_is_lazy_and_checks_the_address_up_front():
    backend = get_backend("ray")
    assert isinstance(backend, RayBackend) and backend.name == "ray" and backend.local_rows == 0
    assert check_address("auto") == "auto" and check_address("10.0.0.5:6379") == "10.0.0.5:6379"
    assert check_address("ray://head:10001") == "ray://head:10001" and check_address(None) is None
    for bad in ("nohost", "host:port", "host:0", ":6379", "host:99999"):
        with pytest.raises(InputError, match="not a Ray address"):
            RayBackend(address=bad)


def test_embedding_through_ray_equals_local_embedding_in_order(problem):
    texts = _texts(problem)  # 360 texts: 4 blocks of at most 100
    backend = RayBackend()
    for emb, spec in ((HashingEmbedder(), "hashing:256"), (HashingEmbedder(dim=64, ngram_range=(1, 3)), None)):
        wrapped = backend.wrap_embedder(emb)
        assert isinstance(wrapped, RayEmbedder)
        assert wrapped.spec == spec  # rebuilt on the worker from its spec, or the object shipped
        assert wrapped.name == emb.name and wrapped.dim == emb.dim
        got = wrapped.encode(texts)
        assert got.dtype == np.float32 and got.shape == (len(texts), emb.dim)
        np.testing.assert_array_equal(got, emb.encode(texts))
    empty = backend.wrap_embedder(HashingEmbedder()).encode([])
    assert empty.shape == (0, 256) and empty.dtype == np.float32


def test_wrap_embedder_keeps_the_cache_on_the_driver(problem, tmp_path):
    backend = RayBackend()
    cached = CachedEmbedder(HashingEmbedder(), EmbeddingCache(tmp_path / "e.db"), progress=False)
    wrapped = backend.wrap_embedder(cached)
    assert isinstance(wrapped, CachedEmbedder) and isinstance(wrapped.embedder, RayEmbedder)
    assert backend.wrap_embedder(wrapped) is wrapped and backend.wrap_embedder(wrapped.embedder) is wrapped.embedder
    texts = _texts(problem)[:150]
    first = wrapped.encode(texts)
    again = wrapped.encode(texts)  # all from the cache: nothing sent to Ray
    assert wrapped.misses == len(set(texts)) and wrapped.hits == len(texts)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, HashingEmbedder().encode(texts))


def test_spec_of_only_names_an_embedder_it_can_rebuild():
    assert _spec_of(HashingEmbedder(dim=32)) == "hashing:32"
    assert _spec_of(HashingEmbedder(dim=32, ngram_range=(1, 2))) is None


def test_map_returns_results_in_job_order_and_shares_big_arrays(monkeypatch):
    backend = RayBackend()
    jobs = [(i, 7) for i in range(40)]
    assert backend.map(divmod, jobs, 1) == [divmod(i, 7) for i in range(40)]
    puts = []
    real_put = ray.put
    monkeypatch.setattr(ray, "put", lambda obj, **kw: puts.append(obj) or real_put(obj, **kw))
    big = np.arange(400_000, dtype=np.float64)  # 3.2 MB, in every job: put in the object store once
    lazy = ((big, float(k)) for k in range(6))   # jobs may come from a lazy sequence
    got = backend.map(np.multiply, lazy, 4)
    assert len(got) == 6 and sum(p is big for p in puts) == 1
    for k, arr in enumerate(got):
        np.testing.assert_array_equal(arr, big * k)
    assert backend.map(divmod, [], 2) == []


def test_predict_in_blocks_is_reassembled_in_row_order():
    backend = RayBackend(local_rows=0, block_rows=50)
    assert backend.block_rows == 4096  # rounded up to whole blocks of the local scoring
    n = 3 * 4096 + 333
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 8)).astype(np.float32)  # 4 blocks, the last one short
    W = rng.normal(size=(8, 5)).astype(np.float32)
    b = rng.normal(size=5).astype(np.float32)
    ours = LocalBackend()
    # a picklable predict function with the (scores, all_noise) shape of SubsetEnsemble._scores
    fn = _Linear(W, b)
    scores, flag = backend.predict(fn, X)
    want_scores, want_flag = ours.predict(fn, X)
    assert scores.dtype == np.float32 and flag.dtype == bool and scores.shape == (n, 5)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(flag, want_flag)
    # the first column holds the row number: any mix-up of blocks shows
    Xi = np.c_[np.arange(n, dtype=np.float32), X[:, 1:]]
    rows, _ = backend.predict(_Linear(np.eye(8, 5, dtype=np.float32), np.zeros(5, np.float32)), Xi)
    np.testing.assert_array_equal(rows[:, 0], np.arange(n, dtype=np.float32))


class _Linear:
    """A predict function shaped like SubsetEnsemble._scores: (scores, flag) for a block of rows.

    Ray workers cannot import this test module, so the module fixture has it pickled by value."""

    def __init__(self, W, b):
        self.W, self.b = W, b

    def __call__(self, X):
        s = X @ self.W + self.b
        return s.astype(np.float32), s.max(axis=1) > 1.0


def _fit(problem, backend):
    seed_t = [t for t, _ in problem["seed_rows"]]
    seed_l = [lab for _, lab in problem["seed_rows"]]
    pool_t = [t for t, _ in problem["pool_rows"]]
    gold = {t: lab for t, lab in problem["pool_rows"]}
    model = RED(embedder="hashing", subset_size=4, budget=0.2, verbose=False, rounds=RoundOptions(max_rounds=1),
                backend=backend)
    return model.fit(seed_t, seed_l, pool=pool_t, expert=SimulatedOracle(gold, accuracy=0.9, seed=3))


def test_red_on_ray_gives_the_same_labels_as_local(problem):
    local = _fit(problem, "local")
    distributed = _fit(problem, "ray")  # embedding, every round's training and pool prediction on Ray
    assert isinstance(distributed.backend_, RayBackend)
    assert distributed.expert_calls_ == local.expert_calls_ > 0
    assert len(distributed.history_) == len(local.history_) >= 2
    assert distributed.pool_labels_ == local.pool_labels_
    assert distributed.pool_source_ == local.pool_source_
    np.testing.assert_allclose(distributed.pool_confidence_, local.pool_confidence_, atol=1e-5)
    test_texts = [t for t, _ in problem["test_rows"]]
    ours, theirs = distributed.predict_details(test_texts, proba=True), local.predict_details(test_texts, proba=True)
    np.testing.assert_allclose(ours.proba, theirs.proba, atol=1e-5)
    np.testing.assert_array_equal(ours.label, theirs.label)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model trained by `redtext run` (local backend), and texts to classify with it."""
    from redtext.testing import topic_texts as make_texts, write_jsonl

    folder = tmp_path_factory.mktemp("trained")
    seed_rows, pool_rows, new_rows = make_texts(5, seed=1), make_texts(25, seed=2), make_texts(15, seed=3)
    seed = write_jsonl(folder / "seed.jsonl", [{"text": t, "label": lab} for t, lab in seed_rows])
    pool = write_jsonl(folder / "pool.jsonl", [{"id": f"p{i}", "text": t} for i, (t, _) in enumerate(pool_rows)])
    gold = write_jsonl(folder / "gold.jsonl", [{"id": f"p{i}", "text": t, "label": lab}
                                              for i, (t, lab) in enumerate(pool_rows)])
    new = write_jsonl(folder / "new.jsonl", [{"id": f"n{i}", "text": t} for i, (t, _) in enumerate(new_rows)])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REDTEXT_PROGRESS", "0")
        mp.setenv("REDTEXT_JOBS", "1")
        mp.setenv("REDTEXT_CACHE", str(folder / "cache"))
        code = main(["run", "--seed", str(seed), "--pool", str(pool), "--expert", "oracle", "--gold", str(gold),
                     "--out", str(folder / "run"), "--embedder", "hashing", "--budget", "0.2",
                     "--subset-size", "4", "--max-rounds", "2"])
    assert code == 0
    return {"model": folder / "run" / "model", "new": new, "n": len(new_rows)}


def _classify(trained, out, *extra):
    return main(["classify", "--model", str(trained["model"]), "--input", str(trained["new"]), "--out", str(out),
                 *extra])


def test_cli_classify_on_ray_writes_the_same_file_as_local(trained, tmp_path, capsys, monkeypatch):
    assert _classify(trained, tmp_path / "local.jsonl", "--backend", "local") == 0, capsys.readouterr().err
    # default settings: the texts are embedded through Ray Data, 180 rows are predicted in-process
    monkeypatch.delenv("REDTEXT_RAY_LOCAL_ROWS")
    assert _classify(trained, tmp_path / "ray.jsonl", "--backend", "ray") == 0, capsys.readouterr().err
    local = (tmp_path / "local.jsonl").read_text()
    assert len(local.splitlines()) == trained["n"]
    assert (tmp_path / "ray.jsonl").read_text() == local


def test_cli_classify_with_distributed_prediction_matches_local(trained, tmp_path, capsys):
    """Rows scored through Ray Data in blocks aligned with the local scoring blocks: the same
    arithmetic row by row, so the file is the same to the last digit."""
    assert _classify(trained, tmp_path / "local.jsonl", "--backend", "local") == 0, capsys.readouterr().err
    assert _classify(trained, tmp_path / "ray.jsonl", "--backend", "ray") == 0, capsys.readouterr().err
    local = (tmp_path / "local.jsonl").read_text()
    assert len(local.splitlines()) == trained["n"]
    assert (tmp_path / "ray.jsonl").read_text() == local


@pytest.mark.slow
def test_a_run_on_ray_delivers_exactly_what_a_local_run_does_with_the_default_embedder(tmp_path, capsys):
    """Embedding on Ray workers, training as Ray tasks, scoring through Ray Data: the same labels,
    confidences and candidates as the local backend, with the real default embedder."""
    from redtext.testing import topic_texts as make_texts, write_jsonl

    seed_rows, pool_rows = make_texts(4, seed=11), make_texts(30, seed=12)
    seed = write_jsonl(tmp_path / "seed.jsonl", [{"text": t, "label": lab} for t, lab in seed_rows])
    pool = write_jsonl(tmp_path / "pool.jsonl", [{"id": f"p{i}", "text": t} for i, (t, _) in enumerate(pool_rows)])
    gold = write_jsonl(tmp_path / "gold.jsonl", [{"id": f"p{i}", "text": t, "label": lab}
                                                for i, (t, lab) in enumerate(pool_rows)])
    outs = {}
    for backend in ("local", "ray"):
        out = tmp_path / backend
        code = main(["run", "--seed", str(seed), "--pool", str(pool), "--expert", "oracle", "--gold", str(gold),
                     "--out", str(out), "--budget", "60", "--backend", backend, "--subset-size", "4"])
        assert code == 0, capsys.readouterr().err
        outs[backend] = (out / "predictions.jsonl").read_text()
    assert outs["ray"] == outs["local"]


def test_a_bad_address_is_one_line_and_exit_2(trained, tmp_path, capsys):
    code = _classify(trained, tmp_path / "x.jsonl", "--backend", "ray", "--address", "nohost")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert "--address 'nohost'" in err[0] and "ray start --head" in err[0]
    assert not (tmp_path / "x.jsonl").exists()


def test_an_unreachable_cluster_is_one_line_and_exit_2(trained, tmp_path):
    # a fresh process: this one already holds a Ray, which an --address does not replace
    args = ["classify", "--model", str(trained["model"]), "--input", str(trained["new"]), "--out",
            str(tmp_path / "x.jsonl"), "--backend", "ray", "--address", "127.0.0.1:1"]
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    code = "import sys; from redtext.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120, env=env)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach a Ray cluster at 127.0.0.1:1"), proc.stderr
    assert "ray start --head" in lines[0]
    assert not (tmp_path / "x.jsonl").exists()


def test_the_ray_backend_passes_the_backend_contract():
    from redtext.testing import check_backend

    check_backend(RayBackend(local_rows=0, block_rows=4))
