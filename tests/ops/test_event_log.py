"""The event log `<sink>/_sluice/events` of a real run, read by delta-rs and
DuckDB, agrees with the tables and with `sluice status --json`; a stopped
table shows as stopped until a later run commits it again (a "resumed" row);
retention removes old rows."""
import json
import shutil
import subprocess
import time

import pytest

from sluice_run import SLUICE, count_rows, env_for, gen, log_path, read_table

TABLES = ["public.accounts", "shop.orders"]


def duckdb_rows(path):
    import duckdb
    import duckdb_extension_delta  # noqa: F401  (the extension ships in this package)
    import os
    base = os.path.join(os.path.dirname(duckdb_extension_delta.__file__), "extensions")
    ext = os.path.join(base, "v" + duckdb.__version__, "delta.duckdb_extension")
    con = duckdb.connect(config={"autoinstall_known_extensions": False,
                                 "autoload_known_extensions": False})
    con.execute(f"LOAD '{ext}'")
    cur = con.execute(f"SELECT * FROM delta_scan('{path}')")
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def run_once(tmp_path, src, sink, *args, **env):
    config = tmp_path / "empty.toml"
    config.write_text("")
    return subprocess.run([SLUICE, "run", "--config", str(config), "--once", *args],
                          env=env_for(src, sink, **env), capture_output=True, text=True,
                          timeout=300)


def status_json(sink):
    proc = subprocess.run([SLUICE, "status", str(sink), "--json"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture
def stopped_run(tmp_path):
    """shop.orders refuses its schema change; public.accounts (whose
    version-2 files are held back) completes."""
    src, sink = tmp_path / "src", tmp_path / "sink"
    files = gen(src, tables=2, rows_per_table=30, changes_per_table=80, seed=9, late_files=0)
    held = tmp_path / "held"
    for f in files:
        if f["object"] == "public_accounts" and f["schema_version"] == 2:
            (held / f["path"]).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(src / f["path"], held / f["path"])
    proc = run_once(tmp_path, src, sink, DELTA_SCHEMA_EVOLUTION_STRATEGY="none")
    assert proc.returncode == 3, proc.stdout[-3000:] + proc.stderr
    return src, sink, proc


def test_event_log_agrees_with_tables_and_status(tmp_path, stopped_run):
    src, sink, proc = stopped_run
    events_path = sink / "_sluice" / "events"
    events = read_table(events_path)
    duck = duckdb_rows(events_path)
    assert len(duck) == len(events) > 0
    assert sorted((r["kind"], r["table"] or "", r["version"] if r["version"] is not None else -1)
                  for r in duck) == \
        sorted((r["kind"], r["table"] or "", r["version"] if r["version"] is not None else -1)
               for r in events)
    kinds = {r["kind"] for r in events}
    assert {"run_started", "run_stopped", "commit", "stopped", "schema_change"} <= kinds, kinds

    status = status_json(sink)
    assert status["stopped_tables"] == ["shop.orders"]
    by_name = {t["name"]: t for t in status["tables"]}
    assert sorted(by_name) == TABLES
    from deltalake import DeltaTable
    for name in TABLES:
        mine = [r for r in events if r["table"] == name]
        log_commits = [r for r in mine if r["kind"] == "commit" and r["delta_table"] == "log"]
        # every log commit is one row; their rows add up to the log table's
        rows = count_rows(log_path(sink, name))
        assert sum(r["rows"] for r in log_commits) == rows, name
        assert by_name[name]["rows"] == rows
        assert by_name[name]["log"]["version"] == DeltaTable(str(log_path(sink, name))).version()
        assert {r["version"] for r in log_commits} <= set(range(by_name[name]["log"]["version"] + 1))
        newest = max(log_commits, key=lambda r: r["time"])
        assert by_name[name]["lag_seconds_at_last_commit"] == pytest.approx(newest["lag_seconds"])
        assert by_name[name]["position"], name
    stop = [r for r in events if r["kind"] == "stopped"]
    assert [r["table"] for r in stop] == ["shop.orders"]
    assert "schema evolution is 'none'" in stop[0]["message"]
    assert by_name["shop.orders"]["state"] == "stopped"
    assert by_name["shop.orders"]["stopped_reason"] == stop[0]["message"]
    assert by_name["public.accounts"]["state"] == "ok"
    refused = [r for r in events if r["kind"] == "schema_change" and r["table"] == "shop.orders"]
    assert refused and json.loads(refused[-1]["details"]) == {"applied": False}

    # the human form names the stopped table and its reason
    human = subprocess.run([SLUICE, "status", str(sink)], capture_output=True, text=True, timeout=60)
    assert human.returncode == 0 and "STOPPED" in human.stdout and "shop.orders" in human.stdout

    # the operator allows the change: the next run resumes the table
    proc = run_once(tmp_path, src, sink, DELTA_SCHEMA_EVOLUTION_STRATEGY="merge")
    assert proc.returncode == 0, proc.stdout[-3000:]
    events = read_table(events_path)
    assert [r["table"] for r in events if r["kind"] == "resumed"] == ["shop.orders"]
    status = status_json(sink)
    assert status["stopped_tables"] == []
    assert {t["name"]: t["rows"] for t in status["tables"]} == \
        {n: count_rows(log_path(sink, n)) for n in TABLES}


def test_event_log_retention(tmp_path, stopped_run):
    src, sink, _ = stopped_run
    events_path = sink / "_sluice" / "events"
    first = {r["process"] for r in read_table(events_path)}
    assert len(first) == 1
    time.sleep(1.1)
    proc = run_once(tmp_path, src, sink, "--event-log-retention", "1s",
                    DELTA_SCHEMA_EVOLUTION_STRATEGY="merge")
    assert proc.returncode == 0, proc.stdout[-3000:]
    rows = read_table(events_path)
    assert not [r for r in rows if r["process"] in first], "rows older than the retention stayed"
    assert duckdb_rows(events_path) is not None


def test_spark_reads_the_event_log(tmp_path, stopped_run):
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "interop"))
    from spark_session import get_spark, stop_spark

    _, sink, _ = stopped_run
    events_path = str(sink / "_sluice" / "events")
    spark = get_spark()
    try:
        got = spark.read.format("delta").load(events_path).collect()
        ours = read_table(sink / "_sluice" / "events")
        assert len(got) == len(ours) > 0
        key = lambda kind, table, version: (kind, table or "", -1 if version is None else version)  # noqa: E731
        assert sorted(key(r["kind"], r["table"], r["version"]) for r in got) == \
            sorted(key(r["kind"], r["table"], r["version"]) for r in ours)
        stopped = spark.read.format("delta").load(events_path) \
            .where("kind = 'stopped'").select("table", "message").collect()
        assert [r["table"] for r in stopped] == ["shop.orders"]
    finally:
        stop_spark()
