"""`sluice demo` end to end.

The demo writes a Datastream JSON stream itself (C++, no Python) and runs the
real pipeline on it. These tests check, independently of the C++ code:

* the files are in Datastream's bucket layout and every event has the shape
  Google Datastream gives a MySQL source (envelope, source_metadata,
  sort_keys, uuids, timestamps, minute folders);
* the change log table holds every generated event exactly once, with its
  values;
* the merged table equals the latest state of the stream, recomputed here
  from the JSON files alone (MySQL order: backfill, then binlog file number
  and position);
* the SCD2 history table has one version per insert or update and its open
  versions are that same latest state;
* the demo's own read-back summary says the same, and the command refuses to
  touch a directory that is not its own.
"""
from __future__ import annotations

import collections
import datetime as dt
import json
import re
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from conftest import SLUICE, cat_table, read_table

TABLES = {
    # column -> kind, in payload order; the first column is the key
    "customers": {"customer_id": "int", "name": "str", "email": "str", "country": "str",
                  "vip": "bool01", "created_at": "ts", "updated_at": "ts"},
    "orders": {"order_id": "int", "customer_id": "int", "status": "str", "amount": "decimal",
               "items": "int", "note": "str", "created_at": "ts", "updated_at": "ts"},
}
ENVELOPE = ["uuid", "read_timestamp", "source_timestamp", "object", "read_method",
            "stream_name", "schema_key", "sort_keys", "source_metadata", "payload"]
METADATA = ["table", "database", "primary_keys", "log_file", "log_position", "change_type",
            "is_deleted"]
FILE_RE = re.compile(
    r"^shop_(?P<table>[a-z]+)/(?P<minute>\d{4}/\d\d/\d\d/\d\d/\d\d)/"
    r"(?P<key>[0-9a-f]{40})_(?P<method>mysql-backfill-fulldump|mysql-cdc-binlog)_"
    r"-?\d+_[0-7]_\d+\.jsonl$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{4}[01]{8}$")
EVENT_TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
PAYLOAD_TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
BINLOG_RE = re.compile(r"^mysql-bin\.\d{6}$")


