"""Trust: the expert's measured rates, verdicts weighed as evidence, the calibrated classifier,
the audit's estimate and its interval, the warnings a user sees."""
from __future__ import annotations

import numpy as np
import pytest
from store_counts import questions_in

from redtext.core.audit import BANDS, band_of, estimate, plan_audit
from redtext.core.evidence import Rates, fit_sharpness, posterior, sharpen
from redtext.core.quality import hardest_wrong_labels, plan_checks


def _rates(tp, n_pos, fp, n_neg):
    return Rates(yes_pos=tp, n_pos=n_pos, yes_neg=fp, n_neg=n_neg)


def test_rates_intervals_cover_the_measured_share_and_narrow_with_answers():
    few, many = _rates(9, 10, 4, 10), _rates(90, 100, 40, 100)
    for r in (few, many):
        lo, hi = r.interval("fpr")
        assert lo < r.yes_neg / r.n_neg < hi
    assert np.diff(many.interval("fpr")) < np.diff(few.interval("fpr"))
    assert Rates().tpr == pytest.approx(0.9) and Rates().fpr == pytest.approx(0.1)  # the prior alone
    assert Rates().add(True, None) == Rates()  # an abstention measures nothing


def test_a_yes_from_an_agreeable_expert_weighs_less_than_from_a_careful_one():
    prior = np.array([0.4, 0.3, 0.2])
    careful, _ = posterior(prior, [(1, True)], tpr=0.95, fpr=0.03)
    agreeable, _ = posterior(prior, [(1, True)], tpr=0.97, fpr=0.40)
    assert careful[1] > 0.85 and agreeable[1] < 0.55 and careful[1] > agreeable[1]
    # a "no" from an expert that rarely rejects right labels moves the mass to the others
    post, rest = posterior(prior, [(0, False)], tpr=0.97, fpr=0.40)
    assert post[0] < 0.05 and post[1] > prior[1] and rest > 0.1 - 1e-12
    assert post.sum() + rest == pytest.approx(1.0)


def test_sharpen_is_a_monotone_power_that_keeps_the_order():
    scores = np.array([[0.5, 0.3, 0.1]])
    assert np.allclose(sharpen(scores, 10, 1.0), scores)
    sharp = sharpen(scores, 10, 2.0)
    assert sharp[0, 0] > 0.5 and np.all(np.diff(sharp[0]) < 0)
    flat = sharpen(scores, 10, 0.5)
    assert flat[0, 0] < 0.5


def test_fit_sharpness_recovers_the_power_that_generated_the_answers():
    """Texts whose truth is drawn from sharpen(scores, a=2), answered by an expert with known
    rates: the maximum-likelihood power is near 2, not 1."""
    rng = np.random.default_rng(0)
    n_labels, tpr, fpr = 20, 0.95, 0.05
    texts = []
    for _ in range(600):
        raw = np.sort(rng.dirichlet(np.ones(n_labels) * 0.3))[::-1][:3]
        p = sharpen(raw[None, :], n_labels, 2.0)[0]
        truth = rng.choice(4, p=np.r_[p, max(0.0, 1 - p.sum())] / max(1e-12, np.r_[p, max(0.0, 1 - p.sum())].sum()))
        answers = [(j, bool(rng.random() < (tpr if j == truth else fpr))) for j in range(2)]
        texts.append((raw, answers))
    a = fit_sharpness(texts, n_labels, _rates(95, 100, 5, 100))
    assert 1.5 <= a <= 2.7


def test_known_answer_questions_pair_a_seed_text_with_its_own_and_its_hardest_wrong_label():
    X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9], [0.7, 0.7], [0.6, 0.8]])
    y = np.array([0, 0, 1, 1, 2, 2])
    wrong = hardest_wrong_labels(X, y, 3)
    assert all(w != t for w, t in zip(wrong, y))
    assert wrong[0] == 2 and wrong[2] == 2  # label 2's centroid sits between the others
    checks = plan_checks(X, y, 3, seed=0)
    assert len(checks) == len(y) and len({c.row for c in checks}) == len(y)
    assert sum(c.positive for c in checks) == 3  # a positive and a negative in turn
    for c in checks:
        assert (c.label == y[c.row]) == c.positive
    allowed = np.array([True, True, False])
    assert all(c.label != 2 and y[c.row] != 2 for c in plan_checks(X, y, 3, seed=0, allowed=allowed))


