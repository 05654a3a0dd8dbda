"""End-to-end tests of the merged (latest-state) tables `sluice run` keeps
next to the log tables (docs/merge.md, docs/datastream.md).

The merged table `<sink>/<database>/<table>` is read with `sluice cat`
(deletion vectors applied; the installed delta-rs refuses DV tables) and, in
copy-on-write mode, also with delta-rs directly; both are compared with
tools/datastream_gen/reference.py's replay() of the generator's manifest.
"""
from __future__ import annotations

import collections
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import (SLUICE, Expected, cat_table, compare_merged_to_reference, delta_txns, gen,
                      latest_version, last_data_version, merged_path, model_history,
                      progress_lines, read_dead_letters, read_merged, read_table, run_once,
                      run_once_ok, sluice_env, table_exists)

OBJECTS = ["shop_orders", "public_accounts", "inventory_items", "sales_events"]
FIXTURES = Path("/work/shared/fixtures/datastream/json/events")


def data_files(expected: Expected, obj: str):
    return [f for f in expected.files_of(obj)]


def move_tree(src: Path, dst: Path) -> None:
    """Moves the table folders of `src` (a generated bucket) into `dst`."""
    for folder in src.iterdir():
        if folder.name.startswith("_"):
            continue
        shutil.copytree(folder, dst / folder.name, dirs_exist_ok=True)


@pytest.mark.parametrize("mode", ["deletion_vectors", "copy_on_write"])
def test_merged_table_matches_reference(tmp_path, empty_config, mode):
    src, sink, stage = tmp_path / "src", tmp_path / "sink", tmp_path / "stage"
    opts = dict(tables=4, rows_per_table=40, changes_per_table=300, seed=41, late_files=3,
                files_per_minute=2)
    gen(src, phase=1, **opts)
    gen(stage, emit_late_only=True, **opts)  # late files: older events, after newer ones
    expected = Expected(src)
    late = {f["path"] for f in expected.files if f["late"]}
    assert late
    # merge after every log commit (the default merges every minute)
    env = sluice_env(src, sink, SLUICE_SINK_MERGE_MODE=mode, SLUICE_PIPELINE_MERGE_INTERVAL="0s")

    proc = run_once_ok(empty_config, env)
    assert "STOPPED" not in proc.stdout
    for obj in OBJECTS:
        events = [e for e in expected.events[obj] if e["file"] not in late]
        compare_merged_to_reference(read_merged(sink, expected, obj), expected, obj, events)
    # the progress line names the merged table's commit
    for obj in OBJECTS:
        q = re.escape(expected.qualified(obj))
        assert re.search(rf"^\[sluice\] {q}_log v\d+: .*; {q} v\d+ <- log v\d+: \+\d+ -\d+",
                         proc.stdout, re.M), proc.stdout[-3000:]
    # merge_interval 0s: each log commit is merged by the next step at the
    # latest (which runs that merge alongside its own ingest), so while input
    # flows the merged table is never more than one log commit behind.
    lines = progress_lines(proc.stdout)
    assert lines
    by_table = {}
    for ln in lines:
        by_table.setdefault(ln["table"], []).append(ln)
    for table, tl in by_table.items():
        through = -1
        for i, ln in enumerate(tl):
            m = re.search(r"<- log v(\d+)(?:\.\.v(\d+))?", ln["rest"])
            if m:
                through = max(through, int(m.group(2) or m.group(1)))
            if i > 0:
                assert through >= int(tl[i - 1]["version"]), (table, [x["rest"] for x in tl])
        assert any("; " in ln["rest"] for ln in tl[1:-1] or tl), table

    # The late files land; a new process rebuilds each key index from the
    # merged table and its tombstones, and older events lose to newer ones.
    move_tree(stage, src)
    proc = run_once_ok(empty_config, env)
    assert "STOPPED" not in proc.stdout
    assert re.search(r"\(ignored \d+ stale\)", proc.stdout), proc.stdout[-3000:]
    for obj in OBJECTS:
        path = merged_path(sink, expected, obj)
        rows = read_merged(sink, expected, obj)
        compare_merged_to_reference(rows, expected, obj)
        # the log table's txn is the cursor; the merged table's follows the log
        log_path = expected.log_path(sink, obj)
        assert delta_txns(log_path) == {f"sluice/{obj}": len(data_files(expected, obj))}
        assert delta_txns(path) == {f"sluice/{obj}#log": last_data_version(log_path)}
        assert table_exists(path / "_sluice" / "tombstones") or not any(
            e["change_type"] == "DELETE" for e in expected.events[obj])
        protocol = protocol_of(path)
        if mode == "copy_on_write":
            assert "deletionVectors" not in protocol.get("readerFeatures", [])
            # an independent reader agrees
            compare_merged_to_reference(read_table(path), expected, obj)
        else:
            assert "deletionVectors" in protocol.get("readerFeatures", [])

    # nothing new: nothing changes
    versions = {o: len(list((merged_path(sink, expected, o) / "_delta_log").glob("*.json")))
                for o in OBJECTS}
    again = run_once_ok(empty_config, env)
    assert not progress_lines(again.stdout)
    assert versions == {o: len(list((merged_path(sink, expected, o) / "_delta_log").glob("*.json")))
                        for o in OBJECTS}


