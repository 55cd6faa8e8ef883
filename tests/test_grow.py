"""add-classes and retrain: new labels placed into subsets, only the changed subsets retrained."""
from __future__ import annotations

import numpy as np
import pytest

from redtext import RED
from redtext.core.grow import place_labels, subsets_holding

from redtext.testing import topic_texts as make_texts

NEW = ["pets", "movies"]


def _gold_expert(rows):
    gold = {t: lab for t, lab in rows}
    asked = []

    def ask(text, label, context):
        asked.append(label)
        return gold.get(text) == label
    return ask, asked


def _split(rows):
    old = [(t, lab) for t, lab in rows if lab not in NEW]
    new = [(t, lab) for t, lab in rows if lab in NEW]
    return old, new


def _base(tmp_path):
    seed_old, _ = _split(make_texts(5, seed=1))
    pool_old, _ = _split(make_texts(25, seed=2))
    ask, _ = _gold_expert(pool_old + seed_old)  # the expert knows the seed texts too (known-answer questions)
    model = RED(subset_size=4, embedder="hashing", budget=60, verbose=False, n_jobs=1)
    model.fit([t for t, _ in seed_old], [lab for _, lab in seed_old], pool=[t for t, _ in pool_old], expert=ask)
    model.save(tmp_path / "base")
    return RED.load(tmp_path / "base")


def test_place_labels_fills_free_room_least_similar_first_and_opens_subsets_when_full():
    v = np.eye(7, 16)
    v[1] = 0.6 * v[0] + 0.8 * np.eye(7, 16)[1]      # 0 and 1 share a subset at similarity 0.6: the bar
    v[5] = 0.999 * v[0] + 0.0447 * np.eye(7, 16)[5]  # new label 5: a near copy of label 0
    subsets = [[0, 1], [2, 3, 4]]
    out, changed = place_labels(v, subsets, [5], subset_size=3)
    # subset 0 holds its near copy: 5 must not join it, and subset 1 is full -> a new subset
    assert out == [[0, 1], [2, 3, 4], [5]] and changed == {2}
    out, changed = place_labels(v, subsets, [6], subset_size=3)
    assert sorted(sum(out, [])) == [0, 1, 2, 3, 4, 6] and out[1] == [2, 3, 4]
    assert changed == {0} and out[0] == [0, 1, 6]
    assert subsets_holding(out, [3, 6]) == {0, 1}


def test_add_classes_retrains_only_changed_subsets_and_learns_the_new_labels(tmp_path):
    base = _base(tmp_path)
    assert base.training_data()[2].shape[0] > 50  # the bundle kept its training rows
    seed_all = make_texts(5, seed=1)
    pool_all = make_texts(25, seed=2)
    _, seed_new = _split(seed_all)
    ask, asked = _gold_expert(pool_all + seed_all)
    grown = RED.load(tmp_path / "base").set_params(budget=40, verbose=False)
    grown.grow([t for t, _ in seed_new], [lab for _, lab in seed_new], pool=[t for t, _ in pool_all], expert=ask)
    assert grown.classes_[:len(base.classes_)] == base.classes_ and set(grown.classes_[-2:]) == set(NEW)
    changed = set(grown.changed_subsets_)
    assert changed and len(changed) < len(grown.subsets_)
    for g, members in enumerate(base.subsets_):
        assert grown.subsets_[g][:len(members)] == members or set(members) <= set(grown.subsets_[g])
        if g not in changed:  # untouched subsets keep their classifier exactly
            np.testing.assert_array_equal(grown.ensemble_.models_[g].coef, base.ensemble_.models_[g].coef)
    askable = {grown.classes_[lab] for g in changed for lab in grown.subsets_[g]}
    assert asked and set(asked) <= askable
    test = make_texts(10, seed=3)
    pred = grown.predict([t for t, _ in test])
    gold = np.array([lab for _, lab in test], dtype=object)
    is_new = np.isin(gold, NEW)
    assert (pred[is_new] == gold[is_new]).mean() >= 0.8
    old_before = (base.predict([t for t, _ in test])[~is_new] == gold[~is_new]).mean()
    assert (pred[~is_new] == gold[~is_new]).mean() >= old_before - 0.05


