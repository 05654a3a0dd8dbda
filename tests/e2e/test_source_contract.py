"""Black-box proof of the defects issue 12 names, against `sluice run` as a
user runs it (environment-only configuration, a Datastream bucket written by
tools/datastream_gen or, for float keys, by the test itself).

Each test fails on the code before issue 12 and passes once it is fixed:

1. a file written slowly in place while `sluice run` polls is ingested whole
   and once (Avro and JSON);
2. two `sluice run` processes on one source and sink (--once and
   continuous) give exactly once in the log tables and exact merged and
   history tables;
3. OPTIMIZE (delta-rs, Spark) looping on the merged table while `sluice run`
   streams never stops the table, which ends exact;
4. a composite primary key with FLOAT and DOUBLE columns merges exactly,
   -0.0 = 0.0 and NaN = NaN included;
5. cursor storage stays bounded over thousands of commits.

See README.md next to this file for what each test proves.
"""
from __future__ import annotations

import collections
import io
import json
import math
import os
import random
import shutil
import struct
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import (REPO, Expected, cat_table, compare_log_to_manifest,
                      compare_merged_to_reference, delta_txns, gen, last_data_version,
                      merged_path, read_dead_letters, read_log, read_table, run_once_ok,
                      sluice_env, start, stop, table_exists, wait_until)
from test_datastream_ingest import avro_blocks
from test_datastream_merge import _model_history, _table_history

OBJECTS = ["shop_orders", "public_accounts", "inventory_items", "sales_events"]


def data_files(expected: Expected, obj: str):
    return expected.files_of(obj)


def files_done(sink: Path, expected: Expected, obj: str, app: str = "sluice") -> int:
    """Files the log table's committed cursor counts (its txn version)."""
    p = expected.log_path(sink, obj)
    return delta_txns(p).get(f"{app}/{obj}", 0) if table_exists(p) else 0


def history_path(sink: Path, expected: Expected, obj: str) -> Path:
    return Path(str(merged_path(sink, expected, obj)) + "_history")


def check_history(sink: Path, expected: Expected, obj: str) -> None:
    """The history table equals the reference model's SCD2 fold of every
    event (test_history_tables_match_the_reference_model's check), and its
    open versions are the merged table's keys."""
    hist = history_path(sink, expected, obj)
    assert table_exists(hist), f"no history table {hist}"
    keycols = expected.events[obj][0]["primary_keys"]
    want = _model_history(expected, obj)
    got = _table_history(hist, keycols)
    assert got == want, (f"{obj}: history differs from the model: keys only in the table "
                         f"{sorted(set(got) - set(want))[:5]}, only in the model "
                         f"{sorted(set(want) - set(got))[:5]}, differing "
                         f"{[(k, got[k], want[k]) for k in want if k in got and got[k] != want[k]][:3]}")
    open_keys = {k for k, vs in got.items() if vs and vs[-1][1] is None}
    merged_keys = {tuple(str(r[c]) for c in keycols) for r in read_merged_rows(sink, expected, obj)}
    assert open_keys == merged_keys, f"{obj}: open history versions are not the merged table's keys"


def read_merged_rows(sink, expected, obj):
    return cat_table(merged_path(sink, expected, obj))


def check_all_exact(sink: Path, expected: Expected, objs, history: bool = False) -> None:
    """Log tables exactly once (and in order), no dead letters, merged (and
    history) tables equal to the reference, merged txn caught up with the log."""
    for obj in objs:
        compare_log_to_manifest(read_log(sink, expected, obj), expected, obj)
        assert not read_dead_letters(sink, expected.qualified(obj)), \
            f"{obj}: dead letters for a stream without bad input"
        log_path = expected.log_path(sink, obj)
        assert delta_txns(log_path) == {f"sluice/{obj}": len(data_files(expected, obj))}
        compare_merged_to_reference(read_merged_rows(sink, expected, obj), expected, obj)
        assert delta_txns(merged_path(sink, expected, obj)) == {
            f"sluice/{obj}#log": last_data_version(log_path)}
        if history:
            check_history(sink, expected, obj)


def move_in(stage: Path, src: Path, rel: str) -> None:
    """A file lands in the source atomically (as an object store shows it)."""
    dst = src / rel
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.replace(stage / rel, dst)


