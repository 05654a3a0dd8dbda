"""End-to-end tests of `sluice run` on Google Datastream output (issue 3).

Every test generates a bucket with tools/datastream_gen, runs the real binary
with an empty config file (environment variables only), reads the resulting
Delta tables with delta-rs and compares them with the generator's manifest.
See README.md next to this file for what each test proves.
"""
from __future__ import annotations

import collections
import io
import json
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (Expected, commits_with_data, compare_log_to_manifest,
                      compare_merged_to_reference, delta_txns, gen, latest_version,
                      last_data_version, merged_path, progress_lines, read_dead_letters, read_log,
                      read_merged, run_once, run_once_ok, sluice_env, start, stop, table_exists,
                      wait_until)

OBJECTS = ["shop_orders", "public_accounts", "inventory_items", "sales_events"]
ADDED = {"shop_orders": ("coupon_code", "string"), "public_accounts": ("risk_level", "int32"),
         "inventory_items": ("color", "string"), "sales_events": ("region", "string")}


def data_files(expected: Expected, obj: str, fmt: str = None):
    return [f for f in expected.files_of(obj) if fmt is None or f["format"] == fmt]


def rel_in_folder(path: str) -> str:
    """'shop_orders/2025/.../x.avro' -> '2025/.../x.avro' (cursor form)."""
    return path.split("/", 1)[1]


def cursor_file(log_path: Path, folder: str, version: int) -> dict:
    p = log_path / "_sluice" / "cursors" / folder / f"{version:020d}.json"
    assert p.is_file(), f"no cursor file {p}"
    return json.loads(p.read_text())


def cursor_paths(cursor: dict) -> set:
    return {f"{d}/{n}" if d else n for d, names in cursor["files"].items() for n in names}


def check_cursor_in_every_commit(log_path: Path, app_id: str):
    """Every commit that adds data carries the txn of its app, and versions
    only grow: the cursor moves in the same commit as the data. Compaction
    commits (adds with dataChange=false) re-add rows already counted."""
    last = 0
    for f in sorted((log_path / "_delta_log").glob("*.json")):
        actions = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
        adds = [a for a in actions if "add" in a and a["add"].get("dataChange", True)]
        txns = [a["txn"] for a in actions if "txn" in a and a["txn"]["appId"] == app_id]
        if adds:
            assert len(txns) == 1, f"{f.name}: data committed without the cursor txn of {app_id}"
        for t in txns:
            assert t["version"] > last, f"{f.name}: txn version {t['version']} after {last}"
            last = t["version"]
    return last


def ingestion_batches(log_path: Path, app_id: str, folder: str) -> list:
    """The files of each commit, in commit order, from the units every
    commit of the app records in commitInfo.operationParameters (superseded
    cursor files are deleted, so the commits themselves say what they hold)."""
    batches = []
    for f in sorted((log_path / "_delta_log").glob("*.json")):
        actions = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
        if not any("txn" in a and a["txn"]["appId"] == app_id for a in actions):
            continue
        info = next(a["commitInfo"] for a in actions if "commitInfo" in a)
        params = info.get("operationParameters", {})
        units = params.get("units")
        if isinstance(units, str):
            units = json.loads(units)
        assert units is not None, f"{f.name}: commit without its units"
        batches.append(sorted(units))
    return batches


# ==========================================================================
# 1. A backlog with --once: exactly once, values, order, cursor, progress,
#    schema evolution under merge, environment-only configuration.


