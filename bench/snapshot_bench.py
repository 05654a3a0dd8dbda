#!/usr/bin/env python3
"""`sluice snapshot` of a table for one day of changes against writing that
table once (issue 14: within 3x).

Builds a change log table `<sink>/bench/t_log` directly (pyarrow + `sluice
write`): day 0 holds ROWS inserts, day 1 holds CHANGES updates and deletes
of random keys. Then, timed:

  write once   `sluice write` of the table's rows (payload + _cdc_seq +
               _cdc_ts, the snapshot's columns) into a new table
  snapshot     `sluice snapshot --date <day 1>` after the snapshot of day 0
               (incremental: the state table + day 1's changes, then the
               copy into version=<day 1>)

Usage: bench/snapshot_bench.py [--rows 1000000] [--changes 100000] [--dir D]
Prints one JSON line with both times and their ratio.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parent.parent
SLUICE = os.environ.get("SLUICE_BIN", str(REPO / "build" / "sluice"))
DAY0 = dt.date(2025, 1, 1)
DAY_US = 86_400_000_000


def day_us(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days * DAY_US


def payload(rng, ids: np.ndarray):
    n = len(ids)
    return {
        "id": pa.array(ids, pa.int64()),
        "customer": pa.array(rng.integers(0, 1_000_000, n), pa.int64()),
        "amount": pa.array(rng.integers(0, 10_000_000, n) / 100.0, pa.float64()),
        "status": pa.array(np.array(["new", "paid", "shipped", "done"])[rng.integers(0, 4, n)]),
        "note": pa.array([f"note {i % 9973} for order" for i in ids]),
        "created_at": pa.array(rng.integers(1_600_000_000, 1_700_000_000, n) * 1_000_000,
                               pa.timestamp("us", "UTC")),
    }


def seqs(start: int, n: int) -> pa.Array:
    return pa.array([(start + i).to_bytes(8, "big") for i in range(n)], pa.binary())


def log_rows(rng, ids, ops, seq_start, ts_start_us):
    n = len(ids)
    cols = payload(rng, ids)
    ts = pa.array(ts_start_us + np.arange(n, dtype=np.int64) * (DAY_US // max(n, 1) // 2),
                  pa.timestamp("us", "UTC"))
    cols.update({
        "_cdc_op": pa.array(ops, pa.string()),
        "_cdc_seq": seqs(seq_start, n),
        "_cdc_ts": ts,
        "_cdc_ingested_at": ts,
        "_cdc_origin": pa.array([f"bench:{i}" for i in range(n)]),
    })
    return pa.table(cols)


def run(cmd, **kw) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--changes", type=int, default=100_000)
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="sluice_snapshot_bench_"))
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    rng = np.random.default_rng(7)

    ids = np.arange(1, args.rows + 1, dtype=np.int64)
    day0 = log_rows(rng, ids, ["insert"] * args.rows, 0, day_us(DAY0))
    changed = rng.choice(ids, size=args.changes, replace=False)
    ops = np.where(rng.random(args.changes) < 0.1, "delete", "update").tolist()
    day1 = log_rows(rng, changed, ops, args.rows, day_us(DAY0 + dt.timedelta(days=1)))
    pq.write_table(day0, work / "day0.parquet")
    pq.write_table(day1, work / "day1.parquet")
    table = day0.select([c for c in day0.column_names
                         if c not in ("_cdc_op", "_cdc_ingested_at", "_cdc_origin")])
    pq.write_table(table, work / "table.parquet")

    sink = work / "sink"
    log = sink / "bench" / "t_log"
    run([SLUICE, "write", str(log), "--input", str(work / "day0.parquet")])
    run([SLUICE, "write", str(log), "--input", str(work / "day1.parquet")])
    cfg = work / "sluice.toml"
    cfg.write_text(f'[sink]\npath = "{sink}"\n[tables."bench.t"]\nprimary_keys = ["id"]\n')

    write_once = run([SLUICE, "write", str(work / "once"), "--input", str(work / "table.parquet"),
                      "--no-deletion-vectors"])
    snap = [SLUICE, "snapshot", "--config", str(cfg), "--table", "bench.t", "--date"]
    full = run(snap + [str(DAY0)])
    incremental = run(snap + [str(DAY0 + dt.timedelta(days=1))])
    print(json.dumps({
        "rows": args.rows, "changes": args.changes,
        "write_once_s": round(write_once, 3),
        "snapshot_day0_full_replay_s": round(full, 3),
        "snapshot_day1_incremental_s": round(incremental, 3),
        "ratio_incremental_to_write_once": round(incremental / write_once, 2),
    }))
    if not args.dir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
