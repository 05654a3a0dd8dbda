#!/usr/bin/env python3
"""The benchmark of issue 5 (docs/BENCHMARKS.md): Sluice against Spark +
delta-spark, python deltalake (delta-rs) and the copy floor, on the same
generated Datastream workload, results checked equal before any time is
reported.

    bench.py small|medium|full|size

Steps: generate the workload (bench/gen.py, reused when its options match);
run `sluice run --once`, the copy floor, the delta-rs peer and the Spark peer
on it with the same batches (N files each); check every peer's merged table
against Sluice's (same keys, same payload values; log tables by row count;
the expected number of live rows from the generator); then Sluice alone over
batch sizes, and over table sizes (bench/size_sweep.py: one continuous
`sluice run` fed chunk by chunk). Writes bench/results/<scale>-latest.json
and a chart (docs/benchmarks-<scale>.png), and ends with the line
`throughput ratio: spark <x>, delta-rs <y>, copy-floor <z>`. Scale `size`
runs the table-size sweep alone (1M, 10M, 100M rows) and ends with the line
`table size cost ratio: <x>`.

Environment overrides: BENCH_ROWS, BENCH_CHANGES, BENCH_TABLE_SIZES (comma
separated), BENCH_BATCH_FILES (comma separated), BENCH_PEERS (default
"spark,delta-rs,copy-floor"), BENCH_WORK (work dir, default bench/work),
BENCH_RESULTS (results folder, default bench/results),
SLUICE_BIN; for the table-size sweep BENCH_SWEEP_BATCHES (100K-event batches
at each size, default 3), BENCH_CHUNK_ROWS (backfill rows a chunk, default
1,000,000), BENCH_GEN_JOBS (generator processes, default: cores),
BENCH_KEEP_SWEEP=1 (keep its tables under BENCH_WORK/size-sweep),
BENCH_CODEC (the Parquet codec Sluice and the copy floor write; default
snappy, what Spark and delta-rs write, so every engine does the same work).
Sluice also runs once with its own default codec (zstd), reported as
`sluice-zstd` with its own ratio line.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import procwatch  # noqa: E402
import size_sweep  # noqa: E402
from size_sweep import count_rows, dir_bytes, query_delta  # noqa: E402

PY = sys.executable
SCALES = {
    "small": dict(rows=200_000, changes=100_000, files_per_batch=2,
                  table_sizes=[200_000, 2_000_000], batch_files=[1, 2, 5, 10],
                  spark_memory="2g"),
    # peers at 5x the small scale in 10-file (~100K-event) batches; no sweeps
    "medium": dict(rows=1_000_000, changes=500_000, files_per_batch=10,
                   table_sizes=[], batch_files=[10], spark_memory="4g"),
    "full": dict(rows=10_000_000, changes=5_000_000, files_per_batch=10,
                 table_sizes=[1_000_000, 10_000_000, 100_000_000], batch_files=[1, 2, 5, 10, 20],
                 spark_memory="8g"),
    # the table-size sweep alone
    "size": dict(rows=0, changes=0, files_per_batch=10,
                 table_sizes=[1_000_000, 10_000_000, 100_000_000], batch_files=[],
                 sweep_only=True),
}
SWEEP_CHANGES = 100_000  # the events of the batch measured against table size


class BenchFailure(Exception):
    pass


def say(msg: str) -> None:
    print(f"[bench] {msg}", flush=True)


def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


# ----------------------------------------------------------------------------
# Workload
# ----------------------------------------------------------------------------
def ensure_dataset(work: str, name: str, rows: int, changes: int, late_share: float = 0.05) -> dict:
    out = os.path.join(work, "data", name)
    mpath = os.path.join(out, "_bench", "manifest.json")
    want = {"rows": rows, "changes": changes, "late_share": late_share}
    if os.path.exists(mpath):
        with open(mpath) as fh:
            m = json.load(fh)
        if all(m["options"].get(k) == v for k, v in want.items()):
            say(f"workload {name}: reusing {out} ({m['events']:,} events, {m['files']} files)")
            m["reused"] = True
            return m
    shutil.rmtree(out, ignore_errors=True)
    say(f"workload {name}: generating S={rows:,} backfill rows + C={changes:,} changes")
    r = subprocess.run([PY, os.path.join(HERE, "gen.py"), "--out", out, "--rows", str(rows),
                        "--changes", str(changes), "--late-share", str(late_share)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise BenchFailure(f"generator failed: {r.stderr}")
    say(r.stdout.strip())
    with open(mpath) as fh:
        m = json.load(fh)
    m["reused"] = False
    return m


# ----------------------------------------------------------------------------
# Engines
# ----------------------------------------------------------------------------
def sluice_bin() -> str:
    return os.environ.get("SLUICE_BIN", os.path.join(ROOT, "build", "sluice"))


def sluice_has_metrics() -> bool:
    r = subprocess.run([sluice_bin(), "run", "--help"], capture_output=True, text=True)
    return "--metrics" in (r.stdout + r.stderr)


def parse_sluice(res, metrics_path: str | None) -> dict:
    """Per-batch figures of a `sluice run`: from the --metrics file when the
    binary has it, else from the progress lines (one per batch, flushed as
    the batch commits; a batch's latency is the time since the line before)."""
    batches = []
    prev = 0.0
    for t, line in res.lines:
        if line.startswith("[sluice] ") and "_log v" in line and " rows" in line:
            rows = int(line.split(" files, " if " files, " in line else " file, ")[1].split(" rows")[0])
            batches.append({"rows": rows, "ms": (t - prev) * 1000.0})
            prev = t
    merges, ingests = [], []
    if metrics_path and os.path.exists(metrics_path):
        with open(metrics_path) as fh:
            for line in fh:
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                if ev.get("event") == "merge":
                    merges.append(ev)
                elif ev.get("event") == "ingest":
                    ingests.append(ev)
    return {"batches": batches, "merges": merges, "ingests": ingests,
            "metrics_file": bool(merges or ingests)}


def _usage(res) -> dict:
    return {"cpu_seconds": res.cpu_seconds, "load_before": res.load_before,
            "load_after": res.load_after}


def warm_page_cache(source: str) -> int:
    """Reads every input file once, so that no engine pays for the disk and
    the first one timed is not the only one that does (the 1.1 GB medium
    input read cold cost Sluice 14% of its run)."""
    total = 0
    for dirpath, _dirs, files in os.walk(source):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as f:
                while chunk := f.read(8 << 20):
                    total += len(chunk)
    return total


def bench_codec() -> str:
    return os.environ.get("BENCH_CODEC", "snappy")


def run_sluice(work: str, dataset: dict, source: str, files_per_batch: int, tag: str,
               codec: str | None = None, config: str | None = None,
               sink: str | None = None, extra_env: dict | None = None) -> dict:
    """`sluice run --once` over `source` (a Datastream folder unless `config`
    says otherwise: the DMS variant's source kind, keys and columns) into
    `sink` (default: a fresh local folder under work/sinks; a bucket URI is
    used as it is, `extra_env` saying how to reach it)."""
    if sink is None:
        sink = os.path.join(work, "sinks", f"sluice-{tag}")
        shutil.rmtree(sink, ignore_errors=True)
    # Merge after every log commit, as the peers' foreachBatch MERGE does
    # (Sluice's default merges every minute).
    env = dict(os.environ, SOURCE_PATH=source, DELTA_TABLE_PATH=sink, NAME="bench",
               SLUICE_SOURCE_MAX_FILES_PER_BATCH=str(files_per_batch),
               SLUICE_PIPELINE_MERGE_INTERVAL="0s",
               # The peers never compact or vacuum; maintenance is timed apart.
               SLUICE_SINK_MAINTENANCE="false",
               # The input was written just before and is complete: no
               # settle wait (a one-off 2 s at the start, not a throughput
               # cost; the format's completeness check still applies).
               SLUICE_SOURCE_SETTLE_INTERVAL="0s",
               SLUICE_SINK_COMPRESSION=codec or bench_codec(), **(extra_env or {}))
    cmd = [sluice_bin(), "run", "--once"] + (["--config", config] if config else [])
    metrics = None
    if sluice_has_metrics():
        metrics = os.path.join(work, "sinks", f"sluice-{tag}.metrics.jsonl")
        if os.path.exists(metrics):
            os.remove(metrics)
        cmd += ["--metrics", metrics]
    res = procwatch.run(cmd, env=env)
    if res.returncode != 0:
        tail = "\n".join(line for _t, line in res.lines[-10:])
        raise BenchFailure(f"sluice run exited {res.returncode}:\n{tail}\n{res.stderr[-2000:]}")
    summary = [line for _t, line in res.lines if "dead letters" in line and "total" in line]
    if summary and " 0 dead letters" not in summary[-1]:
        raise BenchFailure(f"sluice sent rows to the dead letters: {summary[-1]}")
    parsed = parse_sluice(res, metrics)
    return {"engine": "sluice", "seconds": res.seconds, "processing_seconds": res.seconds,
            "peak_rss_bytes": res.peak_rss_bytes, "sink": sink, **_usage(res),
            "log_table": os.path.join(sink, "bench", "orders_log"),
            "merged_table": os.path.join(sink, "bench", "orders"),
            "bytes_written": dir_bytes(sink) if "://" not in sink else None,
            "files_per_batch": files_per_batch,
            "codec": codec or bench_codec(), **parsed}


def reusable(work: str, name: str, dataset: str, run):
    """Runs one engine and keeps its figures in sinks/<name>.run.json. An
    engine named in BENCH_REUSE (comma-separated) whose figures for the same
    input and sink are still there is not run again: at the full scale the
    peers take an hour, and a failure after them should not cost it twice."""
    path = os.path.join(work, "sinks", f"{name}.run.json")
    if name in os.environ.get("BENCH_REUSE", "").split(",") and os.path.exists(path):
        with open(path) as fh:
            kept = json.load(fh)
        if kept.get("dataset") == dataset and os.path.isdir(kept["run"].get("sink", "")):
            say(f"{name}: reusing the figures of {kept['when']} ({path})")
            return kept["run"]
        say(f"{name}: kept figures are for another input or lost their sink; running it")
    r = run()
    with open(path, "w") as fh:
        json.dump({"dataset": dataset, "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                   "run": r}, fh)
    return r


def run_copy_floor(work: str, source: str, files_per_batch: int, tag: str = "",
                   extra=()) -> dict:
    out = os.path.join(work, "sinks", f"copy-floor{tag}")
    shutil.rmtree(out, ignore_errors=True)
    exe = os.path.join(ROOT, "build", "bench", "copy_floor")
    res = procwatch.run([exe, "--source", source, "--out", out,
                         "--files-per-batch", str(files_per_batch), "--compression", bench_codec(),
                         *extra])
    if res.returncode != 0:
        raise BenchFailure(f"copy_floor exited {res.returncode}: {res.stderr[-2000:]}")
    r = json.loads(res.lines[-1][1])
    return {"engine": "copy-floor", "seconds": res.seconds, "processing_seconds": r["seconds"],
            "peak_rss_bytes": res.peak_rss_bytes, "bytes_written": r["bytes_written"],
            **_usage(res), "events": r["events"], "decode_seconds": r["decode_seconds"],
            "write_seconds": r["write_seconds"],
            "batches": [{"ms": ms} for ms in r["batch_ms"]], "sink": out}


def run_peer(work: str, engine: str, source: str, files_per_batch: int, extra=(),
             tag: str = "") -> dict:
    sink = os.path.join(work, "sinks", f"{engine}{tag}")
    shutil.rmtree(sink, ignore_errors=True)
    script = {"spark": "spark_peer.py", "delta-rs": "deltars_peer.py"}[engine]
    cmd = [PY, os.path.join(HERE, "peers", script), "--source", source, "--sink", sink,
           "--files-per-batch", str(files_per_batch), *extra]
    res = procwatch.run(cmd)
    found = [line for _t, line in res.lines if line.startswith("BENCH_RESULT ")]
    if res.returncode != 0 or not found:
        raise BenchFailure(f"{engine} peer exited {res.returncode}: {res.stderr[-3000:]}")
    r = json.loads(found[-1][len("BENCH_RESULT "):])
    r.update({"seconds": res.seconds, "peak_rss_bytes": res.peak_rss_bytes, "sink": sink,
              **_usage(res),
              # a peer that deleted its unreferenced files to fit the disk says how many bytes
              "bytes_written": dir_bytes(os.path.join(sink, "bench")) + r.get("bytes_reclaimed", 0)})
    return r


# ----------------------------------------------------------------------------
# Equality
# ----------------------------------------------------------------------------
def read_delta(path: str, where: str = ""):
    import pyarrow as pa
    table = query_delta(path, "SELECT * FROM t" + (f" WHERE {where}" if where else ""))
    # DataFusion hands out string/binary views; take() has no kernel for them
    plain = {pa.string_view(): pa.string(), pa.binary_view(): pa.binary()}
    return table.cast(pa.schema([pa.field(f.name, plain.get(f.type, f.type)) for f in table.schema]))


def _first_diff(a, b):
    import pyarrow.compute as pc
    eq = pc.equal(a, b)
    both_null = pc.and_(pc.is_null(a), pc.is_null(b))
    same = pc.or_(pc.fill_null(eq, False), both_null)
    bad = pc.indices_nonzero(pc.invert(same))
    return bad[0].as_py() if len(bad) else None


EQUALITY_CHUNK_ROWS = 2_000_000


def key_range(path: str, key: str = "id") -> tuple:
    t = query_delta(path, f"SELECT min({key}) AS lo, max({key}) AS hi, count(*) AS n FROM t")
    return t.column(0)[0].as_py(), t.column(1)[0].as_py(), t.column(2)[0].as_py()


def check_merged_tables(ref_path: str, others: dict, payload: list, expected_rows: int,
                        key: str = "id") -> None:
    """Compares each merged table in `others` (engine -> path) with Sluice's,
    one key range at a time: at the full scale one 10M-row table is ~5 GB in
    memory and sorting copies it, so reading them whole ran the machine out
    of its 24 GB."""
    lo, hi, n = key_range(ref_path, key)
    if n != expected_rows:
        raise BenchFailure(f"sluice merged table has {n} rows, the generator expects "
                           f"{expected_rows}")
    if n == 0:
        return
    chunks = max(1, -(-n // EQUALITY_CHUNK_ROWS))
    step = -(-(hi - lo + 1) // chunks)
    for start in range(lo, hi + 1, step):
        where = f"{key} >= {start} AND {key} < {start + step}"
        ref = read_delta(ref_path, where)
        for name, path in others.items():
            check_equal(name, ref, read_delta(path, where), payload, key)
    for name, path in others.items():
        m = count_rows(path)
        if m != n:  # rows outside Sluice's key range
            raise BenchFailure(f"{name}: merged table has {m} rows, Sluice's {n}")


def check_equal(name: str, ref, other, payload: list, key: str = "id") -> None:
    """Raises BenchFailure naming the first differing key."""
    import numpy as np
    import pyarrow.compute as pc
    ref = ref.select(payload)
    other = other.select(payload)
    ref = ref.take(pc.sort_indices(ref, [(key, "ascending")]))
    other = other.take(pc.sort_indices(other, [(key, "ascending")]))
    rk = ref.column(key).to_numpy()
    ok = other.column(key).to_numpy()
    if len(rk) != len(ok) or not np.array_equal(rk, ok):
        only_ref = np.setdiff1d(rk, ok)
        only_other = np.setdiff1d(ok, rk)
        first = min([x for x in (only_ref[:1].tolist() + only_other[:1].tolist())], default=None)
        raise BenchFailure(
            f"{name}: merged table differs from Sluice's: {len(rk)} vs {len(ok)} rows; "
            f"first differing key {key}={first} (in Sluice only: {len(only_ref)}, "
            f"in {name} only: {len(only_other)})")
    for col in payload:
        a = ref.column(col).combine_chunks()
        b = other.column(col).combine_chunks()
        if b.type != a.type:
            b = b.cast(a.type)
        i = _first_diff(a, b)
        if i is not None:
            raise BenchFailure(
                f"{name}: merged table differs from Sluice's at {key}={rk[i]}: column {col}: "
                f"sluice {a[i].as_py()!r} vs {name} {b[i].as_py()!r}")


# ----------------------------------------------------------------------------
# Figures
# ----------------------------------------------------------------------------
def figures(run: dict, events: int) -> dict:
    ms = [b["ms"] for b in run.get("batches", [])]
    # Sluice: the merge commits of its --metrics file; peers: their own timing.
    merge_ms = [m["ms"] for m in run.get("merges", []) if m.get("ms") is not None] or [
        b["merge_ms"] for b in run.get("batches", []) if b.get("merge_ms") is not None]
    out = {
        "events": events,
        "seconds_wall": round(run["seconds"], 3),
        "seconds_processing": round(run["processing_seconds"], 3),
        "events_per_s": events / run["processing_seconds"],
        "events_per_s_wall": events / run["seconds"],
        "batches": len(ms),
        "batch_ms_p50": pct(ms, 50), "batch_ms_p99": pct(ms, 99),
        "peak_rss_bytes": run["peak_rss_bytes"],
        "bytes_written": run["bytes_written"],
    }
    if merge_ms:
        out["merge_ms_p50"] = pct(merge_ms, 50)
        out["merge_ms_p99"] = pct(merge_ms, 99)
    out["cpu_seconds"] = round(run["cpu_seconds"], 3)
    out["events_per_cpu_s"] = events / max(run["cpu_seconds"], 1e-9)
    out["load_before"], out["load_after"] = run["load_before"], run["load_after"]
    for k in ("startup_seconds", "decode_seconds", "write_seconds", "metrics_file"):
        if k in run:
            out[k] = run[k]
    if run["engine"] == "delta-rs":
        dec = sum(b["decode_ms"] for b in run["batches"]) / 1000
        out["decode_seconds"] = dec
        out["events_per_s_without_decode"] = events / max(run["processing_seconds"] - dec, 1e-9)
    out["per_batch"] = run.get("batches", [])
    return out


PEERS = ("spark", "delta-rs", "copy-floor")


def check_peers(runs: dict, payload: list, expected_live_rows: int, events: int) -> None:
    """Equality before any figure: every peer's merged table equals Sluice's
    (runs["sluice"]), and every log table holds every event."""
    peers_run = {e: runs[e]["merged_table"] for e in ("delta-rs", "spark") if e in runs}
    check_merged_tables(runs["sluice"]["merged_table"], peers_run, payload, expected_live_rows)
    n_log = count_rows(runs["sluice"]["log_table"])
    if n_log != events:
        raise BenchFailure(f"sluice log table has {n_log} rows, expected {events}")
    for engine in peers_run:
        n = count_rows(runs[engine]["log_table"])
        if n != events:
            raise BenchFailure(f"{engine} log table has {n} rows, expected {events}")
        say(f"{engine}: merged table equal to Sluice's ({expected_live_rows:,} rows), "
            f"log table {n:,} rows")


def compare(runs: dict, events: int) -> dict:
    """The figures of every engine, Sluice's throughput ratio to each peer
    and its CPU efficiency ratio: the machine is shared, and CPU time (whole
    process tree, Spark's session start included) is less sensitive to
    other load than wall time."""
    engines = {name: figures(run, events) for name, run in runs.items()}
    s = engines["sluice"]
    present = [name for name in PEERS if name in engines]
    return {"engines": engines,
            "throughput_ratio": {n: s["events_per_s"] / engines[n]["events_per_s"] for n in present},
            "cpu_efficiency_ratio": {n: s["events_per_cpu_s"] / engines[n]["events_per_cpu_s"]
                                     for n in present}}


def say_engines(engines: dict) -> None:
    for name, f in engines.items():
        say(f"{name:10s} {f['events_per_s']:>12,.0f} events/s  batch p50 "
            f"{f['batch_ms_p50'] or 0:8.0f} ms p99 {f['batch_ms_p99'] or 0:8.0f} ms  peak RSS "
            f"{f['peak_rss_bytes'] / 2**20:7.0f} MiB  written {f['bytes_written'] / 2**20:7.1f} MiB"
            f"  cpu {f['cpu_seconds']:7.1f}s  load {f['load_before']:.1f}->{f['load_after']:.1f}")


def ratio_line(ratios: dict, label: str = "") -> str:
    return (f"throughput ratio{label}: spark {fmt_ratio(ratios.get('spark'))}, "
            f"delta-rs {fmt_ratio(ratios.get('delta-rs'))}, "
            f"copy-floor {fmt_ratio(ratios.get('copy-floor'))}")


def machine() -> dict:
    info = {"nproc": os.cpu_count(), "platform": platform.platform()}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as fh:
            info["mem_gib"] = round(int(fh.readline().split()[1]) / 2**20, 1)
    except OSError:
        pass
    try:
        info["sluice_commit"] = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                               capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    # SLUICE_BIN may come from another checkout than the bench's commit above
    exe = os.path.abspath(sluice_bin())
    info["sluice_bin"] = exe
    try:
        info["sluice_bin_commit"] = subprocess.run(
            ["git", "-C", os.path.dirname(exe), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True).stdout.strip() or None
        info["sluice_bin_mtime"] = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                 time.gmtime(os.path.getmtime(exe)))
    except OSError:
        pass
    return info


def fmt_ratio(x) -> str:
    if x is None:
        return "n/a"
    return f"{x:.3g}"


def table_size_sweep(cfg: dict, work: str, results: dict) -> None:
    """Sluice alone: one 100K-event batch (10 files, no late file) into a
    table of S rows, for each S of cfg["table_sizes"] (bench/size_sweep.py)."""
    if not cfg["table_sizes"]:
        return
    if not sluice_has_metrics():
        raise BenchFailure(f"{sluice_bin()} has no `run --metrics`: the table-size sweep needs it")
    env = os.environ.get
    try:
        sweep = size_sweep.run(
            work, cfg["table_sizes"], sluice_bin(), batches=int(env("BENCH_SWEEP_BATCHES", "3")),
            batch_events=SWEEP_CHANGES, chunk_rows=int(env("BENCH_CHUNK_ROWS", "1000000")),
            gen_jobs=int(env("BENCH_GEN_JOBS", "0")), keep=env("BENCH_KEEP_SWEEP") == "1",
            say=say)
    except size_sweep.SweepFailure as e:
        raise BenchFailure(f"table-size sweep: {e}") from e
    results["table_size_sweep"] = sweep["steps"]
    results["table_size_sweep_run"] = sweep["run"]
    if sweep["cost_ratio"] is not None:
        results["table_size_cost_ratio"] = sweep["cost_ratio"]


def write_results(scale: str, results: dict) -> str:
    # BENCH_RESULTS: elsewhere than bench/results (the harness's tests)
    folder = os.environ.get("BENCH_RESULTS", os.path.join(HERE, "results"))
    os.makedirs(folder, exist_ok=True)
    out = os.path.join(folder, f"{scale}-latest.json")
    with open(out, "w") as fh:
        json.dump(results, fh, indent=1)
    say(f"results: {os.path.relpath(out, ROOT)}")
    return out


def scale_config(argv, scales: dict, program: str, overrides=()) -> tuple:
    """(scale, its configuration with BENCH_ROWS, BENCH_CHANGES and the
    (variable, key) pairs of `overrides` applied), or (None, None) after
    the usage line for an unknown scale."""
    scale = argv[1] if len(argv) > 1 else "small"
    if scale not in scales:
        print(f"usage: {program} {'|'.join(scales)}", file=sys.stderr)
        return None, None
    cfg = dict(scales[scale])
    for name, key in (("BENCH_ROWS", "rows"), ("BENCH_CHANGES", "changes"), *overrides):
        if os.environ.get(name):
            cfg[key] = int(os.environ[name])
    return scale, cfg


def main(argv) -> int:
    scale, cfg = scale_config(argv, SCALES, "bench.py")
    if scale is None:
        return 2
    if os.environ.get("BENCH_TABLE_SIZES") is not None:
        cfg["table_sizes"] = [int(x) for x in os.environ["BENCH_TABLE_SIZES"].split(",") if x]
    if os.environ.get("BENCH_BATCH_FILES") is not None:
        cfg["batch_files"] = [int(x) for x in os.environ["BENCH_BATCH_FILES"].split(",") if x]
    peers = os.environ.get("BENCH_PEERS", "spark,delta-rs,copy-floor").split(",")
    work = os.path.abspath(os.environ.get("BENCH_WORK", os.path.join(HERE, "work")))
    os.makedirs(os.path.join(work, "sinks"), exist_ok=True)
    if not os.path.exists(sluice_bin()):
        raise BenchFailure(f"{sluice_bin()} is missing: run make build")
    t_start = time.time()
    fpb = cfg["files_per_batch"]
    if cfg.get("sweep_only"):
        results = {"scale": scale, "config": cfg, "machine": machine(),
                   "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t_start))}
        table_size_sweep(cfg, work, results)
        results["seconds_total"] = time.time() - t_start
        write_results(scale, results)
        for t in results.get("table_size_sweep", []):
            say(f"{t['table_rows']:>12,} rows: 100K-event batch {t['batch_ms']:7,.0f} ms (merge "
                f"{t['merge_ms']:6,.0f} ms), RSS after {t['rss_after_bytes'] / 2**20:6,.0f} MiB, "
                f"peak {t['peak_rss_bytes'] / 2**20:6,.0f} MiB, tables "
                f"{t['bytes_written'] / 2**30:6.2f} GiB")
        ratio = results.get("table_size_cost_ratio")
        print(f"table size cost ratio: {fmt_ratio(ratio)}", flush=True)
        return 0

    ds = f"main-{cfg['rows']}-{cfg['changes']}"
    data = ensure_dataset(work, ds, cfg["rows"], cfg["changes"])
    source = os.path.join(work, "data", ds)
    events = data["events"]
    results = {"scale": scale, "config": cfg, "peers": peers, "machine": machine(),
               "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t_start)),
               "workload": {k: data[k] for k in ("options", "events", "backfill_events",
                                                 "cdc_events", "cdc_ops", "expected_live_rows",
                                                 "files", "backfill_files", "cdc_files",
                                                 "late_files", "bytes", "seconds")},
               "engines": {}}
    if not data.get("reused"):
        results["workload"]["generator_events_per_s"] = data["events"] / data["seconds"]

    runs = {}
    say(f"page cache: read {warm_page_cache(source) / 2**20:,.0f} MiB of input once")
    say(f"sluice: {events:,} events, {fpb} files per batch")
    runs["sluice"] = reusable(work, "sluice", ds,
                              lambda: run_sluice(work, data, source, fpb, "main"))
    say(f"sluice: {runs['sluice']['seconds']:.1f}s ({bench_codec()})")
    if bench_codec() != "zstd":
        runs["sluice-zstd"] = reusable(
            work, "sluice-zstd", ds,
            lambda: run_sluice(work, data, source, fpb, "zstd", codec="zstd"))
        say(f"sluice: {runs['sluice-zstd']['seconds']:.1f}s (zstd, its default)")
    if "copy-floor" in peers:
        runs["copy-floor"] = reusable(work, "copy-floor", ds,
                                      lambda: run_copy_floor(work, source, fpb))
        say(f"copy floor: {runs['copy-floor']['seconds']:.1f}s")
        if runs["copy-floor"]["events"] != events:
            raise BenchFailure(f"copy floor decoded {runs['copy-floor']['events']} events, "
                               f"expected {events}")
    if "delta-rs" in peers:
        say("delta-rs peer ...")
        runs["delta-rs"] = reusable(work, "delta-rs", ds,
                                    lambda: run_peer(work, "delta-rs", source, fpb))
        say(f"delta-rs: {runs['delta-rs']['seconds']:.1f}s")
    if "spark" in peers:
        say("spark peer (local[2]) ...")
        runs["spark"] = reusable(
            work, "spark", ds,
            lambda: run_peer(work, "spark", source, fpb, ["--memory", cfg["spark_memory"]]))
        say(f"spark: {runs['spark']['seconds']:.1f}s "
            f"(of which {runs['spark']['startup_seconds']:.1f}s session start)")

    check_peers(runs, [c["name"] for c in data["columns"]], data["expected_live_rows"], events)
    results.update(compare(runs, events))
    if "sluice-zstd" in runs:
        shutil.rmtree(runs["sluice-zstd"]["sink"], ignore_errors=True)
    ratios = results["throughput_ratio"]
    s_eps = results["engines"]["sluice"]["events_per_s"]
    results["codec"] = bench_codec()
    ratios_zstd = {}
    if "sluice-zstd" in results["engines"]:
        z_eps = results["engines"]["sluice-zstd"]["events_per_s"]
        ratios_zstd = {name: z_eps / results["engines"][name]["events_per_s"]
                       for name in ("spark", "delta-rs", "copy-floor")
                       if name in results["engines"]}
        results["throughput_ratio_sluice_zstd"] = ratios_zstd
    if "delta-rs" in results["engines"]:
        results["throughput_ratio_delta_rs_without_decode"] = (
            s_eps / results["engines"]["delta-rs"]["events_per_s_without_decode"])

    # Sluice alone: batch size.
    sweep = []
    for n_files in cfg["batch_files"]:
        r = runs["sluice"] if n_files == fpb else run_sluice(work, data, source, n_files, f"b{n_files}")
        cdc = r["batches"][-(-data["backfill_files"] // n_files):]  # batches without backfill files
        ms = [b["ms"] for b in cdc]
        rows = [b["rows"] for b in cdc]
        full = [b["ms"] for b in cdc if b["rows"] >= 0.8 * max(rows, default=0)]
        sweep.append({"files_per_batch": n_files, "events_per_s": events / r["seconds"],
                      "cdc_batches": len(ms), "cdc_events_per_batch_mean": sum(rows) / max(len(rows), 1),
                      "cdc_full_batch_ms_p50": pct(full, 50),
                      "cdc_us_per_event": sum(ms) * 1000 / max(sum(rows), 1),
                      "peak_rss_bytes": r["peak_rss_bytes"], "cpu_seconds": r["cpu_seconds"]})
        say(f"batch size {n_files} files: {events / r['seconds']:,.0f} events/s, CDC "
            f"{sweep[-1]['cdc_us_per_event']:.1f} us/event, full CDC batch p50 {pct(full, 50) or 0:.0f} ms")
        if r is not runs["sluice"]:
            shutil.rmtree(r["sink"], ignore_errors=True)  # 3.3 GB each at full scale
    results["batch_size_sweep"] = sweep

    table_size_sweep(cfg, work, results)

    results["seconds_total"] = time.time() - t_start
    write_results(scale, results)
    try:
        import chart
        size_json = os.path.join(ROOT, "bench", "results", "size-latest.json")
        size_results = None
        if not results.get("table_size_sweep") and os.path.exists(size_json):
            with open(size_json) as fh:
                size_results = json.load(fh)
        png = chart.render(results, os.path.join(ROOT, "docs", f"benchmarks-{scale}.png"),
                           size_results)
        say(f"chart: {os.path.relpath(png, ROOT)}")
    except ImportError as e:
        say(f"no chart ({e})")
    say_engines(results["engines"])
    if ratios_zstd:
        say(f"with zstd (Sluice's default codec; the peers write snappy): spark "
            f"{fmt_ratio(ratios_zstd.get('spark'))}, delta-rs {fmt_ratio(ratios_zstd.get('delta-rs'))}")
    print(ratio_line(ratios), flush=True)
    return 0


def cli(entry) -> None:
    """Runs entry(argv) as the program: its return code, or 1 after a
    BenchFailure's message."""
    try:
        sys.exit(entry(sys.argv))
    except BenchFailure as e:
        print(f"[bench] FAILED: {e}", file=sys.stderr, flush=True)
        sys.exit(1)


if __name__ == "__main__":
    cli(main)
