"""The table-size sweep of the benchmark (docs/BENCHMARKS.md, "Cost against
table size"): how the cost of one 100K-event CDC batch grows with the number
of rows in the merged table, up to S = 100M, without the whole input on disk.

One `sluice run` (continuous, not --once) reads a source directory that this
harness feeds chunk by chunk (bench/gen.py's Stream): backfill chunks of fresh
keys until the table holds S rows, then, at each checkpoint S, `batches`
CDC batches of 100K events (10 files of 10K events, all taken in one Sluice
batch: SLUICE_SOURCE_MAX_FILES_PER_BATCH=10; no late events). A chunk is
written into a staging directory and moved into the source with one rename
(each chunk has a minute folder of its own), so Sluice never sees half of
it; the harness waits until `--metrics` shows every file of the chunk
ingested and merged, then deletes the chunk's files (Sluice's file cursor is
the set of ingested paths; files that disappear after ingestion are simply
no longer listed). Disk use is the two tables plus one chunk.

Per checkpoint: each batch's ingest and merge ms (from the metrics), the
process's RSS right after it (/proc), the peak RSS of the run so far
(VmHWM), the tables' bytes on disk, elapsed times. At the end, Sluice is
stopped and the merged table's row count (read with delta-rs, deletion
vectors applied) must equal the generator's count of live rows, and the log
table's the number of events.
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import time

import gen
import procwatch


class SweepFailure(Exception):
    pass


def dir_bytes(path: str) -> int:
    total = 0
    for base, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(base, f))
            except OSError:
                pass
    return total


def query_delta(path: str, sql: str):
    """Runs `sql` over the Delta table at `path`, registered as `t`, through
    delta-rs's query engine (deletion vectors applied); a pyarrow Table."""
    import pyarrow as pa
    from deltalake import DeltaTable, QueryBuilder
    qb = QueryBuilder().register("t", DeltaTable(path))
    return pa.RecordBatchReader.from_stream(qb.execute(sql)).read_all()


def count_rows(path: str) -> int:
    """Rows of a Delta table as delta-rs reads it (deletion vectors applied)."""
    return query_delta(path, "SELECT count(*) AS n FROM t").column(0)[0].as_py()


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def gib(n: float) -> str:
    return f"{n / 2**30:,.2f} GiB"


