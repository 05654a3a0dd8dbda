"""Large DMS files ingested in parts (issue 13: a 1 GB data file never sits
whole in memory): with a part size of a few KB every generated file is split
into byte ranges, each its own unit and commit, and the log, merged and
history tables still equal the reference model exactly, for Parquet (parts
own the row groups that start in them) and CSV (parts own the records that
start in them); also under SIGKILL at random instants, where a restart goes
on with the remaining parts of a file.
"""
from __future__ import annotations

import json
import os
import random
import re

import pytest

from dms_support import (Scenario, check_history, check_log, check_merged, dms_env, kill_runs,
                         model, require_dms_source)

PARTS_ENV = dict(SLUICE_SOURCE_FILE_PART_BYTES="1500", SLUICE_SOURCE_SETTLE_INTERVAL="0s",
                 SLUICE_SOURCE_INCOMPLETE_TIMEOUT="0s")
PART_LABEL = re.compile(r"#(\d+)/(\d+)$")


def scenario(tmp_path, fmt: str, gzip: bool = False) -> Scenario:
    # one large full-load file per table, CDC files of 30 transactions, small
    # row groups so that a Parquet part holds several
    return Scenario(tmp_path, format=fmt, rows_per_table=300, load_file_rows=300,
                    transactions=150, txns_per_file=30, parquet_row_group_rows=7,
                    before_image_prefix="BI_", seed=23, gzip=gzip)


def committed_units(sc: Scenario, rows) -> list:
    out = []
    for q in rows:
        for f in sorted((sc.table_path(q, "_log") / "_delta_log").glob("*.json")):
            for line in f.read_text().splitlines():
                info = json.loads(line).get("commitInfo")
                if info and info.get("operation") == "WRITE":
                    out += [f"{q}/{u}" for u in
                            (info.get("operationParameters") or {}).get("units", [])]
    return out


def check_parts(units: list) -> None:
    """Every file split into parts was committed part by part, each part once."""
    parts = {}
    for u in units:
        m = PART_LABEL.search(u)
        if m:
            parts.setdefault(u[:m.start()], []).append((int(m.group(1)), int(m.group(2))))
    assert parts, f"no file was ingested in parts: {units[:10]}"
    for path, seen in parts.items():
        n = seen[0][1]
        assert sorted(k for k, _ in seen) == list(range(1, n + 1)), f"{path}: parts {seen}"


@pytest.mark.parametrize("fmt,gzip", [("parquet", False), ("csv", False), ("csv", True)],
                         ids=["parquet", "csv", "csv-gzip"])
def test_dms_files_in_parts_equal_the_model(tmp_path, fmt, gzip):
    """csv-gzip: each .csv.gz is decompressed once into a spool folder and its
    content split; the spools are gone at the end."""
    require_dms_source(tmp_path)
    sc = scenario(tmp_path, fmt, gzip)
    if gzip:
        assert list(sc.root.rglob("*.csv.gz")), "the scenario wrote no gzip files"
    settings, rows = sc.model()
    spool = tmp_path / "spool"
    sc.run_once(**PARTS_ENV, SLUICE_SOURCE_SPOOL_DIR=str(spool))
    assert not spool.exists() or not any(spool.iterdir()), list(spool.iterdir())
    check_parts(committed_units(sc, rows))
    check_log(sc, rows, settings=settings)
    check_merged(sc, model.merged(settings, rows))
    check_history(sc, model.history(settings, rows))


@pytest.mark.parametrize("fmt,gzip", [("parquet", False), ("csv", True)],
                         ids=["parquet", "csv-gzip"])
def test_dms_parts_exactly_once_under_sigkill(tmp_path, fmt, gzip):
    """csv-gzip: a kill can land while a file is being spooled, between its
    parts, or after its last part committed and before its spool was
    removed; the restart spools again, reuses, or removes it."""
    require_dms_source(tmp_path)
    sc = scenario(tmp_path, fmt, gzip)
    settings, rows = sc.model()
    spool = tmp_path / "spool"
    env = dms_env(SLUICE_SOURCE_MAX_FILES_PER_BATCH=1, SLUICE_PIPELINE_MERGE_INTERVAL="0s",
                  SLUICE_SOURCE_POLL_INTERVAL="100ms", SLUICE_SOURCE_SPOOL_DIR=str(spool),
                  **PARTS_ENV)
    seed = int(os.environ.get("E2E_KILL_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    kills, _, progress = kill_runs(sc, rows, env, rng, tmp_path / "runs.log", kills_wanted=12,
                                   max_commits_between=25)
    print(f"kill seed {seed}: {kills} kills, log commits after each {progress}")
    sc.run_once(**PARTS_ENV, SLUICE_SOURCE_MAX_FILES_PER_BATCH="1",
                SLUICE_SOURCE_SPOOL_DIR=str(spool))
    # spools of files whose last part committed are gone; a kill during a
    # spool's writing can leave only a temporary file behind
    left = [p.name for p in spool.iterdir()] if spool.exists() else []
    assert all(".tmp." in n for n in left), left
    units = committed_units(sc, rows)
    data_commits = len(units)
    mid = {p for p in progress if 0 < p < data_commits}
    assert len(mid) >= 3, f"the kills did not land mid-stream: {progress} of {data_commits} (seed {seed})"
    try:
        check_parts(units)
        assert len(units) == len(set(units)), "a unit was committed twice"
        check_log(sc, rows, settings=settings)
        check_merged(sc, model.merged(settings, rows))
        check_history(sc, model.history(settings, rows))
    except AssertionError as e:
        raise AssertionError(f"{e}\n(kill seed {seed})") from None
