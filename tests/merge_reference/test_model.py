"""Hand-made cases for the merge reference model (one per rule of DESIGN.md §4)."""

import pytest

from model import DEFAULT_RETENTION_MS, MergeModel, replay


def ev(op, seq, key, **row):
    return {"op": op, "seq": seq, "key": (key,), "row": {"id": key, **row}}


def names(model):
    return {k[0]: r.get("name") for k, r in model.rows().items()}


def test_latest_event_per_key_in_a_batch():
    m = MergeModel()
    r = m.apply_batch([ev("insert", "s1", 1, name="a"), ev("update", "s3", 1, name="c"),
                       ev("update", "s2", 1, name="b")])
    assert names(m) == {1: "c"}
    assert r.superseded == 2


def test_equal_seq_in_a_batch_keeps_the_first():
    m = MergeModel()
    m.apply_batch([ev("update", "s5", 1, name="first"), ev("update", "s5", 1, name="replay")])
    assert names(m) == {1: "first"}


def test_older_or_equal_seq_ignored_across_batches():
    m = MergeModel()
    m.apply_batch([ev("insert", "s5", 1, name="a")])
    assert m.apply_batch([ev("update", "s3", 1, name="old")]).ignored_stale == 1
    assert m.apply_batch([ev("update", "s5", 1, name="replay")]).ignored_stale == 1
    assert names(m) == {1: "a"}


def test_tombstone_blocks_late_older_insert():
    m = replay([[ev("insert", "s1", 1, name="a")], [ev("delete", "s5", 1)],
                [ev("insert", "s3", 1, name="late")]])
    assert names(m) == {}
    assert m.tombstones() == {(1,): b"s5"}


def test_delete_of_unknown_key_still_leaves_a_tombstone():
    m = replay([[ev("delete", "s5", 9)], [ev("insert", "s4", 9, name="late")]])
    assert names(m) == {}


def test_primary_key_move():
    m = replay([[ev("insert", "s1", 1, name="a")],
                [ev("update", "s2b", 2, name="a"), ev("delete", "s2a", 1)]])
    assert names(m) == {2: "a"}


def test_update_setting_null_sets_null():
    m = replay([[ev("insert", "s1", 1, name="a")], [ev("update", "s2", 1, name=None)]])
    assert names(m) == {1: None}


def test_reinsert_after_delete_when_newer():
    m = replay([[ev("insert", "s1", 1, name="a")], [ev("delete", "s2", 1)],
                [ev("insert", "s3", 1, name="again")]])
    assert names(m) == {1: "again"}
    m.apply_batch([ev("delete", "s4", 1), ev("insert", "s5", 1, name="third")])
    assert names(m) == {1: "third"}


def test_invalid_rows():
    m = MergeModel()
    r = m.apply_batch([{"op": "insert", "seq": "s1", "key": (None,), "row": {}},
                       {"op": "insert", "seq": "", "key": (2,), "row": {}},
                       {"op": "upsert?", "seq": "s1", "key": (3,), "row": {}},
                       ev("insert", "s1", 4, name="ok")])
    assert [i for i, _ in r.invalid] == [0, 1, 2]
    assert names(m) == {4: "ok"}


def test_seq_compares_as_bytes():
    m = replay([[ev("insert", b"\x7f", 1, name="lo")], [ev("update", b"\xff", 1, name="hi")],
                [ev("update", b"\x7f\xff", 1, name="older")]])
    assert names(m) == {1: "hi"}


def test_tombstone_expires_after_retention():
    m = MergeModel()
    m.apply_batch([ev("delete", "s5", 1)], now_ms=0)
    m.apply_batch([ev("insert", "s3", 1, name="late")], now_ms=DEFAULT_RETENTION_MS + 1)
    assert names(m) == {1: "late"}


def test_truncate_not_supported():
    with pytest.raises(NotImplementedError):
        MergeModel().apply_batch([{"op": "truncate", "seq": "s1", "key": (), "row": {}}])