def hms(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}h{s // 60 % 60:02d}m{s % 60:02d}s" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class MetricsTail:
    """Reads the complete JSON lines `sluice run --metrics` appended since the
    last call, and keeps the run's totals: files and rows ingested, changes
    merged."""

    def __init__(self, path: str):
        self.path = path
        self.pos = 0
        self.partial = ""
        self.files = self.rows = self.changes = 0

    def read(self) -> list:
        try:
            with open(self.path) as fh:
                fh.seek(self.pos)
                text = fh.read()
                self.pos = fh.tell()
        except FileNotFoundError:
            return []
        text = self.partial + text
        lines = text.split("\n")
        self.partial = lines.pop()
        events = [json.loads(line) for line in lines if line.strip()]
        for e in events:
            if e.get("event") == "ingest":
                self.files += e.get("files", 0)
                self.rows += e.get("rows", 0)
            elif e.get("event") == "merge":
                self.changes += e.get("changes", 0)
        return events

    def wait(self, files: int, watch: procwatch.Watch, stall_seconds: float) -> list:
        """Waits until `files` files in all were ingested and the merged table
        has caught up with every row of them (a merge may come in a later
        step than its ingest); returns the metrics events read meanwhile."""
        got = []
        last = time.monotonic()
        while True:
            new = self.read()
            if new:
                got += new
                last = time.monotonic()
            bad = [e for e in got if e.get("dead_letters")]
            if bad:
                raise SweepFailure(f"sluice sent rows to the dead letters: {bad[0]}")
            if self.files > files:
                raise SweepFailure(f"sluice ingested {self.files} files, {files} were fed")
            if self.files == files and self.changes == self.rows:
                return got
            if not watch.running():
                tail = "\n".join(line for _t, line in watch.res.lines[-10:])
                raise SweepFailure(f"sluice run exited while {files - self.files} files were "
                                   f"pending:\n{tail}")
            if time.monotonic() - last > stall_seconds:
                raise SweepFailure(f"no sluice commit for {stall_seconds:.0f}s ({self.files} of "
                                   f"{files} files ingested, {self.rows - self.changes} rows "
                                   f"not merged)")
            time.sleep(0.05)


def place(staging: str, source: str, rel_dir: str) -> None:
    """Moves the chunk staging/rel_dir into source/rel_dir with one rename:
    that of the first folder on the path the source does not have yet."""
    parts = rel_dir.split(os.sep)
    for i in range(1, len(parts) + 1):
        prefix = os.path.join(*parts[:i])
        if not os.path.exists(os.path.join(source, prefix)):
            os.rename(os.path.join(staging, prefix), os.path.join(source, prefix))
            return
    raise SweepFailure(f"{os.path.join(source, rel_dir)} exists already: chunks must not share "
                       f"a minute folder")


def remove(source: str, rel_dir: str) -> None:
    """Deletes a consumed chunk and the folders it leaves empty (not the table
    folder)."""
    shutil.rmtree(os.path.join(source, rel_dir))
    parts = rel_dir.split(os.sep)
    for i in range(len(parts) - 1, 1, -1):
        try:
            os.rmdir(os.path.join(source, *parts[:i]))
        except OSError:
            break


def median(values):
    return statistics.median(values) if values else None


def run(work: str, sizes, sluice_bin: str, *, batches: int = 3, batch_events: int = 100_000,
        file_events: int = 10_000, chunk_rows: int = 1_000_000, poll: str = "200ms",
        gen_jobs: int = 0, keep: bool = False, stall_seconds: float = 1800.0,
        say=print) -> dict:
    """Runs the sweep over `sizes` (rows in the merged table); returns
    {"steps": [...], "cost_ratio": ..., "run": {...}}."""
    sizes = sorted(sizes)
    base = os.path.join(work, "size-sweep")
    shutil.rmtree(base, ignore_errors=True)
    source, staging, sink = (os.path.join(base, d) for d in ("source", "staging", "sink"))
    os.makedirs(source)
    metrics_path = os.path.join(base, "metrics.jsonl")
    log_table = os.path.join(sink, "bench", "orders_log")
    merged_table = os.path.join(sink, "bench", "orders")
    files_per_batch = batch_events // file_events
    env = dict(os.environ, SOURCE_PATH=source, DELTA_TABLE_PATH=sink, NAME="bench",
               SLUICE_SOURCE_MAX_FILES_PER_BATCH=str(files_per_batch),
               SLUICE_SOURCE_POLL_INTERVAL=poll,
               # chunks appear by one rename, whole: without this, files generated
               # last are still "settling" and a batch splits in two
               SLUICE_SOURCE_SETTLE_INTERVAL="0s",
               # merge after every log commit; no compaction or vacuum between batches
               SLUICE_PIPELINE_MERGE_INTERVAL="0s", SLUICE_SINK_MAINTENANCE="false")
    say(f"table-size sweep: {', '.join(f'{s:,}' for s in sizes)} rows; {batches} batches of "
        f"{batch_events:,} events at each; backfill in chunks of {chunk_rows:,} rows; "
        f"one continuous sluice run (poll {poll}) in {base}")
    watch = procwatch.Watch([sluice_bin, "run", "--metrics", metrics_path], env=env, interval=0.5)
    tail = MetricsTail(metrics_path)
    stream = gen.Stream(jobs=gen_jobs, cdc_file_events=file_events)
    t_start = time.perf_counter()
    state = {"peak_disk": 0, "disk_free_min": shutil.disk_usage(work).free}
    steps = []

    def feed(kind: str, n: int) -> dict:
        free = shutil.disk_usage(work).free
        state["disk_free_min"] = min(state["disk_free_min"], free)
        need = n * 800 * 2 + 2**30  # the chunk (~740 bytes an event), what Sluice writes, slack
        if free < need:
            raise SweepFailure(f"only {gib(free)} free on the disk of {work}, a chunk of {n:,} "
                               f"needs about {gib(need)}")
        shutil.rmtree(staging, ignore_errors=True)
        os.makedirs(staging)
        t0 = time.perf_counter()
        chunk = stream.backfill(staging, n) if kind == "backfill" else stream.cdc(staging, n)
        t1 = time.perf_counter()
        place(staging, source, chunk["dir"])
        events = tail.wait(stream.files, watch, stall_seconds)
        t2 = time.perf_counter()
        chunk["rss_bytes"] = watch.sample()  # also updates the peak (VmHWM)
        chunk["sink_bytes"] = dir_bytes(sink)
        state["peak_disk"] = max(state["peak_disk"], chunk["sink_bytes"] + chunk["bytes"])
        remove(source, chunk["dir"])
        chunk.update(events=events, gen_seconds=t1 - t0, wall_seconds=t2 - t1)
        merges = [e for e in events if e["event"] == "merge"]
        rows = merges[-1].get("table_rows") if merges else None
        if rows is not None and rows != stream.live:
            raise SweepFailure(f"merged table has {rows:,} rows after chunk {stream.chunks}, "
                               f"the generator expects {stream.live:,}")
        for _t, line in watch.res.lines:
            if "STOPPED" in line:
                raise SweepFailure(f"sluice: {line}")
        return chunk

    try:
        for size in sizes:
            t_step = time.perf_counter()
            load_before = procwatch.loadavg()
            bf = {"rows": 0, "wall": 0.0, "gen": 0.0, "busy_ms": 0.0, "bytes": 0}
            while stream.live < size:
                n = min(chunk_rows, size - stream.live)
                c = feed("backfill", n)
                bf["rows"] += n
                bf["wall"] += c["wall_seconds"]
                bf["gen"] += c["gen_seconds"]
                bf["bytes"] += c["bytes"]
                bf["busy_ms"] += sum(e["ms"] for e in c["events"])
                say(f"  {stream.live:>12,} / {size:,} rows: {n:,} backfill rows in "
                    f"{c['wall_seconds']:.1f}s ({n / c['wall_seconds']:,.0f} rows/s; generated "
                    f"in {c['gen_seconds']:.1f}s), RSS {mib(c['rss_bytes'])} (peak "
                    f"{mib(watch.peak_rss_bytes())}), tables {gib(c['sink_bytes'])}, "
                    f"{hms(time.perf_counter() - t_start)} elapsed")
            rows_before = stream.live
            measured = []
            for b in range(batches):
                c = feed("cdc", batch_events)
                ing = [e for e in c["events"] if e["event"] == "ingest"]
                mer = [e for e in c["events"] if e["event"] == "merge"]
                rec = {"ingest_ms": sum(e["ms"] for e in ing), "merge_ms": sum(e["ms"] for e in mer),
                       "wall_ms": c["wall_seconds"] * 1000,
                       "sluice_batches": len(ing), "files": [e["files"] for e in ing],
                       "rows": sum(e["rows"] for e in ing),
                       "upserts": sum(e.get("upserts", 0) for e in mer),
                       "deletes": sum(e.get("deletes", 0) for e in mer),
                       "ignored_stale": sum(e.get("ignored_stale", 0) for e in mer),
                       "table_rows_after": mer[-1].get("table_rows"),
                       "index_bytes": mer[-1].get("index_bytes"),
                       "rss_after_bytes": c["rss_bytes"]}
                rec["batch_ms"] = rec["ingest_ms"] + rec["merge_ms"]
                measured.append(rec)
                split = "" if len(ing) == 1 else f" (SPLIT into {len(ing)} Sluice batches: {rec['files']} files)"
                say(f"  {rows_before:>12,} rows: CDC batch {b + 1}/{batches}: {rec['batch_ms']:,.0f} ms "
                    f"(ingest {rec['ingest_ms']:,.0f}, merge {rec['merge_ms']:,.0f}; "
                    f"+{rec['upserts']:,} -{rec['deletes']:,}), RSS {mib(rec['rss_after_bytes'])}{split}")
            whole = [m for m in measured if m["sluice_batches"] == 1] or measured
            step = {
                "table_rows": rows_before, "target_rows": size, "batch_events": batch_events,
                "batch_ms": median([m["batch_ms"] for m in whole]),
                "ingest_ms": median([m["ingest_ms"] for m in whole]),
                "merge_ms": median([m["merge_ms"] for m in whole]),
                "batches_in_one_sluice_batch": sum(m["sluice_batches"] == 1 for m in measured),
                "batches": measured,
                "rss_after_bytes": measured[-1]["rss_after_bytes"],
                "index_bytes": measured[-1]["index_bytes"],  # the key index, when Sluice reports it
                "peak_rss_bytes": watch.peak_rss_bytes(),
                "log_table_bytes": dir_bytes(log_table),
                "merged_table_bytes": dir_bytes(merged_table),
                "bytes_written": dir_bytes(sink),
                "backfill_rows": bf["rows"], "backfill_seconds": bf["wall"],
                "backfill_rows_per_s": bf["rows"] / bf["wall"] if bf["wall"] else None,
                "backfill_sluice_ms": bf["busy_ms"], "backfill_input_bytes": bf["bytes"],
                "generate_seconds": bf["gen"],
                "step_seconds": time.perf_counter() - t_step,
                "elapsed_seconds": time.perf_counter() - t_start,
                "load_before": load_before, "load_after": procwatch.loadavg(),
            }
            steps.append(step)
            index = f" (key index {mib(step['index_bytes'])})" if step["index_bytes"] else ""
            say(f"table size {rows_before:,}: 100K-event batch {step['batch_ms']:,.0f} ms median "
                f"(ingest {step['ingest_ms']:,.0f}, merge {step['merge_ms']:,.0f}), RSS after "
                f"{mib(step['rss_after_bytes'])}{index}, peak {mib(step['peak_rss_bytes'])}; log table "
                f"{gib(step['log_table_bytes'])}, merged {gib(step['merged_table_bytes'])}; step "
                f"{hms(step['step_seconds'])}, {hms(step['elapsed_seconds'])} elapsed")
    finally:
        res = watch.stop()
        stream.close()
    if res.returncode != 0:
        raise SweepFailure(f"sluice run exited {res.returncode}: {res.stderr[-2000:]}")
    notes = [line for _t, line in res.lines if "retrying" in line or "STOPPED" in line]
    say("checking the tables (delta-rs) ...")
    merged_rows = count_rows(merged_table)
    log_rows = count_rows(log_table)
    if merged_rows != stream.live:
        raise SweepFailure(f"merged table has {merged_rows:,} rows, the generator expects "
                           f"{stream.live:,}")
    if log_rows != stream.events:
        raise SweepFailure(f"log table has {log_rows:,} rows, {stream.events:,} events were fed")
    say(f"merged table {merged_rows:,} rows = the generator's live rows; log table "
        f"{log_rows:,} rows = events fed")
    out = {
        "steps": steps,
        "cost_ratio": steps[-1]["batch_ms"] / steps[0]["batch_ms"] if len(steps) >= 2 else None,
        "run": {
            "seconds": res.seconds, "sluice_cpu_seconds": res.cpu_seconds,
            "peak_rss_bytes": res.peak_rss_bytes, "peak_disk_bytes": state["peak_disk"],
            "disk_free_min_bytes": state["disk_free_min"],
            "final_table_bytes": dir_bytes(sink),
            "cursor_bytes": dir_bytes(os.path.join(log_table, "_sluice")),
            "input_bytes": stream.bytes, "input_files": stream.files, "chunks": stream.chunks,
            "events": stream.events, "backfill_rows": stream.backfill_rows,
            "cdc_ops": dict(stream.cdc_ops), "expected_live_rows": stream.live,
            "merged_rows_read": merged_rows, "log_rows_read": log_rows,
            "chunk_rows": chunk_rows, "batches_per_size": batches, "poll_interval": poll,
            "files_per_batch": files_per_batch, "sluice_notes": notes,
        },
    }
    if not keep:
        shutil.rmtree(base, ignore_errors=True)
    return out
