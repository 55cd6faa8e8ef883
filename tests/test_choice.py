"""Choice questions: "which of these candidates fits the text — or none of them?"."""
from __future__ import annotations

import json

import numpy as np
import pytest

from redtext import RED, RoundOptions
from redtext.app.journal import StoreJournal
from redtext.core.asking import Asker
from redtext.core.journal import MemoryJournal
from redtext.core.loop import resolve_question
from redtext.core.questions import (ABSTAINED, NOT_ASKED, ChoiceQuestion, Context, choice_from_verdicts,
                                    choice_verdicts, to_choice)
from redtext.errors import ExpertError, InputError
from redtext.experts import SimulatedOracle, as_expert, can_choose
from redtext.io.store import Store


def _cq(text: str, labels, text_id: str = "t1") -> ChoiceQuestion:
    return ChoiceQuestion(text_id, text, tuple(Context(lab, None, ()) for lab in labels))


class Chooser:
    """Picks the gold label when offered, else none; records every question."""

    name = "chooser"
    batch_size = 4

    def __init__(self, gold):
        self.gold = gold
        self.asked = []

    def ask(self, questions):  # binary questions too: a chooser may answer both kinds
        return [self.gold.get(q.text) == q.label for q in questions]

    def ask_choice(self, questions):
        self.asked.extend(questions)
        return [self.gold[q.text] if self.gold.get(q.text) in q.labels else None for q in questions]


def test_a_choice_answer_is_a_label_offered_none_or_an_abstention():
    labels = ("a", "b", "c")
    assert to_choice("b", labels) == "b"
    assert to_choice(2, labels) == "b" and to_choice(0, labels) is None
    assert to_choice("none", labels) is None and to_choice(False, labels) is None and to_choice(None, labels) is None
    assert to_choice(ABSTAINED, labels) is ABSTAINED and to_choice(NOT_ASKED, labels) is NOT_ASKED
    for bad in ("d", 4, True, 1.5):
        with pytest.raises(ExpertError):
            to_choice(bad, labels)


@pytest.mark.parametrize("answer", ["b", None, ABSTAINED])
def test_choice_answers_round_trip_through_per_candidate_verdicts(answer):
    labels = ("a", "b", "c")
    rows = choice_verdicts(labels, answer)
    assert [lab for lab, _ in rows] == list(labels)
    if answer == "b":  # a pick is a yes to that label; the others were seen, not judged one by one
        assert [v for _, v in rows] == [None, True, None]
    elif answer is None:
        assert [v for _, v in rows] == [False, False, False]
    assert choice_from_verdicts([v for _, v in rows], labels) == answer


def test_asker_records_a_choice_as_one_question_and_replays_it(tmp_path):
    store = Store(tmp_path / "run.db")
    run_id = store.create_run({"test": True})
    gold = {"x": "b", "y": "z"}
    expert = Chooser(gold)
    asker = Asker(as_expert(expert), StoreJournal(store, run_id))
    questions = [_cq("x", ("a", "b", "c")), _cq("y", ("a", "b"), "t2")]
    assert asker.ask_choice(questions, 0) == ["b", None]
    assert store.count_verdicts(run_id) == 5                  # one row per candidate
    assert store.snapshot().questions == {"label": 2}         # ... counted as two questions
    # a new process: replayed from run.db, nothing asked again
    again = Asker(as_expert(expert), StoreJournal(store, run_id))
    assert again.ask_choice(questions, 0) == ["b", None]
    assert len(expert.asked) == 2


def test_an_unanswered_choice_question_is_not_stored():
    class Quits(Chooser):
        def ask_choice(self, questions):
            return [NOT_ASKED for _ in questions]

    journal = MemoryJournal()
    asker = Asker(as_expert(Quits({})), journal)
    assert asker.ask_choice([_cq("x", ("a", "b"))], 0) == [NOT_ASKED]
    assert journal.answers() == {}


def test_a_python_function_with_candidates_is_a_chooser_and_a_binary_one_is_not():
    def choose(text, candidates, context):
        assert [c.label for c in context] == list(candidates)
        return candidates[-1]

    def judge(text, label, context):
        return True

    chooser, judge_expert = as_expert(choose), as_expert(judge)
    assert can_choose(chooser) and not can_choose(judge_expert)
    assert chooser.ask_choice([_cq("x", ("a", "b"))]) == ["b"]
    with pytest.raises(InputError, match="choice"):
        chooser.ask([])


def _profiles_oracle(profile, gold, labels, vectors):
    oracle = SimulatedOracle(gold, profile=profile, seed=3)
    oracle.prepare(labels, vectors)
    return oracle


def test_oracle_choice_follows_its_profile():
    labels = ["a", "b", "c", "d"]
    # b is a's most similar label; d is unrelated to everything
    vectors = np.array([[1, 0.0, 0], [0.9, 0.44, 0], [0.3, 0.95, 0], [0, 0, 1.0]])
    texts = [f"text {i}" for i in range(4000)]
    gold = {t: "a" for t in texts}
    for profile, tpr in (("careful", 0.95), ("agreeable", 0.97), ("strict", 0.85)):
        oracle = _profiles_oracle(profile, gold, labels, vectors)
        offered = oracle.ask_choice([_cq(t, ("c", "a", "b")) for t in texts])
        assert abs(np.mean([a == "a" for a in offered]) - tpr) < 0.02
        wrong = {a for a in offered if a != "a"}
        # an error picks the offered label most similar to the truth — or, strict, none of them
        assert wrong == ({None} if profile == "strict" else {"b"})
        missing = oracle.ask_choice([_cq(t, ("b", "d")) for t in texts])
        fpr = {"careful": 0.05, "agreeable": 0.40, "strict": 0.01}[profile]
        assert abs(np.mean([a == "b" for a in missing]) - fpr) < 0.025
        assert set(missing) <= {"b", None}