def test_retrain_named_classes_asks_only_about_them(tmp_path):
    base = _base(tmp_path)
    pool = make_texts(25, seed=7)
    ask, asked = _gold_expert(pool + make_texts(5, seed=1))
    again = RED.load(tmp_path / "base").set_params(budget=30, verbose=False)
    again.grow([], [], pool=[t for t, _ in pool], expert=ask, retrain=["weather", "cars"])
    assert asked and set(asked) <= {"weather", "cars"}
    assert again.classes_ == base.classes_
    held = subsets_holding(again.subsets_, [again.classes_.index("weather"), again.classes_.index("cars")])
    assert set(again.changed_subsets_) == held


def test_retrain_unknown_class_is_a_clear_error(tmp_path):
    from redtext.errors import InputError

    base = _base(tmp_path)
    with pytest.raises(InputError, match="does not have"):
        base.set_params(verbose=False).grow([], [], pool=["x"], expert=lambda *a: True, retrain=["no-such-label"])


# -- the CLI ------------------------------------------------------------------------------
def _cli(args, capsys):
    import json as _json  # noqa: F401

    from redtext.cli import main

    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.err


@pytest.fixture
def grown_dirs(tmp_path, capsys):
    from redtext.testing import write_jsonl

    seed, pool = make_texts(5, seed=1), make_texts(25, seed=2)
    write_jsonl(tmp_path / "seed_old.jsonl", [{"text": t, "label": lab} for t, lab in seed if lab not in NEW])
    write_jsonl(tmp_path / "seed_new.jsonl", [{"text": t, "label": lab} for t, lab in seed if lab in NEW])
    write_jsonl(tmp_path / "pool.jsonl", [{"id": f"p{i}", "text": t} for i, (t, _) in enumerate(pool)])
    write_jsonl(tmp_path / "gold.jsonl", [{"id": f"p{i}", "text": t, "label": lab} for i, (t, lab) in enumerate(pool)])
    code, err = _cli(["run", "--seed", tmp_path / "seed_old.jsonl", "--pool", tmp_path / "pool.jsonl", "--expert",
                      "oracle", "--gold", tmp_path / "gold.jsonl", "--out", tmp_path / "base", "--embedder",
                      "hashing", "--budget", "60", "--subset-size", "4"], capsys)
    assert code == 0, err
    return tmp_path


def test_cli_add_classes_then_retrain_with_drift_report(grown_dirs, capsys):
    import json

    d = grown_dirs
    code, err = _cli(["add-classes", "--model", d / "base/model", "--seed", d / "seed_new.jsonl", "--expert",
                      "oracle", "--gold", d / "gold.jsonl", "--out", d / "grown", "--budget", "40"], capsys)
    assert code == 0, err
    report = json.loads((d / "grown/report.json").read_text())
    assert sorted(report["added_classes"]) == sorted(NEW) and report["expert_calls"] <= 40
    assert set(NEW) <= set(report["retrained_classes"])
    manifest = json.loads((d / "grown/model/manifest.json").read_text())
    assert manifest["format_version"] == 2 and manifest["has_training"] and len(manifest["classes"]) == 12
    rows = [json.loads(x) for x in (d / "grown/predictions.jsonl").read_text().splitlines()]
    assert len(rows) == 300 and {"pets", "movies"} <= {r["label"] for r in rows}
    # the questions of the add-classes run were only about labels of retrained subsets
    import sqlite3

    with sqlite3.connect(d / "grown/run.db") as conn:
        asked = {lab for (lab,) in conn.execute("SELECT DISTINCT label FROM verdicts")}
    assert asked and asked <= set(report["retrained_classes"])

    code, err = _cli(["retrain", "--model", d / "grown/model", "--classes", "weather, pets", "--expert", "oracle",
                      "--gold", d / "gold.jsonl", "--out", d / "re", "--budget", "30"], capsys)
    assert code == 0, err
    assert "drift since the model's own run" in err and "weather" in err
    report = json.loads((d / "re/report.json").read_text())
    assert [r["label"] for r in sorted(report["drift"], key=lambda r: r["label"])] == ["pets", "weather"]
    with sqlite3.connect(d / "re/run.db") as conn:
        asked = {lab for (lab,) in conn.execute("SELECT DISTINCT label FROM verdicts")}
    assert asked <= {"weather", "pets"}
    # a finished grow run resumes as complete, without asking again
    code, err = _cli(["resume", d / "re"], capsys)
    assert code == 0 and "already complete" in err


