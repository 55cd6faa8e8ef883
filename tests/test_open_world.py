"""The open world: texts that fit no label are delivered as such (label null), learnt from the
expert's rejections, and clustered into proposals for new labels; a closed pool stays closed."""
from __future__ import annotations

import json

import numpy as np
import pytest

from redtext import RED
from redtext.core.evidence import NonePrior, Rates, fit_calibration, sharpen
from redtext.core.ledger import Ledger
from redtext.core.openworld import NONE_LABEL
from redtext.testing import TOPICS, ScriptedExpert, topic_texts, write_jsonl

HIDDEN = ("garden", "cars", "pets")  # topics the seed leaves out: their texts fit no label


def _answers_texts(rng, n, n_labels, oos_share, tpr=0.95, fpr=0.05, oos_fpr=None):
    """Texts with top-3 scores and answers to their candidates, best first: in scope the truth is
    drawn from the scores; out of scope (less confident scores) every label is wrong, said yes to
    at ``oos_fpr`` (``fpr`` unless given)."""
    oos_fpr = fpr if oos_fpr is None else oos_fpr
    texts = []
    for _ in range(n):
        oos = rng.random() < oos_share
        raw = np.sort(rng.dirichlet(np.ones(n_labels) * (0.15 if oos else 0.05)))[::-1][:3]
        if oos:
            truth = -1
        else:
            p = sharpen(raw[None, :], n_labels, 2.0)[0]
            full = np.r_[p, max(0.0, 1 - p.sum())]
            truth = rng.choice(4, p=full / full.sum())
        answers = []
        for j in range(3):
            yes = bool(rng.random() < (tpr if j == truth else oos_fpr if oos else fpr))
            answers.append((j, yes))
            if yes:
                break
        texts.append((raw, answers))
    return texts


def test_fit_calibration_finds_texts_that_fit_no_label_and_keeps_a_closed_pool_closed():
    rng = np.random.default_rng(0)
    rates = Rates(yes_pos=95, n_pos=100, yes_neg=5, n_neg=100)
    open_texts = _answers_texts(rng, 500, 40, oos_share=0.3)
    a, prior, _ = fit_calibration(open_texts, 40, rates, open_world="auto")
    assert prior is not None
    oos_top = [s[0] for s, ans in open_texts if not any(v for _, v in ans)]
    found_top = [s[0] for s, ans in open_texts if any(v for _, v in ans)]
    # texts the expert rejected throughout (mostly out of scope) get the larger prior of "no label"
    assert prior.of(oos_top).mean() > prior.of(found_top).mean() + 0.1
    assert fit_calibration(open_texts, 40, rates, open_world="off")[1] is None
    closed_texts = _answers_texts(np.random.default_rng(1), 500, 40, oos_share=0.0)
    a_closed, none_closed, _ = fit_calibration(closed_texts, 40, rates, open_world="auto")
    assert none_closed is None and a_closed == fit_calibration(closed_texts, 40, rates)[0]


def test_the_false_yes_rate_on_texts_that_fit_no_label_is_fitted_with_the_prior():
    rates = Rates(yes_pos=95, n_pos=100, yes_neg=8, n_neg=100)
    ratios = {}
    for oos_fpr in (0.0, 0.24):  # never a yes to a text that fits no label; three times the rate elsewhere
        texts = _answers_texts(np.random.default_rng(2), 1500, 40, oos_share=0.4, fpr=0.08, oos_fpr=oos_fpr)
        prior = fit_calibration(texts, 40, rates, open_world="on")[1]
        ratios[oos_fpr] = prior.fpr_ratio
    assert ratios[0.0] <= 0.5 and ratios[0.24] >= 2.0


def test_a_yes_outweighs_no_label_when_such_texts_are_rarely_said_yes_to():
    rates = Rates(yes_pos=95, n_pos=100, yes_neg=5, n_neg=100)
    got = {}
    for ratio in (1.0, 1.0 / 64):
        ledger = Ledger(6, none=5, open_world="on")
        ledger.none_prior = NonePrior(alpha=0.0, beta=-2.0, centre=np.log(0.5), fpr_ratio=ratio)
        ledger.note_prior(0, np.array([0, 1, 2]), np.array([0.1, 0.08, 0.05]))  # "no label" prior 0.96
        ledger.add(0, 0, False)
        ledger.add(0, 2, True)
        labels, _, j, _ = ledger.decide(0, rates)
        got[ratio] = int(labels[j]) if j is not None else None
    assert got == {1.0: 5, 1.0 / 64: 2}