def protocol_of(path: Path) -> dict:
    with open(path / "_delta_log" / f"{0:020d}.json") as fh:
        for line in fh:
            action = json.loads(line)
            if "protocol" in action:
                return action["protocol"]
    raise AssertionError(f"no protocol in {path} version 0")


def test_merge_interval_and_catch_up_from_the_log(tmp_path, empty_config):
    """The merged table follows the log: every merge_interval, whole log
    commits at a time (at most merge_max_rows rows), and once more when a
    --once run has drained its input; a merged table removed by hand is
    rebuilt from the log."""
    src, sink = tmp_path / "src", tmp_path / "sink"
    gen(src, tables=1, rows_per_table=40, changes_per_table=300, seed=47, late_files=0)
    expected = Expected(src)
    obj = "shop_orders"
    n_files = len(data_files(expected, obj))
    assert n_files >= 6
    # 1h interval: one merge after the first log commit, one when drained
    env = sluice_env(src, sink, SLUICE_PIPELINE_MERGE_INTERVAL="1h",
                     SLUICE_SOURCE_MAX_FILES_PER_BATCH="1", SLUICE_SINK_MAINTENANCE="false")
    proc = run_once_ok(empty_config, env)
    q = re.escape(expected.qualified(obj))
    merges = re.findall(rf"{q} v(\d+) <- log v(\d+)(?:\.\.v(\d+))?:", proc.stdout)
    log_path = expected.log_path(sink, obj)
    last = latest_version(log_path)
    assert [(int(a), int(b), int(c or b)) for a, b, c in merges] == [(0, 0, 0), (1, 1, last)], \
        proc.stdout[-3000:]
    compare_merged_to_reference(read_merged(sink, expected, obj), expected, obj)

    # merge_max_rows bounds a merge commit (whole log commits, at least one)
    path = merged_path(sink, expected, obj)
    shutil.rmtree(path)
    env2 = dict(env, SLUICE_PIPELINE_MERGE_MAX_ROWS="1")
    proc = run_once_ok(empty_config, env2)
    merges = re.findall(rf"{q} v(\d+) <- log v(\d+)(?:\.\.v(\d+))?:", proc.stdout)
    # nothing new to ingest: the rebuilt table takes the log one commit at a time
    assert [(int(b), int(c or b)) for _, b, c in merges] == [(v, v) for v in range(last + 1)], \
        proc.stdout[-3000:]
    compare_merged_to_reference(read_merged(sink, expected, obj), expected, obj)
    assert delta_txns(path) == {f"sluice/{obj}#log": last}
    # the keys are recorded in both tables
    for p in (path, log_path):
        meta = [json.loads(ln)["metaData"] for ln in (p / "_delta_log" / f"{0:020d}.json")
                .read_text().splitlines() if "metaData" in ln][0]
        assert json.loads(meta["configuration"]["sluice.primaryKeys"]), meta


