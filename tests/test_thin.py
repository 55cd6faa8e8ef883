"""Which texts a label given one example gets asked about (#17 item 6, core/thin.py)."""
import numpy as np

from redtext.core.evidence import Rates
from redtext.core.ledger import Ledger
from redtext.core.predict import Predictions
from redtext.core.thin import THIN_ASK, ThinLabels


def _unit(v):
    v = np.asarray(v, dtype=np.float32)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _setup(n_pool=12):
    """Labels 0 and 1 with 20 seed examples each, label 2 with one (thin). Pool texts 0–3 are
    nearest label 2's example; text 9 is less near, and the expert rejected every label asked for
    it; text 10 has label 2 as its runner-up candidate; the rest are near label 0."""
    y_seed = np.array([0] * 20 + [1] * 20 + [2])
    example = _unit([0.0, 0.0, 1.0])
    X_pool = np.vstack([_unit([0.05 * k, 0.0, 1.0]) for k in range(4)] + [_unit([1.0, 0.1 * k, 0.0]) for k in range(5)]
                       + [_unit([1.0, 0.0, 0.6]), _unit([1.0, 0.0, 0.3]), _unit([1.0, 0.2, 0.0])])[:n_pool]
    cands = np.tile([0, 1, 3], (n_pool, 1))
    cands[10] = [0, 2, 1]
    scores = np.tile([0.7, 0.2, 0.1], (n_pool, 1))
    pred = Predictions(proba=None, candidates=cands, candidate_scores=scores, label=cands[:, 0],
                       confidence=scores[:, 0], uncertainty=np.full(n_pool, 0.5), all_noise=np.zeros(n_pool, bool))
    ledger = Ledger(4)
    ledger.note_prior(9, cands[9], scores[9])
    ledger.add(9, 0, False)
    ledger.add(9, 1, False)
    return ThinLabels(y_seed, 4), X_pool, (lambda lab: example[None, :]), pred, ledger


def test_only_a_label_with_few_examples_against_the_others_is_thin():
    assert ThinLabels(np.array([0] * 20 + [1] * 20 + [2]), 3).thin.tolist() == [False, False, True]
    # every label with few examples: none is thin
    assert not ThinLabels(np.array([0, 0, 1, 2]), 3).thin.any()
    # a label that may not be asked about is not explored
    assert ThinLabels(np.array([0] * 20 + [1] * 20 + [2]), 3, np.array([True, True, False])).thin.tolist() == \
        [False, False, False]


def test_rejected_texts_then_runner_ups_then_the_nearest_are_asked():
    thin, X_pool, examples, pred, ledger = _setup()
    counts = np.array([20, 20, 1, 20])
    qs = thin.questions(X_pool, examples, counts, pred, ledger, np.ones(len(X_pool), bool), n_max=6)
    assert [lab for _, lab in qs] == [2] * 6
    # text 9 (rejected for everything asked) first, then text 10 (label 2 its runner-up), then the
    # texts nearest label 2's example, nearest first
    assert [i for i, _ in qs] == [9, 10, 0, 1, 2, 3]
    # each asked text gets label 2 in its prior, as plausible as its top guess
    labels, post, _ = ledger.belief(0, Rates())
    assert labels[0] == 2 and post[0] == post.max()


def test_rejected_texts_are_taken_nearest_any_of_the_labels_examples_not_their_mean():
    """A label whose examples lie apart (one seed example, one found text, its name): a rejected
    text close to one of them comes before one close only to their mean."""
    y_seed = np.array([0] * 20 + [1] * 20 + [2])
    examples = np.vstack([_unit([0.0, 0.0, 1.0]), _unit([0.0, 1.0, 0.0])])
    X_pool = np.vstack([_unit([0.3, 1.0, 1.0]), _unit([0.0, 0.3, 1.0]), _unit([1.0, 0.0, 0.0])])
    cands = np.tile([0, 1, 3], (3, 1))
    scores = np.tile([0.7, 0.2, 0.1], (3, 1))
    pred = Predictions(proba=None, candidates=cands, candidate_scores=scores, label=cands[:, 0],
                       confidence=scores[:, 0], uncertainty=np.full(3, 0.5), all_noise=np.zeros(3, bool))
    ledger = Ledger(4)
    for i in (0, 1):
        ledger.note_prior(i, cands[i], scores[i])
        ledger.add(i, 0, False)
    # text 0 is nearer the examples' mean, text 1 nearer one example
    assert X_pool[0] @ examples.mean(axis=0) > X_pool[1] @ examples.mean(axis=0)
    qs = ThinLabels(y_seed, 4).questions(X_pool, lambda lab: examples, np.array([20, 20, 1, 20]), pred, ledger,
                                          np.ones(3, bool), n_max=2)
    assert [i for i, _ in qs] == [1, 0]


