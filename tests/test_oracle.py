"""Tests for redtext.experts.oracle.SimulatedOracle: the seeded, similarity-aware simulated expert."""

from __future__ import annotations

import numpy as np
import pytest

from redtext.experts import Context, Question, SimulatedOracle


def q(text: str, label: str, text_id: str | None = None) -> Question:
    return Question(text_id=text_id if text_id is not None else f"id:{text}", text=text, label=label,
                    context=Context(label=label))


def texts(n: int, prefix: str = "text") -> list[str]:
    return [f"{prefix} number {i}" for i in range(n)]


def acceptance(oracle: SimulatedOracle, questions: list[Question]) -> float:
    answers = oracle.ask(questions)
    assert all(a is not None for a in answers)
    return float(np.mean(answers))


# Label vectors: B is a near neighbour of A, C is somewhat similar, D is orthogonal to A.
LABELS = ["A", "B", "C", "D"]
VECTORS = np.array([
    [1.0, 0.0, 0.0, 0.0],
    [0.9, 0.3, 0.0, 0.0],
    [0.5, 0.0, 0.8, 0.0],
    [0.0, 0.0, 0.0, 1.0],
])

# --------------------------------------------------------------------------- determinism


def test_same_question_same_answer_regardless_of_order_and_instance():
    ts = texts(300)
    gold = {t: "A" for t in ts}
    questions = [q(t, lab) for t in ts for lab in ("A", "B")]
    o1 = SimulatedOracle(gold, accuracy=0.6, seed=3)
    first = o1.ask(questions)
    again = o1.ask(questions)
    assert first == again
    reversed_answers = SimulatedOracle(gold, accuracy=0.6, seed=3).ask(list(reversed(questions)))
    assert list(reversed(reversed_answers)) == first
    one_by_one = [o1.ask([question])[0] for question in questions[::17]]
    assert one_by_one == first[::17]
    # both answers occur, so the comparisons above are not trivially equal
    assert True in first and False in first


def test_seed_changes_the_answers():
    ts = texts(500)
    gold = {t: "A" for t in ts}
    questions = [q(t, "A") for t in ts]
    a = SimulatedOracle(gold, accuracy=0.5, seed=0).ask(questions)
    b = SimulatedOracle(gold, accuracy=0.5, seed=1).ask(questions)
    assert a != b


def test_calls_are_counted():
    o = SimulatedOracle({"x": "A"})
    o.ask([q("x", "A"), q("x", "B"), q("unknown", "A")])
    assert o.calls == 3


# --------------------------------------------------------------------------- error rates


@pytest.mark.parametrize("accuracy", [0.95, 0.8, 0.6])
def test_true_label_acceptance_rate_close_to_accuracy(accuracy):
    ts = texts(20_000)
    oracle = SimulatedOracle({t: "A" for t in ts}, accuracy=accuracy, seed=1)
    rate = acceptance(oracle, [q(t, "A") for t in ts])
    assert abs(rate - accuracy) < 0.02


def test_accuracy_one_is_exact():
    ts = texts(5_000)
    oracle = SimulatedOracle({t: "A" for t in ts}, accuracy=1.0, seed=2)
    assert all(oracle.ask([q(t, "A") for t in ts]))
    assert not any(oracle.ask([q(t, "B") for t in ts]))
    oracle.prepare(LABELS, VECTORS)
    assert all(oracle.ask([q(t, "A") for t in ts]))
    assert not any(oracle.ask([q(t, lab) for t in ts[:1000] for lab in ("B", "C", "D")]))


def test_accuracy_zero_rejects_every_true_label():
    ts = texts(2_000)
    oracle = SimulatedOracle({t: "A" for t in ts}, accuracy=0.0)
    assert not any(oracle.ask([q(t, "A") for t in ts]))


@pytest.mark.parametrize("accuracy", [-0.1, 1.5])
def test_accuracy_out_of_range_rejected(accuracy):
    with pytest.raises(ValueError):
        SimulatedOracle({}, accuracy=accuracy)


def test_without_vectors_every_wrong_label_gets_the_full_error_rate():
    ts = texts(20_000)
    oracle = SimulatedOracle({t: "A" for t in ts}, accuracy=0.9, seed=4)
    for wrong in ("B", "D"):
        rate = acceptance(oracle, [q(t, wrong) for t in ts])
        assert abs(rate - 0.1) < 0.02


def test_similar_wrong_label_falsely_accepted_more_than_unrelated_one():
    ts = texts(20_000)
    accuracy = 0.9
    oracle = SimulatedOracle({t: "A" for t in ts}, accuracy=accuracy, seed=5)
    oracle.prepare(LABELS, VECTORS)
    rate_b = acceptance(oracle, [q(t, "B") for t in ts])  # the most similar wrong label
    rate_c = acceptance(oracle, [q(t, "C") for t in ts])  # somewhat similar
    rate_d = acceptance(oracle, [q(t, "D") for t in ts])  # orthogonal: never
    assert abs(rate_b - (1 - accuracy)) < 0.02
    assert rate_d == 0.0
    # C's rate follows the squared-similarity ratio to the most similar label B
    cos_ab = VECTORS[0] @ VECTORS[1] / np.linalg.norm(VECTORS[1])
    cos_ac = VECTORS[0] @ VECTORS[2] / np.linalg.norm(VECTORS[2])
    expected_c = (1 - accuracy) * cos_ac ** 2 / cos_ab ** 2
    assert abs(rate_c - expected_c) < 0.015
    assert rate_b > 2 * rate_c
    # asking about the true label is unaffected by the vectors
    assert abs(acceptance(oracle, [q(t, "A") for t in ts]) - accuracy) < 0.02


def test_similarity_is_measured_from_the_true_label():
    # texts whose truth is D: no label is similar to D, so every wrong label is rejected
    ts = texts(5_000, prefix="d")
    oracle = SimulatedOracle({t: "D" for t in ts}, accuracy=0.7, seed=6)
    oracle.prepare(LABELS, VECTORS)
    assert not any(oracle.ask([q(t, lab) for t in ts for lab in ("A", "B", "C")]))


def test_labels_outside_prepared_space_get_the_full_error_rate():
    ts = texts(20_000)
    oracle = SimulatedOracle({t: "A" for t in ts}, accuracy=0.9, seed=7)
    oracle.prepare(LABELS, VECTORS)
    rate = acceptance(oracle, [q(t, "Z") for t in ts])
    assert abs(rate - 0.1) < 0.02


# --------------------------------------------------------------------------- gold lookup


def test_unknown_text_abstains():
    oracle = SimulatedOracle({"known": "A"}, accuracy=1.0)
    assert oracle.ask([q("never seen", "A"), q("known", "A"), q("also new", "B")]) == [None, True, None]


def test_gold_by_id_wins_over_gold_by_text():
    oracle = SimulatedOracle({"same text": "A"}, gold_by_id={"row-7": "B"}, accuracy=1.0)
    assert oracle.ask([q("same text", "B", text_id="row-7"), q("same text", "A", text_id="row-7")]) == [True, False]
    # another id with the same text falls back to the text's gold label
    assert oracle.ask([q("same text", "A", text_id="row-8"), q("same text", "B", text_id="row-8")]) == [True, False]


def test_gold_by_id_alone_is_enough():
    oracle = SimulatedOracle({}, gold_by_id={"r1": "A"}, accuracy=1.0)
    assert oracle.ask([q("anything", "A", text_id="r1"), q("anything", "A", text_id="r2")]) == [True, None]
