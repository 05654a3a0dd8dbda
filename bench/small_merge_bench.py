#!/usr/bin/env python3
"""Small-batch merge latency against the merged table's commit count and
file count (issue 15, "Freshness and speed"; docs/BENCHMARKS.md, "Small
batches against table versions").

One continuous `sluice run` (log tables on, merge after every log commit)
reads a Datastream source directory that this harness feeds chunk by chunk
(bench/gen.py's Stream, as bench/size_sweep.py does): first --rows backfill
rows, then --batches CDC chunks of --events events each (one Avro file, one
Sluice batch). After each chunk it waits until `--metrics` shows the file
ingested and merged, then records the batch's ingest (log commit) and merge
milliseconds, the merged table's version, and its active data files and
deletion vectors (tailing the merged table's `_delta_log` JSON commits).
The table's row count stays nearly constant (the generator's op mix: ~63%
updates, ~26% inserts, ~11% deletes), so any growth of the latency is the
cost of versions or files, not rows.

Maintenance (compaction, checkpoints of side tables, vacuum) is off unless
--maintenance: every batch then adds a file to the merged table, the worst
case for per-file costs. Checkpoints of the tables themselves follow the
default interval.

Usage:
  bench/small_merge_bench.py [--rows 200000] [--events 24] [--batches 1000]
      [--maintenance] [--dir D] [--out results.json] [--perf-at VERSION]
Prints one line per --report-every batches and, at the end, the median
ingest / merge / total ms in windows around versions 50, 500 and 1000 (and
every 100 versions) as JSON. With --perf-at V it attaches
`perf record -g` to Sluice for the --perf-batches batches after merged version V
(perf.data in --dir).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import gen  # noqa: E402
import procwatch  # noqa: E402
from size_sweep import MetricsTail, place, remove  # noqa: E402


class DeltaTail:
    """Follows a Delta table's JSON commits: the active data files (path ->
    has a deletion vector) after each version read so far."""

    def __init__(self, table: str):
        self.log = os.path.join(table, "_delta_log")
        self.version = -1
        self.files: dict = {}

    def advance(self) -> None:
        while True:
            path = os.path.join(self.log, f"{self.version + 1:020d}.json")
            try:
                with open(path) as fh:
                    lines = fh.read().splitlines()
            except FileNotFoundError:
                return
            for line in lines:
                if not line.strip():
                    continue
                action = json.loads(line)
                if "add" in action:
                    self.files[action["add"]["path"]] = bool(action["add"].get("deletionVector"))
                elif "remove" in action:
                    self.files.pop(action["remove"]["path"], None)
            self.version += 1

    def counts(self):
        return len(self.files), sum(self.files.values())


def window(batches, version, half=10):
    """The batches whose merged version is within `half` of `version`."""
    return [b for b in batches if abs(b["version"] - version) <= half]


def med(values):
    return round(statistics.median(values), 1) if values else None


def summarize(batches, at) -> list:
    out = []
    for v in at:
        w = window(batches, v)
        if not w:
            continue
        out.append({"version": v, "batches": len(w),
                    "ingest_ms": med([b["ingest_ms"] for b in w]),
                    "merge_ms": med([b["merge_ms"] for b in w]),
                    "total_ms": med([b["ingest_ms"] + b["merge_ms"] for b in w]),
                    "wall_ms": med([b["wall_ms"] for b in w]),
                    "files": w[len(w) // 2]["files"], "dvs": w[len(w) // 2]["dvs"]})
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--events", type=int, default=24)
    ap.add_argument("--batches", type=int, default=1000)
    ap.add_argument("--maintenance", action="store_true")
    ap.add_argument("--dir", default=os.path.join(ROOT, "bench", "work", "small-merge"))
    ap.add_argument("--out")
    ap.add_argument("--report-every", type=int, default=100)
    ap.add_argument("--perf-at", type=int)
    ap.add_argument("--perf-batches", type=int, default=100)
    ap.add_argument("--sluice", default=os.environ.get("SLUICE_BIN",
                                                       os.path.join(ROOT, "build", "sluice")))
    args = ap.parse_args(argv)

    base = args.dir
    shutil.rmtree(base, ignore_errors=True)
    source, staging, sink = (os.path.join(base, d) for d in ("source", "staging", "sink"))
    os.makedirs(source)
    metrics_path = os.path.join(base, "metrics.jsonl")
    merged_table = os.path.join(sink, "bench", "orders")
    env = dict(os.environ, SOURCE_PATH=source, DELTA_TABLE_PATH=sink, NAME="bench",
               SLUICE_SOURCE_MAX_FILES_PER_BATCH="1", SLUICE_SOURCE_POLL_INTERVAL="20ms",
               SLUICE_SOURCE_SETTLE_INTERVAL="0s", SLUICE_PIPELINE_MERGE_INTERVAL="0s",
               SLUICE_SINK_MAINTENANCE="true" if args.maintenance else "false")
    watch = procwatch.Watch([args.sluice, "run", "--metrics", metrics_path], env=env,
                            interval=1.0)
    tail = MetricsTail(metrics_path)
    delta = DeltaTail(merged_table)
    stream = gen.Stream(jobs=1, cdc_file_events=args.events)
    perf = None
    batches = []
    t_start = time.perf_counter()
    load_before = procwatch.loadavg()

    def feed(kind: str, n: int):
        shutil.rmtree(staging, ignore_errors=True)
        os.makedirs(staging)
        chunk = stream.backfill(staging, n) if kind == "backfill" else stream.cdc(staging, n)
        t0 = time.perf_counter()
        place(staging, source, chunk["dir"])
        events = tail.wait(stream.files, watch, 600)
        wall = time.perf_counter() - t0
        remove(source, chunk["dir"])
        bad = [line for _t, line in watch.res.lines if "STOPPED" in line]
        if bad:
            raise RuntimeError(f"sluice: {bad[0]}")
        return events, wall

    try:
        left = args.rows
        while left > 0:
            n = min(left, 100_000)
            feed("backfill", n)
            left -= n
        print(f"[small-merge] {stream.live:,} rows backfilled in "
              f"{time.perf_counter() - t_start:.1f}s; {args.batches} batches of {args.events} "
              f"events (maintenance {'on' if args.maintenance else 'off'})", flush=True)
        for i in range(args.batches):
            events, wall = feed("cdc", args.events)
            ing = [e for e in events if e["event"] == "ingest"]
            mer = [e for e in events if e["event"] == "merge"]
            delta.advance()
            files, dvs = delta.counts()
            rec = {"batch": i, "version": mer[-1]["version"], "log_version": ing[-1]["version"],
                   "ingest_ms": sum(e["ms"] for e in ing), "merge_ms": sum(e["ms"] for e in mer),
                   "wall_ms": wall * 1000, "files": files, "dvs": dvs,
                   "table_rows": mer[-1].get("table_rows"), "steps": len(mer)}
            batches.append(rec)
            if mer[-1].get("table_rows") not in (None, stream.live):
                raise RuntimeError(f"merged table has {mer[-1]['table_rows']:,} rows, the "
                                   f"generator expects {stream.live:,}")
            if args.perf_at is not None and perf is None and rec["version"] >= args.perf_at:
                perf = subprocess.Popen(["perf", "record", "--call-graph", os.environ.get("PERF_CALLGRAPH", "dwarf"), "-F", "499", "-o",
                                         os.path.join(base, "perf.data"), "-p",
                                         str(watch.pid)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                perf_until = i + args.perf_batches
                time.sleep(0.5)
            if perf is not None and perf.poll() is None and i >= perf_until:
                perf.send_signal(2)
                perf.wait()
            if (i + 1) % args.report_every == 0:
                last = batches[-args.report_every:]
                print(f"[small-merge] batch {i + 1}: merged v{rec['version']}, {files} files "
                      f"({dvs} with DVs), {stream.live:,} rows; last {len(last)}: ingest "
                      f"{med([b['ingest_ms'] for b in last])} ms, merge "
                      f"{med([b['merge_ms'] for b in last])} ms, wall "
                      f"{med([b['wall_ms'] for b in last])} ms (median); load "
                      f"{procwatch.loadavg()}", flush=True)
    finally:
        if perf is not None and perf.poll() is None:
            perf.send_signal(2)
            perf.wait()
        res = watch.stop()
        stream.close()
    top = max(b["version"] for b in batches)
    at = sorted({50, 500, 1000} | set(range(100, top + 1, 100)))
    summary = {"rows": args.rows, "events": args.events, "batches": args.batches,
               "maintenance": args.maintenance, "sluice": args.sluice,
               "load_before": load_before, "load_after": procwatch.loadavg(),
               "seconds": time.perf_counter() - t_start,
               "sluice_cpu_seconds": res.cpu_seconds,
               "at": summarize(batches, at)}
    print(json.dumps({k: v for k, v in summary.items()}, indent=None))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(dict(summary, per_batch=batches), fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