def test_a_thin_label_is_explored_past_the_threshold_while_a_third_of_its_answers_are_yes():
    thin, X_pool, examples, pred, ledger = _setup()
    eligible = np.ones(len(X_pool), bool)
    # round 0: thin by its count
    assert thin.questions(X_pool, examples, np.array([20, 20, 1, 20]), pred, ledger, eligible, 4)
    for _ in range(6):
        thin.record(2, True)
    # round 1: 12 examples now (past the threshold of 10), but last round's answers were all yes
    counts = np.array([20, 20, 12, 20])
    assert thin.questions(X_pool, examples, counts, pred, Ledger(4), eligible, 4)
    for k in range(6):
        thin.record(2, k < 2)  # two yes in six: a third of the answers, still worth it
    assert thin.questions(X_pool, examples, counts, pred, Ledger(4), eligible, 4)
    for k in range(6):
        thin.record(2, k == 0)  # one yes in six
    # round 2: past the threshold and mostly "no" last round: left alone
    assert thin.questions(X_pool, examples, counts, pred, Ledger(4), eligible, 4) == []
    # under the threshold it is explored whatever its answers
    assert thin.questions(X_pool, examples, np.array([20, 20, 3, 20]), pred, Ledger(4), eligible, 4)


def test_a_thin_label_whose_texts_are_all_rejected_is_left():
    thin, X_pool, examples, pred, ledger = _setup()
    for _ in range(2 * THIN_ASK):
        thin.record(2, False)
    assert thin.questions(X_pool, examples, np.array([20, 20, 1, 20]), pred, ledger,
                          np.ones(len(X_pool), bool), 4) == []


def test_at_most_n_max_questions_and_each_text_once():
    thin, X_pool, examples, pred, ledger = _setup()
    eligible = np.ones(len(X_pool), bool)
    eligible[0] = False  # not eligible (settled): never asked
    qs = thin.questions(X_pool, examples, np.array([20, 20, 1, 20]), pred, ledger, eligible, 3)
    assert len(qs) == 3 and 0 not in [i for i, _ in qs]
    assert len({i for i, _ in qs}) == 3


def test_a_thin_label_with_no_description_is_learnt_from_its_name():
    from redtext.core.vectors import description_texts

    classes = ["card_arrival", "top_up_failed", "topping_up_by_card", "lost_card"]
    y_seed = np.array([0] * 20 + [1] * 20 + [2] + [3])
    texts, ys = description_texts(classes, {"lost_card": "A card that is lost."}, y_seed)
    # the thin label with no description: its name, read as words; the described one: its description only
    assert list(zip(texts, ys.tolist())) == [("lost_card: A card that is lost.", 3), ("topping up by card", 2)]
    # without the seed (or with no thin label) only descriptions
    assert description_texts(classes, {}, None)[0] == []
    assert description_texts(classes, {}, np.array([0, 1, 2, 3] * 5))[0] == []


def test_a_thin_labels_rows_weigh_more_in_training():
    from redtext.core.thin import THIN_WEIGHT

    thin = ThinLabels(np.array([0] * 20 + [1] * 20 + [2]), 3)
    assert thin.weights(np.array([0, 2, 1, 2])).tolist() == [1.0, THIN_WEIGHT, 1.0, THIN_WEIGHT]
    assert THIN_WEIGHT > 1
    # no thin label: no weights at all (every other run trains exactly as before)
    assert ThinLabels(np.array([0] * 20 + [1] * 20), 2).weights(np.array([0, 1])) is None
