#!/usr/bin/env python3
"""The DMS variant's workload: the events of a bench/gen.py workload written
again as an AWS DMS task with an S3 target writes them, once as Parquet and
once as CSV, so the DMS bench and the Datastream bench measure the same
changes (same keys, ops, late events and payloads).

    dms_workload.py --avro DIR --out DIR [--jobs N] [--reference]

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

Two converters write the same files. The default one works a column at a
time: the Avro fields as Arrow arrays (bench/avro_columns.py: numpy decodes a
block's rows in lockstep, fastavro where it cannot), then decimals,
timestamps, the Op and AR_H_CHANGE_SEQ columns and the CSV text
(bench/dms_csv.py) with pyarrow.compute. ``--reference`` (``convert(...,
reference=True)``) is the first, row-by-row converter, kept to show that the
two agree (tests/tools/test_dms_workload.py); it is several times slower.
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


# ----------------------------------------------------------------------------
# The reference converter: one Python dict per row (--reference)
# ----------------------------------------------------------------------------
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


def convert_file_rows(job):
    """Reference worker: one Avro file into one Parquet and one CSV file, a
    row at a time."""
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
    return len(rows), written, False


# ----------------------------------------------------------------------------
# The converter: a column at a time
# ----------------------------------------------------------------------------
# The Avro fields the DMS rows are made of
_META = ["read_timestamp", "source_timestamp", "source_metadata.change_type",
         "source_metadata.log_file", "source_metadata.log_position"]
FIELDS = _META + [f"payload.{n}" for n in PAYLOAD]


def decimals(raw, typ):
    """Avro decimals (the unscaled value as big-endian two's complement, at
    most 16 bytes; a binary array) as decimal128 values of `typ`, whose
    scale is the Avro schema's."""
    import numpy as np
    import pyarrow as pa
    n = len(raw)
    _validity, offsets_buf, data_buf = raw.buffers()
    offsets = np.frombuffer(offsets_buf, np.int32, n + 1, raw.offset * 4).astype(np.int64)
    lens = np.diff(offsets)
    if n and lens.max() > 16:
        raise ValueError("an Avro decimal wider than 16 bytes")
    data = (np.frombuffer(data_buf, np.uint8) if data_buf is not None
            else np.zeros(0, np.uint8))[offsets[0]:offsets[-1]]
    starts = offsets[:-1] - offsets[0]
    # 16-byte big-endian words, each value right-aligned and sign-extended
    words = np.zeros((n, 16), np.uint8)
    has = lens > 0
    negative = np.zeros(n, bool)
    negative[has] = data[starts[has]] >= 0x80
    words[negative] = 0xFF
    row = np.repeat(np.arange(n), lens)
    within = np.arange(len(data)) - np.repeat(starts, lens)
    words[row, 16 - lens[row] + within] = data
    little = np.ascontiguousarray(words[:, ::-1])  # Arrow's decimal128 is little-endian
    validity = (None if raw.null_count == 0 else
                pa.py_buffer(np.packbits(raw.is_valid().to_numpy(zero_copy_only=False),
                                         bitorder="little")))
    out = pa.Array.from_buffers(typ, n, [validity, pa.py_buffer(little)],
                                null_count=raw.null_count)
    out.validate(full=True)  # a value beyond the precision fails here
    return out


def _column(raw, typ):
    """A payload column of type `typ` from its undecoded Avro values."""
    import pyarrow as pa
    if pa.types.is_decimal(typ):
        return decimals(raw, typ)
    if pa.types.is_timestamp(typ):  # epoch integers in the unit of typ
        return raw.cast(pa.int64()).view(typ)
    return raw.cast(typ)