def test_the_ledger_delivers_no_label_when_every_plausible_label_was_rejected():
    ledger = Ledger(6, none=5, open_world="auto")
    ledger.none_prior = NonePrior(alpha=-1.0, beta=-2.0, centre=np.log(0.5))
    rates = Rates(yes_pos=95, n_pos=100, yes_neg=5, n_neg=100)
    ledger.note_prior(0, np.array([0, 1, 2]), np.array([0.3, 0.2, 0.1]))
    for lab in (0, 1, 2):
        ledger.add(0, lab, False)
    labels, post, j, p = ledger.decide(0, rates)
    assert labels[j] == 5 and p > 0.5
    ledger.note_prior(1, np.array([0, 1, 2]), np.array([0.3, 0.2, 0.1]))
    ledger.add(1, 0, False)
    ledger.add(1, 1, True)
    labels, post, j, p = ledger.decide(1, rates)
    assert labels[j] == 1
    closed = Ledger(6)  # the same answers in a closed world never give "no label"
    closed.note_prior(0, np.array([0, 1, 2]), np.array([0.3, 0.2, 0.1]))
    for lab in (0, 1, 2):
        closed.add(0, lab, False)
    labels, _, j, _ = closed.decide(0, rates)
    assert j is None or labels[j] != 5


def _open_problem():
    known = {k: v for k, v in TOPICS.items() if k not in HIDDEN}
    seed = topic_texts(5, seed=1, topics=known)
    pool = topic_texts(25, seed=2)
    test = topic_texts(10, seed=3)
    return seed, pool, test


def _fit(seed, pool, gold, open_world, budget=0.5):
    expert = ScriptedExpert({t: lab for t, lab in gold})
    return RED(subset_size=None, budget=budget, embedder="hashing", verbose=False, open_world=open_world).fit(
        [t for t, _ in seed], [lab for _, lab in seed], pool=[t for t, _ in pool], expert=expert)


def test_an_open_pool_gets_no_label_for_the_texts_of_labels_it_does_not_know():
    seed, pool, test = _open_problem()
    model = _fit(seed, pool, pool, "auto")
    delivered = np.array(model.pool_labels_, dtype=object)
    gold = np.array([lab for _, lab in pool], dtype=object)
    hidden = np.isin(gold, HIDDEN)
    said_none = np.array([lab is None for lab in delivered])
    assert said_none[hidden].mean() >= 0.6             # most texts of unknown topics: no label
    assert said_none[~hidden].mean() <= 0.3            # far fewer known ones (a weak embedder here)
    assert model.none_share_ > 0
    srcs = {model.pool_source_[i] for i in np.flatnonzero(said_none)}
    assert srcs <= {"expert", "classifier"} and "expert" in srcs
    closed = _fit(seed, pool, pool, "off")
    assert all(lab is not None for lab in closed.pool_labels_)
    truth = np.where(hidden, None, gold)   # accuracy with "no label" a class: far better than closed
    assert np.mean(delivered == truth) > np.mean(np.array(closed.pool_labels_, dtype=object) == truth) + 0.1
    # the classifier learnt "no label" from the rejected texts: new texts of those topics get it too
    test_pred = model.predict([t for t, _ in test])
    test_gold = np.array([lab for _, lab in test], dtype=object)
    assert np.mean([p is None for p in test_pred[np.isin(test_gold, HIDDEN)]]) >= 0.5
    assert np.mean([p is None for p in test_pred[~np.isin(test_gold, HIDDEN)]]) <= 0.25
    proba = model.predict_proba([t for t, _ in test])
    assert proba.shape == (len(test), len(model.classes_)) and np.all(proba.sum(axis=1) <= 1 + 1e-5)


