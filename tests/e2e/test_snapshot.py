"""End-to-end tests of `sluice snapshot` (docs/snapshots.md): the table as of
the end of a date, built from its change log table, as a versioned table
(`<table>_snapshot/version=YYYY-MM-DD`) or as a partition of one table
partitioned by `snapshot_date`.

The log tables come from `sluice run --once` on a Datastream stream of
tools/datastream_gen spanning four days (CDC over 3 × 1440 minutes). Every
snapshot is compared value by value with reference.replay() of the
generator's events whose source time is at or before the end of that day
(UTC): latest per key, deletes removed. The snapshots are read with
`sluice cat`, and with delta-rs and DuckDB for interop.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import (SLUICE, Expected, cat_table, compare_merged_to_reference, gen, run_once_ok,
                      sluice_env)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "interop"))
from peers import read_with_duckdb  # noqa: E402

OBJECTS = ["shop_orders", "public_accounts"]
OPTS = dict(tables=2, rows_per_table=40, changes_per_table=400, seed=61, late_files=3,
            files_per_minute=1, cdc_minutes=3 * 1440)
DAY_MS = 86_400_000


def day_of(ms: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=ms // DAY_MS)


def end_of_day_ms(day: dt.date) -> int:
    return ((day - dt.date(1970, 1, 1)).days + 1) * DAY_MS - 1


def snapshot(config: Path, env: dict, table: str, date, *flags) -> subprocess.CompletedProcess:
    return subprocess.run([SLUICE, "snapshot", "--config", str(config), "--table", table,
                           "--date", str(date), *flags], env=env, capture_output=True, text=True,
                          timeout=180)


def snapshot_ok(config, env, table, date, *flags) -> subprocess.CompletedProcess:
    proc = snapshot(config, env, table, date, *flags)
    assert proc.returncode == 0, f"sluice snapshot {table} {date} {flags}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def events_until(expected: Expected, obj: str, day: dt.date):
    end = end_of_day_ms(day)
    return [e for e in expected.events[obj] if e["source_timestamp_ms"] <= end]


def check(rows, expected, obj, day, what):
    events = events_until(expected, obj, day)
    if not events:
        assert rows == [], f"{what}: {len(rows)} rows before any change"
        return
    try:
        compare_merged_to_reference(rows, expected, obj, events)
    except AssertionError as e:
        raise AssertionError(f"{what}: {e}") from None


def canonical(rows):
    return sorted(json.dumps(r, sort_keys=True, default=str) for r in rows)


def commit_actions(table: Path, version: int):
    with open(table / "_delta_log" / f"{version:020d}.json") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def ingest(tmp_path, config, **extra):
    src, sink, late = tmp_path / "src", tmp_path / "sink", tmp_path / "late"
    gen(src, phase=1, **OPTS)
    gen(late, emit_late_only=True, **OPTS)
    expected_all = Expected(src)
    late_files = {f["path"] for f in expected_all.files if f["late"]}
    assert late_files, "the stream should have late files"
    env = sluice_env(src, sink, **extra)
    run_once_ok(config, env)
    return src, sink, late, expected_all, late_files, env


def days_of(expected: Expected):
    times = [e["source_timestamp_ms"] for obj in OBJECTS for e in expected.events[obj]]
    first, last = day_of(min(times)), day_of(max(times))
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    assert len(days) >= 4, days
    return days


def without_late(expected: Expected, late_files):
    class View:
        pass
    view = View()
    view.__dict__.update(expected.__dict__)
    view.events = {obj: [e for e in evs if e["file"] not in late_files]
                   for obj, evs in expected.events.items()}
    view.kinds = expected.kinds
    return view


def test_versioned_snapshots_per_day_rerun_refusals_rebuild_and_late_files(tmp_path,
                                                                          empty_config):
    src, sink, late, expected_all, late_files, env = ingest(tmp_path, empty_config)
    expected = without_late(expected_all, late_files)
    days = days_of(expected_all)
    env = dict(env, SLUICE_SNAPSHOT_START_DATE=str(days[0]))
    for obj in OBJECTS:
        table = expected_all.qualified(obj)
        root = expected_all.log_path(sink, obj).parent / (expected_all.tables[obj]["table"]
                                                         + "_snapshot")
        # before the CDC start date: refused, nothing written
        before = days[0] - dt.timedelta(days=1)
        r = snapshot(empty_config, env, table, before)
        assert r.returncode != 0 and "before the CDC start date" in r.stderr, r.stderr
        assert not (root / f"version={before}").exists()
        r = snapshot(empty_config, env, table, "2025-02-30")
        assert r.returncode == 2 and "not a calendar date" in r.stderr, r.stderr

        for i, day in enumerate(days):
            proc = snapshot_ok(empty_config, env, table, day)
            assert ("full replay" if i == 0 else "incremental") in proc.stdout, proc.stdout
            assert "[sluice] snapshot:" in proc.stdout  # progress lines
            check(cat_table(root / f"version={day}"), expected, obj, day, f"{obj} {day}")
        # older versions are untouched by later ones
        check(cat_table(root / f"version={days[1]}"), expected, obj, days[1], f"{obj} kept")

        # re-running the latest date replaces it in one commit
        last = root / f"version={days[-1]}"
        before_rows = canonical(cat_table(last))
        proc = snapshot_ok(empty_config, env, table, days[-1])
        assert "incremental" in proc.stdout
        actions = commit_actions(last, 1)
        adds = [a for a in actions if "add" in a]
        removes = [a for a in actions if "remove" in a]
        assert adds and len(removes) == len(commit_actions(last, 0)) - sum(
            1 for a in commit_actions(last, 0) if "add" not in a), "one commit: remove + add"
        assert canonical(cat_table(last)) == before_rows

        # an older date: refused without --rebuild, replayed with it
        r = snapshot(empty_config, env, table, days[1])
        assert r.returncode != 0 and "older than the latest snapshot" in r.stderr, r.stderr
        assert "--rebuild" in r.stderr
        proc = snapshot_ok(empty_config, env, table, days[1], "--rebuild")
        assert "full replay" in proc.stdout
        check(cat_table(root / f"version={days[1]}"), expected, obj, days[1], f"{obj} rebuild")

        # interop: delta-rs and DuckDB read a version as Sluice does
        import deltalake
        mine = canonical(cat_table(last))
        dl = deltalake.DeltaTable(str(last)).to_pyarrow_table().to_pylist()
        assert canonical(dl) == mine
        duck = read_with_duckdb(str(last)).to_pylist()
        assert canonical(duck) == mine

    # late files arrive (older events): the next run of the latest date sees them
    run_once_ok(empty_config, sluice_env(late, sink))
    for obj in OBJECTS:
        table = expected_all.qualified(obj)
        root = expected_all.log_path(sink, obj).parent / (expected_all.tables[obj]["table"]
                                                         + "_snapshot")
        proc = snapshot_ok(empty_config, env, table, days[-1])
        assert "incremental" in proc.stdout, proc.stdout
        check(cat_table(root / f"version={days[-1]}"), expected_all, obj, days[-1],
              f"{obj} with late files")
        proc = snapshot_ok(empty_config, env, table, days[-2], "--rebuild")
        check(cat_table(root / f"version={days[-2]}"), expected_all, obj, days[-2],
              f"{obj} rebuild with late files")
        # the state was kept at the latest date: the next date is incremental
        nxt = days[-1] + dt.timedelta(days=1)
        proc = snapshot_ok(empty_config, env, table, nxt)
        assert "incremental" in proc.stdout, proc.stdout
        check(cat_table(root / f"version={nxt}"), expected_all, obj, nxt, f"{obj} next day")


def partition_rows(root: Path, day: dt.date):
    import deltalake
    t = deltalake.DeltaTable(str(root)).to_pyarrow_table()
    rows = [r for r in t.to_pylist() if r["snapshot_date"] == day]
    for r in rows:
        del r["snapshot_date"]
    return rows


def test_partitioned_snapshots_per_day_rerun_and_rebuild(tmp_path, empty_config):
    # no log compaction: many small log files, most skipped on their statistics
    src, sink, late, expected_all, late_files, env = ingest(tmp_path, empty_config,
                                                            SLUICE_SINK_MAINTENANCE="false")
    expected = without_late(expected_all, late_files)
    days = days_of(expected_all)
    env = dict(env, SLUICE_SNAPSHOT_START_DATE=str(days[0]))
    for obj in OBJECTS:
        table = expected_all.qualified(obj)
        root = expected_all.log_path(sink, obj).parent / (expected_all.tables[obj]["table"]
                                                         + "_snapshot")
        for i, day in enumerate(days):
            proc = snapshot_ok(empty_config, env, table, day, "--partitioned")
            assert ("full replay" if i == 0 else "incremental") in proc.stdout, proc.stdout
            if i >= 2:
                skipped = int(re.search(r"\((\d+) skipped by their _cdc_ts", proc.stdout).group(1))
                assert skipped > 0, proc.stdout
        meta = [a for a in commit_actions(root, 0) if "metaData" in a][0]["metaData"]
        assert meta["partitionColumns"] == ["snapshot_date"]
        for day in days:
            rows = partition_rows(root, day)
            check(rows, expected, obj, day, f"{obj} partition {day}")
            # sluice cat (all partitions) agrees with delta-rs
        mine = [r for r in cat_table(root)]
        assert len(mine) == sum(len(partition_rows(root, d)) for d in days)
        duck = read_with_duckdb(str(root)).to_pylist()
        assert canonical(duck) == canonical(mine)

        # re-run of the latest date: the partition is replaced, not doubled
        n_before = len(partition_rows(root, days[-1]))
        snapshot_ok(empty_config, env, table, days[-1], "--partitioned")
        assert len(partition_rows(root, days[-1])) == n_before
        for day in days:
            check(partition_rows(root, day), expected, obj, day, f"{obj} after re-run {day}")

        r = snapshot(empty_config, env, table, days[0], "--partitioned")
        assert r.returncode != 0 and "older than the latest snapshot" in r.stderr, r.stderr
        # the other layout under the same root is refused
        r = snapshot(empty_config, env, table, days[-1])
        assert r.returncode != 0 and "partitioned snapshot table" in r.stderr, r.stderr

    run_once_ok(empty_config, sluice_env(late, sink, SLUICE_SINK_MAINTENANCE="false"))
    for obj in OBJECTS:
        table = expected_all.qualified(obj)
        root = expected_all.log_path(sink, obj).parent / (expected_all.tables[obj]["table"]
                                                         + "_snapshot")
        snapshot_ok(empty_config, env, table, days[1], "--partitioned", "--rebuild")
        check(partition_rows(root, days[1]), expected_all, obj, days[1], f"{obj} rebuilt")
        # the other partitions are untouched by a rebuild of one
        check(partition_rows(root, days[2]), expected, obj, days[2], f"{obj} untouched")
        snapshot_ok(empty_config, env, table, days[-1], "--partitioned")
        check(partition_rows(root, days[-1]), expected_all, obj, days[-1], f"{obj} late")


def test_snapshot_config_keys_and_errors(tmp_path):
    """[snapshot] keys from the TOML file; a table without a log is a clear error."""
    cfg = tmp_path / "s.toml"
    sink = tmp_path / "sink"
    cfg.write_text(f'[sink]\npath = "{sink}"\n[snapshot]\nstart_date = "2025-01-02"\n'
                   'partitioned = true\npartition_column = "as_of"\n')
    env = sluice_env(tmp_path / "src", sink)
    r = snapshot(cfg, env, "shop.orders", "2025-01-01")
    assert r.returncode == 1 and "before the CDC start date 2025-01-02" in r.stderr, r.stderr
    r = snapshot(cfg, env, "shop.orders", "2025-01-03")
    assert r.returncode == 1 and "no Delta table" in r.stderr, r.stderr
    cfg.write_text('[snapshot]\nstart_date = "2025-13-01"\n')
    r = snapshot(cfg, env, "shop.orders", "2025-01-03")
    assert r.returncode == 2 and "snapshot.start_date" in r.stderr, r.stderr
    r = snapshot(tmp_path / "missing.toml", env, "orders", "2025-01-03")
    assert r.returncode == 2
