"""Tests of tools/datastream_gen (the Datastream output generator).

Run: .venv/bin/python -m pytest tests/tools -q
"""

import gzip
import hashlib
import json
import os
import random
import subprocess
import sys
from decimal import Decimal

import fastavro
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GEN_DIR = os.path.join(ROOT, "tools", "datastream_gen")
sys.path.insert(0, GEN_DIR)

import generate  # noqa: E402
import reference  # noqa: E402

SMALL = ["--rows-per-table", "30", "--changes-per-table", "120", "--late-files", "3",
         "--files-per-minute", "2"]


def _gen(out, *extra):
    generate.main(["--out", str(out), "--quiet", *SMALL, *extra])
    return str(out)


def _summary(out):
    with open(os.path.join(out, "_expected", "_summary.json")) as fh:
        return json.load(fh)


def _files(out):
    with open(os.path.join(out, "_expected", "_files.jsonl")) as fh:
        return [json.loads(line) for line in fh]


def _tree_digest(out):
    h = hashlib.sha1()
    for dirpath, _dirs, names in sorted(os.walk(out)):
        for n in sorted(names):
            p = os.path.join(dirpath, n)
            h.update(os.path.relpath(p, out).encode())
            with open(p, "rb") as fh:
                h.update(fh.read())
    return h.hexdigest()


@pytest.fixture(scope="module")
def avro_out(tmp_path_factory):
    return _gen(tmp_path_factory.mktemp("avro"), "--format", "avro", "--codec", "deflate", "--seed", "11")


@pytest.fixture(scope="module")
def json_out(tmp_path_factory):
    return _gen(tmp_path_factory.mktemp("json"), "--format", "json", "--json-gzip", "--seed", "11")


def _by_uuid(out):
    return {e["uuid"]: e for e in reference.load_manifest(out)}