def test_oracle_choice_on_a_text_that_fits_no_label():
    from redtext.core.openworld import NONE_LABEL

    labels = ["a", "b"]
    vectors = np.eye(2)
    texts = [f"text {i}" for i in range(2000)]
    for profile, rate in (("careful", 0.0), ("agreeable", 0.40)):
        oracle = SimulatedOracle({t: NONE_LABEL for t in texts}, profile=profile,
                                 text_vectors={f"t{i}": np.array([1.0, 0.0]) for i in range(len(texts))})
        oracle.prepare(labels, vectors)
        answers = oracle.ask_choice([_cq(t, ("b", "a"), f"t{i}") for i, t in enumerate(texts)])
        assert abs(np.mean([a == "a" for a in answers]) - rate) < 0.03
        assert "b" not in answers


def test_auto_asks_choice_only_when_the_top_candidates_miss_and_the_expert_can_choose():
    assert resolve_question("auto", 0.67, True) == "choice"   # onet_titles' 870 occupations
    assert resolve_question("auto", 0.71, True) == "binary"   # onet_clinc: half of it clinc150's easy intents
    assert resolve_question("auto", 0.6, False) == "binary"
    assert resolve_question("auto", 0.95, True) == "binary"
    assert resolve_question("auto", None, True) == "binary"
    assert resolve_question("binary", 0.1, True) == "binary"


def _fit(problem, expert, **kw):
    seed_t = [t for t, _ in problem["seed_rows"]]
    seed_l = [lab for _, lab in problem["seed_rows"]]
    pool_t = [t for t, _ in problem["pool_rows"]]
    params = dict(embedder="hashing", subset_size=None, budget=60, verbose=False,
                  rounds=RoundOptions(question="choice", choices=4))
    params.update(kw)
    return RED(**params).fit(seed_t, seed_l, pool=pool_t, expert=expert), pool_t


def test_the_loop_asks_choice_questions_and_learns_from_the_picks(problem):
    gold = {t: lab for t, lab in problem["pool_rows"] + problem["seed_rows"]}
    expert = Chooser(gold)
    model, pool_t = _fit(problem, expert)
    assert model.history_[0]["question"] == "choice"
    assert 0 < model.expert_calls_ <= 60
    pool_questions = [q for q in expert.asked if not q.text_id.startswith("seed:")]
    first = {}
    for q in expert.asked:
        first.setdefault(q.text_id, q)
    # the first question about a text offers `choices` candidates; a second one (after "none of
    # them") what is left worth offering among the classifiers' candidates, never a single label
    assert pool_questions and all(len(q.candidates) == 4 for q in first.values())
    assert all(2 <= len(q.candidates) <= 4 for q in expert.asked)
    for q in expert.asked:  # a text is never its own example; nothing is offered twice
        assert len(set(q.labels)) == len(q.labels)
        assert all(q.text not in c.examples for c in q.candidates)
    checks = [q for q in expert.asked if q.text_id.startswith("seed:")]
    assert checks and model.expert_quality_["positives"] > 0 and model.expert_quality_["negatives"] > 0
    assert model.expert_quality_["tpr"] == 1.0 and model.expert_quality_["fpr"] == 0.0
    # a perfect chooser: every label the expert gave is right
    picked = {q.text for q in pool_questions if gold[q.text] in q.labels}
    for i, t in enumerate(pool_t):
        if t in picked and model.pool_source_[i] == "expert":
            assert model.pool_labels_[i] == gold[t]
    baseline, _ = _fit(problem, expert, budget=0)
    acc = np.mean([lab == gold[t] for lab, t in zip(model.pool_labels_, pool_t)])
    base = np.mean([lab == gold[t] for lab, t in zip(baseline.pool_labels_, pool_t)])
    assert acc > base


def test_candidates_are_shuffled_so_position_carries_no_hint(problem):
    gold = {t: lab for t, lab in problem["pool_rows"] + problem["seed_rows"]}
    expert = Chooser(gold)
    _fit(problem, expert, budget=80)
    positions = [q.labels.index(gold[q.text]) for q in expert.asked
                 if not q.text_id.startswith("seed:") and gold[q.text] in q.labels]
    assert len(set(positions)) >= 3  # the truth is not always first (the classifier's favourite)


def test_a_choice_run_replays_without_asking_again(problem, tmp_path):
    store = Store(tmp_path / "run.db")
    run_id = store.create_run({"test": True})
    gold = {t: lab for t, lab in problem["pool_rows"] + problem["seed_rows"]}
    expert = Chooser(gold)
    seed_t = [t for t, _ in problem["seed_rows"]]
    seed_l = [lab for _, lab in problem["seed_rows"]]
    pool_t = [t for t, _ in problem["pool_rows"]]
    kw = dict(embedder="hashing", subset_size=None, budget=50, verbose=False, rounds=RoundOptions(question="choice",
                                                                                                choices=4))
    first = RED(**kw).fit(seed_t, seed_l, pool=pool_t, expert=expert, journal=StoreJournal(store, run_id))
    n = len(expert.asked)
    again = RED(**kw).fit(seed_t, seed_l, pool=pool_t, expert=expert, journal=StoreJournal(store, run_id))
    assert len(expert.asked) == n and again.new_expert_calls_ == 0
    assert again.pool_labels_ == first.pool_labels_


def test_choice_with_an_expert_that_cannot_choose_is_a_clear_error(problem):
    def judge(text, label, context):
        return True

    with pytest.raises(InputError, match="binary questions only"):
        _fit(problem, judge)


