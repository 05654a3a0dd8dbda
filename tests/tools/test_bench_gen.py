"""Tests of bench/gen.py (the benchmark's workload generator) at a tiny
scale, and of the bench's equality check. No timings are asserted.

Run: .venv/bin/python -m pytest tests/tools -q
"""

import glob
import json
import os
import sys
from decimal import Decimal

import fastavro
import pyarrow as pa
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import bench  # noqa: E402
import gen  # noqa: E402

TINY = ["--rows", "2000", "--changes", "6000", "--backfill-file-rows", "500",
        "--cdc-file-events", "400", "--late-group", "2", "--jobs", "1", "--quiet"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("bench") / "data")
    assert gen.main(["--out", out, *TINY]) == 0
    with open(os.path.join(out, "_bench", "manifest.json")) as fh:
        manifest = json.load(fh)
    files = sorted(glob.glob(os.path.join(out, gen.OBJECT, "*", "*", "*", "*", "*", "*.avro")))
    events = []
    for i, path in enumerate(files):
        with open(path, "rb") as fh:
            reader = fastavro.reader(fh)
            for row, rec in enumerate(reader):
                rec["_file"] = i
                rec["_late_file"] = False
                events.append(rec)
    return out, manifest, files, events


def _seq(rec):
    sm = rec["source_metadata"]
    if "backfill" in rec["read_method"]:
        return (0, 0, 0)
    return (1, int(sm["log_file"].rsplit(".", 1)[1]), sm["log_position"])


def test_counts_and_files(tiny):
    out, m, files, events = tiny
    assert m["events"] == len(events) == 2000 + 6000
    assert m["files"] == len(files)
    assert m["file_events"] == [sum(1 for e in events if e["_file"] == i) for i in range(len(files))]
    assert sum(1 for e in events if "backfill" in e["read_method"]) == 2000
    assert m["backfill_files"] == 4 and m["late_files"] >= 1
    # path order is arrival order: mtimes never go down along the path order
    mtimes = [os.path.getmtime(f) for f in files]
    assert mtimes == sorted(mtimes)
    # backfill first, keys 1..S
    assert [e["payload"]["id"] for e in events[:2000]] == list(range(1, 2001))


def test_op_mix_and_late_share(tiny):
    _out, m, _files, events = tiny
    cdc = [e for e in events if "cdc" in e["read_method"]]
    n = len(cdc)
    ct = [e["source_metadata"]["change_type"] for e in cdc]
    share = lambda x: ct.count(x) / n  # noqa: E731
    assert abs(share("INSERT") - 0.25) < 0.03
    assert abs(share("DELETE") - 0.10) < 0.02
    assert abs(share("UPDATE-INSERT") - 0.65) < 0.03  # on-time and late updates
    ops = m["cdc_ops"]
    assert sum(ops.values()) == n
    assert ops["insert"] == ct.count("INSERT") and ops["delete"] == ct.count("DELETE")
    assert abs(ops["late_update"] / n - 0.05) < 0.015
    # late events: arrive after an event with a newer sequence was delivered
    newest = (0, 0, 0)
    late = 0
    for e in cdc:
        s = _seq(e)
        if s < newest:
            late += 1
        newest = max(newest, s)
    assert late == ops["late_update"]
    assert all(e["source_metadata"]["is_deleted"] == (e["source_metadata"]["change_type"] == "DELETE")
               for e in cdc)


def test_replay_matches_expected_live_rows(tiny):
    """Latest event per key by sequence, deletes delete: the state any correct
    engine must reach, and the peers' rule gives the same (no late event is
    followed by a delete of its key, no key is re-inserted)."""
    _out, m, _files, events = tiny
    state = {}
    for e in sorted(events, key=_seq):
        k = e["payload"]["id"]
        if e["source_metadata"]["is_deleted"]:
            assert k in state, "a delete of a key that is not live"
            del state[k]
        else:
            if e["source_metadata"]["change_type"] == "INSERT":
                assert k not in state, "an insert of a live key"
            else:
                assert k in state, "an update of a key that is not live"
            state[k] = e["payload"]
    assert len(state) == m["expected_live_rows"]
    # arrival-order application with the peers' rule reaches the same state
    applied = {}
    for e in events:
        k, s = e["payload"]["id"], _seq(e)
        if k in applied and applied[k][0] >= s:
            continue
        if e["source_metadata"]["is_deleted"]:
            applied.pop(k, None)
        else:
            applied[k] = (s, e["payload"])
    assert {k: v[1] for k, v in applied.items()} == state
    # ... and the late events matter: applying every event in arrival order
    # without the sequence check gives another state.
    naive = {}
    for e in events:
        if e["source_metadata"]["is_deleted"]:
            naive.pop(e["payload"]["id"], None)
        else:
            naive[e["payload"]["id"]] = e["payload"]
    assert naive != state


