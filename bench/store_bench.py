#!/usr/bin/env python3
"""The benchmark's workload on the S3 emulator (issue 13: "`make bench` can
run its workload on the S3 emulator and reports the ratio of its throughput
there to local disk").

    make bench BENCH_SCALE=s3          # bench/store_bench.py small
    bench/store_bench.py small|medium

Generates (or reuses) the workload of bench.py at that scale, starts moto's
S3 server on a free loopback port, uploads the input to a bucket (not timed),
then times `sluice run --once` twice with the same settings as bench.py:
local disk to local disk, and bucket to bucket (SOURCE_PATH and
DELTA_TABLE_PATH as s3:// URIs, the emulator reached through
AWS_ENDPOINT_URL as any S3-compatible store is). The merged table written
to the bucket must equal the local one (read back by delta-rs through the
same variables) before any figure is reported. Writes
bench/results/s3-<scale>-latest.json and ends with the line
`s3 throughput ratio: <x>` (bucket events/s over local events/s).
BENCH_ROWS / BENCH_CHANGES / BENCH_WORK / SLUICE_BIN as for bench.py;
BENCH_RESULTS_DIR moves the results file (the tests use it).

moto is a single-threaded Python server, so the ratio measures the
emulator as much as Sluice: it tells what the object-store path costs
against local disk on this machine, not what S3 itself would give.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "objstore"))
import bench  # noqa: E402
import emulator_process  # noqa: E402

BUCKET_SOURCE = "bench-source"
BUCKET_SINK = "bench-lake"


class Moto:
    """moto's S3 server on loopback (tests/objstore/emulator_process.py),
    stopped on exit (also on failure)."""

    def __init__(self, work: str):
        try:
            self.proc, self.endpoint = emulator_process.start_moto(
                Path(work) / "moto.log")
        except RuntimeError as e:
            raise bench.BenchFailure(f"moto did not start (is moto[server] installed? "
                                     f"scripts/install-emulators): {e}")
        # The variables every S3 client reads (Sluice, delta-rs, boto3).
        self.env = {"AWS_ENDPOINT_URL": self.endpoint, "AWS_REGION": "us-east-1",
                    "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                    "AWS_EC2_METADATA_DISABLED": "true", "AWS_ALLOW_HTTP": "true"}

    def client(self):
        import boto3
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="bench", aws_secret_access_key="bench")

    def upload_tree(self, bucket: str, local: str) -> int:
        s3 = self.client()
        n = 0
        for dirpath, _dirs, files in os.walk(local):
            for name in files:
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, local)
                if rel.startswith("_bench"):
                    continue  # the generator's manifest is not input
                s3.upload_file(path, bucket, rel)
                n += 1
        return n

    def stop(self) -> None:
        emulator_process.stop(self.proc)


def bench_work() -> str:
    return os.path.abspath(os.environ.get("BENCH_WORK", os.path.join(HERE, "work")))


def main(argv) -> int:
    scale = argv[1] if len(argv) > 1 else "small"
    if scale not in ("small", "medium"):
        print("usage: store_bench.py small|medium", file=sys.stderr)
        return 2
    cfg = dict(bench.SCALES[scale])
    for key, var in (("rows", "BENCH_ROWS"), ("changes", "BENCH_CHANGES")):
        if os.environ.get(var):
            cfg[key] = int(os.environ[var])
    work = bench_work()
    os.makedirs(os.path.join(work, "sinks"), exist_ok=True)
    ds = f"main-{cfg['rows']}-{cfg['changes']}"
    data = bench.ensure_dataset(work, ds, cfg["rows"], cfg["changes"])
    source = os.path.join(work, "data", ds)
    events, fpb = data["events"], cfg["files_per_batch"]

    bench.say(f"page cache: read {bench.warm_page_cache(source) / 2**20:,.0f} MiB of input once")
    bench.say(f"local disk: {events:,} events, {fpb} files per batch")
    local = bench.run_sluice(work, data, source, fpb, "local-for-s3")
    local_sink = local["sink"]
    bench.say(f"local disk: {local['seconds']:.1f}s")

    moto = Moto(work)
    try:
        s3 = moto.client()
        for b in (BUCKET_SOURCE, BUCKET_SINK):
            s3.create_bucket(Bucket=b)
        t0 = time.time()
        n = moto.upload_tree(BUCKET_SOURCE, source)
        bench.say(f"s3 emulator at {moto.endpoint}: uploaded {n} files in {time.time() - t0:.1f}s "
                  f"(not timed)")
        remote = bench.run_sluice(work, data, f"s3://{BUCKET_SOURCE}", fpb, "s3",
                                  sink=f"s3://{BUCKET_SINK}/lake", extra_env=moto.env)
        bench.say(f"s3 emulator: {remote['seconds']:.1f}s")
        # Equality before any figure: delta-rs reads the bucket through the
        # same variables Sluice used.
        os.environ.update(moto.env)
        payload = [c["name"] for c in data["columns"]]
        bench.check_merged_tables(os.path.join(local_sink, "bench", "orders"),
                                  {"sluice on s3": f"s3://{BUCKET_SINK}/lake/bench/orders"},
                                  payload, data["expected_live_rows"])
        n_log = bench.count_rows(f"s3://{BUCKET_SINK}/lake/bench/orders_log")
        if n_log != events:
            raise bench.BenchFailure(f"the log table on s3 has {n_log} rows, expected {events}")
        bench.say(f"s3 emulator: merged table equal to the local one "
                  f"({data['expected_live_rows']:,} rows), log table {n_log:,} rows")
    finally:
        moto.stop()

    results = {"scale": scale, "config": cfg, "machine": bench.machine(),
               "workload": {k: data[k] for k in ("events", "files", "bytes")},
               "engines": {"sluice-local": bench.figures(local, events),
                           "sluice-s3-emulator": bench.figures(remote, events)}}
    ratio = (results["engines"]["sluice-s3-emulator"]["events_per_s"] /
             results["engines"]["sluice-local"]["events_per_s"])
    results["s3_throughput_ratio"] = ratio
    results_dir = os.environ.get("BENCH_RESULTS_DIR", os.path.join(ROOT, "bench", "results"))
    out = os.path.join(results_dir, f"s3-{scale}-latest.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as fh:
        json.dump(results, fh, indent=1)
    for name, f in results["engines"].items():
        bench.say(f"{name:20s} {f['events_per_s']:>12,.0f} events/s  batch p50 "
                  f"{f['batch_ms_p50'] or 0:8.0f} ms p99 {f['batch_ms_p99'] or 0:8.0f} ms  "
                  f"peak RSS {f['peak_rss_bytes'] / 2**20:7.0f} MiB  cpu {f['cpu_seconds']:7.1f}s")
    shutil.rmtree(local_sink, ignore_errors=True)
    print(f"s3 throughput ratio: {bench.fmt_ratio(ratio)}", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except bench.BenchFailure as e:
        print(f"[bench] FAILED: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