def test_old_run_configs_keep_binary_questions():
    from redtext.options import options_from_json

    old = options_from_json("rounds", {"max_rounds": 20, "rounds_hint": 8, "min_gain": 0.05, "n_candidates": 5,
                                       "n_examples": 6})
    assert old.question == "binary"
    assert options_from_json("rounds", {"question": "auto"}).question == "auto"
    with pytest.raises(InputError):
        RoundOptions(question="multiple")


def test_the_terminal_expert_takes_a_number_and_zero_for_none(tmp_path):
    from io import StringIO

    from redtext.experts.human import TerminalExpert

    keys = iter(["7", "2", "0", "u", "0", "s"])
    out = StringIO()
    human = TerminalExpert(tmp_path / "run.db", input_fn=lambda prompt: next(keys), output=out)
    qs = [_cq("x", ("a", "b", "c")), _cq("y", ("a", "b", "c"), "t2"), _cq("z", ("a", "b"), "t3")]
    assert human.ask_choice(qs) == ["b", None, ABSTAINED]
    assert "0. none of them" in out.getvalue() and "1-3 = that label" in out.getvalue()
    # answered once: a resumed run takes the logged answers
    again = TerminalExpert(tmp_path / "run.db", input_fn=lambda prompt: pytest.fail("asked again"), output=out)
    assert again.ask_choice(qs) == ["b", None, ABSTAINED]


def test_the_llm_expert_parses_a_number_asks_again_once_and_caches(tmp_path):
    from fake_llm import FakeLLM

    from redtext.experts.llm import OpenAICompatibleExpert

    replies = iter(["2", "maybe", "banana", "0"])
    server = FakeLLM(plan=lambda n, text, label: ("reply", next(replies)))
    with server:
        expert = OpenAICompatibleExpert("m", base_url=server.base_url, cache_path=tmp_path / "c.db")
        qs = [_cq("first text", ("a", "b", "c")), _cq("second text", ("a", "b"), "t2")]
        assert expert.ask_choice(qs[:1]) == ["b"]
        assert expert.ask_choice(qs[1:]) == [ABSTAINED]          # malformed twice: an abstention
        body = server.requests[0]["messages"][1]["content"]
        assert "1. a" in body and "3. c" in body and "or 0 if none" in body
        n = len(server.requests)
        assert expert.ask_choice(qs[:1]) == ["b"] and len(server.requests) == n   # from the cache
        assert expert.usage.malformed == 2 and expert.usage.abstained == 1


def test_the_llm_expert_picks_by_number_from_a_real_http_reply(tmp_path):
    from fake_llm import FakeLLM

    from redtext.experts.llm import OpenAICompatibleExpert

    with FakeLLM(gold={"is it raining": "weather", "a novel": "books"}) as server:
        expert = OpenAICompatibleExpert("m", base_url=server.base_url)
        qs = [_cq("is it raining", ("banking", "weather", "travel")), _cq("a novel", ("banking", "weather"), "t2")]
        assert expert.ask_choice(qs) == ["weather", None]
        assert expert.usage.http_calls == 2 and expert.usage.prompt_tokens == 200


def test_bench_counts_tokens_and_candidate_recall(tmp_path, capsys):
    from test_cli import run_cli

    from redtext.testing import topic_texts, write_jsonl

    data = tmp_path / "tiny"
    data.mkdir()
    write_jsonl(data / "train.jsonl", [{"text": t, "label": lab} for t, lab in topic_texts(20, seed=5)])
    write_jsonl(data / "test.jsonl", [{"text": t, "label": lab} for t, lab in topic_texts(5, seed=6)])
    figures = {}
    for question in ("binary", "choice"):
        out = tmp_path / f"{question}.json"
        code, _, err = run_cli(["bench", data, "--k", "5", "--budget", "0.2", "--embedder", "hashing", "--question",
                                question, "--choices", "4", "--json", out], capsys)
        assert code == 0, err
        figures[question] = json.loads(out.read_text())
    b, c = figures["binary"], figures["choice"]
    assert b["question"] == "binary" and c["question"] == "choice"
    assert b["tokens"]["questions"]["choice"] == 0 and c["tokens"]["questions"]["binary"] == 0
    # a choice prompt holds four candidates: longer than a binary one
    per_b = b["tokens"]["prompt_tokens"] / b["tokens"]["questions"]["binary"]
    per_c = c["tokens"]["prompt_tokens"] / c["tokens"]["questions"]["choice"]
    assert per_c > per_b > 20
    assert 0 < c["tokens"]["offered_recall"] <= 1 and b["tokens"]["offered_recall"] is None
    assert len(c["tokens"]["recall_by_round"]) >= 2
    assert c["methods"]["gold_upper"]["tokens"]["tokens_per_text"] > c["classes"]   # every label listed, each text
    # at equal tokens: the budget in tokens caps the choice loop's bill
    cap = b["tokens"]["prompt_tokens"] + b["tokens"]["completion_tokens"]
    out = tmp_path / "capped.json"
    code, _, err = run_cli(["bench", data, "--k", "5", "--budget", "0.2", "--embedder", "hashing", "--question",
                            "choice", "--choices", "4", "--budget-tokens", str(cap), "--json", out], capsys)
    assert code == 0, err
    capped = json.loads(out.read_text())
    assert capped["tokens"]["prompt_tokens"] + capped["tokens"]["completion_tokens"] <= cap
    assert capped["expert_calls"] < c["expert_calls"]