def test_the_audit_sample_is_stratified_and_nested():
    rng = np.random.default_rng(1)
    conf = np.r_[rng.uniform(0.3, 0.5, 100), rng.uniform(0.96, 0.99, 900)]
    eligible = np.ones(1000, dtype=bool)
    eligible[::10] = False
    small, big = plan_audit(eligible, conf, 20, seed=3), plan_audit(eligible, conf, 60, seed=3)
    assert big[:20] == small and len(set(big)) == 60 and all(eligible[big])
    low = sum(conf[i] < 0.5 for i in big)
    assert 4 <= low <= 8  # a tenth of the eligible texts: a tenth of the sample
    assert band_of(np.array([0.2, 0.5, 0.9, 1.0])).tolist() == [0, 1, 2, len(BANDS) - 1]


@pytest.mark.parametrize("tpr,fpr", [(0.95, 0.03), (0.97, 0.40), (0.85, 0.01)])
def test_the_estimate_covers_the_truth_it_never_sees(tpr, fpr):
    """A classifier whose confidences run 5 points too high: the audit, read through the
    expert's measured rates, corrects them; the 95 % interval holds the truth in most trials."""
    hits, widths = 0, []
    for trial in range(20):
        rng = np.random.default_rng(trial)
        n = 3000
        conf = rng.uniform(0.6, 1.0, n)
        right = rng.random(n) < conf - 0.05
        source = ["classifier"] * n
        rows = plan_audit(np.ones(n, dtype=bool), conf, 300, seed=trial)
        said = {i: bool(rng.random() < (tpr if right[i] else fpr)) for i in rows}
        checks = Rates(yes_pos=int(rng.binomial(60, tpr)), n_pos=60, yes_neg=int(rng.binomial(120, fpr)), n_neg=120)
        est = estimate(source=source, confidence=conf, members={}, asked_posterior=lambda t, f: {},
                       audited=said, rates=checks, seed=trial)
        hits += est["low"] <= right.mean() <= est["high"]
        widths.append(est["high"] - est["low"])
    assert hits >= 17, hits
    assert np.mean(widths) < 0.25


def test_expert_warning_names_an_expert_that_says_yes_to_wrong_labels():
    from redtext.app.trust import expert_warning

    agreeable = _rates(30, 30, 45, 60).as_dict()
    careful = _rates(29, 30, 2, 60).as_dict()
    naysayer = _rates(10, 30, 1, 60).as_dict()
    assert "yes to 75% of known-wrong labels" in expert_warning(agreeable)
    assert expert_warning(careful) is None
    assert "no to 67% of known-right labels" in expert_warning(naysayer)
    assert expert_warning(_rates(3, 3, 3, 3).as_dict()) is None  # too few answers to judge


def test_a_run_with_an_expert_that_always_says_yes_warns_and_does_not_trust_it(problem_dirs, capsys, monkeypatch):
    """The CLI end to end with a python: expert that accepts everything: the warning is printed,
    the expert's labels are weak evidence, and the estimate's interval is wide."""
    import json

    from redtext.cli import main

    d = problem_dirs
    monkeypatch.syspath_prepend(str(d["dir"]))
    code = main(["run", "--seed", str(d["seed"]), "--pool", str(d["pool"]), "--expert", "python:yes_expert:ask",
                 "--out", str(d["dir"] / "out"), "--embedder", "hashing", "--budget", "1.0"])
    err = capsys.readouterr().err
    assert code == 0, err
    report = json.loads((d["dir"] / "out" / "report.json").read_text())
    q = report["expert_quality"]
    assert q["fpr"] == 1.0 and q["warning"] and "known-wrong" in q["warning"]
    assert "warning: the expert said yes to 100%" in err
    est = report["estimate"]
    assert est["high"] - est["low"] > 0.1


