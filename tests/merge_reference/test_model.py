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


def test_truncate_deletes_older_rows_and_ignores_older_events_forever():
    m = MergeModel()
    m.apply_batch([ev("insert", "s1", 1), ev("insert", "s2", 2), ev("insert", "s9", 3)])
    r = m.apply_batch([{"op": "truncate", "seq": "s5", "key": (None,), "row": {}},
                       ev("update", "s4", 1, name="before"), ev("insert", "s6", 4, name="after")])
    assert r.truncated and r.ignored_stale == 1 and not r.invalid
    assert names(m) == {3: None, 4: "after"}
    m.apply_batch([ev("insert", "s5", 5), ev("insert", "s45", 6)])  # late: ignored
    m.apply_batch([{"op": "truncate", "seq": "s3", "key": (), "row": {}}])  # older: nothing
    assert names(m) == {3: None, 4: "after"}


# --- history (SCD2) -----------------------------------------------------------

from model import history, history_folds  # noqa: E402


def hev(op, seq, key, ts, **row):
    return {"op": op, "seq": seq, "key": (key,), "ts": ts, "row": {"id": key, **row}}


def spans(rows):
    return [(r["id"], r.get("name"), r["__START_AT"], r["__END_AT"]) for r in rows]


def test_history_chain_and_delete():
    rows = history([hev("insert", "s1", 1, 10, name="a"), hev("update", "s2", 1, 20, name="b"),
                    hev("delete", "s3", 1, 30), hev("insert", "s4", 1, 40, name="c")], ["id"])
    assert spans(rows) == [(1, "a", 10, 20), (1, "b", 20, 30), (1, "c", 40, None)]
    assert [r["_cdc_end_seq"] for r in rows] == [b"s2", b"s3", None]


def test_history_is_order_independent_and_ignores_replays():
    events = [hev("insert", "s1", 1, 10, name="a"), hev("update", "s3", 1, 30, name="c"),
              hev("update", "s2", 1, 20, name="b"), hev("delete", "s4", 1, 40)]
    want = history(events, ["id"])
    assert history(list(reversed(events)), ["id"]) == want
    replay = hev("update", "s2", 1, 20, name="different image, same seq")
    assert history(events + [replay], ["id"]) == want
    assert spans(want) == [(1, "a", 10, 20), (1, "b", 20, 30), (1, "c", 30, 40)]


def test_history_delete_without_version_changes_nothing():
    folds = history_folds([hev("delete", "s1", 1, 10), hev("insert", "s2", 1, 20, name="a")])
    assert spans(folds[(1,)].versions) == [(1, "a", 20, None)]
    assert folds[(1,)].ignored_deletes == [b"s1"]


def test_history_equal_timestamps_ordered_by_seq():
    rows = history([hev("insert", "s2", 1, 10, name="b"), hev("insert", "s1", 1, 10, name="a")],
                   ["id"])
    assert spans(rows) == [(1, "a", 10, 10), (1, "b", 10, None)]


def test_history_track_columns_update_in_place():
    rows = history([hev("insert", "s1", 1, 10, name="a", amount=1),
                    hev("update", "s2", 1, 20, name="a", amount=2),
                    hev("update", "s3", 1, 30, name="b", amount=3)], ["id"], track=["name"])
    assert [(r["name"], r["amount"], r["__START_AT"], r["__END_AT"], r["_cdc_last_seq"])
            for r in rows] == [("a", 2, 10, 30, b"s2"), ("b", 3, 30, None, b"s3")]


def test_history_identical_upsert_is_absorbed_when_all_columns_tracked():
    rows = history([hev("insert", "s1", 1, 10, name="a"), hev("update", "s2", 1, 20, name="a")],
                   ["id"])
    assert spans(rows) == [(1, "a", 10, None)]
    assert rows[0]["_cdc_last_seq"] == b"s2"


def test_history_skips_invalid_events():
    rows = history([{"op": "insert", "seq": "s1", "key": (None,), "ts": 1, "row": {"id": None}},
                    hev("insert", "", 2, 1), hev("upsert?", "s1", 3, 1),
                    {**hev("insert", "s1", 4, 1), "ts": None}, hev("insert", "s1", 5, 1)],
                   ["id"])
    assert [r["id"] for r in rows] == [5]
