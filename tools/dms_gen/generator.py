"""Realistic AWS DMS (Amazon S3 target) output from one seeded event stream.

One simulated source database (several tables) goes through a full load and
then a stream of committed transactions; the generator writes what a DMS task
with the chosen S3 endpoint settings writes for it:

* ``<root>/<schema>/<table>/LOAD00000001.parquet|.csv[.gz]``: the full load,
  a hexadecimal counter (… ``LOAD00000009``, ``LOAD0000000A`` …), with
  ``SEGMENTn_`` prefixes for a table loaded in parallel segments;
* ``<root>/<schema>/<table>/20220624-190132278.parquet|.csv[.gz]``: CDC files
  named by the time they were written (``YYYYMMDD-HHMMSSmmm``), several
  transactions each, all rows of one transaction in one file and sharing the
  commit timestamp; optionally some files whose names are not in
  transaction order;
* with ``DatePartitionEnabled``: the files under date folders
  (``DatePartitionSequence`` x ``DatePartitionDelimiter``);
* with ``PreserveTransactions``: the CDC rows of every table in
  ``<root>/<CdcPath>/CDC_TXN-YYYYMMDDHHMMSSmmm.csv``, each row
  ``Op,table_name,schema_name,[timestamp],values…`` in transaction order
  (always CSV, no header), full load as usual;
* the task's configuration for Sluice (``sluice.toml``) and a manifest
  (``_expected/``): tables, files and the true final state of the simulated
  database.

Facts used (AWS's public DMS documentation for S3 targets, and the real DMS
file in /work/shared/fixtures/dms): the timestamp column is a STRING
``yyyy-MM-dd HH:mm:ss.SSSSSS`` (transfer time in the full load, commit time
in CDC) and comes first after ``Op``; full-load rows carry no ``Op`` unless
IncludeOpForFullLoad; CdcInsertsOnly writes only the inserts (no ``Op`` in
Parquet, nor in CSV unless IncludeOpForFullLoad); columns added by
transformation rules (``AR_H_CHANGE_SEQ``, ``BI_<key>`` before images,
pk-only) come after the table's columns; ``AR_H_CHANGE_SEQ`` is 35 digits
``YYYYMMDDHHmmSShh`` + a 19-digit change number; CsvNullValue (default
``NULL``) marks NULL and keeps it apart from the empty string; CsvNoSupValue
marks a column missing from the supplemental log; Parquet decimals are
fixed-length byte arrays, timestamps µs (ms with ParquetTimestampInMillisecond,
``isAdjustedToUTC``), dates DATE32, times TIME32 ms, unsigned integers
UINT_8..UINT_64. No code was taken from other projects.

Everything derives from the seed: the same options give byte-identical files.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import os
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Dict, List, Optional, Tuple

import pyarrow as pa
import pyarrow.parquet as pq

# The full load starts here; CDC commits start a little later, while the full
# load's transfer timestamps are still running (DMS can stamp a full-load row
# later than a CDC change of the same key).
LOAD_START = dt.datetime(2022, 6, 24, 23, 58, 30)
CDC_START = dt.datetime(2022, 6, 24, 23, 59, 0)

# ---------------------------------------------------------------------------
# tables

# kind -> (Parquet/Arrow type, Sluice configuration type name: Delta's primitive names)
KINDS = {
    "long": (pa.int64(), "long"),
    "int": (pa.int32(), "integer"),
    "short": (pa.int16(), "short"),
    "byte": (pa.int8(), "byte"),
    "string": (pa.string(), "string"),
    "double": (pa.float64(), "double"),
    "float": (pa.float32(), "float"),
    "boolean": (pa.bool_(), "boolean"),
    "date": (pa.date32(), "date"),
    "timestamp": (None, "timestamp"),          # unit depends on the options
    "time": (pa.time32("ms"), "string"),       # Parquet only
    "binary": (pa.binary(), "binary"),         # Parquet only
    "uint8": (pa.uint8(), "short"),            # Parquet only
    "uint16": (pa.uint16(), "integer"),        # Parquet only
    "uint32": (pa.uint32(), "long"),           # Parquet only
    "uint64": (pa.uint64(), "decimal(20,0)"),  # Parquet only
}
PARQUET_ONLY = {"time", "binary", "uint8", "uint16", "uint32", "uint64"}


def is_decimal(kind: str) -> bool:
    return kind.startswith("decimal(")


def decimal_ps(kind: str) -> Tuple[int, int]:
    p, s = kind[len("decimal("):-1].split(",")
    return int(p), int(s)


@dataclass
class Table:
    schema: str
    name: str
    keys: List[str]
    columns: List[Tuple[str, str]]          # (name, kind), in source order
    added: Optional[Tuple[str, str]] = None  # column added mid-stream
    segments: int = 1                        # parallel-load segments

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    def kind(self, col: str) -> str:
        for c, k in self.columns + ([self.added] if self.added else []):
            if c == col:
                return k
        raise KeyError(col)


def make_tables(fmt: str) -> List[Table]:
    orders = Table("sales", "orders", ["id"], [
        ("id", "long"), ("customer", "string"), ("amount", "decimal(12,2)"), ("qty", "int"),
        ("status", "string"), ("note", "string"), ("region", "string"),
        ("created_at", "timestamp"), ("flag", "byte")], added=("priority", "int"))
    accounts = Table("public", "accounts", ["tenant", "acct_id"], [
        ("tenant", "string"), ("acct_id", "long"), ("balance", "decimal(20,4)"),
        ("active", "boolean"), ("opened", "date"), ("score", "double"), ("uid", "string"),
        ("big", "decimal(38,0)")], segments=2)
    items = Table("inv", "items", ["sku"], [
        ("sku", "string"), ("price", "double"), ("weight", "float"), ("small", "short"),
        ("stock", "uint32"), ("serial", "uint64"), ("tiny", "uint8"), ("mid", "uint16"),
        ("tod", "time"), ("blob", "binary"), ("label", "string")])
    tables = [orders, accounts, items]
    if fmt == "csv":
        for t in tables:
            t.columns = [(c, k) for c, k in t.columns if k not in PARQUET_ONLY]
    return tables


# ---------------------------------------------------------------------------
# options


@dataclass
class Options:
    out: str
    format: str = "parquet"               # parquet | csv
    seed: int = 1
    rows_per_table: int = 60
    transactions: int = 150
    load_file_rows: int = 5               # rows per LOAD file (>= 10 files: hex counters)
    txns_per_file: int = 6
    timestamp_column: str = "dmsTimestamp"
    change_sequence_column: str = ""      # e.g. AR_H_CHANGE_SEQ
    before_image_prefix: str = ""         # e.g. BI_ (add-before-image-columns, pk-only)
    csv_header: bool = True               # AddColumnName
    csv_null: str = "NULL"                # CsvNullValue
    csv_delimiter: str = ","
    csv_no_sup: str = ""                  # CsvNoSupValue (UseCsvNoSupValue) when not empty
    include_op_for_full_load: bool = False
    cdc_inserts_only: bool = False
    date_partition: str = ""              # DatePartitionSequence, "" = off
    date_delimiter: str = "SLASH"         # DatePartitionDelimiter
    preserve_transactions: bool = False
    cdc_path: str = "cdc"
    gzip: bool = False                    # CompressionType GZIP
    timestamp_ms: bool = False            # ParquetTimestampInMillisecond
    parquet_row_group_rows: int = 0       # rows per Parquet row group (0: one per file)
    out_of_order_files: int = 0           # CDC files per table whose names swap with the next
    added_column: bool = True             # a column added mid-stream
    deletes_of_unknown_keys: int = 3
    pk_changes: bool = True
    tables: Optional[List[str]] = None    # subset by qualified name
    sink: str = ""                        # sink path written into sluice.toml
    history: bool = True
    cdc_start_date: str = ""


# ---------------------------------------------------------------------------
# the simulated database


@dataclass
class Change:
    """One row change as DMS captures it (the true order is list order)."""
    table: str
    op: str                      # I | U | D
    row: Dict[str, Any]          # after image (D: the deleted row)
    ts: dt.datetime              # commit time
    txn: int
    before_key: Optional[Tuple] = None  # U of a key change: the old key
    no_sup: List[str] = field(default_factory=list)  # columns written as CsvNoSupValue
    change_seq: str = ""


@dataclass
class Generated:
    options: Options
    tables: List[Table]
    load_rows: Dict[str, List[Tuple[Dict[str, Any], dt.datetime]]]
    changes: List[Change]
    files: List[Dict[str, Any]]
    truth: Dict[str, Dict[Tuple, Dict[str, Any]]]   # final state per table (what DMS captured)


def _key(t: Table, row: Dict[str, Any]) -> Tuple:
    return tuple(row[k] for k in t.keys)


class Simulator:
    def __init__(self, opts: Options, tables: List[Table]):
        self.o = opts
        self.rng = random.Random(opts.seed)
        self.tables = {t.qualified: t for t in tables}
        self.state: Dict[str, Dict[Tuple, Dict[str, Any]]] = {q: {} for q in self.tables}
        self.next_id = {q: 1 for q in self.tables}
        self.added_on = {q: False for q in self.tables}

    # values -----------------------------------------------------------------
    def value(self, t: Table, col: str, kind: str, ident: int) -> Any:
        r = self.rng
        if r.random() < 0.08 and col not in t.keys and col not in ("region",):
            return None
        if col == "region":
            return "r%d" % (ident % 5)
        if kind in ("long",):
            return r.choice([r.randrange(-10**6, 10**6), r.randrange(2**40, 2**62), -2**63 + 7])
        if kind == "int":
            return r.choice([r.randrange(-1000, 1000), 2**31 - 1, -2**31])
        if kind == "short":
            return r.randrange(-2**15, 2**15)
        if kind == "byte":
            return r.randrange(0, 2)
        if kind == "uint8":
            return r.choice([r.randrange(0, 256), 255])
        if kind == "uint16":
            return r.choice([r.randrange(0, 2**16), 2**16 - 1])
        if kind == "uint32":
            return r.choice([r.randrange(0, 2**32), 2**32 - 1, 2**31 + 5])
        if kind == "uint64":
            return r.choice([r.randrange(0, 2**63), 2**64 - 1, 2**63 + 11])
        if kind == "double":
            return r.randrange(-10**9, 10**9) / 8
        if kind == "float":
            return r.randrange(-2**20, 2**20) / 4
        if kind == "boolean":
            return r.random() < 0.5
        if kind == "date":
            return dt.date(1990, 1, 1) + dt.timedelta(days=r.randrange(0, 15000))
        if kind == "timestamp":
            us = r.randrange(0, 10**6)
            if self.o.timestamp_ms:
                us -= us % 1000
            return dt.datetime(2015, 1, 1) + dt.timedelta(seconds=r.randrange(0, 3 * 10**8), microseconds=us)
        if kind == "time":
            return dt.time(r.randrange(24), r.randrange(60), r.randrange(60), r.randrange(1000) * 1000)
        if kind == "binary":
            return bytes(r.randrange(256) for _ in range(r.randrange(0, 12)))
        if is_decimal(kind):
            p, s = decimal_ps(kind)
            digits = r.randrange(1, p + 1)
            n = r.randrange(0, 10**digits)
            if r.random() < 0.3:
                n = -n
            return Decimal(n).scaleb(-s)
        if kind == "string":
            return self.text(col)
        raise ValueError(kind)

    def text(self, col: str) -> str:
        r = self.rng
        words = ["alpha", "Beta", "gamma", "déjà vu", "naïve", "日本", "x"]
        v = " ".join(r.choice(words) for _ in range(r.randrange(1, 4)))
        trick = r.random()
        if trick < 0.08:
            v += ', with "quotes", commas'
        elif trick < 0.12:
            v += "\nsecond line"
        elif trick < 0.15 and not (self.o.format == "csv" and self.o.csv_null == ""):
            v = ""
        return v

    def new_row(self, t: Table, ident: Optional[int] = None) -> Dict[str, Any]:
        q = t.qualified
        if ident is None:
            ident = self.next_id[q]
            self.next_id[q] += 1
        row = {}
        for c, k in t.columns:
            row[c] = self.value(t, c, k, ident)
        if t.name == "orders":
            row["id"] = ident
        elif t.name == "accounts":
            row["tenant"] = "t%d" % (ident % 3)
            row["acct_id"] = ident
        elif t.name == "items":
            row["sku"] = "SKU-%05d" % ident
        if t.added and self.added_on[q]:
            row[t.added[0]] = self.value(t, *t.added, ident)
        return row

    # the stream ---------------------------------------------------------------
    def full_load(self) -> Dict[str, List[Tuple[Dict[str, Any], dt.datetime]]]:
        out = {}
        for q, t in self.tables.items():
            rows = []
            for i in range(self.o.rows_per_table):
                row = self.new_row(t)
                self.state[q][_key(t, row)] = row
                # transfer time: runs on past the start of CDC
                ts = LOAD_START + dt.timedelta(seconds=i * 90.0 / max(1, self.o.rows_per_table),
                                               microseconds=self.rng.randrange(1000))
                rows.append((dict(row), ts))
            out[q] = rows
        return out

    def transactions(self) -> List[Change]:
        o, r = self.o, self.rng
        changes: List[Change] = []
        ts = CDC_START
        seq_no = 10**12
        qs = list(self.tables)
        unknown_left = o.deletes_of_unknown_keys
        for n in range(o.transactions):
            ts = ts + dt.timedelta(milliseconds=r.randrange(50, 4000), microseconds=r.randrange(1, 999))
            if n == o.transactions // 2 and o.added_column:
                for q in qs:
                    if self.tables[q].added:
                        self.added_on[q] = True
            for _ in range(r.choice([1, 1, 2, 3, 5, 8])):
                q = r.choice(qs)
                t = self.tables[q]
                st = self.state[q]
                roll = r.random()
                if unknown_left and roll < 0.03:
                    unknown_left -= 1
                    ghost = self.new_row(t, ident=900000 + n)
                    changes.append(Change(q, "D", ghost, ts, n))
                    continue
                if not st or roll < 0.35:
                    row = self.new_row(t)
                    st[_key(t, row)] = row
                    changes.append(Change(q, "I", dict(row), ts, n))
                    if r.random() < 0.2:  # updated again in the same transaction
                        row = dict(row)
                        for c, k in t.columns:
                            if c not in t.keys and c != "region" and r.random() < 0.5:
                                row[c] = self.value(t, c, k, 0)
                        st[_key(t, row)] = row
                        changes.append(Change(q, "U", dict(row), ts, n, before_key=_key(t, row)))
                    continue
                key = r.choice(sorted(st, key=repr))
                old = st[key]
                if roll < 0.55:
                    del st[key]
                    changes.append(Change(q, "D", dict(old), ts, n))
                    continue
                row = dict(old)
                for c, k in t.columns + ([t.added] if t.added and self.added_on[q] else []):
                    if c in t.keys or c == "region":
                        continue
                    if r.random() < 0.4:
                        row[c] = self.value(t, c, k, 0)
                if "note" in row and r.random() < 0.2:
                    row["note"] = None  # an update to NULL
                before = key
                if o.pk_changes and o.before_image_prefix and t.name == "orders" and r.random() < 0.12:
                    new_id = self.next_id[q]
                    self.next_id[q] += 1
                    row["id"] = new_id
                    del st[key]
                st[_key(t, row)] = row
                ch = Change(q, "U", dict(row), ts, n, before_key=before)
                if o.csv_no_sup and o.format == "csv" and "region" in row and r.random() < 0.6 \
                        and before == _key(t, row):
                    ch.no_sup = ["region"]
                changes.append(ch)
        # one change sequence per change, in true order (BEFORE-IMAGE-less)
        for ch in changes:
            seq_no += r.randrange(1, 4)
            hh = ch.ts.microsecond // 10000
            ch.change_seq = ch.ts.strftime("%Y%m%d%H%M%S") + "%02d" % hh + "%019d" % seq_no
        return changes


def apply_truth(tables: Dict[str, Table], load, changes: List[Change], inserts_only: bool):
    """What DMS captured, applied in true order: the expected final state."""
    state = {q: {} for q in tables}
    for q, rows in load.items():
        for row, _ in rows:
            state[q][_key(tables[q], row)] = dict(row)
    for ch in changes:
        t = tables[ch.table]
        st = state[ch.table]
        if inserts_only:
            if ch.op == "I":
                st[_key(t, ch.row)] = dict(ch.row)
            continue
        if ch.op == "D":
            st.pop(_key(t, ch.row), None)
        else:
            if ch.before_key is not None and ch.before_key != _key(t, ch.row):
                st.pop(ch.before_key, None)
            st[_key(t, ch.row)] = dict(ch.row)
    return state


# ---------------------------------------------------------------------------
# encoding


def ts_text(ts: dt.datetime) -> str:
    """DMS's timestamp column: yyyy-MM-dd HH:mm:ss.SSSSSS."""
    return ts.strftime("%Y-%m-%d %H:%M:%S.%f")