def test_run_with_choice_questions_end_to_end_and_clear_errors(problem, capsys, monkeypatch):
    from test_cli import base_args, run_cli

    out = problem["dir"] / "choice"
    code, _, err = run_cli(base_args(problem, out, **{"--question": "choice", "--subset-size": "0"}), capsys)
    assert code == 0, err
    report = json.loads((out / "report.json").read_text())
    # the token estimate prices the questions asked: every one a choice, longer than a binary one
    est = report["token_estimate"]
    assert est["run"]["calls"] == est["run"]["choice_calls"] == report["expert_calls"]
    assert est["run"]["prompt_tokens"] > report["expert_calls"] * est["avg_prompt_tokens_per_question"]
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    gold = {r["id"]: r["label"] for r in map(json.loads, problem["gold"].read_text().splitlines())}
    expert_rows = [r for r in rows if r["source"] == "expert"]
    assert expert_rows and np.mean([r["label"] == gold[r["id"]] for r in expert_rows]) > 0.9
    assert report["expert_calls"] <= int(0.3 * len(rows))
    # a binary-only expert with --question choice: one line, exit 2, nothing written
    monkeypatch.syspath_prepend(str(problem["dir"]))
    (problem["dir"] / "judge_only.py").write_text("def ask(text, label, context):\n    return True\n")
    bad = problem["dir"] / "bad"
    code, _, err = run_cli(base_args(problem, bad, **{"--question": "choice", "--expert": "python:judge_only:ask",
                                                      "--gold": None}), capsys)
    assert code == 2 and "binary questions only" in err and not bad.exists()
    code, _, err = run_cli(base_args(problem, bad, **{"--question": "several"}), capsys)
    assert code == 2 and "--question" in err and not bad.exists()
    # the dry run counts choice prompts: longer than binary ones
    tokens = {}
    for q in ("binary", "choice"):
        code, stdout, err = run_cli(base_args(problem, bad, **{"--question": q, "--dry-run": None}) + ["--dry-run"],
                                    capsys)
        assert code == 0, err
        tokens[q] = json.loads(stdout)["avg_prompt_tokens_per_question"]
    assert tokens["choice"] > tokens["binary"] and not bad.exists()


def test_a_choice_answer_is_a_proper_distribution_over_what_the_expert_can_answer():
    """For every truth (each candidate, or a label not offered) the chances of every possible
    answer — each offered candidate picked, or none of them — add up to one."""
    from redtext.core.evidence import Choice, log_evidence, none_likelihood

    offered, tpr, fpr = (0, 2, 3), 0.9, 0.3
    prior = np.array([0.3, 0.1, 0.15, 0.05])
    for truth in range(4):   # each candidate the truth, offered or not
        total = sum(np.exp(log_evidence(np.eye(4)[truth], [Choice(offered, pick)], tpr, fpr))
                    for pick in (*offered, None))
        assert total == pytest.approx(1.0)
    # "another label" (the prior's rest): picks share fpr in proportion to the offered prior
    picks = [none_likelihood(prior, [Choice(offered, c)], tpr, fpr) for c in offered]
    assert sum(picks) + none_likelihood(prior, [Choice(offered, None)], tpr, fpr) == pytest.approx(1.0)
    assert picks[0] == pytest.approx(fpr * 0.3 / 0.5)


def test_a_lenient_experts_pick_is_as_strong_as_the_chance_the_truth_was_offered():
    """With an expert that picks a wrong label 40 % of the times the truth is not offered, a pick
    of a candidate is right with odds tpr·S : fpr·(1 - S), S the offered candidates' mass — not
    the odds of a "yes" to it alone."""
    from redtext.core.evidence import Choice, posterior

    tpr, fpr = 0.97, 0.40
    few = np.array([0.30, 0.05, 0.05])    # S = 0.4: the truth likely not offered
    many = np.array([0.30, 0.30, 0.30])   # S = 0.9
    for prior in (few, many):
        post, rest = posterior(prior, [Choice((0, 1, 2), 0)], tpr, fpr)
        s = prior.sum()
        # the truth another offered candidate j, missed by picking 0: (1 - tpr) times the others'
        # share of a miss (2/3 before one is measured) times 0's share of the candidates but j
        others = sum(prior[j] * (1 - tpr) * (2 / 3) * prior[0] / (s - prior[j]) for j in (1, 2))
        want = prior[0] * tpr / (prior[0] * tpr + others + (1 - s) * fpr * prior[0] / s)
        assert post[0] == pytest.approx(want)
        assert post.sum() + rest == pytest.approx(1.0)
    assert posterior(few, [Choice((0, 1, 2), 0)], tpr, fpr)[0][0] < 0.65
    assert posterior(many, [Choice((0, 1, 2), 0)], tpr, fpr)[0][0] > 0.9
    # the candidates offered and not picked are all but ruled out; the ones never offered are not
    post, _ = posterior(np.array([0.3, 0.3, 0.3, 0.05]), [Choice((0, 1, 2), 0)], tpr, fpr)
    assert post[1] < 0.01 and post[3] > post[1]


def test_sharpness_fitted_to_a_lenient_experts_choices_recovers_the_classifiers_calibration():
    """Truth drawn from the classifier's own probabilities (the right power is 1); the expert is
    offered the top 5 and, when the truth is missing, picks the top one 40 % of the time. Read as
    one answer each the choices give back a power near 1; read as a "yes" to the pick (and a "no"
    to every candidate for "none of them") they do not."""
    from redtext.core.evidence import Choice, Rates, fit_sharpness

    rng = np.random.default_rng(0)
    n_labels, k, tpr, fpr = 60, 5, 0.97, 0.40
    as_choice, as_binary = [], []
    for _ in range(800):
        raw = np.sort(rng.dirichlet(np.ones(n_labels) * 0.2))[::-1][:8]
        full = np.r_[raw, max(0.0, 1 - raw.sum())]
        truth, u = rng.choice(len(full), p=full / full.sum()), rng.random()
        pick = (truth if u < tpr else None) if truth < k else (0 if u < fpr else None)
        as_choice.append((raw, [Choice(tuple(range(k)), pick)]))
        as_binary.append((raw, [(pick, True)] if pick is not None else [(j, False) for j in range(k)]))
    rates = Rates(97, 100, 40, 100)
    assert 0.8 <= fit_sharpness(as_choice, n_labels, rates) <= 1.3
    assert not 0.8 <= fit_sharpness(as_binary, n_labels, rates) <= 1.3