def run_demo(out: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([SLUICE, "demo", "--dir", str(out), *args], capture_output=True,
                          text=True, timeout=timeout)


def parse_ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def ms(text: str) -> int:
    d = parse_ts(text) - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return (d.days * 86400 + d.seconds) * 1000 + d.microseconds // 1000


def load_stream(stream: Path) -> Dict[str, List[dict]]:
    """Every event of the generated files, per table, each with the file it
    came from; checks the layout and the event shape on the way."""
    events: Dict[str, List[dict]] = collections.defaultdict(list)
    files = sorted(p for p in stream.rglob("*") if p.is_file())
    assert files, f"no files under {stream}"
    for path in files:
        rel = path.relative_to(stream).as_posix()
        m = FILE_RE.match(rel)
        assert m, f"not Datastream's layout: {rel}"
        table = m["table"]
        assert table in TABLES, rel
        for line in path.read_text(encoding="utf-8").splitlines():
            ev = json.loads(line, parse_float=Decimal)
            assert list(ev) == ENVELOPE, f"{rel}: envelope keys {list(ev)}"
            md = ev["source_metadata"]
            assert list(md) == METADATA, f"{rel}: source_metadata keys {list(md)}"
            assert ev["object"] == f"shop_{table}"
            assert md["database"] == "shop" and md["table"] == table
            assert md["primary_keys"] == [next(iter(TABLES[table]))]
            assert ev["read_method"] == m["method"] and ev["schema_key"] == m["key"]
            assert ev["stream_name"].startswith("projects/") and "/streams/" in ev["stream_name"]
            assert UUID_RE.match(ev["uuid"]), ev["uuid"]
            for k in ("read_timestamp", "source_timestamp"):
                assert EVENT_TS_RE.match(ev[k]), f"{k} {ev[k]!r}"
            source_ms = ms(ev["source_timestamp"])
            assert ms(ev["read_timestamp"]) >= source_ms
            # the minute folder is the event's source time (a backfill's start)
            assert parse_ts(ev["source_timestamp"]).strftime("%Y/%m/%d/%H/%M") == m["minute"]
            assert md["change_type"] in ("INSERT", "UPDATE-INSERT", "DELETE")
            assert md["is_deleted"] is (md["change_type"] == "DELETE")
            if m["method"] == "mysql-backfill-fulldump":
                assert md["change_type"] == "INSERT"
                assert md["log_file"] == "" and md["log_position"] == 0
                assert ev["sort_keys"] == [source_ms, "", 0]
            else:
                assert BINLOG_RE.match(md["log_file"]) and md["log_position"] > 0
                assert ev["sort_keys"] == [source_ms, md["log_file"], md["log_position"]]
                assert source_ms % 1000 == 0, "binlog timestamps have 1 s resolution"
            assert list(ev["payload"]) == list(TABLES[table]), f"{rel}: payload {list(ev['payload'])}"
            for col, kind in TABLES[table].items():
                v = ev["payload"][col]
                if v is None:
                    assert col == "note", f"{col} is null"
                elif kind == "ts":
                    assert PAYLOAD_TS_RE.match(v), f"{col} {v!r}"
                elif kind == "decimal":
                    assert isinstance(v, Decimal) and v.as_tuple().exponent == -2, f"{col} {v!r}"
                elif kind == "bool01":
                    assert v in (0, 1) and not isinstance(v, bool)
            ev["_file"] = rel
            events[table].append(ev)
    return events


def order_key(ev: dict) -> Tuple:
    """MySQL order: the backfill (a snapshot) first, then binlog file number
    and position."""
    md = ev["source_metadata"]
    if ev["read_method"] == "mysql-backfill-fulldump":
        return (0, 0, 0)
    return (1, int(md["log_file"].rsplit(".", 1)[1]), md["log_position"])


def key_of(table: str, payload: dict):
    return payload[next(iter(TABLES[table]))]


def latest_state(table: str, events: List[dict]) -> Dict[object, dict]:
    state: Dict[object, dict] = {}
    for ev in sorted(events, key=order_key):
        k = key_of(table, ev["payload"])
        if ev["source_metadata"]["change_type"] == "DELETE":
            assert k in state, f"{table}: DELETE of a key that is not live: {k}"
            del state[k]
        else:
            state[k] = ev["payload"]
    return state


def same_value(kind: str, expected, actual) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if kind == "ts":
        return isinstance(actual, dt.datetime) and actual == parse_ts(expected)
    if kind == "decimal":
        return isinstance(actual, Decimal) and actual == expected
    if kind == "bool01":
        return isinstance(actual, bool) and actual == bool(expected)
    if kind == "int":
        return isinstance(actual, int) and not isinstance(actual, bool) and actual == expected
    return actual == expected


def mismatches(table: str, expected: dict, row: dict) -> List[str]:
    return [f"{col}: table {row.get(col)!r}, stream {expected[col]!r}"
            for col, kind in TABLES[table].items()
            if col not in row or not same_value(kind, expected[col], row[col])]


def compare_state(what: str, table: str, want: Dict[object, dict], rows: List[dict]) -> None:
    got = {}
    for r in rows:
        k = key_of(table, r)
        assert k not in got, f"{what}: key {k} twice"
        got[k] = r
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    assert not missing and not extra, (f"{what}: {len(missing)} keys missing (e.g. {missing[:5]}), "
                                       f"{len(extra)} unexpected (e.g. {extra[:5]})")
    bad = [f"{k}: {m}" for k in want for m in mismatches(table, want[k], got[k])]
    assert not bad, f"{what}: {len(bad)} value mismatches:\n  " + "\n  ".join(bad[:20])


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One `sluice demo` with its default options: (dir, stdout, events)."""
    out = tmp_path_factory.mktemp("demo") / "out"
    proc = run_demo(out)
    assert proc.returncode == 0, (f"sluice demo exited {proc.returncode}\n--- stdout\n"
                                  f"{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}")
    return out, proc.stdout, load_stream(out / "stream")


def test_stream_looks_like_datastream(demo):
    out, _, events = demo
    assert set(events) == set(TABLES)
    all_uuids = [ev["uuid"] for evs in events.values() for ev in evs]
    assert len(all_uuids) == len(set(all_uuids)), "uuids are not unique"
    assert 3000 <= len(all_uuids) <= 10000, f"default demo has {len(all_uuids)} events"
    binlogs = set()
    for table, evs in events.items():
        kinds = collections.Counter(
            ("backfill" if "backfill" in ev["read_method"] else ev["source_metadata"]["change_type"])
            for ev in evs)
        for kind in ("backfill", "INSERT", "UPDATE-INSERT", "DELETE"):
            assert kinds[kind] > 0, f"{table}: no {kind} events: {kinds}"
        cdc = [ev for ev in evs if "cdc" in ev["read_method"]]
        binlogs |= {ev["source_metadata"]["log_file"] for ev in cdc}
        # every backfill event precedes every CDC event in source time
        assert max(ms(ev["source_timestamp"]) for ev in evs if "backfill" in ev["read_method"]) < \
            min(ms(ev["source_timestamp"]) for ev in cdc)
        # one binlog position per event
        positions = [order_key(ev) for ev in cdc]
        assert len(positions) == len(set(positions))
        # CDC spreads over the minute folders of its source times
        assert len({"/".join(ev["_file"].split("/")[1:6]) for ev in cdc}) >= 2
    assert len(binlogs) == 2, f"the binlog rotates once: {binlogs}"


def test_log_table_holds_every_event(demo):
    out, _, events = demo
    for table, evs in events.items():
        rows = read_table(out / "lake" / "shop" / f"{table}_log")
        got = collections.Counter(r["_cdc_source"]["uuid"] for r in rows)
        want = collections.Counter(ev["uuid"] for ev in evs)
        assert got == want, (f"{table}_log: {len(rows)} rows for {len(evs)} events; missing "
                             f"{list(want - got)[:5]}, extra {list(got - want)[:5]}")
        by_uuid = {ev["uuid"]: ev for ev in evs}
        bad = []
        for r in rows:
            ev = by_uuid[r["_cdc_source"]["uuid"]]
            if r["_cdc_source"]["change_type"] != ev["source_metadata"]["change_type"]:
                bad.append(f"{ev['uuid']}: change_type {r['_cdc_source']['change_type']!r}")
            bad += [f"{ev['uuid']}: {m}" for m in mismatches(table, ev["payload"], r)]
        assert not bad, f"{table}_log: {len(bad)} mismatches:\n  " + "\n  ".join(bad[:20])


def test_merged_table_is_latest_state(demo):
    out, _, events = demo
    for table, evs in events.items():
        want = latest_state(table, evs)
        rows = cat_table(out / "lake" / "shop" / table)
        compare_state(f"shop.{table}", table, want, rows)
        for col in ("_cdc_op", "_cdc_source"):
            assert col not in rows[0], f"merged table has {col}"


def test_history_has_every_version(demo):
    out, _, events = demo
    for table, evs in events.items():
        rows = cat_table(out / "lake" / "shop" / f"{table}_history")
        # every insert and update changes the row, so each opens a version
        upserts = collections.Counter(key_of(table, ev["payload"]) for ev in evs
                                      if ev["source_metadata"]["change_type"] != "DELETE")
        versions = collections.Counter(key_of(table, r) for r in rows)
        assert versions == upserts, (f"{table}_history: {sum(versions.values())} versions, "
                                     f"{sum(upserts.values())} inserts and updates")
        current = [r for r in rows if r["__END_AT"] is None]
        compare_state(f"shop.{table}_history (current)", table, latest_state(table, evs), current)


def test_demo_prints_pipeline_progress_and_read_back(demo):
    out, stdout, events = demo
    for table in TABLES:
        assert re.search(rf"^\[sluice\] shop\.{table}_log v\d+: \d+ files?, \d+ rows", stdout, re.M), \
            stdout[-3000:]
    assert "== Sluice summary" in stdout
    for table, evs in events.items():
        live = len(latest_state(table, evs))
        m = re.search(rf"^  shop\.{table}_log +v\d+ +(\d+) ", stdout, re.M)
        assert m and int(m.group(1)) == len(evs), stdout[-2000:]
        m = re.search(rf"^  shop\.{table} +v\d+ +(\d+) ", stdout, re.M)
        assert m and int(m.group(1)) == live, stdout[-2000:]
        m = re.search(rf"^  shop\.{table}_history +v\d+ +\d+ +versions, (\d+) current", stdout, re.M)
        assert m and int(m.group(1)) == live, stdout[-2000:]
    assert "every table matches the generated stream" in stdout


def test_rerun_replaces_its_own_output(tmp_path):
    out = tmp_path / "demo"
    first = run_demo(out, "--rows", "300", "--batches", "2")
    assert first.returncode == 0, first.stderr[-3000:]
    second = run_demo(out, "--rows", "60", "--batches", "1")
    assert second.returncode == 0, second.stderr[-3000:]
    events = load_stream(out / "stream")
    for table, evs in events.items():
        rows = read_table(out / "lake" / "shop" / f"{table}_log")
        assert sorted(r["_cdc_source"]["uuid"] for r in rows) == sorted(ev["uuid"] for ev in evs)
        compare_state(f"shop.{table}", table, latest_state(table, evs),
                      cat_table(out / "lake" / "shop" / table))


def test_refuses_a_directory_that_is_not_its_own(tmp_path):
    (tmp_path / "thesis.tex").write_text("precious")
    proc = run_demo(tmp_path, "--rows", "10", "--batches", "1")
    assert proc.returncode != 0
    assert "thesis.tex" in proc.stderr
    assert (tmp_path / "thesis.tex").read_text() == "precious"
    assert not (tmp_path / "stream").exists() and not (tmp_path / "lake").exists()


@pytest.mark.parametrize("args, word", [(["--rows", "0"], "--rows"),
                                        (["--batches", "-1"], "--batches")])
def test_bad_options_are_refused(tmp_path, args, word):
    proc = run_demo(tmp_path / "demo", *args)
    assert proc.returncode == 2, proc.stderr
    assert word in proc.stderr
    assert not (tmp_path / "demo").exists()
