#!/usr/bin/env python3
"""The DMS variant of the benchmark (issue 14, docs/BENCHMARKS.md "DMS
source"): the events of bench.py's workload written as DMS Parquet and as
DMS CSV (bench/dms_workload.py), and on each format Sluice (`sluice run
--once`, source.kind = "dms") against the same peers as bench.py: Spark +
delta-spark doing what the snapshot generator and DLT's APPLY CHANGES do
(file stream, latest row per key by the DMS change sequence with the full
load first, MERGE) and python deltalake (delta-rs) doing the same with
pyarrow. Every peer's merged table is checked equal to Sluice's before any
figure. Then bench/snapshot_bench.py: `sluice snapshot` of a table for one
day of changes against writing that table once.

    dms_bench.py small|medium|full

Runner, equality check and figures are bench.py's. Writes
bench/results/dms-<scale>-latest.json and ends with one line per format,
`throughput ratio: spark <x>, delta-rs <y>, copy-floor <z> (dms-<format>)`.
The copy floor (bench/copy_floor.cc --format dms-<format>) reads the files
with the DMS source's own reader (CSV cells stay text: no casts) and writes
them once.

Environment: as bench.py (BENCH_ROWS, BENCH_CHANGES, BENCH_PEERS,
BENCH_WORK, BENCH_REUSE, BENCH_CODEC, SLUICE_BIN), plus BENCH_FORMATS
(default "parquet,csv") and BENCH_SNAPSHOT_ROWS (rows of the snapshot
measurement, its changes a tenth of them; 0 skips it).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402
import dms_workload  # noqa: E402
from bench import BenchFailure, say  # noqa: E402

SCALES = {
    "small": dict(rows=200_000, changes=100_000, files_per_batch=2, spark_memory="2g",
                  snapshot_rows=1_000_000),
    "medium": dict(rows=1_000_000, changes=500_000, files_per_batch=10, spark_memory="4g",
                   snapshot_rows=1_000_000),
    "full": dict(rows=10_000_000, changes=5_000_000, files_per_batch=10, spark_memory="8g",
                 snapshot_rows=10_000_000),
}


def ensure_dms(work: str, avro_name: str, avro: dict) -> dict:
    """The DMS files of the Avro workload `avro_name`, reused while its
    options match."""
    out = os.path.join(work, "data", f"dms-{avro_name}")
    mpath = os.path.join(out, "_bench", "manifest.json")
    if os.path.exists(mpath):
        with open(mpath) as fh:
            m = json.load(fh)
        if m.get("dms", {}).get("source_options") == avro["options"]:
            say(f"DMS workload: reusing {out}")
            return m
    shutil.rmtree(out, ignore_errors=True)
    say("DMS workload: writing the events as DMS Parquet and CSV")
    m = dms_workload.convert(os.path.join(work, "data", avro_name), out)
    say(f"DMS workload: {dms_workload.summary(m)}")
    return m


def sluice_config(out: str, fmt: str) -> str:
    """The configuration of the DMS task's files (path and sink come from
    the runner's environment)."""
    path = os.path.join(out, f"sluice-{fmt}.toml")
    lines = ['[source]', 'kind = "dms"', f'format = "{fmt}"', '', '[source.dms]',
             f'timestamp_column = "{dms_workload.TIMESTAMP_COLUMN}"',
             f'change_sequence_column = "{dms_workload.CHANGE_SEQ_COLUMN}"',
             'include_op_for_full_load = true', '',
             f'[tables."{dms_workload.SCHEMA}.{dms_workload.TABLE}"]', 'primary_keys = ["id"]']
    if fmt == "csv":
        cols = ", ".join(f'{n} = "{t}"' for n, t in dms_workload.CSV_TYPES.items())
        lines.append(f"columns = {{ {cols} }}")
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def run_format(work: str, cfg: dict, peers: list, dms: dict, fmt: str, ds: str) -> dict:
    """Sluice and the peers on one format; equality checked; figures."""
    out = os.path.join(work, "data", f"dms-{ds}")
    source = os.path.join(out, fmt)
    fpb = cfg["files_per_batch"]
    key = f"dms-{ds}-{fmt}"
    tag = f"-dms-{fmt}"
    say(f"[{fmt}] page cache: read {bench.warm_page_cache(source) / 2**20:,.0f} MiB of input once")
    config = sluice_config(out, fmt)
    runs = {"sluice": bench.reusable(work, f"sluice{tag}", key, lambda: bench.run_sluice(
        work, dms, source, fpb, f"dms-{fmt}", config=config))}
    say(f"[{fmt}] sluice: {runs['sluice']['seconds']:.1f}s")
    peer_args = ["--format", f"dms-{fmt}"]
    if "copy-floor" in peers:
        runs["copy-floor"] = bench.reusable(work, f"copy-floor{tag}", key, lambda: bench.run_copy_floor(
            work, source, fpb, tag, peer_args))
        say(f"[{fmt}] copy floor: {runs['copy-floor']['seconds']:.1f}s")
        if runs["copy-floor"]["events"] != dms["events"]:
            raise BenchFailure(f"copy floor decoded {runs['copy-floor']['events']} events, "
                               f"expected {dms['events']}")
    if "delta-rs" in peers:
        runs["delta-rs"] = bench.reusable(work, f"delta-rs{tag}", key, lambda: bench.run_peer(
            work, "delta-rs", source, fpb, peer_args, tag=tag))
        say(f"[{fmt}] delta-rs: {runs['delta-rs']['seconds']:.1f}s")
    if "spark" in peers:
        runs["spark"] = bench.reusable(work, f"spark{tag}", key, lambda: bench.run_peer(
            work, "spark", source, fpb, peer_args + ["--memory", cfg["spark_memory"]], tag=tag))
        say(f"[{fmt}] spark: {runs['spark']['seconds']:.1f}s "
            f"(of which {runs['spark']['startup_seconds']:.1f}s session start)")
    bench.check_peers(runs, dms_workload.PAYLOAD, dms["expected_live_rows"], dms["events"])
    result = bench.compare(runs, dms["events"])
    result["input_bytes"] = dms["dms"]["bytes"][fmt]
    return result