def test_cli_runs(tmp_path):
    r = subprocess.run([sys.executable, os.path.join(GEN_DIR, "generate.py"), "--out", str(tmp_path),
                        "--tables", "2", "--rows-per-table", "5", "--changes-per-table", "10"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "events" in r.stdout
    assert os.path.exists(tmp_path / "_expected" / "shop_orders.jsonl")
    assert os.path.exists(tmp_path / "_expected" / "public_accounts.jsonl")


def test_avro_files_read_back(avro_out):
    manifest = _by_uuid(avro_out)
    seen = set()
    files = _files(avro_out)
    assert files
    for f in files:
        path = os.path.join(avro_out, f["path"])
        assert os.path.basename(path).split("_")[1] in ("mysql-backfill-fulldump", "mysql-cdc-binlog",
                                                      "postgresql-backfill", "postgresql-cdc")
        with open(path, "rb") as fh:
            rd = fastavro.reader(fh)
            assert rd.codec == "deflate"
            schema = rd.writer_schema
            recs = list(rd)
        assert len(recs) == f["events"]
        assert schema["name"] == f["object"]
        names = [x["name"] for x in schema["fields"]]
        assert names == ["uuid", "read_timestamp", "source_timestamp", "object", "read_method",
                         "stream_name", "schema_key", "sort_keys", "source_metadata", "payload"]
        assert schema["fields"][7]["type"] == {"type": "array", "items": ["string", "long"]}
        sm = [x["name"] for x in schema["fields"][8]["type"]["fields"]]
        for i, rec in enumerate(recs):
            ev = manifest[rec["uuid"]]
            seen.add(rec["uuid"])
            assert ev["row"] == i and ev["file"] == f["path"]
            assert rec["schema_key"] == f["schema_key"]
            assert int(rec["source_timestamp"].timestamp() * 1000) == ev["source_timestamp_ms"]
            assert rec["sort_keys"] == ev["sort_keys"]
            md = rec["source_metadata"]
            assert md["change_type"] == ev["change_type"]
            assert md["is_deleted"] == ev["is_deleted"]
            if ev["flavour"] == "mysql":
                assert sm == ["table", "database", "primary_keys", "log_file", "log_position",
                              "change_type", "is_deleted"]
                assert md["log_file"] == ev["log_file"] and md["log_position"] == ev["log_position"]
            else:
                assert sm == ["schema", "table", "is_deleted", "change_type", "tx_id", "lsn", "primary_keys"]
                assert md["lsn"] == ev["lsn"] and md["tx_id"] == ev["tx_id"]
            # payload values against the manifest's canonical encoding
            for col, v in ev["payload"].items():
                got = rec["payload"][col]
                if v is None:
                    assert got is None
                elif isinstance(got, Decimal):
                    assert got == Decimal(v) and str(got) == v
                elif hasattr(got, "timestamp") and hasattr(got, "hour"):
                    delta = got - generate._dt.datetime(1970, 1, 1, tzinfo=generate._dt.timezone.utc)
                    assert delta // generate._dt.timedelta(microseconds=1) == v
                elif hasattr(got, "toordinal"):
                    assert (got - generate._dt.date(1970, 1, 1)).days == v
                else:
                    assert got == v, (col, got, v)
    assert seen == set(manifest)


def test_json_lines_parse(json_out):
    manifest = _by_uuid(json_out)
    seen = set()
    styles = set()
    for f in _files(json_out):
        assert f["path"].endswith(".jsonl.gz")
        with gzip.open(os.path.join(json_out, f["path"]), "rt", encoding="utf-8") as fh:
            lines = fh.read().splitlines()
        assert len(lines) == f["events"]
        for i, line in enumerate(lines):
            rec = json.loads(line, parse_float=Decimal)
            ev = manifest[rec["uuid"]]
            seen.add(rec["uuid"])
            assert ev["row"] == i
            ts = rec["source_timestamp"]
            styles.add("T" if ts.endswith("Z") else " ")
            assert len(ts) in (23, 24)
            assert rec["sort_keys"] == ev["sort_keys"]
            t = next(x for x in _summary(json_out)["tables"] if x["object"] == ev["object"]) \
                if i == 0 else t
            for c in t["columns"]:
                if c["name"] not in ev["payload"]:
                    assert c["added_in_version"] == 2 and c["name"] not in rec["payload"]
                    continue
                v, got = ev["payload"][c["name"]], rec["payload"][c["name"]]
                if v is None:
                    assert got is None
                elif c["kind"] == "decimal":
                    assert isinstance(got, Decimal) and str(got) == v  # written exactly
                elif c["kind"] == "ubigint":
                    assert got == int(v)
                elif c["kind"] in ("datetime", "mdate"):
                    assert isinstance(got, str) and got[:4].isdigit()
                elif c["kind"] == "pdate":
                    assert len(got) == 10
                elif c["kind"] == "double":
                    assert float(got) == v
                else:
                    assert got == v
    assert seen == set(manifest)
    assert styles == {"T", " "}


def test_manifest_covers_the_scenarios(avro_out):
    summ = _summary(avro_out)
    events = reference.load_manifest(avro_out)
    assert len(events) == summ["total_events"]
    flavours = {t["flavour"] for t in summ["tables"]}
    assert flavours == {"mysql", "postgresql"}
    files = _files(avro_out)
    for t in summ["tables"]:
        evs = [e for e in events if e["object"] == t["object"]]
        assert len(evs) == t["events"]
        bf = [e for e in evs if "backfill" in e["read_method"]]
        assert len(bf) == 30 and all(e["change_type"] == "INSERT" and not e["is_deleted"] for e in bf)
        cdc = [e for e in evs if "cdc" in e["read_method"]]
        kinds = {e["change_type"] for e in cdc}
        assert {"INSERT", "DELETE", "UPDATE-DELETE", "UPDATE-INSERT"} <= kinds
        # schema change: two writer schemas, the added column only in version 2
        assert {e["schema_version"] for e in cdc} == {1, 2}
        added = t["columns"][-1]["name"]
        assert all(added not in e["payload"] for e in evs if e["schema_version"] == 1)
        assert all(added in e["payload"] for e in evs if e["schema_version"] == 2)
        assert len({f["schema_key"] for f in files if f["object"] == t["object"]}) == 2
        # ties on source_timestamp
        ts = [e["source_timestamp_ms"] for e in cdc]
        assert len(set(ts)) < len(ts)
        # PK change halves share the position and sit next to each other in one file
        for a, b in zip(cdc, cdc[1:]):
            if a["change_type"] == "UPDATE-DELETE":
                assert b["change_type"] == "UPDATE-INSERT" and b["file"] == a["file"]
                assert a["sort_keys"] == b["sort_keys"] and a["key"] != b["key"]
        if t["flavour"] == "mysql":
            assert t["binlog_files"] == ["mysql-bin.000001", "mysql-bin.000002"]
            assert all(e["sort_keys"][1:] in (["", 0], [0, 0]) for e in bf)
            last1 = max(e["log_position"] for e in cdc if e["log_file"].endswith("1"))
            first2 = min(e["log_position"] for e in cdc if e["log_file"].endswith("2"))
            assert first2 < last1  # positions restart after the rotation
            assert all(len(e["sort_keys"]) == 3 for e in cdc)
        else:
            lsns = [reference.parse_lsn(e["lsn"]) for e in cdc]
            assert min(lsns) < (0x10 << 32) <= max(lsns)
            assert any(e["lsn"].startswith("F/") for e in cdc) and any(e["lsn"].startswith("10/") for e in cdc)
            assert lsns == sorted(lsns)
            # string order of LSNs is wrong across the boundary; numeric order is right
            assert sorted(e["lsn"] for e in cdc) != [e["lsn"] for e in cdc]
            assert all(e["lsn"] is None for e in bf)
            dels = [e for e in cdc if e["change_type"] == "DELETE"]
            assert all(v is None for e in dels for k, v in e["payload"].items() if k not in e["primary_keys"])
        # true order is the reference order
        assert [e["gen_index"] for e in reference.sorted_events(evs)] == list(range(len(evs)))


def test_folders_and_file_names(avro_out):
    events = reference.load_manifest(avro_out)
    for e in events:
        parts = e["file"].split("/")
        assert parts[0] == e["object"] and len(parts) == 7
        y, mo, d, h, mi = map(int, parts[1:6])
        tm = generate.time.gmtime(e["source_timestamp_ms"] // 1000)
        assert (y, mo, d, h, mi) == (tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min)
        name = parts[6]
        key, rm, task, shard, seq = name[:-len(".avro")].rsplit("_", 4)
        assert len(key) == 40 and rm == e["read_method"]
        int(task), int(shard), int(seq)
    # the stream crosses midnight and the year boundary
    folders = {"/".join(e["file"].split("/")[1:4]) for e in events}
    assert "2024/12/31" in folders and "2025/01/01" in folders


def test_late_files(avro_out, tmp_path):
    files = _files(avro_out)
    late = [f for f in files if f["late"]]
    assert len(late) == 3
    on_time = [f for f in files if not f["late"]]
    assert max(f["arrival"] for f in on_time) < min(f["arrival"] for f in late)
    for f in late:
        assert "cdc" in f["read_method"] and f["phase"] == 2
        newer = [g for g in on_time if g["object"] == f["object"] and g["minute_folder"] > f["minute_folder"]]
        assert newer, "a late file must land in an older minute folder"
        assert os.path.getmtime(os.path.join(avro_out, f["path"])) > \
            max(os.path.getmtime(os.path.join(avro_out, g["path"])) for g in on_time)
    # phase 1 then phase 2 gives exactly the one-shot output
    two = tmp_path / "two"
    _gen(two, "--format", "avro", "--codec", "deflate", "--seed", "11", "--phase", "1")
    for f in late:
        assert not os.path.exists(two / f["path"])
    assert os.path.exists(two / on_time[-1]["path"])
    _gen(two, "--format", "avro", "--codec", "deflate", "--seed", "11", "--emit-late-only")
    assert _tree_digest(str(two)) == _tree_digest(avro_out)
    # a phase 2 with different options is refused
    with pytest.raises(SystemExit):
        _gen(two, "--format", "avro", "--codec", "deflate", "--seed", "12", "--emit-late-only")


def test_reference_replay(avro_out):
    summ = _summary(avro_out)
    events = reference.load_manifest(avro_out)
    random.Random(3).shuffle(events)  # replay must not depend on manifest order
    state = reference.replay(events)
    for t in summ["tables"]:
        st = state[t["object"]]
        assert len(st) == t["live_rows"] > 0
        assert reference.state_digest(st) == t["state_digest"]
        tomb = reference.tombstones(events)[t["object"]]
        assert tomb and not (set(tomb) & set(st))


def test_replay_rules_by_hand():
    base = dict(object="db_t", primary_keys=["id"], read_method="mysql-cdc-binlog", flavour="mysql",
                source_timestamp_ms=1000)
    evs = [
        dict(base, gen_index=0, read_method="mysql-backfill-fulldump", change_type="INSERT",
             key={"id": 1}, payload={"id": 1, "v": "bf"}, log_file="", log_position=0),
        # rotated binlog: file 2 at a small position is after file 1 at a large one
        dict(base, gen_index=2, change_type="UPDATE-INSERT", key={"id": 1}, payload={"id": 1, "v": "new"},
             log_file="mysql-bin.000002", log_position=300),
        dict(base, gen_index=1, change_type="UPDATE-INSERT", key={"id": 1}, payload={"id": 1, "v": "old"},
             log_file="mysql-bin.000001", log_position=2**31 + 5),
        # PK change 1 -> 2 at one position
        dict(base, gen_index=4, change_type="UPDATE-INSERT", key={"id": 2}, payload={"id": 2, "v": "moved"},
             log_file="mysql-bin.000002", log_position=900),
        dict(base, gen_index=3, change_type="UPDATE-DELETE", key={"id": 1}, payload={"id": 1, "v": "new"},
             log_file="mysql-bin.000002", log_position=900),
    ]
    assert reference.replay(evs)["db_t"] == {(2,): {"id": 2, "v": "moved"}}
    pg = dict(object="s_t", primary_keys=["id"], read_method="postgresql-cdc", flavour="postgresql",
              source_timestamp_ms=5, key={"id": 7})
    evs = [dict(pg, gen_index=1, change_type="DELETE", lsn="10/0", payload={"id": 7}),
           dict(pg, gen_index=0, change_type="INSERT", lsn="F/FFFFFFFF", payload={"id": 7, "x": 1})]
    assert reference.replay(evs)["s_t"] == {}
    assert reference.parse_lsn("F/FFFFFFFF") < reference.parse_lsn("10/0")


def test_deterministic(tmp_path):
    a = _gen(tmp_path / "a", "--format", "both", "--seed", "5")
    b = _gen(tmp_path / "b", "--format", "both", "--seed", "5")
    c = _gen(tmp_path / "c", "--format", "both", "--seed", "6")
    assert _tree_digest(a) == _tree_digest(b)
    assert _tree_digest(a) != _tree_digest(c)
    # both formats carry the same events
    fa = [f for f in _files(a) if f["format"] == "avro"]
    fj = [f for f in _files(a) if f["format"] == "json"]
    assert [f["events"] for f in fa] == [f["events"] for f in fj]


@pytest.mark.parametrize("codec", ["null", "deflate", "snappy", "zstandard"])
def test_codecs(tmp_path, codec):
    mod = {"snappy": "cramjam", "zstandard": "zstandard"}.get(codec)
    if mod:
        pytest.importorskip(mod)
    out = _gen(tmp_path, "--tables", "1", "--codec", codec)
    for f in _files(out):
        with open(os.path.join(out, f["path"]), "rb") as fh:
            rd = fastavro.reader(fh)
            assert rd.codec == codec and sum(1 for _ in rd) == f["events"]