@pytest.fixture
def problem_dirs(tmp_path):
    from redtext.testing import topic_texts, write_jsonl

    seed, pool = topic_texts(6, seed=1), topic_texts(20, seed=2)
    write_jsonl(tmp_path / "seed.jsonl", [{"text": t, "label": lab} for t, lab in seed])
    write_jsonl(tmp_path / "pool.jsonl", [{"id": f"p{i}", "text": t} for i, (t, _) in enumerate(pool)])
    yes = tmp_path / "yes_expert.py"
    yes.write_text("def ask(text, label, context):\n    return True\n")
    return {"dir": tmp_path, "seed": tmp_path / "seed.jsonl", "pool": tmp_path / "pool.jsonl", "yes": yes}


@pytest.fixture
def finished_run(problem_dirs, capsys):
    import json

    from redtext.cli import main
    from redtext.testing import topic_texts, write_jsonl

    d = problem_dirs
    pool = topic_texts(20, seed=2)
    write_jsonl(d["dir"] / "gold.jsonl", [{"id": f"p{i}", "text": t, "label": lab} for i, (t, lab) in enumerate(pool)])
    out = d["dir"] / "run"
    code = main(["run", "--seed", str(d["seed"]), "--pool", str(d["pool"]), "--expert", "oracle",
                 "--gold", str(d["dir"] / "gold.jsonl"), "--out", str(out), "--embedder", "hashing", "--budget", "0.15"])
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    return out, json.loads((out / "report.json").read_text())


def _pairs(out):
    import sqlite3

    with sqlite3.connect(out / "run.db") as conn:
        # a label offered again after a "no" (``again``) is a second question about it, asked once too
        return conn.execute("SELECT text, label, kind, again, COUNT(*) FROM verdicts "
                            "GROUP BY text, label, kind, again").fetchall()