def test_merged_tables_only_without_log_tables(tmp_path, empty_config):
    src, sink = tmp_path / "src", tmp_path / "sink"
    gen(src, tables=4, rows_per_table=30, changes_per_table=150, seed=43, late_files=0)
    expected = Expected(src)
    env = sluice_env(src, sink, GENERATE_LOG_TABLE="false")
    proc = run_once_ok(empty_config, env)
    assert "STOPPED" not in proc.stdout
    assert not list(sink.glob("*/*_log")), "log tables written with GENERATE_LOG_TABLE=false"
    for obj in OBJECTS:
        path = merged_path(sink, expected, obj)
        compare_merged_to_reference(read_merged(sink, expected, obj), expected, obj)
        n = len(data_files(expected, obj))
        # the merged table's txn is the cursor; the cursor files live under it
        assert delta_txns(path) == {f"sluice/{obj}": n}
        cursor = json.loads((path / "_sluice" / "cursors" / obj / f"{n:020d}.json").read_text())
        assert cursor["count"] == n
        q = re.escape(expected.qualified(obj))
        assert re.search(rf"^\[sluice\] {q} v\d+: \d+ files?, \d+ rows.*; \+\d+ -\d+", proc.stdout,
                         re.M), proc.stdout[-3000:]
    # a restart resumes from the merged table's txn: nothing new, nothing done
    again = run_once_ok(empty_config, env)
    assert not re.search(r"^\[sluice\] \S+ v\d+:", again.stdout, re.M), again.stdout[-2000:]
    for obj in OBJECTS:
        assert delta_txns(merged_path(sink, expected, obj)) == {
            f"sluice/{obj}": len(data_files(expected, obj))}


def find_merged(sink: Path) -> Path:
    tables = [p for p in sink.glob("*/*") if (p / "_delta_log").is_dir()
              and not p.name.endswith("_log") and not p.parent.name.startswith("_")]
    assert len(tables) == 1, tables
    return tables[0]


def test_fixture_records_delete_of_unknown_key(tmp_path, empty_config):
    """The issue's fixture: records1.json (a JSON array: 5 inserts, 1 delete of
    a key never inserted) gives 5 rows and the deleted key stays absent;
    records2.json (4 more inserts) then gives 9."""
    src, sink = tmp_path / "src", tmp_path / "sink"
    folder = src / "demo_inventory_voters"
    first = folder / "2021/05/16/01/13"
    first.mkdir(parents=True)
    shutil.copy(FIXTURES / "records1.json", first / "records1.json")
    env = sluice_env(src, sink, READ_FORMAT="json")
    proc = run_once_ok(empty_config, env)
    assert "STOPPED" not in proc.stdout
    merged = find_merged(sink)
    rows = cat_table(merged)
    ids = sorted(r["id"] for r in rows)
    assert len(rows) == 5, rows
    assert "486570281" not in ids  # deleted before it was ever inserted
    assert ids == sorted(["915725144", "993488433", "161401245", "290819604", "862224591"])
    assert set(rows[0]) == {"id", "name", "address", "gender", "_cdc_seq", "_cdc_ts"}
    # the delete left a tombstone, so the key cannot come back from an older event
    assert table_exists(merged / "_sluice" / "tombstones")

    second = folder / "2021/05/16/01/14"
    second.mkdir(parents=True)
    shutil.copy(FIXTURES / "records2.json", second / "records2.json")
    proc = run_once_ok(empty_config, env)
    assert "STOPPED" not in proc.stdout
    rows = cat_table(merged)
    assert len(rows) == 9, rows
    assert len({r["id"] for r in rows}) == 9
    assert "486570281" not in {r["id"] for r in rows}
    assert not read_dead_letters(sink, "demo.inventory.voters")