def change_seqs(commit_ms, log_files, positions):
    """AR_H_CHANGE_SEQ of each change (change_seq(), a column at a time;
    Arrow arrays in, an Arrow array out)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    if log_files.null_count or positions.null_count or commit_ms.null_count:
        raise ValueError("a CDC record without its commit time, binlog file or position")
    ms = commit_ms.to_numpy()
    files = log_files.dictionary_encode()
    # a file's number once per distinct file, as change_seq() reads it
    numbers = np.array([int(f.rsplit(".", 1)[1]) for f in files.dictionary.to_pylist()],
                       np.int64)
    if len(numbers) and numbers.max() >= 1 << 31:
        raise ValueError("a binlog file number too large for a 63-bit change number")
    number = (numbers[files.indices.to_numpy()] << 32) | positions.to_numpy()
    seconds = pa.array(np.floor_divide(ms, 1000)).view(pa.timestamp("s"))
    hundredths = pa.array(np.mod(ms, 1000) // 10).cast(pa.string())
    return pc.binary_join_element_wise(
        pc.strftime(seconds, format="%Y%m%d%H%M%S"), pc.utf8_lpad(hundredths, 2, "0"),
        pc.utf8_lpad(pa.array(number).cast(pa.string()), 19, "0"), "")


def dms_table(n: int, cols: dict, full_load: bool):
    """The DMS rows (an Arrow table of arrow_schema()) of `n` Avro records
    given as the columns FIELDS (avro_columns.read_columns())."""
    import pyarrow as pa
    import pyarrow.compute as pc
    schema = arrow_schema()
    if full_load:
        op = pa.array(["I"] * n, pa.string())
        ts_ms = cols["read_timestamp"]
        seq = pa.nulls(n, pa.string())
    else:
        which = pc.index_in(cols["source_metadata.change_type"],
                            value_set=pa.array(list(_OPS), pa.string()))
        if which.null_count:
            raise ValueError(f"a change type other than {', '.join(_OPS)}")
        op = pa.array(list(_OPS.values()), pa.string()).take(which)
        ts_ms = cols["source_timestamp"]
        seq = change_seqs(ts_ms, cols["source_metadata.log_file"],
                          cols["source_metadata.log_position"])
    ts_text = ts_ms.view(pa.timestamp("ms")).cast(pa.timestamp("us")).cast(pa.string())
    payload = [_column(cols[f"payload.{name}"], schema.field(name).type) for name in PAYLOAD]
    return pa.Table.from_arrays([op, ts_text, *payload, seq], schema=schema)


def convert_file(job):
    """Worker: one Avro file into one Parquet and one CSV file; returns the
    rows, {format: (path, bytes)} and whether numpy decoded the Avro file."""
    # imported here, not at the top: the peers import this module for its
    # names, and their start-up is measured
    import avro_columns
    import dms_csv
    import pyarrow.parquet as pq
    src, out, name, full_load = job
    n, cols, fast = avro_columns.read_columns(src, FIELDS)
    table = dms_table(n, cols, full_load)
    written = {}
    path = os.path.join(table_dir(out, "parquet"), name + ".parquet")
    pq.write_table(table, path, compression="snappy")
    written["parquet"] = (path, os.path.getsize(path))
    path = os.path.join(table_dir(out, "csv"), name + ".csv")
    written["csv"] = (path, dms_csv.write(table, path))
    return table.num_rows, written, fast


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


def convert(avro_dir: str, out: str, jobs_n: int = 0, reference: bool = False) -> dict:
    """Writes the DMS files of the workload `avro_dir` under `out`, `jobs_n`
    files at a time (0: a process per core), with the row-by-row converter
    when `reference`; returns the manifest."""
    t0 = time.perf_counter()
    with open(os.path.join(avro_dir, "_bench", "manifest.json")) as fh:
        manifest = json.load(fh)
    for fmt in FORMATS:
        os.makedirs(table_dir(out, fmt), exist_ok=True)
    jobs = plan(avro_dir, out)
    procs = jobs_n or os.cpu_count() or 1
    worker = convert_file_rows if reference else convert_file
    if procs > 1 and len(jobs) > 1:
        with mp.get_context("fork").Pool(procs) as pool:
            done = list(pool.imap(worker, jobs, chunksize=1))
    else:
        done = [worker(j) for j in jobs]
    # full-load files first, then CDC in name order: the order a DMS task
    # writes them in, and Spark's file stream reads by mtime
    order = [i for i, j in enumerate(jobs) if j[3]] + [i for i, j in enumerate(jobs) if not j[3]]
    mtime0 = int(time.time()) - len(order) - 10
    for rank, i in enumerate(order):
        for path, _size in done[i][1].values():
            os.utime(path, (mtime0 + rank, mtime0 + rank))
    if sum(d[0] for d in done) != manifest["events"]:
        raise RuntimeError("DMS conversion lost events")
    manifest["dms"] = {
        "source_options": manifest["options"],
        "load_files": sum(1 for j in jobs if j[3]), "cdc_files": sum(1 for j in jobs if not j[3]),
        "bytes": {fmt: sum(d[1][fmt][1] for d in done) for fmt in FORMATS},
        "seconds": round(time.perf_counter() - t0, 3), "processes": procs,
        "converter": "rows" if reference else "columns",
        # files the numpy decoder read (the others went to fastavro)
        "numpy_decoded_files": sum(1 for d in done if d[2]),
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
    ap.add_argument("--jobs", type=int, default=0, help="processes (default: one per core)")
    ap.add_argument("--reference", action="store_true",
                    help="the row-by-row converter (slow; to check the default one)")
    opts = ap.parse_args(argv)
    print(summary(convert(opts.avro, opts.out, opts.jobs, opts.reference)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
