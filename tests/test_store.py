"""Tests for redtext.store: the SQLite run store, its schema version and reopening."""

from __future__ import annotations

import sqlite3

import pytest

from redtext.errors import InputError, RedtextError
from redtext.io.store import SCHEMA_VERSION, Store


def user_version(path) -> int:
    conn = sqlite3.connect(str(path))
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def store_path(tmp_path):
    return tmp_path / "store.sqlite"


def test_new_file_gets_current_schema_version(store_path):
    assert SCHEMA_VERSION >= 1
    s = Store(store_path)
    s.close()
    assert store_path.exists()
    assert user_version(store_path) == SCHEMA_VERSION
    conn = sqlite3.connect(str(store_path))
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert {"runs", "texts", "descriptions", "verdicts", "rounds", "predictions"} <= tables


def test_reopening_keeps_everything(store_path):
    s = Store(store_path)
    run = s.create_run({"subset_size": 8, "labels": ["b", "a"]})
    other = s.create_run({"other": True})
    ids = ["r3", "r1", "r2", "r0"]
    pool = ["zeta", "alpha", "mu", "beta"]
    s.add_texts(run, "pool", ids, pool)
    s.add_texts(run, "seed", ["s1", "s0"], ["seed one", "seed zero"], ["b", "a"])
    s.add_descriptions(run, {"a": "the letter a", "b": "the letter b"})
    s.record_verdicts(run, [("zeta", "a", True), ("alpha", "a", False), ("mu", "b", None)],
                      expert="oracle", round_no=1)
    s.record_verdicts(run, [("beta", "b", True)], expert="oracle", round_no=2)
    s.record_round(run, 2, {"accuracy": 0.5, "asked": 4})
    s.record_round(run, 1, {"accuracy": 0.25, "asked": 3})
    s.set_status(run, "done", "budget")
    s.close()

    s = Store(store_path)
    try:
        assert s.latest_run() == other
        info = s.run_info(run)
        assert info == {"status": "done", "config": {"subset_size": 8, "labels": ["b", "a"]},
                        "stop_reason": "budget"}
        assert s.texts(run, "pool") == (ids, pool, [None] * 4)
        assert s.texts(run, "seed") == (["s1", "s0"], ["seed one", "seed zero"], ["b", "a"])
        assert s.texts(other, "pool") == ([], [], [])
        assert s.descriptions(run) == {"a": "the letter a", "b": "the letter b"}
        v = s.verdicts(run)
        assert v == {("zeta", "a"): True, ("alpha", "a"): False, ("mu", "b"): None, ("beta", "b"): True}
        assert v[("zeta", "a")] is True and v[("alpha", "a")] is False and v[("mu", "b")] is None
        assert list(v) == [("zeta", "a"), ("alpha", "a"), ("mu", "b"), ("beta", "b")]  # arrival order
        assert s.count_verdicts(run) == 4
        assert s.count_verdicts(other) == 0
        assert s.rounds(run) == [{"accuracy": 0.25, "asked": 3}, {"accuracy": 0.5, "asked": 4}]
        # answers recorded after reopening come after the earlier ones
        s.record_verdicts(run, [("alpha", "b", True)], expert="oracle", round_no=3)
        assert list(s.verdicts(run))[-1] == ("alpha", "b")
    finally:
        s.close()
    assert user_version(store_path) == SCHEMA_VERSION


def test_same_question_cannot_be_stored_twice(store_path):
    s = Store(store_path)
    run = s.create_run({})
    s.record_verdicts(run, [("t", "A", True)], expert="e", round_no=1)
    with pytest.raises(sqlite3.IntegrityError):
        s.record_verdicts(run, [("t", "A", False)], expert="e", round_no=2)
    assert s.verdicts(run) == {("t", "A"): True}
    # the same text under another label, or in another run, is a different question
    s.record_verdicts(run, [("t", "B", False)], expert="e", round_no=2)
    run2 = s.create_run({})
    s.record_verdicts(run2, [("t", "A", False)], expert="e", round_no=1)
    assert s.verdicts(run) == {("t", "A"): True, ("t", "B"): False}
    assert s.verdicts(run2) == {("t", "A"): False}
    s.close()


def test_failed_verdict_batch_stores_nothing(store_path):
    s = Store(store_path)
    run = s.create_run({})
    s.record_verdicts(run, [("t1", "A", True)], expert="e", round_no=1)
    with pytest.raises(sqlite3.IntegrityError):
        s.record_verdicts(run, [("t2", "A", True), ("t1", "A", False)], expert="e", round_no=2)
    assert s.verdicts(run) == {("t1", "A"): True}
    s.close()