def test_how_an_expert_misses_is_measured_and_a_strict_experts_none_stays_weak_evidence():
    """A strict expert misses a truth it is offered by answering "none of them", a careful one by
    picking a wrong label: the known-yes choice questions measure which, and a "none" from an
    expert whose misses are all "none" leaves the offered candidates more of their mass."""
    from redtext.core.evidence import Choice, Rates, log_evidence, posterior

    strict = Rates()
    for _ in range(17):
        strict = strict.add(True, True, none=False)
    for _ in range(3):
        strict = strict.add(True, False, none=True)
    careful = Rates().add(True, False, none=False).add(True, True, none=False)
    assert Rates().miss_none is None and Rates().add(True, False).miss_none is None  # binary checks say nothing
    assert strict.miss_none == pytest.approx(3.5 / 4) and careful.miss_none == pytest.approx(0.5 / 2)
    for m in (None, 0.1, 0.9):  # still a distribution over what the expert can answer
        total = sum(np.exp(log_evidence(np.eye(3)[0], [Choice((0, 1, 2), pick, m)], 0.85, 0.01))
                    for pick in (0, 1, 2, None))
        assert total == pytest.approx(1.0)
    prior = np.array([0.4, 0.2, 0.1])
    even, _ = posterior(prior, [Choice((0, 1, 2), None, None)], 0.85, 0.01)
    nones, _ = posterior(prior, [Choice((0, 1, 2), None, strict.miss_none)], 0.85, 0.01)
    assert nones.sum() > 2 * even.sum()


def test_a_pick_of_the_label_just_rejected_is_weighed_as_the_likely_miss_it_is(monkeypatch):
    """An expert that misses a truth it is offered picks the label most like it; after a binary
    "no" to the classifier's top label that label is offered again and is exactly that one. A "no"
    then a pick of the same label must not settle it: a miss is shared among the other offered
    candidates by their prior, and among texts answered that way (the misses going to the most
    plausible other candidate) the posterior is closer to the share that is right than an even
    split of misses makes it."""
    from redtext.core import evidence
    from redtext.core.evidence import Choice, posterior

    tpr, fpr = 0.95, 0.03
    prior = np.array([0.6, 0.3, 0.04, 0.03, 0.02])
    answers = [(0, False), Choice((0, 1, 2, 3, 4), 0, 0.0)]
    post, rest = posterior(prior, answers, tpr, fpr)
    like = np.array([prior[0] * (1 - tpr) * tpr]
                    + [prior[j] * (1 - fpr) * (1 - tpr) * prior[0] / (prior.sum() - prior[j]) for j in range(1, 5)])
    other = (1 - prior.sum()) * (1 - fpr) * fpr * prior[0] / prior.sum()
    assert post == pytest.approx(like / (like.sum() + other))
    assert post[0] < 0.75 and post.sum() + rest == pytest.approx(1.0)

    def gap() -> float:
        rng = np.random.default_rng(0)
        seen, right = [], []
        for _ in range(20000):
            raw = np.sort(rng.dirichlet(np.ones(40) * 0.3))[::-1][:5]
            full = np.r_[raw, max(0.0, 1 - raw.sum())]
            truth = rng.choice(6, p=full / full.sum())
            if rng.random() < (tpr if truth == 0 else fpr):
                continue  # a yes to the top label: not this case
            if truth < 5:
                pick = truth if rng.random() < tpr else max((j for j in range(5) if j != truth), key=lambda j: raw[j])
            else:
                pick = 0 if rng.random() < fpr else None
            if pick == 0:
                seen.append(posterior(raw, [(0, False), Choice(tuple(range(5)), 0, 0.0)], tpr, fpr)[0][0])
                right.append(truth == 0)
        return float(np.mean(seen) - np.mean(right))

    shared = gap()
    monkeypatch.setattr(evidence, "MISS_BY_PRIOR", False)
    assert shared < gap() - 0.05


