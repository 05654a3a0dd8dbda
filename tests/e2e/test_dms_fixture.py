"""The real DMS Parquet file (/work/shared/fixtures/dms, a PostgreSQL full
load: DMS_TIMESTAMP string first, no Op, fixed-length decimals,
TIMESTAMP_MILLIS, json/uuid/bytea) ingested by sluice: every value of the
log and merged tables equals pyarrow's reading of the file."""
from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pyarrow.parquet as pq

from conftest import SLUICE, cat_table, read_table
from dms_support import dms_env, model, require_dms_source

FIXTURE = Path("/work/shared/fixtures/dms/parquet/dms_test_table_LOAD00000001.parquet")


def test_real_dms_parquet_file_decodes_exactly(tmp_path):
    require_dms_source(tmp_path)
    root = tmp_path / "bucket"
    dest = root / "public" / "dms_test_table"
    dest.mkdir(parents=True)
    shutil.copy(FIXTURE, dest / "LOAD00000001.parquet")
    sink = tmp_path / "sink"
    cfg = tmp_path / "sluice.toml"
    cfg.write_text(f'[source]\nkind = "dms"\nformat = "parquet"\npath = "{root}"\n\n'
                   f'[source.dms]\ntimestamp_column = "DMS_TIMESTAMP"\n\n'
                   f'[sink]\npath = "{sink}"\n\n'
                   f'[tables."public.dms_test_table"]\nprimary_keys = ["id"]\n')
    proc = subprocess.run([SLUICE, "run", "--config", str(cfg), "--once"], env=dms_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    want = {r["id"]: r for r in pq.read_table(FIXTURE).to_pylist()}
    assert len(want) == 10
    for label, rows in (("log", read_table(sink / "public" / "dms_test_table_log")),
                        ("merged", cat_table(sink / "public" / "dms_test_table"))):
        got = {r["id"]: r for r in rows}
        assert set(got) == set(want), (label, sorted(got), sorted(want))
        bad = []
        for i, w in want.items():
            for col, v in w.items():
                if col == "DMS_TIMESTAMP":
                    ts = dt.datetime.strptime(v, "%Y-%m-%d %H:%M:%S.%f")
                    if label == "log" and not model.same(ts, got[i]["_cdc_ts"]):
                        bad.append(f"id {i}: _cdc_ts {got[i]['_cdc_ts']!r} != {v}")
                    continue
                if col not in got[i]:
                    bad.append(f"id {i}: column {col} missing")
                elif not model.same(v, got[i][col]):
                    bad.append(f"id {i}: {col} = {got[i][col]!r}, pyarrow {v!r}")
        assert not bad, f"{label}: " + "\n".join(bad[:20])
        if label == "log":
            assert {r["_cdc_op"] for r in rows} <= {"snapshot", "insert"}