def test_table_without_keys_gets_log_table_only(tmp_path, empty_config):
    """No primary keys in the events: log table only, said once; with log
    tables off that table stops with a clear error; keys from the config
    (tables."db.t".primary_keys) give it a merged table."""
    src = tmp_path / "src"
    day = src / "demo_t" / "2021/05/16/01/13"
    day.mkdir(parents=True)
    records = json.loads((FIXTURES / "records1.json").read_text())
    for r in records:
        r["source_metadata"].pop("primary_keys", None)
        r["source_metadata"]["table"] = "t"
    (day / "records.json").write_text(json.dumps(records))

    sink = tmp_path / "sink"
    proc = run_once_ok(empty_config, sluice_env(src, sink, READ_FORMAT="json"))
    assert proc.stdout.count("demo.t: no primary keys") == 1, proc.stdout
    assert table_exists(sink / "demo" / "t_log")
    assert not (sink / "demo" / "t").exists()

    off = tmp_path / "off"
    proc = run_once(empty_config, sluice_env(src, off, READ_FORMAT="json",
                                             GENERATE_LOG_TABLE="false"))
    assert proc.returncode != 0  # a stopped table makes the run fail
    assert "demo.t: STOPPED" in proc.stdout and "no primary keys" in proc.stdout, proc.stdout

    keyed = tmp_path / "keyed"
    config = tmp_path / "keys.toml"
    config.write_text('[tables."demo.t"]\nprimary_keys = ["id"]\n')
    proc = run_once_ok(config, sluice_env(src, keyed, READ_FORMAT="json"))
    assert "no primary keys" not in proc.stdout
    rows = cat_table(keyed / "demo" / "t")
    assert sorted(r["id"] for r in rows) == sorted(
        ["915725144", "993488433", "161401245", "290819604", "862224591"])