def test_auto_turns_to_choice_questions_for_an_expert_that_says_yes_to_wrong_labels(problem, tmp_path):
    """A yes from an expert that accepts hard wrong labels is weak evidence; a pick goes wrong only
    when the truth is not offered. ``question="auto"`` starts binary and turns to choice questions
    (for good) once the known-answer questions measure such an expert; an exact one stays binary."""
    from redtext.core.choice import AGREEABLE_FPR, choice_for_agreeable_expert
    from redtext.core.evidence import Rates

    agreeable, exact = Rates(yes_neg=8, n_neg=16), Rates(yes_neg=0, n_neg=16)
    assert agreeable.fpr >= AGREEABLE_FPR > exact.fpr
    assert choice_for_agreeable_expert("auto", "binary", agreeable, True)
    assert not choice_for_agreeable_expert("auto", "binary", exact, True)
    assert not choice_for_agreeable_expert("auto", "binary", Rates(), True)      # nothing measured yet
    assert not choice_for_agreeable_expert("binary", "binary", agreeable, True)  # the user asked for binary
    assert not choice_for_agreeable_expert("auto", "binary", agreeable, False)   # the expert cannot choose

    gold = {t: lab for t, lab in problem["pool_rows"] + problem["seed_rows"]}

    class Agreeable(Chooser):
        """Says yes to every label but the first one alphabetically it is not; picks the truth when offered."""

        def __init__(self, gold):
            super().__init__(gold)
            self.kinds = []

        def ask(self, questions):
            self.kinds.extend(("binary", q.text_id.startswith("seed:")) for q in questions)
            return [self.gold.get(q.text) == q.label or q.label != min(set(gold.values()) - {self.gold.get(q.text)})
                    for q in questions]

        def ask_choice(self, questions):
            self.kinds.extend(("choice", q.text_id.startswith("seed:")) for q in questions)
            return super().ask_choice(questions)

    def fit(expert):
        return _fit(problem, expert, budget=120, rounds=RoundOptions(question="auto", choices=4))[0]

    agreeable = Agreeable(gold)
    model = fit(agreeable)
    # the first known-answer questions are a binary run's (binary, every other known-yes one a
    # choice); once they measure the expert, every question is a choice
    first_choice = agreeable.kinds.index(("choice", False))
    assert first_choice > 0 and all(seed for _, seed in agreeable.kinds[:first_choice])
    assert ("binary", True) in agreeable.kinds[:first_choice]
    assert all(kind == "choice" for kind, _ in agreeable.kinds[first_choice:])
    assert {r["question"] for r in model.history_ if r["texts_asked"]} == {"choice"}
    assert {r["question"] for r in fit(Chooser(gold)).history_} == {"binary"}
    store = Store(tmp_path / "run.db")  # and a resumed run takes the same turn from the stored answers
    run_id = store.create_run({"test": True})
    expert = Agreeable(gold)
    kw = dict(embedder="hashing", subset_size=None, budget=120, verbose=False, rounds=RoundOptions(question="auto", choices=4))
    seed_t, seed_l = [t for t, _ in problem["seed_rows"]], [lab for _, lab in problem["seed_rows"]]
    pool_t = [t for t, _ in problem["pool_rows"]]
    first = RED(**kw).fit(seed_t, seed_l, pool=pool_t, expert=expert, journal=StoreJournal(store, run_id))
    n = len(expert.asked)
    again = RED(**kw).fit(seed_t, seed_l, pool=pool_t, expert=expert, journal=StoreJournal(store, run_id))
    assert len(expert.asked) == n and again.new_expert_calls_ == 0 and again.pool_labels_ == first.pool_labels_


def test_the_dry_run_decides_auto_as_the_run_does_and_counts_the_runs_candidates(problem, capsys, monkeypatch):
    """``--question auto`` (the default) is not counted as binary: the dry run embeds the seed and
    takes the loop's own rule — choice questions from the first question where the seed's top-3
    recall is low, else binary ones with a choice after a "no" (counted binary, ``up_to`` every
    question a choice) — and a choice prompt offers the run's ``choices`` candidates, not ten."""
    import random

    from redtext.app.cost import estimate
    from redtext.core.choice import CHOICE_BELOW_TOP3_RECALL
    from redtext.testing import write_jsonl
    from test_cli import base_args, run_cli

    out = problem["dir"] / "dry"

    def dry(**over):
        code, stdout, err = run_cli(base_args(problem, out, **over) + ["--dry-run"], capsys)
        assert code == 0, err
        assert not out.exists()  # nothing written
        return json.loads(stdout), err

    binary, _ = dry(**{"--question": "binary"})
    choice, _ = dry(**{"--question": "choice"})
    auto, err = dry()
    # topics the hashing embedder separates: the truth is among the top three almost always
    assert auto["question"] == "binary+choice" and auto["seed_top3_recall"] >= CHOICE_BELOW_TOP3_RECALL
    assert auto["run"]["prompt_tokens"] == binary["run"]["prompt_tokens"]
    assert auto["up_to"]["prompt_tokens"] == choice["run"]["prompt_tokens"] > binary["run"]["prompt_tokens"]
    assert "a choice of 5 after a 'no'" in err and "if every question were a choice" in err
    # the run offers 5 candidates (RoundOptions.choices): so does the estimate
    seed = [json.loads(x) for x in problem["seed"].read_text().splitlines()]
    pool = [json.loads(x)["text"] for x in problem["pool"].read_text().splitlines()]
    five = estimate(seed_texts=[r["text"] for r in seed], seed_labels=[r["label"] for r in seed], pool_texts=pool,
                    calls=1, question="choice", choices=5)
    ten = estimate(seed_texts=[r["text"] for r in seed], seed_labels=[r["label"] for r in seed], pool_texts=pool,
                   calls=1, question="choice", choices=10)
    assert choice["avg_prompt_tokens_per_question"] == five["avg_prompt_tokens_per_question"]
    assert five["avg_prompt_tokens_per_question"] < ten["avg_prompt_tokens_per_question"]
    # a seed whose labels say nothing about its texts: the truth is rarely in the top three
    rng = random.Random(0)
    names = [f"label_{k}" for k in range(12)]
    noisy = write_jsonl(problem["dir"] / "noisy_seed.jsonl",
                        [{"text": r["text"], "label": names[rng.randrange(12)]} for r in seed] * 1)
    auto_noisy, _ = dry(**{"--seed": noisy})
    choice_noisy, _ = dry(**{"--seed": noisy, "--question": "choice"})
    assert auto_noisy["question"] == "choice" and auto_noisy["seed_top3_recall"] < CHOICE_BELOW_TOP3_RECALL
    assert auto_noisy["run"] == choice_noisy["run"] and "up_to" not in auto_noisy
    # an expert that answers binary questions only: auto asks binary ones, nothing to embed
    monkeypatch.syspath_prepend(str(problem["dir"]))
    (problem["dir"] / "yes_judge.py").write_text("def ask(text, label, context):\n    return True\n")
    judge, _ = dry(**{"--expert": "python:yes_judge:ask", "--gold": None})
    assert judge["question"] == "binary" and judge["run"] == binary["run"] and "up_to" not in judge