def test_open_world_auto_changes_nothing_on_a_closed_pool(problem):
    seed, pool = problem["seed_rows"], problem["pool_rows"]
    auto = _fit(seed, pool, pool, "auto", budget=0.3)
    off = _fit(seed, pool, pool, "off", budget=0.3)
    assert auto.pool_labels_ == off.pool_labels_ and all(lab is not None for lab in auto.pool_labels_)
    assert auto.none_share_ == 0.0


def test_an_open_world_model_saves_loads_and_grows_with_no_label(tmp_path):
    seed, pool, test = _open_problem()
    model = _fit(seed, pool, pool, "auto")
    model.save(tmp_path / "m")
    loaded = RED.load(tmp_path / "m")
    texts = [t for t, _ in test]
    assert list(loaded.predict(texts)) == list(model.predict(texts))
    assert any(p is None for p in loaded.predict(texts))
    from redtext.app.classify import classify_texts  # what `classify` and `serve` answer

    rows = classify_texts(loaded, texts)
    assert [r["label"] for r in rows] == list(loaded.predict(texts)) and any(r["label"] is None for r in rows)
    # a proposal accepted: the new label's texts leave "no label" for it
    garden_pool = [t for t, lab in pool if lab == "garden"]
    grown = loaded.grow(garden_pool[:5], ["garden"] * 5, pool=[t for t, _ in pool],
                        expert=ScriptedExpert({t: lab for t, lab in pool}))
    garden_test = [t for t, lab in test if lab == "garden"]
    assert np.mean(grown.predict(garden_test) == "garden") >= 0.6
    assert "garden" in grown.classes_ and NONE_LABEL not in grown.classes_


def test_the_seed_may_not_use_the_reserved_name():
    with pytest.raises(Exception, match="keeps for texts that fit no label"):
        RED(embedder="hashing", verbose=False).fit(["a b", "c d"], [NONE_LABEL, "x"])


def test_proposals_cluster_the_no_label_texts_and_name_them_by_their_words():
    from redtext.core.proposals import propose, recovered

    rng = np.random.default_rng(0)
    topics = {k: TOPICS[k] for k in HIDDEN}
    centres = rng.normal(size=(len(topics), 32))
    X, texts, gold = [], [], []
    for c, (name, words) in enumerate(topics.items()):
        for _ in range(30):
            X.append(centres[c] + 0.25 * rng.normal(size=32))
            texts.append(" ".join(rng.choice(words, 2, replace=False)) + " please help me today")
            gold.append(name)
    for _ in range(15):  # scattered texts that belong to no group
        X.append(rng.normal(size=32) * 2)
        texts.append("something else entirely")
        gold.append("other")
    X = np.asarray(X) / np.linalg.norm(X, axis=1, keepdims=True)
    props = propose(X, texts)
    assert len(props) == 3 and all(25 <= p.size <= 40 for p in props)
    for p in props:  # each proposal is one topic, named by that topic's words
        topic = {gold[i] for i in p.members[:10].tolist()}
        assert len(topic) == 1
        assert set(p.keywords[:2]) <= set(TOPICS[topic.pop()]), p.keywords
        assert p.name == "_".join(p.keywords[:3])
    gold = np.array(gold, dtype=object)
    assert recovered(props, gold, list(HIDDEN)) == 1.0
    assert recovered([], gold, list(HIDDEN)) == 0.0
    assert recovered(props, gold, ["missing"]) is None
    assert propose(X[:3], texts[:3]) == []


def test_the_oracle_on_a_text_that_fits_no_label_follows_its_profile():
    """careful: no to every label; agreeable: yes with 0.40 × w, w the text's squared cosine to the
    label normalised by its most similar label (strict: 0.01 × w)."""
    from redtext.core.questions import Context, Question
    from redtext.experts import SimulatedOracle

    labels = [f"l{i}" for i in range(4)]
    vecs = np.eye(4)
    text = np.array([0.8, 0.6 * np.sqrt(0.5), 0.6 * np.sqrt(0.5), 0.0])  # most like l0, half as like l1, l2; not l3
    w = {"l0": 1.0, "l1": 0.28125, "l2": 0.28125, "l3": 0.0}
    n = 4000
    for profile, scale in (("careful", 0.0), ("agreeable", 0.40), ("strict", 0.01)):
        oracle = SimulatedOracle({}, gold_by_id={f"t{i}": NONE_LABEL for i in range(n)}, profile=profile,
                                 text_vectors={f"t{i}": text for i in range(n)})
        oracle.prepare(labels, vecs)
        for lab in labels:
            qs = [Question(text_id=f"t{i}", text=f"text {i}", label=lab, context=Context(label=lab)) for i in range(n)]
            yes = np.mean([v is True for v in oracle.ask(qs)])
            assert abs(yes - scale * w[lab]) < 0.025, (profile, lab, yes)