def snapshot_measurement(work: str, rows: int) -> dict | None:
    """bench/snapshot_bench.py: `sluice snapshot` for one day of changes
    (a tenth of the rows) against writing the table once."""
    if rows <= 0:
        return None
    say(f"snapshot: {rows:,} rows, {rows // 10:,} changes in the day")
    r = subprocess.run([bench.PY, os.path.join(HERE, "snapshot_bench.py"), "--rows", str(rows),
                        "--changes", str(max(rows // 10, 1)),
                        "--dir", os.path.join(work, "snapshot")],
                       capture_output=True, text=True,
                       env=dict(os.environ, SLUICE_BIN=bench.sluice_bin()))
    if r.returncode != 0:
        raise BenchFailure(f"snapshot_bench.py failed: {r.stderr[-2000:]}")
    shutil.rmtree(os.path.join(work, "snapshot"), ignore_errors=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv) -> int:
    scale, cfg = bench.scale_config(argv, SCALES, "dms_bench.py",
                                    [("BENCH_SNAPSHOT_ROWS", "snapshot_rows")])
    if scale is None:
        return 2
    env = os.environ.get
    peers = env("BENCH_PEERS", "spark,delta-rs,copy-floor").split(",")
    formats = env("BENCH_FORMATS", "parquet,csv").split(",")
    work = os.path.abspath(env("BENCH_WORK", os.path.join(HERE, "work")))
    os.makedirs(os.path.join(work, "sinks"), exist_ok=True)
    if not os.path.exists(bench.sluice_bin()):
        raise BenchFailure(f"{bench.sluice_bin()} is missing: run make build")
    t_start = time.time()
    ds = f"main-{cfg['rows']}-{cfg['changes']}"
    avro = bench.ensure_dataset(work, ds, cfg["rows"], cfg["changes"])
    dms = ensure_dms(work, ds, avro)
    results = {"scale": f"dms-{scale}", "config": cfg, "peers": peers, "machine": bench.machine(),
               "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t_start)),
               "codec": bench.bench_codec(),
               "workload": {k: dms[k] for k in ("options", "events", "backfill_events",
                                                "cdc_events", "cdc_ops", "expected_live_rows")},
               "dms": dms["dms"], "formats": {}}
    for fmt in formats:
        say(f"[{fmt}] {dms['events']:,} events, {cfg['files_per_batch']} files per batch")
        results["formats"][fmt] = run_format(work, cfg, peers, dms, fmt, ds)
    snap = snapshot_measurement(work, cfg["snapshot_rows"])
    if snap:
        results["snapshot"] = snap
    results["seconds_total"] = time.time() - t_start
    bench.write_results(f"dms-{scale}", results)
    for fmt, r in results["formats"].items():
        say(f"[{fmt}] input {r['input_bytes'] / 2**20:,.1f} MiB")
        bench.say_engines(r["engines"])
    if snap:
        print(f"snapshot to write-once ratio: {snap['ratio_incremental_to_write_once']} "
              f"({snap['rows']:,} rows, {snap['changes']:,} changes)", flush=True)
    for fmt, r in results["formats"].items():
        print(f"{bench.ratio_line(r['throughput_ratio'])} (dms-{fmt})", flush=True)
    return 0


if __name__ == "__main__":
    bench.cli(main)