def test_the_token_estimate_of_a_run_counts_its_choice_questions_after_a_no(problem, capsys):
    """``--question auto`` on a pool whose truth is usually the top candidate asks binary questions
    and a choice after a "no": report.json's token estimate prices each question as it was asked
    (the store's choice questions, each once), not every one as binary."""
    import sqlite3

    from test_cli import base_args, run_cli

    out = problem["dir"] / "auto"
    code, _, err = run_cli(base_args(problem, out, **{"--subset-size": "0"}), capsys)
    assert code == 0, err
    report = json.loads((out / "report.json").read_text())
    with sqlite3.connect(out / "run.db") as conn:
        choices = conn.execute("SELECT COUNT(DISTINCT question) FROM verdicts WHERE question IS NOT NULL").fetchone()[0]
    run = report["token_estimate"]["run"]
    assert 0 < choices < report["expert_calls"] and run.get("choice_calls") == choices
    binary = report["token_estimate"]["avg_prompt_tokens_per_question"]
    assert run["prompt_tokens"] > round(binary * report["expert_calls"])


def test_the_report_page_counts_and_prices_each_round_s_choice_questions_as_choices(problem, capsys):
    """The HTML report's per-round table: a choice question is one stored question (its "none of
    them" rows count once) and is priced at a choice prompt's tokens, as report.json's estimate
    prices it — not every stored row as a binary question."""
    import sqlite3

    from test_cli import base_args, run_cli

    from redtext.app.report import load_run, summarize

    out = problem["dir"] / "auto"
    code, _, err = run_cli(base_args(problem, out, **{"--subset-size": "0"}), capsys)
    assert code == 0, err
    with sqlite3.connect(out / "run.db") as conn:
        binary = dict(conn.execute("SELECT round, COUNT(*) FROM verdicts WHERE question IS NULL GROUP BY round"))
        choice = dict(conn.execute("SELECT round, COUNT(DISTINCT question) FROM verdicts WHERE question IS NOT NULL "
                                   "GROUP BY round"))
        rows = dict(conn.execute("SELECT round, COUNT(*) FROM verdicts GROUP BY round"))
    s = summarize(load_run(out))
    cost = s["cost"]
    assert cost["unit"] == "tokens" and cost["tokens_per_choice_question"] > cost["tokens_per_question"] > 0
    asked = [r for r in s["rounds"] if choice.get(r["round"])]
    assert asked and any(rows[r["round"]] > binary.get(r["round"], 0) + choice[r["round"]] for r in asked)
    for r in s["rounds"]:
        b, c = binary.get(r["round"], 0), choice.get(r["round"], 0)
        assert r["stored_questions"] == b + c
        assert r["cost"] == pytest.approx(b * cost["tokens_per_question"] + c * cost["tokens_per_choice_question"])


class FirstNoChooser(Chooser):
    """Says "no" to the first binary question about every pool text (right label or not), then
    answers truthfully: a binary question by the gold label, a choice by picking the gold label
    when offered, else none. Records the binary questions as ``(text, label)`` and every question
    in order."""

    def __init__(self, gold):
        super().__init__(gold)
        self.binary = []
        self.order = []

    def ask(self, questions):
        out = []
        for q in questions:
            first = not q.text_id.startswith("seed:") and all(t != q.text for t, _ in self.binary)
            self.binary.append((q.text, q.label))
            out.append(False if first else self.gold.get(q.text) == q.label)
            self.order.append(("binary", q.text, q.label, out[-1]))
        return out

    def ask_choice(self, questions):
        self.order.extend(("choice", q.text, q.labels, None) for q in questions if not q.text_id.startswith("seed:"))
        return super().ask_choice(questions)


def test_the_choice_after_a_no_offers_the_rejected_label_again_and_a_false_no_is_undone(problem, tmp_path):
    """An expert's "no" to the right label is not final: the choice question that follows a
    binary "no" offers the rejected label again among the next candidates, so an expert that
    wrongly rejected the truth can pick it. Both answers are stored (the second apart, ``again``)
    and a resumed run replays them without asking again."""
    import sqlite3

    gold = {t: lab for t, lab in problem["pool_rows"] + problem["seed_rows"]}
    seed_t, seed_l = [t for t, _ in problem["seed_rows"]], [lab for _, lab in problem["seed_rows"]]
    pool_t = [t for t, _ in problem["pool_rows"]]
    kw = dict(embedder="hashing", subset_size=None, budget=120, verbose=False, rounds=RoundOptions(question="auto"))
    store = Store(tmp_path / "run.db")
    run_id = store.create_run({"test": True})
    expert = FirstNoChooser(gold)
    model = RED(**kw).fit(seed_t, seed_l, pool=pool_t, expert=expert, journal=StoreJournal(store, run_id))
    offered_again, undone = 0, 0
    for k, (kind, text, what, _) in enumerate(expert.order):
        if kind != "choice":
            continue
        rejected = [lab for kd, t, lab, said in expert.order[:k] if kd == "binary" and t == text and said is False]
        assert rejected and rejected[-1] in what  # the label the expert last rejected, offered again
        offered_again += 1
        if rejected[-1] == gold[text]:  # the "no" was wrong: the pick undoes it
            undone += 1
            row = pool_t.index(text)
            assert model.pool_labels_[row] == gold[text] and model.pool_source_[row] == "expert"
    assert offered_again > 0 and undone > 0
    # a label a text was offered in a choice, asked again as a binary question to settle it
    # (SETTLE_AGAIN): a second answer too
    offered = [(t, lab) for kind, t, what, _ in expert.order if kind == "choice" for lab in what]
    settled_again = sum(1 for k, (kind, t, lab, _) in enumerate(expert.order) if kind == "binary"
                        and (t, lab) in {(t2, l2) for kd, t2, what, _ in expert.order[:k] if kd == "choice" for l2 in what})
    assert len(set(offered)) == len(offered)
    with sqlite3.connect(tmp_path / "run.db") as conn:
        again = conn.execute("SELECT COUNT(*) FROM verdicts WHERE again = 1").fetchone()[0]
        twice = conn.execute("SELECT COUNT(*) FROM (SELECT text, label FROM verdicts GROUP BY text, label "
                             "HAVING COUNT(*) = 2)").fetchone()[0]
    assert again == offered_again + settled_again == twice and settled_again > 0  # both replayed below
    asked = len(expert.order)
    resumed = RED(**kw).fit(seed_t, seed_l, pool=pool_t, expert=expert, journal=StoreJournal(store, run_id))
    assert len(expert.order) == asked and resumed.new_expert_calls_ == 0
    assert resumed.pool_labels_ == model.pool_labels_