def test_open_figures_count_no_label_as_a_class():
    from redtext.bench.protocol import open_figures

    gold = np.array(["a", "a", "b", NONE_LABEL, NONE_LABEL], dtype=object)
    pred = np.array(["a", NONE_LABEL, "b", NONE_LABEL, "b"], dtype=object)
    f = open_figures(pred, gold, ["a", "b"])
    assert f["accuracy"] == pytest.approx(3 / 5) and f["known_accuracy"] == pytest.approx(2 / 3)
    assert f["none_recall"] == pytest.approx(0.5) and f["none_precision"] == pytest.approx(0.5)
    assert 0 < f["macro_f1"] < 1


def test_unknown_classes_hide_labels_from_the_seed_and_keep_their_texts_as_no_label():
    from redtext.bench.protocol import Split, unknown_split

    labels = [c for c in "abcdefgh" for _ in range(6)]
    texts = [f"{lab} {i}" for i, lab in enumerate(labels)]
    seed_idx = np.array([i for i in range(len(labels)) if i % 6 < 2])
    pool_idx = np.array([i for i in range(len(labels)) if i % 6 >= 2])
    split = Split(sorted(set(labels)), seed_idx, pool_idx, texts, labels, texts[:8], labels[:8])
    out, hidden = unknown_split(split, 0.25, seed=0)
    assert len(hidden) == 2 and set(out.classes) == set("abcdefgh") - set(hidden)
    seed_labels = {out.train_labels[i] for i in out.seed_idx}
    assert not seed_labels & set(hidden) and NONE_LABEL not in seed_labels
    assert sum(out.train_labels[i] == NONE_LABEL for i in out.pool_idx) == 12  # every text of theirs, in the pool
    for bad in (1.0, -0.1, 0.01):  # all, negative, and a share that hides no label
        with pytest.raises(Exception, match="unknown-classes"):
            unknown_split(split, bad, seed=0)
    assert unknown_split(split, 0.0, seed=0) == (split, [])


def test_oos_split_puts_the_official_out_of_scope_texts_in_pool_and_test():
    from redtext.bench.protocol import make_split, oos_split, resolve_dataset

    folder = resolve_dataset("clinc150")
    base = make_split(folder, 30, 0)
    out = oos_split(base, folder)
    pool_none = sum(out.train_labels[i] == NONE_LABEL for i in out.pool_idx)
    assert pool_none == 700 and sum(lab == NONE_LABEL for lab in out.test_labels) == 500
    assert len(out.pool_idx) == len(base.pool_idx) + 700


def _distinct_hidden(rows, seed):
    """``rows`` with the hidden topics' texts made of their own words only (no filler), so that
    the small hashing embedder groups them as a real embedder groups a coherent unknown intent."""
    import random

    rng = random.Random(seed)
    return [(" ".join(rng.sample(list(TOPICS[lab]), 4)) if lab in HIDDEN else t, lab) for t, lab in rows]