def name_time(ts: dt.datetime) -> str:
    """CDC file name: YYYYMMDD-HHMMSSmmm."""
    return ts.strftime("%Y%m%d-%H%M%S") + "%03d" % (ts.microsecond // 1000)


def date_folder(ts: dt.datetime, sequence: str, delimiter: str) -> str:
    parts = {
        "YYYYMMDD": ["%Y", "%m", "%d"],
        "YYYYMMDDHH": ["%Y", "%m", "%d", "%H"],
        "YYYYMM": ["%Y", "%m"],
        "MMYYYYDD": ["%m", "%Y", "%d"],
        "DDMMYYYY": ["%d", "%m", "%Y"],
    }[sequence]
    sep = {"SLASH": "/", "DASH": "-", "UNDERSCORE": "_", "NONE": ""}[delimiter]
    return sep.join(ts.strftime(p) for p in parts)


def csv_text(kind: str, v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if kind == "timestamp":
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")
    if kind == "date":
        return v.isoformat()
    if kind == "time":
        return v.strftime("%H:%M:%S.%f")
    if kind == "binary":
        return v.hex().upper()
    if is_decimal(kind):
        return format(v, "f")
    if kind in ("double", "float"):
        return repr(float(v))
    return str(v)


class Writer:
    def __init__(self, g: "Generated"):
        self.g = g
        self.o = g.options
        self.tables = {t.qualified: t for t in g.tables}

    # column layout of one file ----------------------------------------------
    def layout(self, t: Table, with_added: bool, with_op: bool) -> List[Tuple[str, str]]:
        o = self.o
        cols: List[Tuple[str, str]] = []
        if with_op:
            cols.append(("Op", "op"))
        if o.timestamp_column:
            cols.append((o.timestamp_column, "tscol"))
        cols += list(t.columns)
        if with_added and t.added:
            cols.append(t.added)
        if o.change_sequence_column:
            cols.append((o.change_sequence_column, "seqcol"))
        if o.before_image_prefix:
            cols += [(o.before_image_prefix + k, t.kind(k)) for k in t.keys]
        return cols

    def cell(self, t: Table, col: str, kind: str, row: Dict[str, Any], op: str, ts, seq,
             before_key) -> Any:
        o = self.o
        if kind == "op":
            return op
        if kind == "tscol":
            return ts_text(ts)
        if kind == "seqcol":
            return seq
        if o.before_image_prefix and col.startswith(o.before_image_prefix) and \
                col[len(o.before_image_prefix):] in t.keys and col not in dict(t.columns):
            if before_key is None:
                return None
            return before_key[t.keys.index(col[len(o.before_image_prefix):])]
        return row.get(col)

    def rows_for(self, t: Table, entries, with_added: bool, with_op: bool):
        """entries: (op, row, ts, seq, before_key, no_sup)."""
        layout = self.layout(t, with_added, with_op)
        out = []
        for op, row, ts, seq, bk, nosup in entries:
            out.append([(c, k, self.cell(t, c, k, row, op, ts, seq, bk), c in nosup)
                        for c, k in layout])
        return layout, out

    # formats --------------------------------------------------------------------
    def arrow_type(self, kind: str):
        if kind in ("op", "tscol", "seqcol"):
            return pa.string()
        if kind == "timestamp":
            return pa.timestamp("ms" if self.o.timestamp_ms else "us", tz="UTC")
        if is_decimal(kind):
            return pa.decimal128(*decimal_ps(kind))
        return KINDS[kind][0]

    def parquet_bytes(self, layout, rows) -> bytes:
        arrays, fields = [], []
        for i, (c, k) in enumerate(layout):
            typ = self.arrow_type(k)
            vals = []
            for r in rows:
                v = r[i][2]
                if k == "timestamp" and v is not None:
                    v = v.replace(tzinfo=dt.timezone.utc)
                vals.append(v)
            arrays.append(pa.array(vals, type=typ))
            fields.append(pa.field(c, typ, nullable=k not in ("tscol",)))
        table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
        buf = io.BytesIO()
        pq.write_table(table, buf, compression="gzip" if self.o.gzip else "snappy",
                       version="2.6", use_dictionary=False,
                       coerce_timestamps="ms" if self.o.timestamp_ms else "us",
                       row_group_size=self.o.parquet_row_group_rows or None)
        return buf.getvalue()

    def csv_bytes(self, layout, rows, header: bool) -> bytes:
        o = self.o
        buf = io.StringIO()
        w = csv.writer(buf, delimiter=o.csv_delimiter, quotechar='"', doublequote=True,
                       lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        if header:
            w.writerow([c for c, _ in layout])
        for r in rows:
            cells = []
            for c, k, v, nosup in r:
                if nosup:
                    cells.append(o.csv_no_sup)
                elif v is None:
                    cells.append(o.csv_null)
                elif k in ("op", "tscol", "seqcol"):
                    cells.append(v)
                else:
                    cells.append(csv_text(k, v))
            w.writerow(cells)
        data = buf.getvalue().encode("utf-8")
        # an empty string must stay apart from the NULL string: quote it
        return data

    def encode(self, layout, rows, header: bool) -> Tuple[bytes, str]:
        if self.o.format == "parquet":
            return self.parquet_bytes(layout, rows), ".parquet"
        data = self.csv_bytes(layout, rows, header)
        if self.o.gzip:
            return gzip.compress(data, mtime=0), ".csv.gz"
        return data, ".csv"


def _write(path: str, data: bytes, when: dt.datetime) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)
    secs = (when - dt.datetime(1970, 1, 1)).total_seconds()
    os.utime(path, (secs, secs))


def generate(opts: Options) -> Generated:
    tables = make_tables(opts.format)
    if opts.tables:
        tables = [t for t in tables if t.qualified in opts.tables]
    if not opts.added_column:
        for t in tables:
            t.added = None
    sim = Simulator(opts, tables)
    load = sim.full_load()
    changes = sim.transactions()
    tmap = {t.qualified: t for t in tables}
    truth = apply_truth(tmap, load, changes, opts.cdc_inserts_only)
    g = Generated(opts, tables, load, changes, [], truth)
    w = Writer(g)
    o = opts
    root = data_root(o)
    os.makedirs(root, exist_ok=True)

    def folder(t: Table, when: dt.datetime) -> str:
        base = os.path.join(root, t.schema, t.name)
        if o.date_partition:
            base = os.path.join(base, date_folder(when, o.date_partition, o.date_delimiter))
        return base

    # full load ---------------------------------------------------------------
    for t in tables:
        rows = load[t.qualified]
        segs = t.segments
        per_seg = [rows[i::segs] for i in range(segs)]
        for s, seg_rows in enumerate(per_seg):
            counter = 0
            for start in range(0, len(seg_rows), o.load_file_rows):
                counter += 1
                chunk = seg_rows[start:start + o.load_file_rows]
                entries = [("I", r, ts, None, None, []) for r, ts in chunk]
                layout, cells = w.rows_for(t, entries, with_added=False,
                                           with_op=o.include_op_for_full_load)
                # the change-sequence header is empty during the full load
                cells = [[(c, k, None if k == "seqcol" else v, ns) for c, k, v, ns in r]
                         for r in cells]
                data, ext = w.encode(layout, cells, o.csv_header)
                prefix = f"SEGMENT{s + 1}_" if segs > 1 else ""
                name = f"{prefix}LOAD{counter:08X}{ext}"
                when = max(ts for _, ts in chunk)
                path = os.path.join(folder(t, when), name)
                _write(path, data, when + dt.timedelta(seconds=1))
                g.files.append({"path": os.path.relpath(path, root), "kind": "load",
                                "tables": [t.qualified], "rows": len(chunk)})

    # CDC ---------------------------------------------------------------------
    written = [c for c in changes if not (o.cdc_inserts_only and c.op != "I")]
    txn_ids = sorted({c.txn for c in written})
    groups = [txn_ids[i:i + o.txns_per_file] for i in range(0, len(txn_ids), o.txns_per_file)]
    cut = {}
    for gi, grp in enumerate(groups):
        for n in grp:
            cut[n] = gi
    with_op_cdc = not o.cdc_inserts_only or (o.format == "csv" and o.include_op_for_full_load)

    if o.preserve_transactions:
        _write_cdc_txn(g, w, written, groups, cut, with_op_cdc)
    else:
        for t in tables:
            mine = [c for c in written if c.table == t.qualified]
            by_file: Dict[int, List[Change]] = {}
            for c in mine:
                by_file.setdefault(cut[c.txn], []).append(c)
            order = sorted(by_file)
            names = {}
            for gi in order:
                last = max(c.ts for c in by_file[gi])
                names[gi] = last + dt.timedelta(milliseconds=700 + 37 * gi % 500)
            # some files written with names out of transaction order
            swaps = 0
            for i in range(1, len(order) - 1, 3):
                if swaps >= o.out_of_order_files:
                    break
                a, b = order[i], order[i + 1]
                names[a], names[b] = names[b], names[a]
                swaps += 1
            for gi in order:
                chs = by_file[gi]
                has_added = bool(t.added) and any(t.added[0] in c.row for c in chs)
                entries = [(c.op, c.row, c.ts, c.change_seq, c.before_key if c.op != "D" else _key(t, c.row),
                            c.no_sup) for c in chs]
                layout, cells = w.rows_for(t, entries, with_added=has_added, with_op=with_op_cdc)
                data, ext = w.encode(layout, cells, o.csv_header)
                when = names[gi]
                path = os.path.join(folder(t, when), name_time(when) + ext)
                assert not os.path.exists(path), path
                _write(path, data, when + dt.timedelta(seconds=1))
                g.files.append({"path": os.path.relpath(path, root), "kind": "cdc",
                                "tables": [t.qualified], "rows": len(chs),
                                "added_column": has_added})
    write_config(g)
    write_manifest(g)
    return g


def data_root(o: Options) -> str:
    """The DMS bucket folder: OUT/bucket (sluice.toml and _expected/ sit next to it)."""
    return os.path.join(o.out, "bucket")


def _write_cdc_txn(g: Generated, w: Writer, written, groups, cut, with_op):
    """PreserveTransactions: every table's CDC rows in CDC_TXN-*.csv files, in
    transaction order: Op,table_name,schema_name,[timestamp],values... (the
    values of the table's columns, then the transformation columns)."""
    o = g.options
    tmap = {t.qualified: t for t in g.tables}
    by_file: Dict[int, List[Change]] = {}
    for c in written:
        by_file.setdefault(cut[c.txn], []).append(c)
    for gi in sorted(by_file):
        chs = by_file[gi]
        buf = io.StringIO()
        cw = csv.writer(buf, delimiter=o.csv_delimiter, lineterminator="\n")
        for c in chs:
            t = tmap[c.table]
            has_added = bool(t.added) and t.added[0] in c.row
            layout = w.layout(t, has_added, with_op=False)
            bk = c.before_key if c.op != "D" else _key(t, c.row)
            cells = [c.op, t.name, t.schema]
            for col, kind in layout:
                v = w.cell(t, col, kind, c.row, c.op, c.ts, c.change_seq, bk)
                if col in c.no_sup:
                    cells.append(o.csv_no_sup)
                elif v is None:
                    cells.append(o.csv_null)
                elif kind in ("tscol", "seqcol"):
                    cells.append(v)
                else:
                    cells.append(csv_text(kind, v))
            cw.writerow(cells)
        when = max(c.ts for c in chs) + dt.timedelta(milliseconds=500)
        name = "CDC_TXN-" + when.strftime("%Y%m%d%H%M%S") + "%03d" % (when.microsecond // 1000) + ".csv"
        path = os.path.join(data_root(o), o.cdc_path, name)
        _write(path, buf.getvalue().encode("utf-8"), when + dt.timedelta(seconds=1))
        g.files.append({"path": os.path.relpath(path, data_root(o)), "kind": "cdc_txn",
                        "tables": sorted({c.table for c in chs}), "rows": len(chs)})


# ---------------------------------------------------------------------------
# configuration and manifest


def _toml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def config_text(g: Generated) -> str:
    o = g.options
    lines = ["# written by tools/dms_gen for the DMS task settings it simulated", "",
             "[pipeline]", 'name = "sluice"', "",
             "[source]", 'kind = "dms"', f"format = {_toml_str(o.format)}",
             f"path = {_toml_str(os.path.abspath(data_root(o)))}", "",
             "[source.dms]",
             f"timestamp_column = {_toml_str(o.timestamp_column)}",
             f"change_sequence_column = {_toml_str(o.change_sequence_column)}",
             f"csv_header = {'true' if o.csv_header else 'false'}",
             f"csv_null = {_toml_str(o.csv_null)}",
             f"csv_delimiter = {_toml_str(o.csv_delimiter)}",
             f"include_op_for_full_load = {'true' if o.include_op_for_full_load else 'false'}",
             f"cdc_inserts_only = {'true' if o.cdc_inserts_only else 'false'}",
             f"before_image_prefix = {_toml_str(o.before_image_prefix or 'BI_')}",
             f"cdc_start_date = {_toml_str(o.cdc_start_date)}"]
    # keys beyond the table (Sluice's names for the other DMS settings)
    if o.csv_no_sup:
        lines.append(f"csv_no_sup_value = {_toml_str(o.csv_no_sup)}")
    if o.preserve_transactions:
        lines.append(f"cdc_path = {_toml_str(o.cdc_path)}")
    # date folders need no setting: every DatePartitionSequence is recognised
    lines += ["", "[sink]", f"path = {_toml_str(os.path.abspath(o.sink) if o.sink else '')}",
              f"history_tables = {'true' if o.history else 'false'}"]
    need_columns = o.format == "csv"  # CSV: types (and, without a header, names) from here
    for t in g.tables:
        lines += ["", f'[tables."{t.qualified}"]',
                  "primary_keys = [" + ", ".join(_toml_str(k) for k in t.keys) + "]"]
        if need_columns:
            cols = list(t.columns) + ([t.added] if t.added else [])
            parts = []
            for c, k in cols:
                typ = k if is_decimal(k) else KINDS[k][1]
                parts.append(f"{c} = {_toml_str(typ)}")
            lines.append("columns = { " + ", ".join(parts) + " }")
    return "\n".join(lines) + "\n"


def write_config(g: Generated) -> None:
    with open(os.path.join(g.options.out, "sluice.toml"), "w") as fh:
        fh.write(config_text(g))


def jsonable(v: Any) -> Any:
    if isinstance(v, Decimal):
        return {"decimal": format(v, "f")}
    if isinstance(v, dt.datetime):
        return {"timestamp": v.isoformat()}
    if isinstance(v, dt.date):
        return {"date": v.isoformat()}
    if isinstance(v, dt.time):
        return {"time": v.isoformat()}
    if isinstance(v, bytes):
        return {"binary": v.hex()}
    return v


def write_manifest(g: Generated) -> None:
    o = g.options
    exp = os.path.join(o.out, "_expected")
    os.makedirs(exp, exist_ok=True)
    opts = {k: v for k, v in vars(o).items()}
    summary = {
        "options": opts,
        "tables": [{"schema": t.schema, "table": t.name, "qualified": t.qualified,
                    "primary_keys": t.keys, "columns": [list(c) for c in t.columns],
                    "added": list(t.added) if t.added else None, "segments": t.segments}
                   for t in g.tables],
        "files": g.files,
        "changes": len(g.changes),
        "truth_rows": {q: len(s) for q, s in g.truth.items()},
    }
    with open(os.path.join(exp, "_summary.json"), "w") as fh:
        json.dump(summary, fh, indent=1, sort_keys=True)
    with open(os.path.join(exp, "truth.jsonl"), "w") as fh:
        for q, st in sorted(g.truth.items()):
            for k in sorted(st, key=repr):
                fh.write(json.dumps({"table": q, "row": {c: jsonable(v) for c, v in st[k].items()}},
                                    sort_keys=True, ensure_ascii=False) + "\n")