def output_of(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


# ==========================================================================
# 1. A file written slowly in place while `sluice run` polls.


def record_ends(data: bytes, fmt: str) -> list:
    """Offsets just past a complete Avro block (its sync marker) or JSON line:
    where a half-written file looks complete to a format check alone."""
    if fmt == "avro":
        return [end for (_start, end, _n) in avro_blocks(data)][:-1]
    return [i + 1 for i, b in enumerate(data[:-1]) if b == 0x0A]


def write_slowly(path: Path, data: bytes, fmt: str, chunks: int, pause_s: float,
                 rng: random.Random) -> None:
    """Writes `data` to `path` in place, as a copy tool or an exporter writing
    to a local directory does: the file exists (and grows) from the first
    chunk on. Chunk sizes vary, so pauses fall anywhere: inside an Avro
    block or a JSON line, and (three of them) right after a complete one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ends = record_ends(data, fmt)
    cuts = {rng.randrange(1, len(data)) for _ in range(chunks - 4)}
    cuts |= set(rng.sample(ends, min(3, len(ends))))
    cuts = sorted(cuts | {0, len(data)})
    with open(path, "wb", buffering=0) as fh:
        for a, b in zip(cuts, cuts[1:]):
            fh.write(data[a:b])
            time.sleep(pause_s)


@pytest.mark.parametrize("fmt", ["avro", "json"])
def test_file_written_slowly_in_place_is_ingested_whole_and_once(tmp_path, empty_config, fmt):
    src, sink, stage = tmp_path / "src", tmp_path / "sink", tmp_path / "stage"
    # one table: a 3,000-row backfill file (~60 Avro blocks, 3,000 JSON lines)
    # and its CDC files
    gen(stage, tables=1, rows_per_table=3000, changes_per_table=200, seed=71, late_files=0,
        files_per_minute=1, format=fmt)
    expected = Expected(stage)
    obj = "shop_orders"
    files = sorted(data_files(expected, obj), key=lambda f: f["arrival"])
    big = max(files, key=lambda f: f["events"])
    assert big["events"] == 3000
    cdc = [f for f in files if "cdc" in f["read_method"]]
    second = max(cdc, key=lambda f: f["events"])  # a CDC file written slowly too
    src.mkdir()
    env = sluice_env(src, sink, READ_FORMAT=fmt, SLUICE_SOURCE_POLL_INTERVAL="200ms",
                     SLUICE_PIPELINE_MERGE_INTERVAL="0s")
    out_path = tmp_path / "run.out"
    rng = random.Random(71)
    with open(out_path, "w") as out_fh:
        proc = start(empty_config, env, stdout=out_fh)
    try:
        time.sleep(0.5)  # a few polls of an empty source
        data = (stage / big["path"]).read_bytes()
        # ~4 s of writing: about 20 polls see the file half-written
        write_slowly(src / big["path"], data, fmt, chunks=80, pause_s=0.05, rng=rng)
        for f in files:
            if f is big:
                continue
            if f is second:
                write_slowly(src / f["path"], (stage / f["path"]).read_bytes(), fmt, chunks=15,
                             pause_s=0.05, rng=rng)
            else:
                move_in(stage, src, f["path"])

        def done():
            assert proc.poll() is None, f"sluice exited by itself:\n{output_of(out_path)[-3000:]}"
            return files_done(sink, expected, obj) >= len(files)
        wait_until(done, 90, f"{len(files)} files ingested; output:\n{output_of(out_path)[-2000:]}")
        time.sleep(1.0)  # more polls: nothing is read twice
    finally:
        out = stop(proc)
    out = output_of(out_path)
    assert proc.returncode == 0, out[-3000:]
    assert "STOPPED" not in out, out[-3000:]
    dead = read_dead_letters(sink, expected.qualified(obj))
    rows = read_log(sink, expected, obj)
    got = collections.Counter(r["_cdc_source"]["uuid"] for r in rows)
    in_big = {e["uuid"] for e in expected.events[obj] if e["file"] == big["path"]}
    assert not dead, (
        f"the file written in place was read before it was complete: {len(dead)} dead letter(s) "
        f"{[(d['file'].rsplit('/', 1)[-1], d['offset'], d['reason'][:120]) for d in dead[:3]]}; "
        f"{sum(1 for u in in_big if u in got)} of its {len(in_big)} rows ingested")
    compare_log_to_manifest(rows, expected, obj)
    assert delta_txns(expected.log_path(sink, obj)) == {f"sluice/{obj}": len(files)}
    compare_merged_to_reference(read_merged_rows(sink, expected, obj), expected, obj)


# ==========================================================================
# 2. Two `sluice run` processes on one source and sink.


def test_two_once_runs_at_the_same_time_give_exactly_once(tmp_path, empty_config):
    src, sink = tmp_path / "src", tmp_path / "sink"
    gen(src, tables=4, rows_per_table=30, changes_per_table=300, seed=73, late_files=0,
        files_per_minute=4)
    expected = Expected(src)
    env = sluice_env(src, sink, FILE_READ_CONCURRENCY=1, SLUICE_PIPELINE_MERGE_INTERVAL="0s",
                     SLUICE_SINK_HISTORY_TABLES="true")
    logs = [tmp_path / "a.out", tmp_path / "b.out"]
    fhs = [open(p, "w") for p in logs]
    procs = [start(empty_config, env, once=True, stdout=fh) for fh in fhs]
    try:
        for p in procs:
            p.wait(timeout=240)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        for fh in fhs:
            fh.close()
    for p, path in zip(procs, logs):
        out = output_of(path)
        assert p.returncode == 0, f"a run exited {p.returncode}:\n{out[-3000:]}"
        assert "STOPPED" not in out, out[-3000:]
    check_all_exact(sink, expected, OBJECTS, history=True)


def test_two_continuous_runs_on_one_sink_give_exactly_once(tmp_path, empty_config):
    src, sink, stage = tmp_path / "src", tmp_path / "sink", tmp_path / "stage"
    gen(stage, tables=4, rows_per_table=30, changes_per_table=300, seed=79, late_files=0,
        files_per_minute=4)
    expected = Expected(stage)
    src.mkdir()
    files = sorted(expected.files, key=lambda f: f["arrival"])
    # the backlog's first third is there at start; the rest lands while both run
    n0 = len(files) // 3
    for f in files[:n0]:
        move_in(stage, src, f["path"])
    env = sluice_env(src, sink, FILE_READ_CONCURRENCY=1, SLUICE_SOURCE_POLL_INTERVAL="200ms",
                     SLUICE_PIPELINE_MERGE_INTERVAL="0s", SLUICE_SINK_HISTORY_TABLES="true")
    logs = [tmp_path / "a.out", tmp_path / "b.out"]
    fhs = [open(p, "w") for p in logs]
    procs = [start(empty_config, env, stdout=fh) for fh in fhs]
    try:
        for i, f in enumerate(files[n0:]):
            move_in(stage, src, f["path"])
            if i % 4 == 3:
                time.sleep(0.1)
        for p, path in zip(procs, logs):
            assert p.poll() is None, f"a run exited by itself:\n{output_of(path)[-3000:]}"

        def caught_up():
            for o in OBJECTS:
                if files_done(sink, expected, o) < len(data_files(expected, o)):
                    return False
                mp = merged_path(sink, expected, o)
                if not table_exists(mp) or delta_txns(mp).get(f"sluice/{o}#log") != \
                        last_data_version(expected.log_path(sink, o)):
                    return False
            return True
        wait_until(caught_up, 120, "both runs to ingest and merge everything")
        time.sleep(1.0)
    finally:
        for p in procs:
            if p.poll() is None:
                stop(p)
        for fh in fhs:
            fh.close()
    for p, path in zip(procs, logs):
        out = output_of(path)
        assert p.returncode == 0, f"a run exited {p.returncode}:\n{out[-3000:]}"
        assert "STOPPED" not in out, out[-3000:]
    check_all_exact(sink, expected, OBJECTS, history=True)


# ==========================================================================
# 3. OPTIMIZE on the merged table while `sluice run` streams.


def stream_while_optimizing(tmp_path, empty_config, seed: int, mode: str, optimize,
                            min_optimizes: int, pause_s: float, tables: int = 4,
                            burst: int = 2, gap_s: float = 0.15, let_optimize_land=False):
    """Streams a backlog into a continuous `sluice run` (files landing over
    time, `burst` files every `gap_s`, a merge after every log commit) while
    `optimize(path)` runs in a loop on every merged table, `pause_s` apart.
    `let_optimize_land`: after each burst, wait for Sluice to catch up and
    for an OPTIMIZE to land before the next burst (an OPTIMIZE slower than
    the gaps between merges would otherwise always lose). Returns (expected,
    sink, stdout, number of OPTIMIZE commits that landed, errors of OPTIMIZE
    calls)."""
    src, sink, stage = tmp_path / "src", tmp_path / "sink", tmp_path / "stage"
    gen(stage, tables=tables, rows_per_table=40, changes_per_table=400, seed=seed, late_files=0,
        files_per_minute=4)
    expected = Expected(stage)
    objs = OBJECTS[:tables]
    src.mkdir()
    files = sorted(expected.files, key=lambda f: f["arrival"])
    env = sluice_env(src, sink, FILE_READ_CONCURRENCY=1, SLUICE_SOURCE_POLL_INTERVAL="200ms",
                     SLUICE_PIPELINE_MERGE_INTERVAL="0s", SLUICE_SINK_MERGE_MODE=mode,
                     SLUICE_SINK_MAINTENANCE="false")
    out_path = tmp_path / "run.out"
    stop_flag = threading.Event()
    landed, errors, calls = [0], [], []

    def optimizer():
        while not stop_flag.is_set():
            for o in objs:
                mp = merged_path(sink, expected, o)
                if not table_exists(mp):
                    continue
                t = time.monotonic()
                try:
                    if optimize(mp):
                        landed[0] += 1
                        calls.append(f"{o}: landed in {time.monotonic() - t:.1f}s")
                    else:
                        calls.append(f"{o}: nothing to do ({time.monotonic() - t:.1f}s)")
                except Exception as e:  # a lost race is the optimizer's problem, not Sluice's
                    first = next((ln for ln in str(e).splitlines() if "Exception" in ln), str(e))
                    errors.append(f"{type(e).__name__}: {first[:300]}")
                    calls.append(f"{o}: {type(e).__name__} after {time.monotonic() - t:.1f}s")
            stop_flag.wait(pause_s)

    with open(out_path, "w") as out_fh:
        proc = start(empty_config, env, stdout=out_fh)
    th = threading.Thread(target=optimizer, daemon=True)
    th.start()
    landed_files = collections.Counter()

    def caught_up():
        if "STOPPED" in output_of(out_path) or proc.poll() is not None:
            return True
        for o in objs:
            if files_done(sink, expected, o) < landed_files[o]:
                return False
            if not landed_files[o]:
                continue
            mp = merged_path(sink, expected, o)
            if not table_exists(mp) or delta_txns(mp).get(f"sluice/{o}#log") != \
                    last_data_version(expected.log_path(sink, o)):
                return False
        return True

    try:
        for i, f in enumerate(files):
            move_in(stage, src, f["path"])
            landed_files[f["object"]] += 1
            if i % burst == burst - 1:
                time.sleep(gap_s)
                if let_optimize_land and i < len(files) - 1:
                    wait_until(caught_up, 120, "Sluice to catch up with a burst")
                    before = landed[0]
                    wait_until(lambda: landed[0] > before or "STOPPED" in output_of(out_path),
                               120, "an OPTIMIZE to land between bursts")
            if "STOPPED" in output_of(out_path) or proc.poll() is not None:
                break
        wait_until(caught_up, 180, "the stream to be ingested and merged")
    finally:
        stop_flag.set()
        th.join(timeout=120)
        print(f"OPTIMIZE: {landed[0]} landed, {len(errors)} failed; last calls: {calls[-20:]}")
        if proc.poll() is None:
            stop(proc)
    out = output_of(out_path)
    stopped = [ln for ln in out.splitlines() if "STOPPED" in ln]
    assert not stopped, (f"a merged table stopped while OPTIMIZE ran on it ({landed[0]} OPTIMIZE "
                         f"commits landed):\n" + "\n".join(stopped[:5]))
    assert proc.returncode == 0, f"sluice exited {proc.returncode}:\n{out[-3000:]}"
    assert landed[0] >= min_optimizes, (f"only {landed[0]} OPTIMIZE commits landed while "
                                        f"streaming (calls {calls[:20]}, errors {errors[:3]}): "
                                        f"the test proved nothing")
    for obj in objs:
        compare_log_to_manifest(read_log(sink, expected, obj), expected, obj)
        compare_merged_to_reference(read_merged_rows(sink, expected, obj), expected, obj)
        assert delta_txns(merged_path(sink, expected, obj)) == {
            f"sluice/{obj}#log": last_data_version(expected.log_path(sink, obj))}
    return expected, sink, out, landed[0], errors


def foreign_optimize_commits(path: Path) -> int:
    """OPTIMIZE commits of another engine than Sluice (its own maintenance
    compaction is an OPTIMIZE too)."""
    n = 0
    for f in (Path(path) / "_delta_log").glob("*.json"):
        for ln in f.read_text().splitlines():
            if '"commitInfo"' in ln:
                info = json.loads(ln)["commitInfo"]
                if info.get("operation") == "OPTIMIZE" and \
                        not str(info.get("engineInfo", "")).startswith("sluice"):
                    n += 1
    return n


def deltars_optimize(path: Path) -> bool:
    """delta-rs OPTIMIZE (bin-packing compaction); True if it committed."""
    from deltalake import DeltaTable
    metrics = DeltaTable(str(path)).optimize.compact()
    return bool(metrics.get("numFilesRemoved"))


@pytest.mark.parametrize("mode", ["deletion_vectors", "copy_on_write"])
def test_deltars_optimize_loop_while_streaming_never_stops_the_table(tmp_path, empty_config, mode):
    # The installed delta-rs (1.6) compacts deletion-vector tables too, so
    # both merge modes run here.
    stream_while_optimizing(tmp_path, empty_config, seed=83, mode=mode,
                            optimize=deltars_optimize, min_optimizes=8, pause_s=0.05)


@pytest.fixture(scope="module")
def spark():
    """One local Spark with delta-spark for the module (tests/interop's
    session); skips, with the reason, when Java or Spark cannot start."""
    if not shutil.which("java"):
        pytest.skip("Spark OPTIMIZE part: no java on PATH")
    sys.path.insert(0, str(REPO / "tests" / "interop"))
    try:
        import spark_session
        session = spark_session.get_spark()
        # warm up OPTIMIZE itself (its first call loads Delta's classes: tens of seconds)
        warm = tempfile.mkdtemp(prefix="sluice-optimize-warm-")
        session.range(10).repartition(2).write.format("delta").mode("overwrite").save(warm)
        session.sql(f"OPTIMIZE delta.`{warm}`").collect()
        shutil.rmtree(warm, ignore_errors=True)
    except Exception as e:  # no JVM, no delta-spark jars offline, ...
        pytest.skip(f"Spark OPTIMIZE part: Spark with Delta could not start: "
                    f"{type(e).__name__}: {str(e)[:300]}")
    yield session
    spark_session.stop_spark()


def test_spark_optimize_loop_while_streaming_never_stops_the_table(tmp_path, empty_config, spark):
    def spark_optimize(path: Path) -> bool:
        before = foreign_optimize_commits(path)
        spark.sql(f"OPTIMIZE delta.`{path}`").collect()
        return foreign_optimize_commits(path) > before
    # deletion_vectors (the default): Spark reads and rewrites DV tables
    # Spark's OPTIMIZE takes seconds and loses to every merge that changes a
    # file it read: files land in 4 bursts, and after each one an OPTIMIZE
    # lands (the loop goes on during the bursts too)
    stream_while_optimizing(tmp_path, empty_config, seed=89, mode="deletion_vectors",
                            optimize=spark_optimize, min_optimizes=3, pause_s=0.0, tables=2,
                            burst=18, gap_s=0.5, let_optimize_land=True)


# ==========================================================================
# 4. A composite primary key with FLOAT and DOUBLE columns.

NUMBERS_SCHEMA = {
    "type": "record", "name": "user1_numbers", "fields": [
        {"name": "uuid", "type": "string"},
        {"name": "read_timestamp", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "source_timestamp", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "object", "type": "string"},
        {"name": "read_method", "type": "string"},
        {"name": "stream_name", "type": "string"},
        {"name": "schema_key", "type": "string"},
        {"name": "sort_keys", "type": {"type": "array", "items": ["string", "long"]}},
        {"name": "source_metadata", "type": {"type": "record", "name": "source_metadata", "fields": [
            {"name": "table", "type": "string"},
            {"name": "database", "type": "string"},
            {"name": "primary_keys", "type": {"type": "array", "items": "string"}},
            {"name": "log_file", "type": ["null", "string"]},
            {"name": "log_position", "type": ["null", "long"]},
            {"name": "change_type", "type": ["null", "string"]},
            {"name": "is_deleted", "type": ["null", "boolean"]}]}},
        {"name": "payload", "type": {"type": "record", "name": "payload", "fields": [
            {"name": "id", "type": ["null", "int"]},
            {"name": "floater", "type": ["null", "float"]},
            {"name": "doubler", "type": ["null", "double"]},
            {"name": "note", "type": ["null", "string"]},
            {"name": "big", "type": ["null", "long"]}]}}]}
KEYS = ["id", "floater", "doubler"]
NAN = float("nan")
NEG_NAN = struct.unpack("<d", struct.pack("<Q", 0xFFF8000000000000))[0]       # sign bit set
PAYLOAD_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000001))[0]   # other payload
INF = float("inf")

# (file, change_type, id, floater, doubler): the real `user1.numbers` shape
# (tests' fixture mysql_numbers_test.avro) with a composite key over the FLOAT
# and DOUBLE columns. File 0 is ingested by a first run, file 1 by a second
# (key index rebuilt from the table); file 1 also holds an insert and an
# update of one key in one batch.
FLOAT_KEY_EVENTS = [
    (0, "INSERT", 1, 0.0, 0.0),
    (0, "INSERT", 2, 1.5, NAN),
    (0, "INSERT", 3, NAN, -0.0),
    (0, "INSERT", 4, -0.0, 2.25),
    (0, "INSERT", 5, 0.5, 1e300),
    (0, "INSERT", 6, INF, -INF),
    (0, "INSERT", 1, 1.0, 0.0),           # another key: floater differs
    (0, "INSERT", 8, 0.0, 5e-324),        # the smallest subnormal is not zero
    (1, "UPDATE-INSERT", 1, -0.0, -0.0),  # = key (1, 0.0, 0.0)
    (1, "UPDATE-INSERT", 2, 1.5, PAYLOAD_NAN),  # = key (2, 1.5, NaN)
    (1, "DELETE", 3, NEG_NAN, 0.0),       # deletes (3, NaN, -0.0)
    (1, "UPDATE-INSERT", 4, 0.0, 2.25),   # = key (4, -0.0, 2.25)
    (1, "INSERT", 3, NAN, 0.0),           # the deleted key comes back
    (1, "DELETE", 5, 0.5, 1e300),
    (1, "UPDATE-INSERT", 6, INF, -INF),
    (1, "INSERT", 7, -0.0, NAN),
    (1, "UPDATE-INSERT", 7, 0.0, NEG_NAN),  # same batch, same key
    (1, "UPDATE-INSERT", 8, -0.0, 0.0),   # a new key: 0.0 != 5e-324
]


def norm_float(v):
    """Key comparison by value, as Spark's MERGE: -0.0 = 0.0, NaN = NaN."""
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if v == 0.0:
            return 0.0
    return v


def same_value(a, b) -> bool:
    """Exact equality for a non-key value (floats: same value and sign, NaN = NaN)."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return a == b


def write_numbers_files(src: Path):
    """Writes FLOAT_KEY_EVENTS as two Datastream Avro files; returns the
    events with uuid, file and payload."""
    import fastavro
    parsed = fastavro.parse_schema(NUMBERS_SCHEMA)
    folder = src / "user1_numbers"
    t0 = 1628184910000
    events, recs = [], {0: [], 1: []}
    for i, (fi, ct, id_, f32, f64) in enumerate(FLOAT_KEY_EVENTS):
        ts = t0 + fi * 60_000 + i * 100
        pos = 78443180 + i * 300
        payload = {"id": id_, "floater": f32, "doubler": f64, "note": f"event {i} {ct}",
                   "big": 1000 + i}
        uuid = f"c31eabd1-199a-4bfd-bb39-65ba{i:08d}"
        recs[fi].append({
            "uuid": uuid, "read_timestamp": ts + 500, "source_timestamp": ts,
            "object": "user1_numbers", "read_method": "mysql-cdc-binlog",
            "stream_name": "projects/545418958905/locations/us-central1/streams/stream31",
            "schema_key": "1baf840ada1df164d807a1f630dbdd9ecd2db369",
            "sort_keys": [ts, "mysql-bin.000025", pos],
            "source_metadata": {"table": "numbers", "database": "user1", "primary_keys": KEYS,
                                "log_file": "mysql-bin.000025", "log_position": pos,
                                "change_type": ct, "is_deleted": ct == "DELETE"},
            "payload": payload})
        events.append({"i": i, "file": fi, "uuid": uuid, "change_type": ct, "payload": payload})
    paths = []
    for fi, minute in ((0, "35"), (1, "36")):
        d = folder / "2021/08/05/17" / minute
        d.mkdir(parents=True)
        p = d / f"1baf840ada1df164d807a1f630dbdd9ecd2db369_mysql-cdc-binlog_-1395_{fi}_{77 + fi}.avro"
        buf = io.BytesIO()
        fastavro.writer(buf, parsed, recs[fi], codec="null")
        paths.append(p)
        p.write_bytes(buf.getvalue())
    return events, paths


def float_key_state(events):
    """{normalized key: payload} after the events in order (deletes remove)."""
    state = {}
    for e in events:
        k = tuple(norm_float(e["payload"][c]) for c in KEYS)
        if e["change_type"] == "DELETE":
            state.pop(k, None)
        else:
            state[k] = e["payload"]
    return state


def check_float_key_table(rows, events):
    want = float_key_state(events)
    got = collections.defaultdict(list)
    for r in rows:
        got[tuple(norm_float(r[c]) for c in KEYS)].append(r)
    dupes = {k: len(v) for k, v in got.items() if len(v) > 1}
    assert not dupes, f"keys equal by value hold several rows (-0.0 vs 0.0 or NaN vs NaN): {dupes}"
    assert set(got) == set(want), (f"merged keys differ: only in the table "
                                   f"{sorted(map(str, set(got) - set(want)))}, missing "
                                   f"{sorted(map(str, set(want) - set(got)))}")
    for k, p in want.items():
        r = got[k][0]
        for c in KEYS:  # keys by value
            assert norm_float(r[c]) == norm_float(p[c]), (k, c, r[c], p[c])
        for c in ("note", "big"):  # the latest image, exactly
            assert same_value(r[c], p[c]), f"{k}: {c} = {r[c]!r}, want {p[c]!r}"


def test_float_and_double_key_columns_merge_by_value(tmp_path, empty_config):
    src, sink = tmp_path / "src", tmp_path / "sink"
    events, paths = write_numbers_files(src)
    later = tmp_path / "later"
    later.mkdir()
    shutil.move(str(paths[1]), later / paths[1].name)
    env = sluice_env(src, sink, SLUICE_PIPELINE_MERGE_INTERVAL="0s",
                     SLUICE_SINK_HISTORY_TABLES="true")
    merged, log = sink / "user1" / "numbers", sink / "user1" / "numbers_log"
    for phase in (0, 1):
        if phase == 1:
            shutil.move(str(later / paths[1].name), paths[1])
        proc = run_once_ok(empty_config, env)
        assert "STOPPED" not in proc.stdout, proc.stdout[-3000:]
        assert "cannot be a merge key" not in proc.stdout + proc.stderr
        upto = [e for e in events if e["file"] <= phase]
        # the log: every event once, its float values as they came
        rows = read_table(log)
        by_uuid = {r["_cdc_source"]["uuid"]: r for r in rows}
        assert sorted(by_uuid) == sorted(e["uuid"] for e in upto) and len(rows) == len(upto)
        for e in upto:
            r = by_uuid[e["uuid"]]
            for c in ("floater", "doubler"):
                assert same_value(float(r[c]), float(e["payload"][c])), (e["i"], c, r[c])
        # the merged table: one row per key by value, the latest image
        check_float_key_table(cat_table(merged), upto)
        assert delta_txns(merged) == {"sluice/user1_numbers#log": last_data_version(log)}
        # the history table: one open version per live key
        hist = cat_table(Path(str(merged) + "_history"))
        open_keys = collections.Counter(tuple(norm_float(r[c]) for c in KEYS)
                                        for r in hist if r["__END_AT"] is None)
        assert set(open_keys) == set(float_key_state(upto)) and max(open_keys.values()) == 1, \
            open_keys
    assert not read_dead_letters(sink, "user1.numbers")


# ==========================================================================
# 5. Cursor storage stays bounded over thousands of commits.

CURSOR_MAX_FILES = 4
# While a backlog drains, the cursor also holds the files ingested since the
# last clean late-file check: up to 40 KB a cursor file here (45 % of the
# stream's 1,056 files), 83 KB for the two, measured on the eleventh
# session's binary as on the twelfth's; a cursor holding every file would be
# ~95 KB a cursor file. Once drained it holds one late window (~9 KB).
CURSOR_MAX_BYTES = 128 * 1024
CURSOR_DRAINED_MAX_BYTES = 24 * 1024


def cursor_storage(table: Path):
    """(number, total bytes) of the cursor files under <table>/_sluice/cursors/."""
    n = size = 0
    root = Path(table) / "_sluice" / "cursors"
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            try:
                size += os.stat(os.path.join(dirpath, name)).st_size
                n += 1
            except FileNotFoundError:  # deleted while we looked
                pass
    return n, size


def test_cursor_storage_stays_bounded_over_thousands_of_commits(tmp_path, empty_config):
    src, sink = tmp_path / "src", tmp_path / "sink"
    # one table, ~1,050 files of ~3 events, one file per commit (the test
    # stays under a minute; the bound is checked all along, not only at the end)
    gen(src, tables=1, rows_per_table=5, changes_per_table=2800, seed=97, late_files=0,
        files_per_minute=20, cdc_minutes=64)
    expected = Expected(src)
    obj = "shop_orders"
    n_files = len(data_files(expected, obj))
    assert n_files >= 1000, n_files
    log_path = expected.log_path(sink, obj)
    # The cursor holds one late window of stream time (docs/sources.md): a
    # 5-minute window over this 64-minute stream, late-file checks every 2 s.
    env = sluice_env(src, sink, FILE_READ_CONCURRENCY=1, SLUICE_SOURCE_LATE_WINDOW="5m",
                     SLUICE_SOURCE_LATE_CHECK_INTERVAL="2s")
    out_path = tmp_path / "run.out"
    worst = (0, 0)
    samples = 0
    t0 = time.monotonic()
    with open(out_path, "w") as out_fh:
        proc = start(empty_config, env, once=True, stdout=out_fh)
        try:
            while proc.poll() is None:
                n, size = cursor_storage(log_path)
                worst = (max(worst[0], n), max(worst[1], size))
                samples += 1
                if worst[0] > 50 * CURSOR_MAX_FILES and time.monotonic() - t0 > 20:
                    break  # clearly unbounded; no need to wait for the end
                time.sleep(0.2)
            else:
                proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    out = output_of(out_path)
    done = files_done(sink, expected, obj)
    n, size = cursor_storage(log_path)
    worst = (max(worst[0], n), max(worst[1], size))
    assert worst[0] <= CURSOR_MAX_FILES and worst[1] < CURSOR_MAX_BYTES, (
        f"cursor storage grows with the files ingested: up to {worst[0]} cursor files, "
        f"{worst[1]} bytes under {log_path}/_sluice/cursors after {done} of {n_files} files "
        f"(bound: {CURSOR_MAX_FILES} files, {CURSOR_MAX_BYTES} bytes; {samples} samples)")
    assert proc.returncode == 0, out[-3000:]
    assert done == n_files
    assert size < CURSOR_DRAINED_MAX_BYTES, (
        f"the drained cursor is {size} bytes: more than one late window of files")
    # nor does the cursor move into the commits: a data commit holds one batch
    # (a compaction commit naming every small file it replaced is another matter)
    data_commits = [f for f in (log_path / "_delta_log").glob("*.json")
                    if '"txn"' in f.read_text()]
    biggest = max((f.stat().st_size, f.name) for f in data_commits)
    assert biggest[0] < CURSOR_MAX_BYTES, f"commit {biggest[1]} is {biggest[0]} bytes"
    compare_log_to_manifest(read_log(sink, expected, obj), expected, obj)