def test_cli_run_export_propose_and_add_classes_with_no_label(tmp_path, capsys):
    from test_cli import run_cli

    seed, pool, test = _open_problem()
    pool, test = _distinct_hidden(pool, 7), _distinct_hidden(test, 8)
    seed_f = write_jsonl(tmp_path / "seed.jsonl", [{"text": t, "label": lab} for t, lab in seed])
    pool_f = write_jsonl(tmp_path / "pool.jsonl", [{"id": f"p{i}", "text": t} for i, (t, _) in enumerate(pool)])
    gold_f = write_jsonl(tmp_path / "gold.jsonl", [{"id": f"p{i}", "text": t, "label": lab}
                                                   for i, (t, lab) in enumerate(pool)])
    out = tmp_path / "run"
    code, _, err = run_cli(["run", "--seed", seed_f, "--pool", pool_f, "--expert", "oracle", "--gold", gold_f,
                            "--out", out, "--embedder", "hashing", "--budget", "0.5", "--open-world", "on"], capsys)
    assert code == 0, err
    assert "fit no label" in err
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    nulls = [p for p in preds if p["label"] is None]
    assert nulls and all(p["source"] in ("expert", "classifier") for p in nulls)
    report = json.loads((out / "report.json").read_text())
    ow = report["open_world"]
    assert ow["mode"] == "on" and ow["no_label"]["texts"] == len(nulls) and ow["proposals"]
    assert all(set(p) >= {"name", "size", "keywords", "typical", "ids"} for p in ow["proposals"])
    # export: JSON null, an empty CSV cell
    code, _, err = run_cli(["export", out, "--format", "csv", "--out", tmp_path / "x.csv"], capsys)
    assert code == 0, err
    import csv

    with open(tmp_path / "x.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sum(r["label"] == "" for r in rows) == len(nulls)
    for fmt in ("parquet", "label-studio", "argilla"):
        code, _, err = run_cli(["export", out, "--format", fmt, "--out", tmp_path / f"x.{fmt}"], capsys)
        assert code == 0, (fmt, err)
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "x.parquet")
    assert table.column("label").null_count == len(nulls)
    tasks = json.loads((tmp_path / "x.label-studio").read_text())
    assert sum(not t["predictions"] for t in tasks) == len(nulls)  # no pre-annotation for "no label"
    code, _, err = run_cli(["report", out], capsys)
    assert code == 0, err
    page = (out / "report.html").read_text()
    assert "fit no label" in page
    # classify answers null too, from the trained model
    new = write_jsonl(tmp_path / "new.jsonl", [{"text": t} for t, _ in test])
    code, _, err = run_cli(["classify", "--model", out / "model", "--input", new, "--out", tmp_path / "c.jsonl"],
                           capsys)
    assert code == 0, err
    assert any(json.loads(line)["label"] is None for line in (tmp_path / "c.jsonl").read_text().splitlines())
    # proposals -> a seed file -> add-classes
    code, _, err = run_cli(["propose", out, "--out", tmp_path / "new_labels.jsonl"], capsys)
    assert code == 0, err
    proposed = [json.loads(line) for line in (tmp_path / "new_labels.jsonl").read_text().splitlines()]
    assert proposed and set(proposed[0]) == {"text", "label"}
    name = proposed[0]["label"]
    accepted = [r for r in proposed if r["label"] == name]
    write_jsonl(tmp_path / "accepted.jsonl", [{"text": r["text"], "label": "new_topic"} for r in accepted])
    code, _, err = run_cli(["add-classes", "--model", out / "model", "--seed", tmp_path / "accepted.jsonl",
                            "--pool", pool_f, "--expert", "oracle", "--gold", gold_f, "--out", tmp_path / "grown",
                            ], capsys)
    assert code == 0, err
    grown = {json.loads(line)["text"]: json.loads(line)["label"]
             for line in (tmp_path / "grown" / "predictions.jsonl").read_text().splitlines()}
    assert all(grown[r["text"]] == "new_topic" for r in accepted)


def test_propose_on_a_closed_or_missing_run_is_one_line_exit_2(problem, capsys, tmp_path):
    from test_cli import base_args, run_cli

    out = problem["dir"] / "closed"
    code, _, err = run_cli(base_args(problem, out, **{"--open-world": "off"}), capsys)
    assert code == 0, err
    code, _, err = run_cli(["propose", out], capsys)
    assert code == 2 and "closed-world run" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(["propose", tmp_path / "nothing"], capsys)
    assert code == 2 and "no finished run" in err
    # an open-world run in which every text got a label: nothing to propose, nothing written
    report = json.loads((out / "report.json").read_text())
    report["open_world"] = {"mode": "auto", "none_share": 0.0, "no_label": {"texts": 0, "expert": 0, "classifier": 0},
                            "proposals": []}
    (out / "report.json").write_text(json.dumps(report))
    code, _, err = run_cli(["propose", out], capsys)
    assert code == 2 and "every pool text got a label" in err and not (out / "proposals.jsonl").exists()
    code, _, err = run_cli(base_args(problem, problem["dir"] / "bad", **{"--open-world": "maybe"}), capsys)
    assert code == 2 and "--open-world" in err and not (problem["dir"] / "bad").exists()