@pytest.mark.parametrize("fmt,codec,concurrency,name", [
    ("avro", "null", 3, "e2e_env"),
    ("avro", "deflate", None, None),
    ("json", None, 2, "e2e_json"),
])
def test_backlog_once(tmp_path, empty_config, fmt, codec, concurrency, name):
    src, sink = tmp_path / "src", tmp_path / "sink"
    opts = dict(tables=4, rows_per_table=40, changes_per_table=150, seed=11, late_files=0,
                format=fmt)
    if codec:
        opts["codec"] = codec
    gen(src, **opts)
    # A backlog: every file landed a while ago. On a loaded machine the last
    # files written can still be inside the settle interval when the run
    # lists them; those are (rightly) taken after the settled files behind
    # them, which the path-order check below does not allow for.
    landed = time.time() - 600
    for f in src.rglob("*"):
        if f.is_file():
            os.utime(f, (landed, landed))
    expected = Expected(src)
    extra = {"READ_FORMAT": fmt}
    if concurrency:
        extra["FILE_READ_CONCURRENCY"] = concurrency
    if name:
        extra["NAME"] = name
    t_run = time.time()
    proc = run_once_ok(empty_config, sluice_env(src, sink, **extra))
    out = proc.stdout
    app_name = name or "sluice"
    per_batch = concurrency or 2
    lines = progress_lines(out)
    assert lines, f"no progress line in:\n{out[-3000:]}"

    for obj in OBJECTS:
        rows = read_log(sink, expected, obj)
        compare_log_to_manifest(rows, expected, obj)
        log_path = expected.log_path(sink, obj)
        files = data_files(expected, obj)
        # the cursor: txn (appId NAME/folder, version = files ingested) in the
        # same commit as the data, and a cursor file naming every file
        app_id = f"{app_name}/{obj}"
        assert delta_txns(log_path) == {app_id: len(files)}
        assert check_cursor_in_every_commit(log_path, app_id) == len(files)
        cur = cursor_file(log_path, obj, len(files))
        assert cur["count"] == len(files)
        assert cursor_paths(cur) == {rel_in_folder(f["path"]) for f in files}
        # in order: the files of successive commits follow path (= minute) order
        batches = ingestion_batches(log_path, app_id, obj)
        flat = [p for b in batches for p in b]
        assert flat == sorted(rel_in_folder(f["path"]) for f in files)
        assert all(1 <= len(b) <= per_batch for b in batches)
        # schema evolution (merge): the added column exists, NULL before the change
        col, _ = ADDED[obj]
        assert col in rows[0], f"{obj}: column {col} added by the schema change is missing"
        evs = {e["uuid"]: e for e in expected.events[obj]}
        assert any(r[col] is not None for r in rows), f"{obj}: {col} is NULL everywhere"
        assert all(r[col] is None for r in rows if evs[r["_cdc_source"]["uuid"]]["schema_version"] == 1)
        # progress: one line per commit, with files, rows and a real lag
        mine = [ln for ln in lines if ln["table"] == expected.qualified(obj)]
        assert len(mine) == commits_with_data(log_path), (
            f"{obj}: {len(mine)} progress lines for {commits_with_data(log_path)} commits")
        assert [int(ln["version"]) for ln in mine] == list(range(len(mine)))
        assert sum(int(ln["files"]) for ln in mine) == len(files)
        assert sum(int(ln["rows"]) for ln in mine) == len(expected.events[obj])
        assert all(1 <= int(ln["files"]) <= per_batch for ln in mine)
        assert any("schema evolved" in ln["rest"] for ln in mine), f"{obj}: no 'schema evolved' line"
        newest = max(e["source_timestamp_ms"] for e in expected.events[obj]) / 1000
        oldest = min(e["source_timestamp_ms"] for e in expected.events[obj]) / 1000
        for ln in mine:
            assert ln["lag_s"] is not None, f"no lag in progress line {ln}"
            # the lag is now - newest source timestamp of the batch
            # (printed as "NdHHh" beyond two days: one hour of precision)
            assert t_run - newest - 3600 <= ln["lag_s"] <= time.time() - oldest + 120, (
                f"{obj}: implausible lag {ln['lag_s']}s in {ln}")
    # the final summary
    total_events = sum(len(expected.events[o]) for o in OBJECTS)
    total_files = sum(len(data_files(expected, o)) for o in OBJECTS)
    assert "== Sluice summary" in out
    assert f"total: 4 tables, {total_files} files, {total_events} rows, 0 dead letters" in out
    for obj in OBJECTS:
        assert f"  {expected.qualified(obj)}: {len(data_files(expected, obj))} files, " \
               f"{len(expected.events[obj])} rows" in out
    assert "STOPPED" not in out

    # a second --once finds nothing new and changes nothing
    versions = {o: commits_with_data(expected.log_path(sink, o)) for o in OBJECTS}
    again = run_once_ok(empty_config, sluice_env(src, sink, **extra))
    assert not progress_lines(again.stdout)
    assert versions == {o: commits_with_data(expected.log_path(sink, o)) for o in OBJECTS}


def test_env_only_requires_source_and_sink(tmp_path, empty_config):
    env = sluice_env(tmp_path / "src", tmp_path / "sink")
    del env["SOURCE_PATH"]
    proc = run_once(empty_config, env)
    assert proc.returncode != 0
    assert "SOURCE_PATH" in proc.stderr or "source" in proc.stderr.lower(), proc.stderr


