"""`sluice snapshot` on a DMS stream (issue 14). Versioned mode: the table as
of the end of a date (source commit time, UTC) equals the reference model's
snapshot (full load + CDC committed before the next midnight); re-running a
date replaces it; an older date than the latest needs --rebuild; a date
before the configured CDC start date is refused with a clear error.
Partitioned mode (--partitioned): partition snapshot_date=D of one table is
the complete snapshot of D.

The generated CDC stream crosses midnight (2022-06-24 23:59 -> 2022-06-25).
"""
from __future__ import annotations

import subprocess

import pytest

from conftest import SLUICE
from conftest import read_table
from dms_support import (Scenario, check_merged, compare_rows, dms_env, model,
                          require_dms_source)


def _require_snapshot_command():
    out = subprocess.run([SLUICE, "--help"], capture_output=True, text=True).stdout
    if not any(line.split()[:1] == ["snapshot"] for line in out.splitlines()):
        pytest.fail(f"{SLUICE} has no `snapshot` command yet (issue 14's sluice snapshot)")


def _snapshot(sc, table, date, *extra):
    return subprocess.run([SLUICE, "snapshot", "--config", str(sc.config), "--table", table,
                           "--date", date, *extra], env=dms_env(), capture_output=True,
                          text=True, timeout=180)


def _version_path(sc, table, date):
    schema, name = table.split(".", 1)
    return sc.sink / schema / f"{name}_snapshot" / f"version={date}"


def _check_version(sc, settings, rows, table, date):
    want = model.snapshot(settings, rows, date)[table]
    path = _version_path(sc, table, date)
    assert (path / "_delta_log").is_dir(), f"no snapshot table at {path}"
    # check_merged reads sc.table_path(q); point it at the snapshot table
    real = sc.table_path
    sc.table_path = lambda q, suffix="": path if q == table and not suffix else real(q, suffix)
    try:
        check_merged(sc, {table: want})
    finally:
        sc.table_path = real


def test_dms_snapshot_versions(tmp_path):
    require_dms_source(tmp_path)
    _require_snapshot_command()
    sc = Scenario(tmp_path, format="parquet", before_image_prefix="BI_",
                  cdc_start_date="2022-06-24", transactions=120)
    # the snapshot command's own bound (docs/snapshots.md): the CDC start date
    sc.config.write_text(sc.config.read_text() + '\n[snapshot]\nstart_date = "2022-06-24"\n')
    settings, rows = sc.model()
    day1 = [r for r in rows["sales.orders"] if r.op != "load" and r.ts.date().isoformat() == "2022-06-24"]
    day2 = [r for r in rows["sales.orders"] if r.op != "load" and r.ts.date().isoformat() == "2022-06-25"]
    assert day1 and day2, "the stream must cross midnight"
    sc.run_once()
    t = "sales.orders"
    for date in ("2022-06-24", "2022-06-25"):
        p = _snapshot(sc, t, date)
        assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
        _check_version(sc, settings, rows, t, date)
    assert model.snapshot(settings, rows, "2022-06-24")[t] != model.snapshot(settings, rows, "2022-06-25")[t]
    # re-running the latest date replaces it with the same content
    p = _snapshot(sc, t, "2022-06-25")
    assert p.returncode == 0, p.stderr[-2000:]
    _check_version(sc, settings, rows, t, "2022-06-25")
    # an older date than the latest snapshot: only with --rebuild
    p = _snapshot(sc, t, "2022-06-24")
    assert p.returncode != 0 and "rebuild" in (p.stderr + p.stdout).lower(), p.stderr[-2000:]
    p = _snapshot(sc, t, "2022-06-24", "--rebuild")
    assert p.returncode == 0, p.stderr[-2000:]
    _check_version(sc, settings, rows, t, "2022-06-24")
    # before the CDC start date: refused, saying why
    p = _snapshot(sc, t, "2022-06-23", "--rebuild")
    assert p.returncode != 0, "a date before cdc_start_date was accepted"
    assert "2022-06-24" in (p.stderr + p.stdout), p.stderr[-2000:]
    assert not _version_path(sc, t, "2022-06-23").exists()
    # partitioned layout: one table, partition snapshot_date=D a complete snapshot
    a = "public.accounts"
    for date in ("2022-06-24", "2022-06-25"):
        p = _snapshot(sc, a, date, "--partitioned")
        assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    rows_back = read_table(sc.sink / "public" / "accounts_snapshot")
    for date in ("2022-06-24", "2022-06-25"):
        part = [r for r in rows_back if str(r["snapshot_date"]) == date]
        compare_rows(sc, a, part, model.snapshot(settings, rows, date)[a])
    assert {str(r["snapshot_date"]) for r in rows_back} == {"2022-06-24", "2022-06-25"}
    # the merged table is unaffected
    check_merged(sc, {t: model.merged(settings, rows)[t]})