def test_a_pool_entirely_out_of_scope_is_delivered_with_no_label():
    known = {k: v for k, v in TOPICS.items() if k not in HIDDEN}
    seed = topic_texts(5, seed=1, topics=known)
    pool = _distinct_hidden(topic_texts(30, seed=2, topics={k: TOPICS[k] for k in HIDDEN}), 9)
    model = _fit(seed, pool, pool, "auto", budget=0.6)
    share = np.mean([lab is None for lab in model.pool_labels_])
    assert share >= 0.5, share
    off = _fit(seed, pool, pool, "off", budget=0.6)
    assert all(lab is not None for lab in off.pool_labels_)


def test_bench_unknown_classes_reports_the_open_figures_beside_the_closed_loop(tmp_path, capsys):
    from test_cli import run_cli

    data = tmp_path / "topics"
    data.mkdir()
    write_jsonl(data / "train.jsonl", [{"text": t, "label": lab} for t, lab in topic_texts(30, seed=5)])
    write_jsonl(data / "test.jsonl", [{"text": t, "label": lab} for t, lab in topic_texts(8, seed=6)])
    out = tmp_path / "bench.json"
    code, _, err = run_cli(["bench", data, "--k", "5", "--budget", "0.4", "--embedder", "hashing",
                            "--unknown-classes", "0.25", "--json", out], capsys)
    assert code == 0, err
    result = json.loads(out.read_text())
    assert len(result["hidden_labels"]) == 3 and result["classes"] == 9  # the labels the seed knows
    methods = result["methods"]
    assert {"flat_al", "closed", "flat_seed", "gold_upper"} <= set(methods)
    for name in ("flat_al", "closed", "flat_seed", "gold_upper"):
        pool = methods[name]["open"]["pool"]
        assert set(pool) >= {"accuracy", "known_accuracy", "none_recall", "none_precision", "macro_f1"}
        assert set(methods[name]["open"]) == {"pool", "test"}
    assert methods["closed"]["open"]["pool"]["none_recall"] == 0.0   # every text gets a label
    assert methods["flat_seed"]["open"]["pool"]["none_recall"] == 0.0
    assert methods["flat_al"]["open"]["pool"]["none_recall"] > 0.3
    assert methods["flat_al"]["open"]["pool"]["accuracy"] > methods["closed"]["open"]["pool"]["accuracy"]
    assert set(methods["flat_al"]["proposals"]) == {"count", "recovered"}
    for bad in ("1.5", "0", "-0.2"):
        code, _, err = run_cli(["bench", data, "--unknown-classes", bad, "--embedder", "hashing"], capsys)
        assert code == 2 and "--unknown-classes" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(["bench", data, "--oos", "--embedder", "hashing"], capsys)
    assert code == 2 and "oos.jsonl" in err
    code, _, err = run_cli(["bench", data, "--open-world", "maybe", "--embedder", "hashing"], capsys)
    assert code == 2 and "--open-world" in err


def test_the_store_keeps_a_null_label_and_migrates_older_predictions(tmp_path):
    import sqlite3

    from redtext.io.store import Store

    path = tmp_path / "run.db"
    s = Store(path)
    run = s.create_run({"x": 1})
    s.add_texts(run, "pool", ["a", "b"], ["text a", "text b"])
    s.record_predictions(run, [(0, None, 0.9, "expert", [[None, 0.9], ["x", 0.1]]), (1, "x", 0.8, "classifier", [])])
    s.close()
    snap = Store.open_readonly(path).snapshot(run)
    assert [p[1] for p in snap.predictions] == [None, "x"] and snap.predictions[0][4][0][0] is None
    # a store written before labels could be null (schema 4: label NOT NULL) migrates with its rows
    old = tmp_path / "old.db"
    conn = sqlite3.connect(old)
    conn.execute("CREATE TABLE predictions (run_id INTEGER NOT NULL, idx INTEGER NOT NULL, label TEXT NOT NULL, "
                 "confidence REAL NOT NULL, source TEXT NOT NULL, candidates TEXT NOT NULL, PRIMARY KEY (run_id, idx))")
    conn.execute("INSERT INTO predictions VALUES (1, 0, 'x', 0.5, 'seed', '[]')")
    conn.commit()
    conn.close()
    from redtext.io import schema

    conn = sqlite3.connect(old)
    schema._m5(conn)
    conn.execute("INSERT INTO predictions VALUES (1, 1, NULL, 0.5, 'expert', '[]')")
    assert conn.execute("SELECT label FROM predictions ORDER BY idx").fetchall() == [("x",), (None,)]
    conn.close()