# ==========================================================================
# 2. While running: a late file in an older minute folder, and a table folder
#    that appears later, are picked up without a restart.


@pytest.mark.parametrize("fmt", ["avro", "json"])
def test_late_file_and_new_table_while_running(tmp_path, empty_config, fmt):
    src, sink, stage, hold = (tmp_path / d for d in ("src", "sink", "stage", "hold"))
    opts = dict(tables=4, rows_per_table=30, changes_per_table=120, seed=5, late_files=2,
                format=fmt, files_per_minute=2)
    gen(src, phase=1, **opts)
    gen(stage, emit_late_only=True, **opts)  # the late files, moved in later
    expected = Expected(src)
    late = [f for f in expected.files if f["late"]]
    assert len(late) == 2
    late_objs = {f["object"] for f in late}
    new_obj = "sales_events"
    assert new_obj not in late_objs
    # The new table's folder gets a name that does not split into
    # "<database>_<table>" the way its events say (think of a schema named
    # "sales_x"): its identity must come from the events, also when the
    # folder is seen before its first file.
    new_folder = "sales_x_events"
    folder = {o: o for o in OBJECTS}
    folder[new_obj] = new_folder
    hold.mkdir()
    os.replace(src / new_obj, hold / new_folder)  # this table appears later

    env = sluice_env(src, sink, READ_FORMAT=fmt, SLUICE_SOURCE_POLL_INTERVAL="200ms")
    out_path = tmp_path / "run.out"
    with open(out_path, "w") as out_fh:
        proc = start(empty_config, env, stdout=out_fh)
    try:
        def stopped():
            text = out_path.read_text()
            assert "STOPPED" not in text, f"a table stopped:\n{text[-3000:]}"
            return proc.poll() is not None

        def ingested(obj, phase1_only):
            p = expected.log_path(sink, obj)
            n = len([f for f in data_files(expected, obj) if not (phase1_only and f["late"])])
            return table_exists(p) and delta_txns(p).get(f"sluice/{folder[obj]}") == n
        first = [o for o in OBJECTS if o != new_obj]
        wait_until(lambda: stopped() or all(ingested(o, True) for o in first),
                   90, "phase 1 ingestion")
        assert proc.poll() is None, f"sluice exited early:\n{out_path.read_text()[-3000:]}"
        time.sleep(0.5)  # a few idle polls
        assert not expected.log_path(sink, new_obj).exists()
        t_late = time.time()
        # late files land in older minute folders (atomically, as objects do)
        for f in late:
            dst = src / f["path"]
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / f["path"], dst)
        # the new folder: first an empty directory tree, then its files, in order
        new_files = sorted(p.relative_to(hold / new_folder) for p in (hold / new_folder).rglob("*")
                           if p.is_file())
        (src / new_folder / new_files[0].parent).mkdir(parents=True)
        wait_until(lambda: f"discovered table folder '{new_folder}'" in out_path.read_text(),
                   10, "discovery of the new folder")
        time.sleep(0.5)
        for rel in new_files:
            (src / new_folder / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(hold / new_folder / rel, src / new_folder / rel)
        wait_until(lambda: stopped() or all(ingested(o, False) for o in OBJECTS),
                   90, "late files and the new table " +
                   str(sorted(str(p.relative_to(sink)) for p in sink.glob("*/*_log"))))
        assert proc.poll() is None, "sluice exited by itself"
    finally:
        stop(proc)
    out = out_path.read_text()
    assert proc.returncode == 0, out[-3000:]
    assert out.count("discovered table folder") == 4
    assert sorted(p.relative_to(sink).as_posix() for p in sink.glob("*/*_log")) == sorted(
        expected.log_path(sink, o).relative_to(sink).as_posix() for o in OBJECTS)
    for obj in OBJECTS:
        rows = read_log(sink, expected, obj)
        compare_log_to_manifest(rows, expected, obj)
        log_path = expected.log_path(sink, obj)
        check_cursor_in_every_commit(log_path, f"sluice/{folder[obj]}")
        # in order: path order, except that a late file comes when it lands
        flat = [p for b in ingestion_batches(log_path, f"sluice/{folder[obj]}", folder[obj]) for p in b]
        files = data_files(expected, obj)
        on_time = sorted(rel_in_folder(f["path"]) for f in files if not f["late"])
        late_here = sorted(rel_in_folder(f["path"]) for f in files if f["late"])
        assert flat == on_time + late_here
    # the late files were ingested after the newer ones, in a later commit
    for obj in late_objs:
        rows = read_log(sink, expected, obj)
        evs = {e["uuid"]: e for e in expected.events[obj]}
        late_rows = [r for r in rows if evs[r["_cdc_source"]["uuid"]]["late"]]
        early_rows = [r for r in rows if not evs[r["_cdc_source"]["uuid"]]["late"]]
        assert late_rows
        assert min(r["_cdc_ingested_at"].timestamp() for r in late_rows) >= t_late - 1
        assert min(r["_cdc_ingested_at"] for r in late_rows) > max(r["_cdc_ingested_at"] for r in early_rows)
        # and its events sort into their true place (checked by compare_log_to_manifest),
        # i.e. before events of newer minute folders ingested earlier
        late_uuids = {r["_cdc_source"]["uuid"] for r in late_rows}
        by_seq = [r["_cdc_source"]["uuid"] for r in sorted(rows, key=lambda r: r["_cdc_seq"])]
        assert by_seq.index(next(u for u in by_seq if u in late_uuids)) < len(by_seq) - len(late_uuids)


# ==========================================================================
# 3. Exactly once under SIGKILL at random moments.


def test_exactly_once_under_sigkill(tmp_path, empty_config):
    src, sink = tmp_path / "src", tmp_path / "sink"
    gen(src, tables=4, rows_per_table=30, changes_per_table=400, seed=23, late_files=0,
        files_per_minute=10, cdc_minutes=10)
    expected = Expected(src)
    # one damaged file, so dead letters are written under crashes too
    victim = next(f for f in data_files(expected, "shop_orders") if "cdc" in f["read_method"])
    vpath = src / victim["path"]
    data = vpath.read_bytes()
    vpath.write_bytes(data[: int(len(data) * 0.6)])
    lost = {e["uuid"] for e in expected.events["shop_orders"] if e["file"] == victim["path"]}
    total_files = {o: len(data_files(expected, o)) for o in OBJECTS}
    assert sum(total_files.values()) >= 120, total_files

    env = sluice_env(src, sink, FILE_READ_CONCURRENCY=1, SLUICE_SOURCE_POLL_INTERVAL="100ms")
    seed = int(os.environ.get("E2E_KILL_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    kills, progress = 0, []
    log = open(tmp_path / "runs.log", "w")

    def done_files():
        n = 0
        for o in OBJECTS:
            p = expected.log_path(sink, o)
            if table_exists(p):
                n += delta_txns(p).get(f"sluice/{o}", 0)
        return n

    total = sum(total_files.values())
    # Kill until 20 kills have landed while files were still pending (the
    # stream is long enough for that on a fast machine; the cap only guards
    # against a run that never makes progress).
    while kills < 20 and len(progress) < 60:
        before = done_files()
        if before == total:
            break
        proc = start(empty_config, env, stdout=log)
        time.sleep(rng.uniform(0.0, 0.3))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        assert proc.returncode in (-signal.SIGKILL, 0), f"run exited {proc.returncode} (seed {seed})"
        progress.append(done_files())
    log.close()
    print(f"kill seed {seed}: {kills} kills, files ingested after each run {progress} of {total}")
    assert kills >= 20, (f"the ingestion finished after {kills} kills (progress {progress}): "
                         f"make the stream longer")
    assert progress[-1] > 0, f"no progress at all across the restarts: {progress}"

    proc = run_once_ok(empty_config, env)
    for obj in OBJECTS:
        rows = read_log(sink, expected, obj)
        events = [e for e in expected.events[obj] if e["uuid"] not in lost]
        try:
            compare_log_to_manifest(rows, expected, obj, events=events)
        except AssertionError as e:
            raise AssertionError(f"{e}\n(kill seed {seed}, progress {progress})") from None
        log_path = expected.log_path(sink, obj)
        assert delta_txns(log_path) == {f"sluice/{obj}": total_files[obj]}
        check_cursor_in_every_commit(log_path, f"sluice/{obj}")
        # the merged table too: exactly the reference's latest state, its txn
        # in step with the log table's
        try:
            compare_merged_to_reference(read_merged(sink, expected, obj), expected, obj,
                                        events=events)
        except AssertionError as e:
            raise AssertionError(f"{e}\n(kill seed {seed}, progress {progress})") from None
        # the merged table follows the log table: its txn counts log versions
        assert delta_txns(merged_path(sink, expected, obj)) == {
            f"sluice/{obj}#log": last_data_version(log_path)}
    # the damaged file's dead letters are there exactly once
    dead = read_dead_letters(sink, "shop.orders")
    keys = collections.Counter((d["file"], d["offset"]) for d in dead)
    assert keys and all(n == 1 for n in keys.values()), f"dead letters not exactly once: {keys}"
    assert {d["file"] for d in dead} == {victim["path"]}


def summary_block(summary: str, qualified: str) -> str:
    """The summary's lines about one table (its line and the indented ones after it)."""
    lines = summary.splitlines()
    for i, ln in enumerate(lines):
        if ln.startswith(f"  {qualified}:"):
            block = [ln]
            for nxt in lines[i + 1:]:
                if not nxt.startswith("    "):
                    break
                block.append(nxt)
            return "\n".join(block)
    raise AssertionError(f"{qualified} not in the summary:\n{summary}")


# ==========================================================================
# 4. A schema change the strategy refuses stops that table only.


def test_schema_change_refused_under_none(tmp_path, empty_config):
    src, sink = tmp_path / "src", tmp_path / "sink"
    gen(src, tables=4, rows_per_table=30, changes_per_table=120, seed=9, late_files=0)
    expected = Expected(src)
    # two tables never change schema: drop their version-2 files
    unchanged = ["inventory_items", "sales_events"]
    changed = ["shop_orders", "public_accounts"]
    events = {o: list(expected.events[o]) for o in OBJECTS}
    for obj in unchanged:
        for f in data_files(expected, obj):
            if f["schema_version"] == 2:
                (src / f["path"]).unlink()
        events[obj] = [e for e in events[obj] if e["schema_version"] == 1]
    env = sluice_env(src, sink, DELTA_SCHEMA_EVOLUTION_STRATEGY="none")
    proc = run_once(empty_config, env)
    out = proc.stdout
    assert proc.returncode == 3, f"exit {proc.returncode}, want 3\n{out[-3000:]}\n{proc.stderr}"
    summary = out[out.index("== Sluice summary"):]
    for obj in changed:
        col, new_type = ADDED[obj]
        q = expected.qualified(obj)
        err = [ln for ln in out.splitlines() if ln.startswith(f"[sluice] {q}: STOPPED")]
        assert err, f"no STOPPED line for {q}:\n{out[-3000:]}"
        # names the table, the column, the old type (none: a new column) and the new one
        assert q in err[0] and f"'{col}'" in err[0] and "none" in err[0], err[0]
        assert f"from (absent) to {new_type}" in err[0], err[0]
        assert "STOPPED" in summary_block(summary, q) and f"'{col}'" in summary_block(summary, q), summary
        # what was committed is exactly the files its cursor names: no v2 event
        log_path = expected.log_path(sink, obj)
        version = delta_txns(log_path)[f"sluice/{obj}"]
        done = cursor_paths(cursor_file(log_path, obj, version))
        files = sorted(data_files(expected, obj), key=lambda f: f["path"])
        assert all(f["schema_version"] == 1 for f in files if rel_in_folder(f["path"]) in done)
        pending = [f for f in files if rel_in_folder(f["path"]) not in done]
        assert any(f["schema_version"] == 2 for f in pending[:2]), "the refused batch had no v2 file"
        in_done = [e for e in events[obj] if rel_in_folder(e["file"]) in done]
        rows = read_log(sink, expected, obj)
        compare_log_to_manifest(rows, expected, obj, events=in_done)
        assert ADDED[obj][0] not in rows[0]
    for obj in unchanged:
        compare_log_to_manifest(read_log(sink, expected, obj), expected, obj, events=events[obj])
        assert "STOPPED" not in summary_block(summary, expected.qualified(obj))

    # the operator switches to merge: the stopped tables resume where they stopped
    proc = run_once_ok(empty_config, sluice_env(src, sink, DELTA_SCHEMA_EVOLUTION_STRATEGY="merge"))
    for obj in OBJECTS:
        rows = read_log(sink, expected, obj)
        compare_log_to_manifest(rows, expected, obj, events=events[obj])
    assert ADDED["shop_orders"][0] in read_log(sink, expected, "shop_orders")[0]


# ==========================================================================
# 5. Bad input goes to dead letters; the rest is read.


def _zigzag(buf: bytes, pos: int):
    shift = result = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    return (result >> 1) ^ -(result & 1), pos


def avro_blocks(data: bytes):
    """[(start, end, record_count)] of an Avro object container file; `end`
    is past the block's sync marker."""
    assert data[:4] == b"Obj\x01"
    pos = 4
    while True:  # metadata map
        n, pos = _zigzag(data, pos)
        if n == 0:
            break
        if n < 0:
            _, pos = _zigzag(data, pos)
            n = -n
        for _ in range(n):
            for _ in range(2):
                ln, pos = _zigzag(data, pos)
                pos += ln
    sync = data[pos:pos + 16]
    pos += 16
    blocks = []
    while pos < len(data):
        start = pos
        count, pos = _zigzag(data, pos)
        size, pos = _zigzag(data, pos)
        pos += size
        assert data[pos:pos + 16] == sync
        pos += 16
        blocks.append((start, pos, count))
    return blocks


def rewrite_small_blocks(path: Path, codec: str) -> list:
    """Rewrites an Avro file with the same records in blocks of ~2 records;
    returns the uuids per block."""
    import fastavro
    with open(path, "rb") as fh:
        rd = fastavro.reader(fh)
        schema, records = rd.writer_schema, list(rd)
    buf = io.BytesIO()
    fastavro.writer(buf, schema, records, codec=codec, sync_interval=1)
    path.write_bytes(buf.getvalue())
    blocks = avro_blocks(buf.getvalue())
    out, i = [], 0
    for (_s, _e, n) in blocks:
        out.append([r["uuid"] for r in records[i:i + n]])
        i += n
    assert i == len(records)
    return out


def check_dead_letters_account_for(sink, expected, obj, damaged, rows):
    """`damaged`: {relative path: (bytes on disk, [(start, end, uuids)], must_survive)}.
    Every event missing from the log lies in a byte range a dead letter of
    its file covers; the dead letters carry reason, file, offset and the raw
    bytes at that offset; the must-survive events are in the log."""
    dead = read_dead_letters(sink, expected.qualified(obj))
    got = {r["_cdc_source"]["uuid"] for r in rows}
    lost = set()
    for rel, (data, blocks, must) in damaged.items():
        mine = [d for d in dead if d["file"] == rel]
        assert mine, f"{rel}: damaged but no dead letter"
        for d in mine:
            assert d["reason"], d
            assert d["source_table"] == expected.qualified(obj)
            assert 0 <= d["offset"] <= len(data)
            assert d["raw"] == data[d["offset"]:d["offset"] + len(d["raw"])], \
                f"{rel}: raw bytes of the dead letter at {d['offset']} are not the file's"
        missing_survivors = must - got
        assert not missing_survivors, f"{rel}: {len(missing_survivors)} readable events not ingested"
        for (start, end, uuids) in blocks:
            gone = [u for u in uuids if u not in got]
            if not gone:
                continue
            covered = any(d["offset"] <= start and
                          d["offset"] + max(len(d["raw"]), _declared_len(d)) >= min(end, len(data))
                          for d in mine)
            assert covered, (f"{rel}: events {gone} of block [{start},{end}) missing and no "
                             f"dead letter covers it: {[(d['offset'], len(d['raw']), d['reason']) for d in mine]}")
            lost.update(gone)
    return lost


def _declared_len(d) -> int:
    import re
    m = re.search(r"raw bytes truncated from (\d+)", d["reason"])
    return int(m.group(1)) if m else 0


def test_bad_avro_input_goes_to_dead_letters(tmp_path, empty_config):
    src, sink = tmp_path / "src", tmp_path / "sink"
    gen(src, tables=4, rows_per_table=30, changes_per_table=120, seed=31, late_files=0,
        codec="deflate")
    expected = Expected(src)
    damaged = {o: {} for o in OBJECTS}

    def biggest_cdc(obj):
        fs = [f for f in data_files(expected, obj) if "cdc" in f["read_method"]]
        return max(fs, key=lambda f: f["events"])

    def prepare(obj):
        f = biggest_cdc(obj)
        p = src / f["path"]
        per_block = rewrite_small_blocks(p, "deflate")
        data = p.read_bytes()
        blocks = [(s, e, u) for (s, e, _n), u in zip(avro_blocks(data), per_block)]
        assert len(blocks) >= 5, f"{f['path']}: only {len(blocks)} blocks"
        return f, p, data, blocks

    # (a) truncated in the middle of block 3: blocks 0-2 must be read
    f, p, data, blocks = prepare("shop_orders")
    cut = (blocks[3][0] + blocks[3][1]) // 2
    p.write_bytes(data[:cut])
    must = {u for b in blocks[:3] for u in b[2]}
    damaged["shop_orders"][f["path"]] = (data[:cut], blocks, must)

    # (b) bad sync marker after block 1: blocks 0 and 3.. must be read
    f, p, data, blocks = prepare("public_accounts")
    bad = bytearray(data)
    bad[blocks[1][1] - 5] ^= 0xFF
    p.write_bytes(bytes(bad))
    must = {u for i, b in enumerate(blocks) if i not in (1, 2) for u in b[2]}
    damaged["public_accounts"][f["path"]] = (bytes(bad), blocks, must)

    # (c) corrupt compressed data inside block 2: every other block must be read
    f, p, data, blocks = prepare("inventory_items")
    bad = bytearray(data)
    s, e, _ = blocks[2]
    mid = (s + e - 16) // 2
    for i in range(mid - 4, mid + 4):
        bad[i] = 0xFF
    p.write_bytes(bytes(bad))
    must = {u for i, b in enumerate(blocks) if i != 2 for u in b[2]}
    damaged["inventory_items"][f["path"]] = (bytes(bad), blocks, must)

    # (d) a file cut inside its header (nothing readable) and a file that is not Avro
    f = biggest_cdc("sales_events")
    p = src / f["path"]
    data = p.read_bytes()
    p.write_bytes(data[:40])
    uu = [e["uuid"] for e in expected.events["sales_events"] if e["file"] == f["path"]]
    damaged["sales_events"][f["path"]] = (data[:40], [(0, len(data), uu)], set())
    junk_rel = str(Path(f["path"]).with_name("0000000000000000000000000000000000000000_junk_1_0_1.avro"))
    junk = b"this is not an avro file\n" * 10
    (src / junk_rel).write_bytes(junk)
    damaged["sales_events"][junk_rel] = (junk, [], set())

    proc = run_once(empty_config, sluice_env(src, sink))
    out = proc.stdout
    assert proc.returncode == 0, f"bad input must not fail the run: exit {proc.returncode}\n{out[-3000:]}"
    assert "STOPPED" not in out
    total_dead = 0
    for obj in OBJECTS:
        rows = read_log(sink, expected, obj)
        lost = check_dead_letters_account_for(sink, expected, obj, damaged[obj], rows)
        for rel, (_d, blocks, _m) in damaged[obj].items():
            print(obj, rel.rsplit("/", 1)[1][-30:], "blocks lost:",
                  [i for i, b in enumerate(blocks) if any(u in lost for u in b[2])], "of", len(blocks),
                  [(d["offset"], len(d["raw"]), d["reason"][:150]) for d in read_dead_letters(sink, expected.qualified(obj)) if d["file"] == rel])
        compare_log_to_manifest(rows, expected, obj,
                                events=[e for e in expected.events[obj] if e["uuid"] not in lost])
        n_dead = len(read_dead_letters(sink, expected.qualified(obj)))
        total_dead += n_dead
        # every file counts as ingested, damaged or not
        assert delta_txns(expected.log_path(sink, obj))[f"sluice/{obj}"] == \
            len(data_files(expected, obj)) + (1 if obj == "sales_events" else 0)
    assert f", {total_dead} dead letters" in out.split("total:")[1]
    assert any("dead letters" in ln["rest"] for ln in progress_lines(out))
    # the junk file is one dead letter holding the whole file
    dl = [d for d in read_dead_letters(sink, "sales.events") if d["file"] == junk_rel]
    assert len(dl) == 1 and dl[0]["offset"] == 0 and dl[0]["raw"] == junk


def test_bad_json_input_goes_to_dead_letters(tmp_path, empty_config):
    src, sink = tmp_path / "src", tmp_path / "sink"
    gen(src, tables=4, rows_per_table=30, changes_per_table=120, seed=37, late_files=0,
        format="json")
    expected = Expected(src)
    damaged = {}
    for obj in ("shop_orders", "public_accounts"):
        f = max((f for f in data_files(expected, obj) if "cdc" in f["read_method"]),
                key=lambda f: f["events"])
        p = src / f["path"]
        lines = p.read_bytes().split(b"\n")[:-1]
        assert len(lines) >= 4
        uu = [e["uuid"] for e in sorted((e for e in expected.events[obj] if e["file"] == f["path"]),
                                        key=lambda e: e["row"])]
        bad_i = 1
        # a syntax error in line 1: a comma dropped between two members
        broken = lines[bad_i].replace(b',"object":', b' "object":', 1)
        assert broken != lines[bad_i]
        lines[bad_i] = broken
        if obj == "public_accounts":
            lines[-1] = lines[-1][: len(lines[-1]) // 2]  # and a truncated last line (no newline)
            data = b"\n".join(lines)
            gone = {bad_i, len(lines) - 1}
        else:
            data = b"\n".join(lines) + b"\n"
            gone = {bad_i}
        p.write_bytes(data)
        offsets, pos = [], 0
        for ln in lines:
            offsets.append(pos)
            pos += len(ln) + 1
        blocks = [(offsets[i], offsets[i] + len(lines[i]), [uu[i]]) for i in range(len(lines))]
        must = {uu[i] for i in range(len(lines)) if i not in gone}
        damaged[obj] = {f["path"]: (data, blocks, must)}
    proc = run_once(empty_config, sluice_env(src, sink, READ_FORMAT="json"))
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}"
    for obj in OBJECTS:
        rows = read_log(sink, expected, obj)
        lost = check_dead_letters_account_for(sink, expected, obj, damaged.get(obj, {}), rows) \
            if obj in damaged else set()
        compare_log_to_manifest(rows, expected, obj,
                                events=[e for e in expected.events[obj] if e["uuid"] not in lost])
        if obj in damaged:
            (rel, (data, blocks, _)), = damaged[obj].items()
            dl = read_dead_letters(sink, expected.qualified(obj))
            s, e, _u = blocks[1]
            assert any(d["offset"] == s and d["raw"].rstrip(b"\n") == data[s:e] for d in dl), \
                f"no dead letter holding the broken line at offset {s}: {[(d['offset'], d['raw'][:60]) for d in dl]}"


# ==========================================================================
# Large files in parts (issue 13): with a part size of a few hundred bytes
# every file is split into byte ranges, each its own unit and commit; the log
# still holds every event exactly once, in order, and the merged table equals
# the reference.


@pytest.mark.parametrize("fmt,codec", [("avro", "null"), ("avro", "deflate"), ("json", None),
                                       ("json", "gzip")])
def test_files_in_parts(tmp_path, empty_config, fmt, codec):
    src, sink = tmp_path / "src", tmp_path / "sink"
    opts = dict(tables=2, rows_per_table=60, changes_per_table=200, seed=29, late_files=0,
                format=fmt, avro_sync_interval=400, files_per_minute=1)
    if codec == "gzip":
        opts["json_gzip"] = True  # .jsonl.gz: parts of the spooled content
    elif codec:
        opts["codec"] = codec
    gen(src, **opts)
    expected = Expected(src)
    env = sluice_env(src, sink, READ_FORMAT=fmt, SLUICE_SOURCE_FILE_PART_BYTES=4000,
                     SLUICE_SOURCE_SETTLE_INTERVAL="0s", SLUICE_SOURCE_INCOMPLETE_TIMEOUT="0s",
                     SLUICE_SOURCE_SPOOL_DIR=str(tmp_path / "spool"))
    run_once_ok(empty_config, env)
    objects = sorted({f["object"] for f in expected.files})
    split = 0
    for obj in objects:
        compare_log_to_manifest(read_log(sink, expected, obj), expected, obj)
        compare_merged_to_reference(read_merged(sink, expected, obj), expected, obj)
        log_path = expected.log_path(sink, obj)
        for f in sorted((log_path / "_delta_log").glob("*.json")):
            for line in f.read_text().splitlines():
                info = json.loads(line).get("commitInfo") or {}
                units = (info.get("operationParameters") or {}).get("units", [])
                split += sum(1 for u in units if "#" in u)
    assert split > 0, "no file was ingested in parts"
    spool = tmp_path / "spool"
    assert not spool.exists() or not any(spool.iterdir()), "spools outlived their files"
