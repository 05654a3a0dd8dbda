"""Reference model of Sluice's DMS source (issue 14), for the end-to-end tests.

Written from the issue's rules and DESIGN.md §4, not from Sluice's code and
not from tools/dms_gen: it reads a DMS tree itself (pyarrow for Parquet,
Python's csv module for CSV) with the settings of a Sluice configuration,
then replays the rows naively.

Reading (``read_tree``):
  * ``<root>/<schema>/<table>/**``: ``[SEGMENTn_]LOADxxxxxxxx.{parquet,csv,csv.gz}``
    are full-load files, ``YYYYMMDD-HHMMSSmmm.{…}`` CDC files (date folders
    of any DatePartitionSequence in between are just folders);
    ``<root>/<cdc_path>/CDC_TXN-YYYYMMDDHHMMSSmmm.csv`` hold
    ``Op,table,schema,[timestamp],values…`` rows of many tables.
  * ``Op`` is the first column when present; without it a full-load row is a
    load row and a CDC row an insert (CdcInsertsOnly).
  * the timestamp column (``yyyy-MM-dd HH:mm:ss.SSSSSS``, UTC) is the commit
    time; the change-sequence column, when configured, is a number.
  * CSV: the configured NULL string is NULL, the configured NoSup string
    means "not in the supplemental log" (keep the stored value); without a
    header the column names come from ``[tables."s.t"].columns`` (in order,
    after Op and the timestamp column); with ``columns`` configured values
    are cast to those types, otherwise they stay text.

Ordering: full-load rows before every CDC row of a table; CDC rows by the
change sequence when configured, else by (commit timestamp, file name time,
row index in the file).

Replay (``merged``): load / insert / update replace the row (a NULL sets
NULL; NoSup cells keep the stored value); an update whose before-image key
(``<prefix><key>`` columns) differs from its key moves the row; a delete
removes the key and a delete of a key never seen does nothing; with
``cdc_inserts_only`` every row is an upsert. ``history``: SCD2 versions per
key (docs/merge.md "History": an upsert equal in every column to the open
version is absorbed; a move ends the old key's version). ``snapshot``: the
merged state from the rows stamped before the end of a date (UTC; full-load
rows are stamped with cdc_start_date when it is configured).
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import os
import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Dict, Iterable, List, Optional, Tuple

import pyarrow.parquet as pq

LOAD_RE = re.compile(r"^(SEGMENT\d+_)?LOAD[0-9A-F]{8}\.(parquet|csv|csv\.gz)$")
CDC_RE = re.compile(r"^(\d{8})-(\d{9})\.(parquet|csv|csv\.gz)$")
TXN_RE = re.compile(r"^CDC_TXN-(\d{17})\.csv$")
NOSUP = object()  # a CsvNoSupValue cell


@dataclass
class Row:
    table: str
    op: str                     # load | I | U | D
    image: Dict[str, Any]       # data columns only (NOSUP marks missing ones)
    ts: Optional[dt.datetime]
    seq: Optional[int]
    file: str
    file_time: str              # sortable time of the file name ("" for load files)
    index: int                  # row index in the file
    before_key: Optional[Tuple] = None


@dataclass
class Settings:
    fmt: str
    root: str
    timestamp_column: str
    change_sequence_column: str
    csv_header: bool
    csv_null: str
    csv_delimiter: str
    csv_no_sup: Optional[str]
    cdc_inserts_only: bool
    before_image_prefix: str
    cdc_path: str
    cdc_start_date: str
    keys: Dict[str, List[str]]
    columns: Dict[str, Optional[List[Tuple[str, str]]]]

    @staticmethod
    def from_toml(path: str) -> "Settings":
        with open(path, "rb") as fh:
            cfg = tomllib.load(fh)
        src = cfg["source"]
        dms = src.get("dms", {})
        keys, columns = {}, {}
        for name, t in cfg.get("tables", {}).items():
            keys[name] = list(t.get("primary_keys", []))
            cols = t.get("columns")
            columns[name] = list(cols.items()) if cols else None
        return Settings(
            fmt=src["format"], root=src["path"],
            timestamp_column=dms.get("timestamp_column", ""),
            change_sequence_column=dms.get("change_sequence_column", ""),
            csv_header=dms.get("csv_header", True), csv_null=dms.get("csv_null", "NULL"),
            csv_delimiter=dms.get("csv_delimiter", ","),
            csv_no_sup=dms.get("csv_no_sup_value") or None,
            cdc_inserts_only=dms.get("cdc_inserts_only", False),
            before_image_prefix=dms.get("before_image_prefix", "BI_"),
            cdc_path=dms.get("cdc_path", ""), cdc_start_date=dms.get("cdc_start_date", ""),
            keys=keys, columns=columns)


# ---------------------------------------------------------------------------
# reading


def parse_ts(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f")


def cast(type_name: str, text: str) -> Any:
    t = type_name.lower()
    if t in ("long", "bigint", "int", "integer", "short", "smallint", "byte", "tinyint"):
        return int(text)
    if t in ("double", "float"):
        return float(text)
    if t == "boolean":
        return {"true": True, "false": False, "t": True, "f": False, "1": True, "0": False}[text.lower()]
    if t == "date":
        return dt.date.fromisoformat(text)
    if t == "timestamp":
        return dt.datetime.fromisoformat(text.replace(" ", "T"))
    if t.startswith("decimal"):
        return Decimal(text)
    if t == "binary":
        return bytes.fromhex(text)
    return text


def _plain(v: Any) -> Any:
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        return v.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return v


class Reader:
    def __init__(self, s: Settings):
        self.s = s

    def tables(self) -> List[str]:
        return sorted(self.s.keys)

    def meta_columns(self) -> set:
        s = self.s
        out = {"Op"}
        if s.timestamp_column:
            out.add(s.timestamp_column)
        if s.change_sequence_column:
            out.add(s.change_sequence_column)
        return out

    def split(self, table: str, named: Dict[str, Any]):
        """A row as {column: value} -> (op or None, ts, seq, before_key, image)."""
        s = self.s
        op = named.pop("Op", None)
        ts = named.pop(s.timestamp_column, None) if s.timestamp_column else None
        if isinstance(ts, str):
            ts = parse_ts(ts)
        seq = named.pop(s.change_sequence_column, None) if s.change_sequence_column else None
        seq = int(seq) if seq not in (None, "") else None
        keys = s.keys[table]
        before = None
        bcols = [s.before_image_prefix + k for k in keys]
        data_cols = {c for c, _ in (s.columns.get(table) or [])}
        if s.before_image_prefix and all(b in named and b not in data_cols for b in bcols):
            vals = tuple(named.pop(b) for b in bcols)
            before = None if all(v is None for v in vals) else vals
        return op, ts, seq, before, {c: _plain(v) for c, v in named.items()}

    def csv_records(self, data: bytes) -> List[List[str]]:
        text = data.decode("utf-8")
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=self.s.csv_delimiter,
                               quotechar='"', doublequote=True, strict=True))

    def csv_value(self, table: str, col: str, text: str) -> Any:
        s = self.s
        if s.csv_no_sup is not None and text == s.csv_no_sup:
            return NOSUP
        if text == s.csv_null:
            return None
        if col in ("Op", s.timestamp_column, s.change_sequence_column):
            return text
        types = dict(s.columns.get(table) or [])
        if s.before_image_prefix and col.startswith(s.before_image_prefix) and col not in types:
            col = col[len(s.before_image_prefix):]
        return cast(types[col], text) if col in types else text

    def headerless_names(self, table: str, ncells: int, has_op: bool) -> List[str]:
        s = self.s
        names = (["Op"] if has_op else []) + ([s.timestamp_column] if s.timestamp_column else [])
        names += [c for c, _ in self.s.columns[table]]
        return names[:ncells]

    def read_file(self, table: str, path: str, rel: str, kind: str, file_time: str) -> List[Row]:
        s = self.s
        raw = open(path, "rb").read()
        if path.endswith(".gz"):
            raw = gzip.decompress(raw)
        dicts: List[Dict[str, Any]] = []
        if path.endswith(".parquet"):
            dicts = pq.read_table(io.BytesIO(raw)).to_pylist()
        else:
            recs = self.csv_records(raw)
            if s.csv_header:
                header, recs = recs[0], recs[1:]
                for r in recs:
                    dicts.append({h: self.csv_value(table, h, v) for h, v in zip(header, r)})
            else:
                ncols = len(s.columns[table])
                for r in recs:
                    has_op = len(r) > ncols + (1 if s.timestamp_column else 0)
                    names = self.headerless_names(table, len(r), has_op)
                    dicts.append({h: self.csv_value(table, h, v) for h, v in zip(names, r)})
        rows = []
        for i, d in enumerate(dicts):
            op, ts, seq, before, image = self.split(table, dict(d))
            if kind == "load":
                op = "load"
            elif op is None:
                op = "I"
            rows.append(Row(table, op, image, ts, seq, rel, file_time, i, before))
        return rows

    def read_txn_file(self, path: str, rel: str, file_time: str) -> List[Row]:
        s = self.s
        by_name = {tuple(k.split(".", 1)): k for k in s.keys}
        rows = []
        for i, r in enumerate(self.csv_records(open(path, "rb").read())):
            op, tname, schema = r[0], r[1], r[2]
            table = by_name[(schema, tname)]
            names = ([s.timestamp_column] if s.timestamp_column else []) + \
                [c for c, _ in s.columns[table]]
            rest = r[3:]
            # columns added mid-stream and transformation columns follow
            extra = []
            if s.change_sequence_column:
                extra.append(s.change_sequence_column)
            if s.before_image_prefix:
                extra += [s.before_image_prefix + k for k in s.keys[table]]
            if len(rest) < len(names) + len(extra):
                names = names[:len(rest) - len(extra)]
            names = names + extra
            d = {n: self.csv_value(table, n, v) for n, v in zip(names, rest)}
            _, ts, seq, before, image = self.split(table, d)
            rows.append(Row(table, op, image, ts, seq, rel, file_time, i, before))
        return rows

    def read_tree(self) -> Dict[str, List[Row]]:
        s = self.s
        out: Dict[str, List[Row]] = {t: [] for t in self.tables()}
        for table in self.tables():
            schema, name = table.split(".", 1)
            base = os.path.join(s.root, schema, name)
            for dirpath, _, files in os.walk(base):
                for f in sorted(files):
                    full = os.path.join(dirpath, f)
                    rel = os.path.relpath(full, s.root)
                    if LOAD_RE.match(f):
                        out[table] += self.read_file(table, full, rel, "load", "")
                    else:
                        m = CDC_RE.match(f)
                        if m:
                            out[table] += self.read_file(table, full, rel, "cdc", m.group(1) + m.group(2))
        if s.cdc_path:
            base = os.path.join(s.root, s.cdc_path)
            for f in sorted(os.listdir(base)) if os.path.isdir(base) else []:
                m = TXN_RE.match(f)
                if m:
                    for r in self.read_txn_file(os.path.join(base, f), os.path.join(s.cdc_path, f),
                                                m.group(1)):
                        out[r.table].append(r)
        return out


def read_tree(config_path: str) -> Tuple[Settings, Dict[str, List[Row]]]:
    s = Settings.from_toml(config_path)
    return s, Reader(s).read_tree()


# ---------------------------------------------------------------------------
# order and replay


def order_key(r: Row, use_seq: bool) -> Tuple:
    if r.op == "load":
        return (0,)
    if use_seq:
        return (1, r.seq)
    return (1, r.ts, r.file_time, r.file, r.index)


def ordered(rows: Iterable[Row], use_seq: bool) -> List[Row]:
    return sorted(rows, key=lambda r: order_key(r, use_seq))


def key_of(r: Row, keys: List[str]) -> Tuple:
    return tuple(r.image[k] for k in keys)


def _apply(state: Dict[Tuple, Dict[str, Any]], r: Row, keys: List[str], inserts_only: bool):
    """Applies one row; returns (old key ended or None, new key written or None)."""
    k = key_of(r, keys)
    if inserts_only or r.op in ("load", "I"):
        state[k] = {c: v for c, v in r.image.items() if v is not NOSUP}
        return None, k
    if r.op == "D":
        return (k if state.pop(k, None) is not None else None), None
    if r.op == "U":
        moved = r.before_key is not None and r.before_key != k
        prev = state.pop(r.before_key, None) if moved else state.get(k)
        img = {}
        for c, v in r.image.items():
            if v is NOSUP:
                v = (prev or {}).get(c)
            img[c] = v
        state[k] = img
        return (r.before_key if moved and prev is not None else None), k
    raise ValueError(f"unknown Op {r.op!r} in {r.file} row {r.index}")


def merged(s: Settings, rows: Dict[str, List[Row]], until: Optional[dt.datetime] = None
           ) -> Dict[str, Dict[Tuple, Dict[str, Any]]]:
    out = {}
    use_seq = bool(s.change_sequence_column)
    for table, rs in rows.items():
        keys = s.keys[table]
        state: Dict[Tuple, Dict[str, Any]] = {}
        for r in ordered(rs, use_seq):
            if until is not None and start_time(s, r) >= until:
                continue
            _apply(state, r, keys, s.cdc_inserts_only)
        out[table] = state
    return out


def snapshot(s: Settings, rows: Dict[str, List[Row]], date: str) -> Dict[str, Dict[Tuple, Dict[str, Any]]]:
    """The tables as of the end of `date` (YYYY-MM-DD, UTC): every row whose
    time (CDC: commit time; full load: cdc_start_date when configured, else
    its transfer timestamp) is before the next midnight, in the usual order."""
    end = dt.datetime.fromisoformat(date) + dt.timedelta(days=1)
    return merged(s, rows, until=end)


def start_time(s: Settings, r: Row) -> dt.datetime:
    if r.op == "load" and s.cdc_start_date:
        return dt.datetime.fromisoformat(s.cdc_start_date)
    return r.ts


def history(s: Settings, rows: Dict[str, List[Row]]) -> Dict[str, List[Dict[str, Any]]]:
    """SCD2 versions per table: {**image, "__START_AT", "__END_AT"}."""
    out = {}
    use_seq = bool(s.change_sequence_column)
    for table, rs in rows.items():
        keys = s.keys[table]
        state: Dict[Tuple, Dict[str, Any]] = {}
        open_version: Dict[Tuple, Dict[str, Any]] = {}
        versions: List[Dict[str, Any]] = []
        for r in ordered(rs, use_seq):
            ts = start_time(s, r)
            ended, written = _apply(state, r, keys, s.cdc_inserts_only)
            if r.op == "D":
                k = key_of(r, keys)
                v = open_version.pop(k, None)
                if v is not None:
                    v["__END_AT"] = ts
                continue
            if ended is not None:
                v = open_version.pop(ended, None)
                if v is not None:
                    v["__END_AT"] = ts
            img = state[written]
            cur = open_version.get(written)
            cols = set(img) | set(c for c in (cur or {}) if not c.startswith("__"))
            if cur is not None and all(img.get(c) == cur.get(c) for c in cols):
                continue  # absorbed: nothing tracked changed
            if cur is not None:
                cur["__END_AT"] = ts
            nv = {**img, "__START_AT": ts, "__END_AT": None}
            open_version[written] = nv
            versions.append(nv)
        out[table] = versions
    return out


# ---------------------------------------------------------------------------
# comparing with what Sluice wrote


def norm(v: Any, like: Any = None) -> Any:
    """A comparable form of a value read back from Delta (or expected): numbers
    as Decimal (floats as float), timestamps naive UTC, text parsed when the
    expected value is not text."""
    if v is None or v is NOSUP:
        return None
    if isinstance(like, str) and not isinstance(v, str):
        v = str(v)
    if isinstance(v, str) and like is not None and not isinstance(like, str):
        v = _parse_like(v, like)
    if isinstance(v, bool):
        return v
    if isinstance(v, float):
        return float(v)
    if isinstance(v, (int, Decimal)):
        # one spelling per number: 1.50 == 1.5, 1.7E+18 == 1700000000000000000
        return Decimal(format(Decimal(v).normalize(), "f"))
    if isinstance(v, dt.datetime):
        return _plain(v)
    if isinstance(v, dt.time):
        return v
    if isinstance(v, memoryview):
        return bytes(v)
    return v


def _parse_like(text: str, like: Any) -> Any:
    try:
        if isinstance(like, bool):
            return text.lower() in ("true", "t", "1")
        if isinstance(like, float):
            return float(text)
        if isinstance(like, (int, Decimal)):
            return Decimal(text)
        if isinstance(like, dt.datetime):
            return dt.datetime.fromisoformat(text.replace(" ", "T").replace("Z", "+00:00"))
        if isinstance(like, dt.date):
            return dt.date.fromisoformat(text)
        if isinstance(like, dt.time):
            return dt.time.fromisoformat(text)
    except ValueError:
        return text
    return text


def same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dt.time) and isinstance(actual, int):
        actual = (dt.datetime(2000, 1, 1) + dt.timedelta(milliseconds=actual)).time()
    e = norm(expected)
    a = norm(actual, like=expected)
    if isinstance(e, Decimal) and isinstance(a, (int, float, Decimal)) and not isinstance(a, bool):
        return Decimal(a).normalize() == e.normalize()
    if isinstance(e, float) and isinstance(a, (int, float, Decimal)):
        return float(a) == e
    return e == a