def test_auto_opens_only_when_the_test_passes_twice_running():
    rng = np.random.default_rng(0)
    rates = Rates(yes_pos=95, n_pos=100, yes_neg=5, n_neg=100)
    ledger = Ledger(40, none=40, open_world="auto")
    for i, (scores, answers) in enumerate(_answers_texts(rng, 500, 40, oos_share=0.3)):
        ledger.note_prior(i, np.arange(3), scores)
        for j, v in answers:
            ledger.add(i, j, v)
    ledger.calibrate(rates)
    assert ledger.none_prior is None and ledger.open_since_last  # passed once: not yet
    ledger.calibrate(rates)
    assert ledger.none_prior is not None and ledger.none_share > 0.1
    on = Ledger(40, none=40, open_world="on")
    on.prior, on.answers = ledger.prior, ledger.answers
    on.calibrate(rates)
    assert on.none_prior is not None  # "on" needs no test



def test_auto_turns_to_choice_questions_once_many_texts_fit_no_label():
    """A text that fits no label takes a binary question per candidate to settle, one "none of
    them" as a choice: ``question="auto"`` turns to choice questions once the pool is found open
    and the classifiers deliver "no label" for a tenth of it — never for a binary-only expert."""
    from redtext.core.choice import choice_for_open_pool

    assert choice_for_open_pool("auto", "binary", True, 0.2, True)
    assert not choice_for_open_pool("auto", "binary", True, 0.05, True)   # few texts fit no label
    assert not choice_for_open_pool("auto", "binary", False, 0.5, True)   # not found open
    assert not choice_for_open_pool("binary", "binary", True, 0.5, True)  # the user asked for binary
    assert not choice_for_open_pool("auto", "binary", True, 0.5, False)   # the expert cannot choose

    seed, pool, _ = _open_problem()
    gold = {**dict(seed), **dict(pool)}

    class Chooser(ScriptedExpert):
        def ask_choice(self, questions):
            return [gold[q.text] if gold[q.text] in q.labels else None for q in questions]

    def fit(expert):
        return RED(subset_size=None, budget=0.5, embedder="hashing", verbose=False, open_world="auto").fit(
            [t for t, _ in seed], [lab for _, lab in seed], pool=[t for t, _ in pool], expert=expert)

    chooser = fit(Chooser(gold))
    asked = [r["question"] for r in chooser.history_ if r["texts_asked"]]
    assert asked[0] == "binary" and "choice" in asked, asked
    assert asked[asked.index("choice"):] == ["choice"] * (len(asked) - asked.index("choice"))
    binary_only = fit(ScriptedExpert(gold))
    assert {r["question"] for r in binary_only.history_} == {"binary"}