def test_audit_more_tightens_the_estimate_without_changing_a_label(finished_run, capsys):
    import json

    from redtext.cli import main

    out, before = finished_run
    labels = [json.loads(line)["label"] for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert main(["audit", str(out), "--calls", "30"]) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    after = json.loads((out / "report.json").read_text())
    assert after["quality"]["audit"] == before["quality"]["audit"] + 30
    assert after["new_expert_calls"] == 30 and after["expert_calls"] == before["expert_calls"] + 30
    assert after["quality"]["checks"] == before["quality"]["checks"]  # the loop replayed as it ran
    assert [json.loads(line)["label"] for line in (out / "predictions.jsonl").read_text().splitlines()] == labels
    wide, narrow = before["estimate"], after["estimate"]
    assert narrow["high"] - narrow["low"] < wide["high"] - wide["low"]
    assert "95 % interval" in err.splitlines()[-1]
    assert all(n == 1 for *_, n in _pairs(out))  # nothing asked twice
    # bad input: one line, exit 2
    assert main(["audit", str(out), "--calls", "0"]) == 2
    assert main(["audit", str(out.parent / "nowhere"), "--calls", "5"]) == 2
    assert "holds no run" in capsys.readouterr().err


def test_resume_with_a_raised_budget_continues_a_finished_run(finished_run, capsys):
    import json

    from redtext.cli import main

    out, before = finished_run
    assert main(["resume", str(out), "--budget", "0.4"]) == 0, capsys.readouterr().err
    after = json.loads((out / "report.json").read_text())
    assert after["budget_calls"] == int(0.4 * 20 * 12) > before["budget_calls"]
    assert before["expert_calls"] < after["expert_calls"] <= after["budget_calls"]
    assert all(n == 1 for *_, n in _pairs(out))  # the stored answers were replayed, not asked again
    # every stored answer was kept; the raised budget spreads the rounds differently, so a few may
    # no longer be on the loop's path — stored, never asked again
    import sqlite3

    with sqlite3.connect(out / "run.db") as conn:
        questions = questions_in(conn)
    assert questions == before["expert_calls"] + after["new_expert_calls"]
    assert main(["resume", str(out), "--budget", "0.1"]) == 2
    assert "already had" in capsys.readouterr().err


def test_a_label_a_reliable_expert_rejected_is_never_delivered(tmp_path, capsys, monkeypatch):
    """#17 item 1: with an expert answering from gold, no row carries a label from its own
    ``rejected`` column — a "no" from an expert measured reliable outweighs the classifier."""
    import json

    from redtext.cli import main
    from redtext.testing import topic_texts, write_jsonl

    seed, pool = topic_texts(3, seed=1), topic_texts(25, seed=4)
    write_jsonl(tmp_path / "seed.jsonl", [{"text": t, "label": lab} for t, lab in seed])
    write_jsonl(tmp_path / "pool.jsonl", [{"id": f"p{i}", "text": t} for i, (t, _) in enumerate(pool)])
    gold = {t: lab for t, lab in seed + pool}
    (tmp_path / "gold_expert.py").write_text(f"GOLD = {json.dumps(gold)}\n\n"
                                             "def ask(text, label, context):\n    return GOLD[text] == label\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "run"
    code = main(["run", "--seed", str(tmp_path / "seed.jsonl"), "--pool", str(tmp_path / "pool.jsonl"), "--expert",
                 "python:gold_expert:ask", "--out", str(out), "--embedder", "hashing", "--budget", "0.5"])
    assert code == 0, capsys.readouterr().err
    assert main(["export", str(out)]) == 0
    rows = [json.loads(line) for line in (out / "export.jsonl").read_text().splitlines()]
    rejected_somewhere = [r for r in rows if r["rejected"]]
    assert len(rejected_somewhere) > 20
    assert not [r for r in rows if r["label"] in r["rejected"]]
    # and a text with a yes carries it
    assert all(r["label"] in r["accepted"] for r in rows if r["accepted"])


def test_an_audit_answered_yes_throughout_by_an_agreeable_expert_keeps_an_honest_interval():
    """Every audited label accepted by an expert that accepts 40 % of wrong labels: that says
    little, so the interval must not collapse (a bootstrap of all-yes answers has no spread)."""
    n = 2000
    conf = np.full(n, 0.9)
    rows = plan_audit(np.ones(n, dtype=bool), conf, 50, seed=0)
    est = estimate(source=["classifier"] * n, confidence=conf, members={}, asked_posterior=lambda t, f: {},
                   audited={i: True for i in rows}, rates=_rates(30, 30, 24, 60), seed=0)
    assert est["high"] - est["low"] > 0.05


def test_a_choice_audit_reads_a_pick_of_the_delivered_label_against_how_rarely_a_wrong_one_is_picked():
    """A choice audit offers the delivered label among the text's next candidates; an agreeable
    expert (picks the truth 97 % of the time when offered, a wrong label 40 % of the time when
    not, the most plausible one) then picks a *wrong delivered* label far less often than its
    fpr. Answers drawn from that model for texts whose delivered label is right with its
    (calibrated) confidence: the estimate recovers the band's accuracy, and reading the picks
    with fpr as a binary audit's yes would put it near zero."""
    from redtext.core.audit import choice_false_yes

    rng = np.random.default_rng(1)
    n, k, tpr, fpr = 3000, 5, 0.97, 0.40
    conf = rng.uniform(0.1, 0.4, size=n)           # the least sure band
    others = rng.uniform(0.1, 0.4, size=n)         # the other offered candidates' mass
    right = rng.random(n) < conf
    rows = plan_audit(np.ones(n, dtype=bool), conf, 300, seed=0)
    audited, false_yes = {}, {}
    for i in rows:
        scores = np.r_[conf[i], np.full(k - 1, others[i] / (k - 1))]
        a, b = choice_false_yes(scores, k)
        false_yes[i] = (a, b)
        if right[i]:
            audited[i] = bool(rng.random() < tpr)
        elif rng.random() < others[i] / (1 - conf[i]):     # the truth among the other offered: a miss
            # picks another candidate ((k - 1) / k of misses), the delivered one by its share of the prior
            share = conf[i] / (conf[i] + others[i] * (k - 2) / (k - 1))
            audited[i] = bool(rng.random() < (1 - tpr) * (k - 1) / k * share)
        else:                                              # not offered: a wrong pick, most plausible first
            audited[i] = bool(rng.random() < fpr * conf[i] / (conf[i] + others[i]))
    rates = _rates(97, 100, 40, 100)
    common = dict(source=["classifier"] * n, confidence=conf, members={}, asked_posterior=lambda t, f: {},
                  audited=audited, rates=rates, seed=0)
    est = estimate(false_yes=false_yes, **common)
    truth = right.mean()
    assert est["low"] <= truth <= est["high"] and abs(est["pool_accuracy"] - truth) < 0.05
    assert estimate(**common)["pool_accuracy"] < truth - 0.1
    # a binary question's answer is read with fpr itself: (a, b) = (0, 1) for no choice
    assert choice_false_yes(np.array([1.0]), 1) == (0.0, 1.0)


def test_the_audit_reads_each_asked_text_at_the_posterior_of_the_label_actually_delivered():
    """The estimate's asked strata use each asked text's posterior of its *delivered* label. When
    the expert rejected every candidate the final classifiers rank, delivery falls back to the best
    asked label (a rejected one); the estimate read such a text as 0 % right (the share of a label
    from outside the asked ones, which it has none of). banking77 with the strict expert, seed 0:
    147 such texts, 39.5 % right, counted at 0. At the measured rates, the posterior the estimate
    uses must be the confidence delivered, for every kind of asked text."""
    from types import SimpleNamespace

    from redtext.core.deliver import deliver
    from redtext.core.ledger import Ledger
    from redtext.core.predict import Predictions

    rates = _rates(19, 20, 1, 20)
    ledger = Ledger(n_labels=6)
    # text 0: both candidates the classifiers rank rejected, nothing left unasked among them
    ledger.note_prior(0, np.array([0, 1]), np.array([0.6, 0.3]))
    ledger.add(0, 0, False)
    ledger.add(0, 1, False)
    # text 1: its top candidate rejected, the next one never asked: delivered from outside the asked
    ledger.note_prior(1, np.array([2, 3]), np.array([0.5, 0.4]))
    ledger.add(1, 2, False)
    # text 2: a yes
    ledger.note_prior(2, np.array([4, 5]), np.array([0.7, 0.2]))
    ledger.add(2, 4, True)
    assert ledger.decide(0, rates)[2] is None  # the evidence rules out every asked label
    scores = np.array([[0.6, 0.3], [0.5, 0.4], [0.7, 0.2]])
    pred = Predictions(proba=None, label=np.array([0, 2, 4]), candidates=np.array([[0, 1], [2, 3], [4, 5]]),
                       candidate_scores=scores, confidence=scores[:, 0], uncertainty=np.zeros(3),
                       all_noise=np.zeros(3, dtype=bool))
    problem = SimpleNamespace(pool_texts=["a", "b", "c"], n_labels=6, none=None, fixed=np.full(3, -1))
    result = SimpleNamespace(predictions=pred, ledger=ledger, rates=rates, trained=np.full(3, -1))
    delivered = deliver(problem, result)
    assert delivered.label.tolist() == [0, 3, 4]
    fn = ledger.delivered_posterior(rates, delivered.label, delivered.outside_share)
    point = fn(np.array([rates.tpr]), np.array([rates.fpr]))
    for i in range(3):
        assert point[i][0] == pytest.approx(delivered.confidence[i], rel=1e-9), i
    assert point[0][0] > 0.1