def test_replay_as_of_matches_the_reference_at_several_moments(tmp_path, empty_config):
    """`sluice replay --as-of TS` rebuilds the table from its log as the source
    was at TS: exactly reference.replay() of the events with source time <= TS
    (late files included, wherever they sit in the log); TS = now gives the
    merged table's rows."""
    src, sink = tmp_path / "src", tmp_path / "sink"
    gen(src, tables=2, rows_per_table=40, changes_per_table=300, seed=53, late_files=3,
        files_per_minute=2)
    expected = Expected(src)
    proc = run_once_ok(empty_config, sluice_env(src, sink))
    assert "STOPPED" not in proc.stdout
    for obj in ["shop_orders", "public_accounts"]:
        if not expected.events[obj]:
            continue
        log_path = expected.log_path(sink, obj)
        times = sorted({e["source_timestamp_ms"] for e in expected.events[obj]})
        picks = [times[0] - 1, times[0], times[len(times) // 3], times[len(times) // 2],
                 times[-2], times[-1]]
        for i, ts in enumerate(picks):
            out = tmp_path / f"replay_{obj}_{i}"
            r = subprocess.run([SLUICE, "replay", "--log-table", str(log_path), "--as-of", str(ts),
                                "--out", str(out)], capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, r.stderr + r.stdout
            events = [e for e in expected.events[obj] if e["source_timestamp_ms"] <= ts]
            rows = cat_table(out)
            if not events:
                assert rows == [], f"{obj} as of {ts}: {len(rows)} rows before any change"
                continue
            try:
                compare_merged_to_reference(rows, expected, obj, events)
            except AssertionError as e:
                raise AssertionError(f"{obj} as of {ts} ({i}): {e}") from None
        # now = the merged table
        out = tmp_path / f"replay_{obj}_now"
        r = subprocess.run([SLUICE, "replay", "--log-table", str(log_path), "--as-of", "now",
                            "--out", str(out)], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        key = lambda row: json.dumps(row, sort_keys=True, default=str)  # noqa: E731
        assert sorted(map(key, cat_table(out))) == sorted(map(key, read_merged(sink, expected, obj)))
        # an existing output is refused, naming it
        r = subprocess.run([SLUICE, "replay", "--log-table", str(log_path), "--as-of", "now",
                            "--out", str(out)], capture_output=True, text=True, timeout=120)
        assert r.returncode != 0 and "already holds a Delta table" in r.stderr, r.stderr


def _model_history(expected: Expected, obj: str, track=None):
    """The reference model's (__START_AT, __END_AT) of each version, per key."""
    return {key: [(v["__START_AT"], v["__END_AT"]) for v in versions]
            for key, versions in model_history(expected, obj, track).items()}


def _table_history(path: Path, keycols):
    out = collections.defaultdict(list)
    rows = sorted(cat_table(path), key=lambda r: r["_cdc_seq"])
    for r in rows:
        out[tuple(str(r[c]) for c in keycols)].append((_us(r["__START_AT"]), _us(r["__END_AT"])))
    return dict(out)


def _us(ts):
    if ts is None:
        return None
    return int(ts.timestamp() * 1_000_000) if hasattr(ts, "timestamp") else int(ts)


@pytest.mark.parametrize("mode", ["deletion_vectors", "copy_on_write"])
def test_history_tables_match_the_reference_model(tmp_path, empty_config, mode):
    """`sink.history_tables = true` keeps `<table>_history` (SCD2): per key the
    versions' (__START_AT, __END_AT) equal the reference model's fold of all
    events in source order, late files included; the open versions are the
    merged table's rows. Turned on later, the history is built from the log."""
    src, sink, stage = tmp_path / "src", tmp_path / "sink", tmp_path / "stage"
    opts = dict(tables=2, rows_per_table=30, changes_per_table=200, seed=59, late_files=2,
                files_per_minute=2)
    gen(src, phase=1, **opts)
    gen(stage, emit_late_only=True, **opts)
    objs = ["shop_orders", "public_accounts"]
    # first run without history: the history table comes later, from the log
    env = sluice_env(src, sink, SLUICE_SINK_MERGE_MODE=mode, SLUICE_PIPELINE_MERGE_INTERVAL="0s")
    run_once_ok(empty_config, env)
    move_tree(stage, src)
    env = dict(env, SLUICE_SINK_HISTORY_TABLES="true", SLUICE_PIPELINE_MERGE_MAX_ROWS="150")
    proc = run_once_ok(empty_config, env)
    assert "STOPPED" not in proc.stdout, proc.stdout[-3000:]
    expected = Expected(src)
    for obj in objs:
        hist = Path(str(merged_path(sink, expected, obj)) + "_history")
        assert table_exists(hist), proc.stdout[-3000:]
        keycols = expected.events[obj][0]["primary_keys"]
        want = _model_history(expected, obj)
        got = _table_history(hist, keycols)
        assert got == want, (f"{obj}: keys only in table {sorted(set(got) - set(want))[:5]}, "
                             f"only in model {sorted(set(want) - set(got))[:5]}, differing "
                             f"{[k for k in want if k in got and got[k] != want[k]][:3]}")
        # the open versions are exactly the merged table's keys
        open_keys = {k for k, vs in got.items() if vs and vs[-1][1] is None}
        merged_keys = {tuple(str(r[c]) for c in keycols)
                       for r in read_merged(sink, expected, obj)}
        assert open_keys == merged_keys
        assert delta_txns(hist) == {f"sluice/{obj}#log": last_data_version(
            expected.log_path(sink, obj))}


def test_maintenance_between_batches_keeps_every_row(tmp_path, empty_config):
    """With maintenance due after every batch, compaction rewrites the log's,
    the merged table's and the tombstones' small files and vacuum (retention
    0s) deletes the replaced ones, while the merged table stays equal to the
    reference, the log keeps every change once, replay still works, and the
    next merges follow the compacted files."""
    src, sink, stage = tmp_path / "src", tmp_path / "sink", tmp_path / "stage"
    opts = dict(tables=1, rows_per_table=40, changes_per_table=400, seed=61, late_files=2,
                files_per_minute=2)
    gen(src, phase=1, **opts)
    gen(stage, emit_late_only=True, **opts)
    env = sluice_env(src, sink, SLUICE_PIPELINE_MERGE_INTERVAL="0s",
                     SLUICE_SINK_MAINTENANCE_INTERVAL="0s", SLUICE_SINK_VACUUM_INTERVAL="0s",
                     SLUICE_SINK_VACUUM_RETENTION="0s", SLUICE_SOURCE_MAX_FILES_PER_BATCH="1")
    proc = run_once_ok(empty_config, env)
    assert re.search(r"maintenance: compacted [1-9]\d* files into \d+, vacuumed [1-9]", proc.stdout), \
        proc.stdout[-3000:]
    move_tree(stage, src)  # late files: merges after compaction must find the moved rows
    proc = run_once_ok(empty_config, env)
    assert "STOPPED" not in proc.stdout
    expected = Expected(src)
    obj = "shop_orders"
    path = merged_path(sink, expected, obj)
    compare_merged_to_reference(read_merged(sink, expected, obj), expected, obj)
    log_path = expected.log_path(sink, obj)
    log_rows = read_table(log_path)
    assert len(log_rows) == len(expected.events[obj])
    assert len({r["_cdc_origin"] for r in log_rows}) == len(log_rows)
    # vacuum left only referenced data files on disk
    from deltalake import DeltaTable
    for p in (path, log_path):
        live = {f for f in DeltaTable(str(p)).file_uris()}
        on_disk = {str(f) for f in Path(p).glob("*.parquet")}
        assert {Path(f).name for f in on_disk} == {Path(f).name for f in live}, p
    # replay from the compacted log gives the merged table
    out = tmp_path / "replayed"
    r = subprocess.run([SLUICE, "replay", "--log-table", str(log_path), "--as-of", "now",
                        "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    compare_merged_to_reference(cat_table(out), expected, obj)


def _codecs(table: Path) -> set:
    """The Parquet codecs of every column chunk in the table's data files
    (not Sluice's own side tables under _sluice/, which stay zstd)."""
    import pyarrow.parquet as pq
    found = set()
    for f in table.rglob("*.parquet"):
        if "_delta_log" in f.parts or "_sluice" in f.parts:
            continue
        md = pq.ParquetFile(f).metadata
        for g in range(md.num_row_groups):
            for c in range(md.num_columns):
                found.add(md.row_group(g).column(c).compression)
    return found


def test_sink_compression_applies_to_log_merged_and_history_tables(tmp_path, empty_config):
    """`sink.compression = snappy` (the codec Spark and delta-rs write by
    default): every data file of the log, merged and history tables is snappy,
    and the merged table still equals the reference. The default is zstd."""
    src, sink = tmp_path / "src", tmp_path / "sink"
    gen(src, tables=2, rows_per_table=30, changes_per_table=120, seed=7, files_per_minute=2)
    expected = Expected(src)
    env = sluice_env(src, sink, SLUICE_PIPELINE_MERGE_INTERVAL="0s",
                     SLUICE_SINK_HISTORY_TABLES="true", SLUICE_SINK_COMPRESSION="snappy")
    run_once_ok(empty_config, env)
    objs = [o for o in OBJECTS if o in expected.tables]
    assert objs
    for obj in objs:
        merged = merged_path(sink, expected, obj)
        for table in (merged, Path(str(merged) + "_log"), Path(str(merged) + "_history")):
            assert table_exists(table), table
            assert _codecs(table) == {"SNAPPY"}, table
            assert all(f.name.endswith(".snappy.parquet") for f in table.glob("*.parquet"))
        compare_merged_to_reference(read_merged(sink, expected, obj), expected, obj,
                                    expected.events[obj])

    sink2 = tmp_path / "sink2"
    run_once_ok(empty_config, sluice_env(src, sink2, SLUICE_PIPELINE_MERGE_INTERVAL="0s"))
    assert _codecs(merged_path(sink2, expected, objs[0])) == {"ZSTD"}

    bad = run_once(empty_config, sluice_env(src, tmp_path / "sink3",
                                            SLUICE_SINK_COMPRESSION="brotli9"))
    assert bad.returncode != 0
    assert "sink.compression" in bad.stdout + bad.stderr and "brotli9" in bad.stdout + bad.stderr