def test_a_no_is_followed_by_a_choice_question(tmp_path):
    """Under ``auto`` a binary round asks the texts a "no" left open one choice question about
    their next candidates (or none of them); ``--question binary`` never asks one, nor is one put
    to an expert that cannot choose."""
    from redtext.core.choice import choice_after_a_no
    from redtext.experts.base import ChoiceQuestion

    assert choice_after_a_no("auto", "binary", True)
    assert not choice_after_a_no("binary", "binary", True)  # the user asked for binary
    assert not choice_after_a_no("auto", "binary", False)   # the expert cannot choose
    assert not choice_after_a_no("auto", "choice", True)    # already choice questions

    seed, pool, _ = _open_problem()
    # few texts of the unknown topics: the pool opens but "no label" stays under a tenth of it,
    # so the run does not turn to choice questions altogether
    pool = [x for x in pool if x[1] not in HIDDEN] + [x for x in pool if x[1] in HIDDEN][:6]
    gold = {**dict(seed), **dict(pool)}

    class Chooser(ScriptedExpert):
        def __init__(self, gold):
            super().__init__(gold)
            self.log = []

        def ask(self, questions):  # the log: the questions about pool texts (not known-answer ones)
            answers = super().ask(questions)
            self.log.extend(("binary", q.text, a) for q, a in zip(questions, answers) if not q.text_id.startswith("seed:"))
            return answers

        def ask_choice(self, questions):
            assert all(isinstance(q, ChoiceQuestion) for q in questions)
            answers = [gold[q.text] if gold[q.text] in q.labels else None for q in questions]
            self.log.extend(("choice", q.text, a) for q, a in zip(questions, answers) if not q.text_id.startswith("seed:"))
            return answers

    def fit(expert, question="auto", open_world="on"):
        from redtext import RoundOptions

        RED(subset_size=None, budget=0.5, embedder="hashing", verbose=False, open_world=open_world,
            rounds=RoundOptions(question=question)).fit([t for t, _ in seed], [lab for _, lab in seed], pool=[t for t, _ in pool],
                                   expert=expert)
        return expert.log

    log = fit(Chooser(gold))
    kinds = [kind for kind, _, _ in log]
    assert "choice" in kinds
    # the rounds stay binary: binary questions come after the first choice question (a run that
    # turns to choice questions altogether asks none after it)
    assert "binary" in kinds[kinds.index("choice"):]
    asked = {text for kind, text, _ in log[:kinds.index("choice")] if kind == "binary"}
    assert log[kinds.index("choice")][1] in asked  # about a text its binary answer left open
    assert any(answer is False for kind, _, answer in log[:kinds.index("choice")] if kind == "binary")
    assert {kind for kind, _, _ in fit(Chooser(gold), question="binary")} == {"binary"}
    # a closed pool too: the choice follows a "no" there as well
    assert "choice" in {kind for kind, _, _ in fit(Chooser(gold), open_world="off")}

    # a resumed run replays them: nothing is asked again, the same labels come out
    from redtext import RoundOptions
    from redtext.app.journal import StoreJournal
    from redtext.io.store import Store

    store = Store(tmp_path / "run.db")
    run_id = store.create_run({"test": True})

    def stored_fit(expert):
        return RED(subset_size=None, budget=0.5, embedder="hashing", verbose=False, open_world="on",
                   rounds=RoundOptions(question="auto")).fit(
            [t for t, _ in seed], [lab for _, lab in seed], pool=[t for t, _ in pool], expert=expert,
            journal=StoreJournal(store, run_id))

    first_expert = Chooser(gold)
    first = stored_fit(first_expert)
    assert "choice" in [kind for kind, _, _ in first_expert.log]
    again_expert = Chooser(gold)
    again = stored_fit(again_expert)
    assert again_expert.log == [] and again.new_expert_calls_ == 0
    assert again.pool_labels_ == first.pool_labels_


def test_a_run_that_turned_to_choice_questions_replays_without_asking_again(tmp_path):
    from redtext.app.journal import StoreJournal
    from redtext.io.store import Store

    seed, pool, _ = _open_problem()
    gold = {**dict(seed), **dict(pool)}
    asked = []

    class Chooser(ScriptedExpert):
        def ask(self, questions):
            asked.extend(questions)
            return super().ask(questions)

        def ask_choice(self, questions):
            asked.extend(questions)
            return [gold[q.text] if gold[q.text] in q.labels else None for q in questions]

    store = Store(tmp_path / "run.db")
    run_id = store.create_run({"test": True})

    def fit():
        return RED(subset_size=None, budget=0.5, embedder="hashing", verbose=False, open_world="auto").fit(
            [t for t, _ in seed], [lab for _, lab in seed], pool=[t for t, _ in pool], expert=Chooser(gold),
            journal=StoreJournal(store, run_id))

    first = fit()
    assert "choice" in {r["question"] for r in first.history_}
    n = len(asked)
    again = fit()
    assert len(asked) == n and again.new_expert_calls_ == 0
    assert again.pool_labels_ == first.pool_labels_