def test_schema(tiny):
    _out, _m, files, events = tiny
    with open(files[0], "rb") as fh:
        schema = fastavro.reader(fh).writer_schema
    payload = next(f for f in schema["fields"] if f["name"] == "payload")["type"]
    names = [f["name"] for f in payload["fields"]]
    assert names == gen.COLUMN_NAMES and len(names) >= 20
    types = {f["name"]: f["type"][1] for f in payload["fields"]}
    assert types["amount"]["logicalType"] == "decimal" and types["amount"]["scale"] == 2
    assert types["created_at"]["logicalType"] == "timestamp-micros"
    assert types["attrs"]["logicalType"] == "json"
    rec = events[-1]
    assert isinstance(rec["payload"]["amount"], Decimal)
    assert rec["payload"]["amount"] == rec["payload"]["tax"] * 5 or rec["payload"]["amount"] >= 0
    assert sum(e["payload"]["attrs"] is None for e in events) > 0
    assert all(json.loads(e["payload"]["attrs"]) for e in events[:200] if e["payload"]["attrs"])
    assert rec["source_metadata"]["primary_keys"] == ["id"]
    assert rec["sort_keys"][1].startswith("mysql-bin.")


def test_deterministic(tmp_path):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    small = ["--rows", "300", "--changes", "500", "--backfill-file-rows", "100",
             "--cdc-file-events", "100", "--late-group", "2", "--quiet"]
    gen.main(["--out", a, "--jobs", "1", *small])
    gen.main(["--out", b, "--jobs", "2", *small])
    fa = sorted(os.path.relpath(p, a) for p in glob.glob(f"{a}/{gen.OBJECT}/**/*.avro", recursive=True))
    fb = sorted(os.path.relpath(p, b) for p in glob.glob(f"{b}/{gen.OBJECT}/**/*.avro", recursive=True))
    assert fa == fb
    for rel in fa:
        with open(os.path.join(a, rel), "rb") as x, open(os.path.join(b, rel), "rb") as y:
            assert x.read() == y.read()


def test_equality_check_names_first_differing_key():
    t = pa.table({"id": [3, 1, 2], "v": ["c", "a", "b"], "n": [None, 1, 2]})
    bench.check_equal("peer", t, t.take([1, 2, 0]), ["id", "v", "n"])
    changed = pa.table({"id": [1, 2, 3], "v": ["a", "x", "c"], "n": [1, 2, None]})
    with pytest.raises(bench.BenchFailure, match=r"id=2: column v"):
        bench.check_equal("peer", t, changed, ["id", "v", "n"])
    missing = pa.table({"id": [1, 3], "v": ["a", "c"], "n": [1, None]})
    with pytest.raises(bench.BenchFailure, match=r"first differing key id=2"):
        bench.check_equal("peer", t, missing, ["id", "v", "n"])


def test_sluice_progress_and_metrics_parsing(tmp_path):
    """Per-batch latency from the progress lines; merge timings from
    `sluice run --metrics` when the binary writes it."""
    import procwatch

    res = procwatch.Result()
    res.lines = [
        (0.01, "[sluice] bench: datastream avro files from /x into /y (--once)"),
        (0.50, "[sluice] bench.orders_log v0: 2 files, 40000 rows, lag 3s; bench.orders v0: +40000 -0"),
        (0.80, "[sluice] bench.orders v1 <- log v1..v1: +100 -2, 40098 rows"),
        (0.90, "[sluice] bench.orders_log v1: 1 file, 500 rows, lag 1s"),
    ]
    parsed = bench.parse_sluice(res, None)
    assert [b["rows"] for b in parsed["batches"]] == [40000, 500]
    assert [round(b["ms"]) for b in parsed["batches"]] == [500, 400]
    assert not parsed["metrics_file"]
    metrics = tmp_path / "m.jsonl"
    metrics.write_text(
        '{"event":"ingest","table":"bench.orders","files":2,"rows":40000,"ms":410.5}\n'
        '{"event":"merge","table":"bench.orders","changes":40000,"ms":80.0,"table_rows":40000}\n'
        'not json\n')
    parsed = bench.parse_sluice(res, str(metrics))
    assert parsed["metrics_file"] and parsed["merges"][0]["ms"] == 80.0
    fig = bench.figures({"engine": "sluice", "seconds": 1.0, "processing_seconds": 1.0,
                         "peak_rss_bytes": 1, "bytes_written": 1, "cpu_seconds": 0.5,
                         "load_before": 0.0, "load_after": 0.0, **parsed}, 40500)
    assert fig["merge_ms_p50"] == 80.0 and fig["events_per_s"] == 40500


def _read_all(paths):
    events = []
    for path in paths:
        with open(path, "rb") as fh:
            events.extend(fastavro.reader(fh))
    return events