class RejectedPicker(FirstNoChooser):
    """:class:`FirstNoChooser`, but a choice that offers again the wrong label it just rejected
    picks that label (the careful expert's likeliest miss: the label most like the truth)."""

    def __init__(self, gold):
        super().__init__(gold)
        self.missed = []  # (text, questions asked before that pick)

    def ask_choice(self, questions):
        out = super().ask_choice(questions)
        for k, q in enumerate(questions):
            rejected = [lab for t, lab in self.binary if t == q.text]
            if rejected and rejected[-1] in q.labels and rejected[-1] != self.gold.get(q.text):
                out[k] = rejected[-1]
                self.missed.append((q.text, len(self.order)))
        return out


def test_a_text_its_answers_left_unsettled_gets_one_more_question_and_its_right_label(monkeypatch):
    """A "no" to a label, then a pick of that same label in the choice that offers it again,
    leaves the text unsettled: the classifier is trained on the label and stops putting the text
    forward, so without more the doubt is delivered. Each round first asks such a text one more
    binary question, about the likelier of its two best labels not yet asked that way, and more
    of them are delivered their right label than without it."""
    from conftest import topic_texts

    from redtext.core import choice

    seed_rows, pool_rows = topic_texts(5, seed=1), topic_texts(25, seed=2)
    problem = {"seed_rows": seed_rows, "pool_rows": pool_rows}
    gold = {t: lab for t, lab in pool_rows + seed_rows}

    def run():
        expert = RejectedPicker(gold)
        model, pool_t = _fit(problem, expert, budget=120, rounds=RoundOptions(question="auto"))
        last_round = max(r for *_, r in model.answers_)
        late = {t for t, _, _, r in model.answers_ if r == last_round}
        missed = [(t, n) for t, n in expert.missed if t not in late]  # a later round could settle them
        again = [any(k == "binary" and t2 == t for k, t2, _, _ in expert.order[n:]) for t, n in missed]
        return missed, again, sum(model.pool_labels_[pool_t.index(t)] == gold[t] for t, _ in missed)

    missed, again, right = run()
    assert len(missed) >= 5 and all(again)  # each asked once more
    monkeypatch.setattr(choice, "SETTLE_AGAIN", False)
    missed_off, again_off, right_off = run()
    assert not any(again_off)
    assert right / len(missed) >= right_off / len(missed_off) + 0.2


class StrictChooser(FirstNoChooser):
    """Answers a known-yes choice question about every third seed text with "none of them" (a
    strict expert's miss), every other question as :class:`FirstNoChooser`."""

    def ask_choice(self, questions):
        out = super().ask_choice(questions)
        return [None if q.text_id.startswith("seed:") and int(q.text_id[5:]) % 3 == 0 else a
                for q, a in zip(questions, out)]


def test_a_binary_run_asks_every_other_known_yes_question_as_a_choice_and_measures_how_the_expert_misses(problem):
    """Where the loop follows a binary "no" with a choice, its known-answer questions take both
    shapes too: every other known-yes question offers the seed text's own label among its hardest
    wrong ones (the right answer is that label). So how the expert misses a truth it is offered
    is measured: an expert answering "none of them" on its misses reads as one."""
    gold = {t: lab for t, lab in problem["pool_rows"] + problem["seed_rows"]}
    expert = StrictChooser(gold)
    model = _fit(problem, expert, budget=80, rounds=RoundOptions(question="auto"))[0]
    assert model.history_[0]["question"] == "binary"
    seed_choices = [q for q in expert.asked if q.text_id.startswith("seed:")]
    checks = model.checks_
    positives = [k for k, (_, _, positive, _) in enumerate(checks) if positive]
    as_choice = [k for k in positives if (k // 2) % 2 == 1]
    assert len(seed_choices) == len(as_choice) > 0  # every other known-yes question, none of the known-no ones
    by_text = {q.text: q for q in seed_choices}
    for k in as_choice:
        text, label, _, _ = checks[k]
        assert label in by_text[text].labels and len(by_text[text].labels) == 5
    binary_seed = [t for t, _ in expert.binary if t in by_text]
    assert not binary_seed  # a seed text asked as a choice is not asked again as a binary question
    missed = sum(1 for q in seed_choices if int(q.text_id[5:]) % 3 == 0)
    quality = model.expert_quality_
    assert 0 < missed < len(seed_choices) and quality["choice_misses"] == missed and quality["miss_none"] == 1.0