@pytest.mark.parametrize("case", ["unknown_class", "no_new_label", "old_format", "not_a_model", "empty_classes"])
def test_cli_grow_bad_input_is_one_line_exit_2_and_no_output(grown_dirs, capsys, case):
    import json
    import shutil

    d = grown_dirs
    model = d / "base/model"
    common = ["--expert", "oracle", "--gold", d / "gold.jsonl", "--out", d / "out"]
    if case == "unknown_class":
        args = ["retrain", "--model", model, "--classes", "weather,no-such"] + common
    elif case == "empty_classes":
        args = ["retrain", "--model", model, "--classes", " , "] + common
    elif case == "no_new_label":
        args = ["add-classes", "--model", model, "--seed", d / "seed_old.jsonl"] + common
    elif case == "not_a_model":
        args = ["add-classes", "--model", d, "--seed", d / "seed_new.jsonl"] + common
    else:  # a bundle without training rows, as format 1 wrote them
        old = d / "old_model"
        shutil.copytree(model, old)
        (old / "training.jsonl").unlink()
        (old / "training.npz").unlink()
        m = json.loads((old / "manifest.json").read_text())
        m["format_version"] = 1
        (old / "manifest.json").write_text(json.dumps(m))
        args = ["add-classes", "--model", old, "--seed", d / "seed_new.jsonl"] + common
    code, err = _cli(args, capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert not (d / "out").exists()


def test_a_flat_model_grows_flat(tmp_path):
    seed_old, seed_new = _split(make_texts(5, seed=1))
    pool_old, pool_new = _split(make_texts(25, seed=2))
    ask, _ = _gold_expert(pool_old)
    base = RED(embedder="hashing", budget=30, verbose=False, n_jobs=1)  # subset_size="auto": flat at 10 labels
    base.fit([t for t, _ in seed_old], [lab for _, lab in seed_old], pool=[t for t, _ in pool_old], expert=ask)
    assert base.subset_size_ is None and len(base.subsets_) == 1
    base.save(tmp_path / "flat")
    loaded = RED.load(tmp_path / "flat")
    ask_new, _ = _gold_expert(pool_new)
    grown = loaded.set_params(budget=10, verbose=False, n_jobs=1).grow(
        [t for t, _ in seed_new], [lab for _, lab in seed_new], pool=[t for t, _ in pool_new], expert=ask_new)
    assert len(grown.subsets_) == 1 and sorted(grown.subsets_[0]) == list(range(len(grown.classes_)))
    assert set(NEW) <= set(grown.classes_)


def test_grow_replaces_fitted_attributes_so_a_shallow_copy_leaves_the_model_alone(tmp_path):
    import copy

    base = _base(tmp_path)
    classes, subsets, models = list(base.classes_), [list(s) for s in base.subsets_], list(base.ensemble_.models_)
    seed_new = _split(make_texts(5, seed=1))[1]
    ask, _ = _gold_expert(make_texts(25, seed=2))
    grown = copy.copy(base).set_params(budget=10).grow([t for t, _ in seed_new], [lab for _, lab in seed_new],
                                                       pool=[t for t, _ in make_texts(25, seed=2)], expert=ask)
    assert set(NEW) <= set(grown.classes_) and len(grown.classes_) == len(classes) + 2
    assert base.classes_ == classes and base.subsets_ == subsets and base.ensemble_.models_ == models
    assert base.budget == 60