def test_stream_chunks(tmp_path):
    """gen.Stream (the table-size sweep's generator): chunk after chunk, path
    order stays arrival order, binlog positions keep growing, and replaying
    everything gives the stream's count of live rows."""
    out = str(tmp_path / "s")
    with gen.Stream(backfill_file_rows=200, cdc_file_events=150, jobs=1) as s:
        chunks = [s.backfill(out, 500), s.cdc(out, 600), s.backfill(out, 300), s.cdc(out, 450)]
        assert s.backfill_rows == 800 and s.cdc_events == 1050 and s.events == 1850
        live = s.live
    assert [len(c["files"]) for c in chunks] == [3, 4, 2, 3]
    assert len({c["dir"] for c in chunks}) == 4  # a minute folder each
    arrival = [p for c in chunks for p in c["files"]]
    assert arrival == sorted(arrival)
    assert all(os.path.dirname(p) == os.path.join(out, c["dir"]) for c in chunks for p in c["files"])
    events = _read_all(arrival)
    assert len(events) == 1850 and sum(c["events"] for c in chunks) == 1850
    cdc = [e for e in events if "cdc" in e["read_method"]]
    seqs = [_seq(e) for e in cdc]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)  # on time, no late events
    ct = [e["source_metadata"]["change_type"] for e in cdc]
    assert ct.count("INSERT") == s.cdc_ops["insert"] and ct.count("DELETE") == s.cdc_ops["delete"]
    # the second backfill continues after the keys the CDC inserts took
    second = [e["payload"]["id"] for e in _read_all(chunks[2]["files"])]
    assert min(second) > max(e["payload"]["id"] for e in _read_all(chunks[1]["files"]))
    state = {}
    for e in sorted(events, key=_seq):
        k = e["payload"]["id"]
        if e["source_metadata"]["is_deleted"]:
            assert k in state
            del state[k]
        else:
            assert (k in state) == (e["source_metadata"]["change_type"] != "INSERT")
            state[k] = e
    assert len(state) == live


def test_size_sweep_helpers(tmp_path):
    import size_sweep

    m = tmp_path / "m.jsonl"
    tail = size_sweep.MetricsTail(str(m))
    assert tail.read() == []
    m.write_text('{"event":"ingest","files":2,"rows":7}\n{"event":"me')
    assert tail.read() == [{"event": "ingest", "files": 2, "rows": 7}]
    with open(m, "a") as fh:
        fh.write('rge","ms":1.5,"changes":7}\n')
    assert tail.read() == [{"event": "merge", "ms": 1.5, "changes": 7}]
    assert (tail.files, tail.rows, tail.changes) == (2, 7, 7)
    # a chunk moves into the source with one rename, and goes away with its empty folders
    staging, source = tmp_path / "staging", tmp_path / "source"
    rel = os.path.join("t", "2025", "03", "01", "00", "07")
    (staging / rel).mkdir(parents=True)
    (staging / rel / "a.avro").write_text("x")
    (source / "t" / "2025" / "03" / "01" / "00" / "06").mkdir(parents=True)
    size_sweep.place(str(staging), str(source), rel)
    assert (source / rel / "a.avro").exists() and not (staging / rel).exists()
    size_sweep.remove(str(source), rel)
    assert not (source / rel).exists() and (source / "t" / "2025" / "03" / "01" / "00" / "06").exists()
    size_sweep.remove(str(source), os.path.join("t", "2025", "03", "01", "00", "06"))
    assert os.listdir(source / "t") == []


def test_size_sweep_tiny(tmp_path):
    """The whole streaming sweep at a tiny scale against the real binary."""
    import size_sweep

    exe = os.environ.get("SLUICE_BIN", os.path.join(ROOT, "build", "sluice"))
    # make test builds it first; a missing binary is a broken set-up, not a pass
    assert os.path.exists(exe), f"{exe} is missing: build first (make build)"
    r = size_sweep.run(str(tmp_path), [3000, 9000], exe, batches=2, batch_events=1000,
                       file_events=100, chunk_rows=4000, gen_jobs=1, say=lambda _m: None)
    assert [s["target_rows"] for s in r["steps"]] == [3000, 9000]
    assert [s["table_rows"] for s in r["steps"]] == [3000, 9000]  # backfill up to S live rows
    for step in r["steps"]:
        assert len(step["batches"]) == 2 and step["batch_ms"] > 0 and step["merge_ms"] > 0
        assert all(b["files"] == [10] and b["rows"] == 1000 for b in step["batches"])
    run = r["run"]
    assert run["merged_rows_read"] == run["expected_live_rows"]
    assert run["log_rows_read"] == run["events"] == run["backfill_rows"] + 4 * 1000
    assert r["cost_ratio"] > 0 and not os.path.exists(tmp_path / "size-sweep")
