#!/usr/bin/env python3
"""The DMS variant's workload: the events of a bench/gen.py workload written
again as an AWS DMS task with an S3 target writes them, once as Parquet and
once as CSV, so the DMS bench and the Datastream bench measure the same
changes (same keys, ops, late events and payloads).

    dms_workload.py --avro DIR --out DIR [--jobs N]

For every Avro file of DIR, in arrival (path) order:

* a backfill file becomes a full-load file ``LOAD<8 hex digits>``;
* a CDC file (late files included) becomes a CDC file named by the time it
  was written, ``YYYYMMDD-HHMMSSmmm`` (the newest commit in it plus a
  second, kept strictly increasing so name order is arrival order).

Columns, as a task with ``IncludeOpForFullLoad``, ``TimestampColumnName =
dmsTimestamp`` and an ``AR_H_CHANGE_SEQ`` transformation rule writes them:
``Op`` (I/U/D; I in full-load files), ``dmsTimestamp`` (the transfer time in
the full load, the commit time in CDC; ``yyyy-MM-dd HH:mm:ss.ffffff``), the
22 payload columns, then ``AR_H_CHANGE_SEQ`` (empty in the full load; in CDC
the commit time as ``YYYYMMDDHHmmSShh`` and a 19-digit change number, here
the binlog sequence ``file_number << 32 | position``, so late events sort
where they belong). The change sequence orders CDC rows: the generator's
commit times have a resolution of one second, too coarse to order two
changes of one key.

Parquet: typed columns (decimal(18,2), timestamps in µs, UTC), snappy. CSV:
a header, ``NULL`` for NULL (DMS's CsvNullValue), RFC 4180 quoting; typed by
``CSV_TYPES`` in Sluice's configuration and in the peers.

Output: ``OUT/parquet/bench/orders/…`` and ``OUT/csv/bench/orders/…`` (a
source path each; the table is ``bench.orders``), ``OUT/_bench/manifest.json``
(the Avro workload's manifest plus files and bytes per format). File mtimes
follow arrival order, as gen.py's do (Spark's file stream orders by mtime).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import glob
import json
import multiprocessing as mp
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen  # noqa: E402

SCHEMA = "bench"
TABLE = "orders"
TIMESTAMP_COLUMN = "dmsTimestamp"
CHANGE_SEQ_COLUMN = "AR_H_CHANGE_SEQ"
FORMATS = ("parquet", "csv")
_OPS = {"INSERT": "I", "UPDATE-INSERT": "U", "UPDATE-DELETE": "U", "DELETE": "D"}


def _delta_type(avro_type) -> str:
    if isinstance(avro_type, dict):
        lt = avro_type.get("logicalType")
        if lt == "decimal":
            return f"decimal({avro_type['precision']},{avro_type['scale']})"
        if lt == "timestamp-micros":
            return "timestamp"
        return _delta_type(avro_type["type"])
    return {"long": "long", "int": "integer", "string": "string", "double": "double"}[avro_type]


# payload column -> Delta type name (Sluice's `columns` for CSV, the peers' casts)
CSV_TYPES = {name: _delta_type(t) for name, t, _ in gen.COLUMNS}
PAYLOAD = [name for name, _t, _n in gen.COLUMNS]


def arrow_schema():
    import pyarrow as pa

    def arrow(t: str):
        if t.startswith("decimal("):
            p, s = t[len("decimal("):-1].split(",")
            return pa.decimal128(int(p), int(s))
        return {"long": pa.int64(), "integer": pa.int32(), "string": pa.string(),
                "double": pa.float64(), "timestamp": pa.timestamp("us", tz="UTC")}[t]

    return pa.schema([pa.field("Op", pa.string()), pa.field(TIMESTAMP_COLUMN, pa.string())]
                     + [pa.field(n, arrow(CSV_TYPES[n])) for n in PAYLOAD]
                     + [pa.field(CHANGE_SEQ_COLUMN, pa.string())])


def table_dir(out: str, fmt: str) -> str:
    return os.path.join(out, fmt, SCHEMA, TABLE)


def _ts_text(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def change_seq(commit: dt.datetime, log_file: str, position: int) -> str:
    t = commit.astimezone(dt.timezone.utc)
    number = (int(log_file.rsplit(".", 1)[1]) << 32) | position
    return t.strftime("%Y%m%d%H%M%S") + f"{t.microsecond // 10000:02d}" + f"{number:019d}"


def dms_rows(records: list, full_load: bool) -> list:
    """The DMS rows (dicts in arrow_schema() order) of a list of Avro records."""
    rows = []
    for r in records:
        sm = r["source_metadata"]
        row = {"Op": "I" if full_load else _OPS[sm["change_type"]],
               TIMESTAMP_COLUMN: _ts_text(r["read_timestamp"] if full_load
                                          else r["source_timestamp"])}
        row.update(r["payload"])
        row[CHANGE_SEQ_COLUMN] = (None if full_load else
                                  change_seq(r["source_timestamp"], sm["log_file"],
                                             sm["log_position"]))
        rows.append(row)
    return rows


def _csv_cell(v) -> str:
    if v is None:
        return "NULL"  # unquoted: DMS's CsvNullValue
    if isinstance(v, dt.datetime):
        return _ts_text(v)
    return str(v)


def convert_file(job):
    """Worker: one Avro file into one Parquet and one CSV file."""
    import fastavro
    import pyarrow as pa
    import pyarrow.parquet as pq
    src, out, name, full_load = job
    with open(src, "rb") as fh:
        records = list(fastavro.reader(fh))
    rows = dms_rows(records, full_load)
    schema = arrow_schema()
    written = {}
    path = os.path.join(table_dir(out, "parquet"), name + ".parquet")
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path, compression="snappy")
    written["parquet"] = (path, os.path.getsize(path))
    path = os.path.join(table_dir(out, "csv"), name + ".csv")
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")  # QUOTE_MINIMAL, "" for a quote: RFC 4180
        w.writerow(schema.names)
        for row in rows:
            w.writerow([_csv_cell(row[c]) for c in schema.names])
    written["csv"] = (path, os.path.getsize(path))
    return len(rows), written


def plan(avro_dir: str, out: str) -> list:
    """(avro file, out, DMS file name, is full load) in arrival order."""
    files = sorted(glob.glob(os.path.join(avro_dir, gen.OBJECT, "*", "*", "*", "*", "*", "*.avro")))
    jobs, load_no, last_ms = [], 0, 0
    for path in files:
        if gen.BACKFILL_RM in os.path.basename(path):
            load_no += 1
            jobs.append((path, out, f"LOAD{load_no:08X}", True))
            continue
        # named by when DMS wrote it: the file's minute folder (its arrival)
        # plus its place, strictly increasing
        y, mo, d, h, mi = (int(x) for x in path.split(os.sep)[-6:-1])
        ms = int(dt.datetime(y, mo, d, h, mi, tzinfo=dt.timezone.utc).timestamp() * 1000)
        last_ms = max(ms, last_ms + 1)
        t = dt.datetime.fromtimestamp(last_ms / 1000, tz=dt.timezone.utc)
        jobs.append((path, out, t.strftime("%Y%m%d-%H%M%S") + f"{last_ms % 1000:03d}", False))
    return jobs


def convert(avro_dir: str, out: str, jobs_n: int = 0) -> dict:
    t0 = time.perf_counter()
    with open(os.path.join(avro_dir, "_bench", "manifest.json")) as fh:
        manifest = json.load(fh)
    for fmt in FORMATS:
        os.makedirs(table_dir(out, fmt), exist_ok=True)
    jobs = plan(avro_dir, out)
    procs = jobs_n or os.cpu_count() or 1
    if procs > 1 and len(jobs) > 1:
        with mp.get_context("fork").Pool(procs) as pool:
            done = list(pool.imap(convert_file, jobs, chunksize=1))
    else:
        done = [convert_file(j) for j in jobs]
    # full-load files first, then CDC in name order: the order a DMS task
    # writes them in, and Spark's file stream reads by mtime
    order = [i for i, j in enumerate(jobs) if j[3]] + [i for i, j in enumerate(jobs) if not j[3]]
    mtime0 = int(time.time()) - len(order) - 10
    for rank, i in enumerate(order):
        for path, _size in done[i][1].values():
            os.utime(path, (mtime0 + rank, mtime0 + rank))
    if sum(n for n, _w in done) != manifest["events"]:
        raise RuntimeError("DMS conversion lost events")
    manifest["dms"] = {
        "source_options": manifest["options"],
        "load_files": sum(1 for j in jobs if j[3]), "cdc_files": sum(1 for j in jobs if not j[3]),
        "bytes": {fmt: sum(w[fmt][1] for _n, w in done) for fmt in FORMATS},
        "seconds": round(time.perf_counter() - t0, 3),
    }
    os.makedirs(os.path.join(out, "_bench"), exist_ok=True)
    with open(os.path.join(out, "_bench", "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
    return manifest


def summary(m: dict) -> str:
    d = m["dms"]
    return (f"{m['events']:,} events: {d['load_files']} full-load + {d['cdc_files']} CDC files; "
            f"parquet {d['bytes']['parquet'] / 2**20:,.1f} MiB, "
            f"csv {d['bytes']['csv'] / 2**20:,.1f} MiB ({d['seconds']:.1f}s)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--avro", required=True, help="a bench/gen.py workload")
    ap.add_argument("--out", required=True)
    ap.add_argument("--jobs", type=int, default=0)
    opts = ap.parse_args(argv)
    print(summary(convert(opts.avro, opts.out, opts.jobs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