def test_run_info_of_missing_run_is_input_error(store_path):
    s = Store(store_path)
    with pytest.raises(InputError, match="no run 42"):
        s.run_info(42)
    assert s.latest_run() is None
    s.close()


def test_file_that_is_not_sqlite_is_input_error(store_path):
    store_path.write_bytes(b"this is not a database, just some text\n" * 200)
    with pytest.raises(InputError) as info:
        Store(store_path)
    msg = str(info.value)
    assert msg.strip()
    assert "\n" not in msg
    assert str(store_path) in msg
    assert isinstance(info.value, RedtextError)


def test_newer_schema_version_is_input_error(store_path):
    conn = sqlite3.connect(str(store_path))
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.execute("CREATE TABLE future (x INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(InputError) as info:
        Store(store_path)
    msg = str(info.value)
    assert "\n" not in msg
    assert "newer" in msg
    # the store is left as it was
    assert user_version(store_path) == SCHEMA_VERSION + 1


def test_in_memory_store_works():
    s = Store()
    run = s.create_run({"k": 1})
    s.record_verdicts(run, [("x", "A", None)], expert="e", round_no=0)
    assert s.verdicts(run) == {("x", "A"): None}
    s.close()


def test_a_review_answer_can_be_undone_until_the_run_uses_it(tmp_path):
    store = Store(tmp_path / "run.db")
    store.queue_questions([("k1", "p1", "text one", "a", None, []), ("k2", "p2", "text two", "b", None, [])])
    assert store.answer_queued("k1", True)
    assert store.take_answers(["k1", "k2"]) is None  # k2 still pending: nothing taken
    assert store.undo_queued("k1") and store.next_queued()[0]["key"] == "k1"  # back in the queue, first
    assert store.answer_queued("k1", False) and store.answer_queued("k2", True)
    assert store.take_answers(["k1", "k2"]) == [False, True]
    assert not store.undo_queued("k1")  # the run used it: too late
    assert store.next_queued()[1:] == (0, 2)
    assert store.take_answers(["k1", "k2"]) == [False, True]  # a resumed run takes them again
    store.close()


def test_a_label_offered_again_after_a_no_is_a_second_answer_kept_apart(store_path):
    """The choice after a binary "no" may offer the rejected label again: its verdict is stored
    beside the first (``again``), each at most once, and read back apart from it."""
    s = Store(store_path)
    run = s.create_run({})
    s.record_verdicts(run, [("t", "A", False)], expert="e", round_no=0)
    s.record_verdicts(run, [("t", "A", True), ("t", "B", None)], expert="e", round_no=0, sizes=[2],
                      again=[True, False])
    assert s.verdicts(run) == {("t", "A"): False, ("t", "B"): None}
    assert s.verdicts(run, again=True) == {("t", "A"): True}
    assert s.count_verdicts(run) == 3 and s.choice_questions(run) == 1
    with pytest.raises(sqlite3.IntegrityError):  # offered again twice: a replay, never a new row
        s.record_verdicts(run, [("t", "A", False)], expert="e", round_no=1, again=[True])
    with pytest.raises(ValueError, match="again flags"):
        s.record_verdicts(run, [("t", "C", False)], expert="e", round_no=1, again=[True, False])
    assert s.count_verdicts(run) == 3
    s.close()


def test_a_store_of_schema_7_migrates_keeping_its_answers(store_path):
    """A run.db written before answers could be offered again keeps every row, each its first answer."""
    from redtext.io.schema import MIGRATIONS

    conn = sqlite3.connect(str(store_path), isolation_level=None)
    for number, step in enumerate(MIGRATIONS[:7]):
        step(conn)
        conn.execute(f"PRAGMA user_version = {number + 1}")
    conn.execute("INSERT INTO runs(id, created, updated, status, config) VALUES (1, 0, 0, 'done', '{}')")
    conn.execute("INSERT INTO verdicts(run_id, text, label, verdict, expert, round, seq, asked_at) "
                 "VALUES (1, 't', 'A', 0, 'e', 0, 1, 0), (1, 't', 'B', 1, 'e', 0, 2, 0)")
    conn.close()
    s = Store(store_path)
    assert s.verdicts(1) == {("t", "A"): False, ("t", "B"): True} and s.verdicts(1, again=True) == {}
    s.record_verdicts(1, [("t", "A", True)], expert="e", round_no=1, again=[True])
    assert s.verdicts(1, again=True) == {("t", "A"): True}
    s.close()
    assert user_version(store_path) == SCHEMA_VERSION
