"""Readers for the peer engines and a value-by-value row comparison.

Kept free of pytest so that tests/interop/dat/generate.py and ad-hoc scripts
can use it too; conftest.py exposes these as fixtures.

Every reader returns a ``pyarrow.Table``. ``rows()`` turns any table into a
list of plain, normalised Python dicts:

* timestamps: tz-aware values are converted to UTC and made naive, and every
  unit is reduced to microseconds (Delta's precision), so a ``timestamp[us,
  tz=UTC]`` from one engine equals a ``timestamp[ns, tz=Etc/UTC]`` from another.
  Whether a column is zoned or not is checked separately from the schema
  (``timestamp_kinds``), not hidden by this normalisation.
* decimals: compared as ``decimal.Decimal`` by value (``1.10 == 1.1``).
* floats: compared with a relative tolerance of 1e-6 (float32 round-trips),
  NaN equals NaN.
* maps: order-insensitive (sorted list of key/value pairs).
* structs and lists: normalised recursively.
"""
from __future__ import annotations

import datetime as _dt
import decimal
import math
import os
from typing import Any, Iterable, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

# --------------------------------------------------------------------------
# readers


def read_with_spark(spark, path: str, version: int | None = None,
                    timestamp: str | None = None) -> pa.Table:
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", int(version))
    if timestamp is not None:
        reader = reader.option("timestampAsOf", timestamp)
    df = reader.load(str(path))
    return df.toArrow()


def read_with_deltalake(path: str, version: int | None = None) -> pa.Table:
    """Reads through delta-rs. Deletion vectors are applied by its query
    engine (QueryBuilder / DataFusion); the plain pyarrow-dataset path of
    delta-rs cannot apply them, so we only fall back to it when the table has
    no such feature."""
    from deltalake import DeltaTable, QueryBuilder

    dt = DeltaTable(str(path), version=version)
    qb = QueryBuilder().register("t", dt)
    # execute() returns an arro3 reader; pyarrow takes it over the Arrow
    # C stream interface.
    table = pa.RecordBatchReader.from_stream(qb.execute("SELECT * FROM t")).read_all()
    # QueryBuilder may reorder partition columns to the end: restore
    # table-schema order so column-order checks are meaningful.
    order = [f.name for f in dt.schema().to_arrow()]
    return table.select([c for c in order if c in table.column_names])


def duckdb_delta_extension_path() -> str:
    """The delta extension shipped by the pip package duckdb-extension-delta
    (``duckdb_extension_delta/extensions/v<duckdb version>/delta.duckdb_extension``)."""
    import duckdb
    import duckdb_extension_delta

    base = os.path.join(os.path.dirname(duckdb_extension_delta.__file__), "extensions")
    path = os.path.join(base, "v" + duckdb.__version__, "delta.duckdb_extension")
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"no delta extension for duckdb {duckdb.__version__} in {base}: "
            f"{os.listdir(base) if os.path.isdir(base) else 'missing'}")
    return path


_DUCK = None


def duckdb_connection():
    """One DuckDB connection with the delta extension loaded from the pip
    package by path. Autoinstall is off: DuckDB must never download."""
    global _DUCK
    if _DUCK is None:
        import duckdb

        con = duckdb.connect(config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        })
        con.execute(f"LOAD '{duckdb_delta_extension_path()}'")
        _DUCK = con
    return _DUCK


def read_with_duckdb(path: str) -> pa.Table:
    con = duckdb_connection()
    escaped = str(path).replace("'", "''")
    rel = con.execute(f"SELECT * FROM delta_scan('{escaped}')")
    if hasattr(rel, "fetch_arrow_table"):
        return rel.fetch_arrow_table()
    return rel.arrow()


def read_parquet(path: str) -> pa.Table:
    return pq.read_table(str(path))


# --------------------------------------------------------------------------
# normalisation


def _norm(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        return value
    if isinstance(value, decimal.Decimal):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if isinstance(value, list):
        # pyarrow renders maps as lists of (key, value) tuples
        if value and all(isinstance(x, tuple) and len(x) == 2 for x in value):
            return _MapValue(sorted(((_norm(k), _norm(v)) for k, v in value),
                                    key=lambda kv: repr(kv[0])))
        return [_norm(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_norm(v) for v in value)
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        return _norm(value.to_pydatetime())
    return value


class _MapValue(list):
    """A normalised map: sorted list of (key, value) pairs."""

    def __repr__(self) -> str:
        return "map" + super().__repr__()


def rows(table: pa.Table | Sequence[dict]) -> list[dict]:
    """A pyarrow table (or list of dicts) as normalised dict rows."""
    data = table.to_pylist() if isinstance(table, pa.Table) else list(table)
    return [{k: _norm(v) for k, v in r.items()} for r in data]


def _equal(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        if not isinstance(a, (int, float, decimal.Decimal)) or not isinstance(
                b, (int, float, decimal.Decimal)) or isinstance(a, bool) or isinstance(b, bool):
            return False
        a, b = float(a), float(b)
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        if math.isinf(a) or math.isinf(b):
            return a == b
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    if isinstance(a, decimal.Decimal) or isinstance(b, decimal.Decimal):
        try:
            return decimal.Decimal(a) == decimal.Decimal(b)
        except Exception:
            return False
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        # an empty map and an empty list are the same thing after to_pylist
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if type(a) is _dt.date and isinstance(b, _dt.datetime) or \
            type(b) is _dt.date and isinstance(a, _dt.datetime):
        return False
    return a == b


def _sort_key(v: Any):
    # None first, then by type name and value, so mixed types never raise.
    if v is None:
        return (0, "", "")
    if isinstance(v, (dict, list, tuple)):
        return (1, type(v).__name__, repr(v))
    return (1, type(v).__name__, v)


class _Key:
    """Hashable wrapper of a key value that prints as the value."""

    def __init__(self, v):
        self.v = v
        self.h = repr(v)

    def __hash__(self):
        return hash(self.h)

    def __eq__(self, other):
        return isinstance(other, _Key) and self.h == other.h

    def __repr__(self):
        return self.h


def assert_same_rows(expected, actual, key: str | Sequence[str],
                     check_column_order: bool = False, label: str = "") -> None:
    """Asserts that two tables hold the same rows, value by value.

    ``expected``/``actual``: pyarrow Tables or lists of dicts. ``key``: column(s)
    that identify a row (rows are matched by key, so order does not matter;
    duplicate keys are compared in sorted order). Raises AssertionError with a
    readable diff: missing/extra columns, missing/extra keys, and the first
    differing values.
    """
    keys = [key] if isinstance(key, str) else list(key)
    exp_cols = expected.column_names if isinstance(expected, pa.Table) else (
        list(expected[0].keys()) if expected else None)
    act_cols = actual.column_names if isinstance(actual, pa.Table) else (
        list(actual[0].keys()) if actual else None)
    exp_rows, act_rows = rows(expected), rows(actual)
    problems: list[str] = []
    prefix = f"[{label}] " if label else ""

    if exp_cols is not None and act_cols is not None:
        if set(exp_cols) != set(act_cols):
            problems.append(
                f"columns differ: missing {sorted(set(exp_cols) - set(act_cols))}, "
                f"unexpected {sorted(set(act_cols) - set(exp_cols))}")
        elif check_column_order and list(exp_cols) != list(act_cols):
            problems.append(f"column order differs: expected {list(exp_cols)}, got {list(act_cols)}")

    def k(r):
        return tuple(_sort_key(r.get(c)) for c in keys)

    def group(rs):
        g: dict = {}
        for r in rs:
            g.setdefault(tuple(_Key(r.get(c)) for c in keys), []).append(r)
        return g

    eg, ag = group(exp_rows), group(act_rows)
    missing = [kk for kk in eg if kk not in ag]
    extra = [kk for kk in ag if kk not in eg]
    if len(exp_rows) != len(act_rows):
        problems.append(f"row count: expected {len(exp_rows)}, got {len(act_rows)}")
    if missing:
        problems.append(f"{len(missing)} key(s) missing from actual, e.g. {missing[:10]}")
    if extra:
        problems.append(f"{len(extra)} unexpected key(s) in actual, e.g. {extra[:10]}")

    diffs = []
    for kk, erows in sorted(eg.items(), key=lambda kv: k(kv[1][0])):
        arows = ag.get(kk)
        if arows is None:
            continue
        if len(erows) != len(arows):
            diffs.append(f"  key {kk}: {len(erows)} expected row(s), {len(arows)} actual")
            continue
        erows = sorted(erows, key=repr)
        arows = sorted(arows, key=repr)
        for er, ar in zip(erows, arows):
            for col in er:
                if col not in ar:
                    continue
                if not _equal(er[col], ar[col]):
                    diffs.append(f"  key {kk} column {col!r}: expected {er[col]!r}, got {ar[col]!r}")
    if diffs:
        problems.append(f"{len(diffs)} differing value(s):\n" + "\n".join(diffs[:25])
                        + ("\n  ..." if len(diffs) > 25 else ""))
    if problems:
        raise AssertionError(prefix + "rows differ:\n- " + "\n- ".join(problems))


def timestamp_kinds(table: pa.Table) -> dict[str, str]:
    """{column: 'utc' | 'ntz'} for every top-level timestamp column."""
    out = {}
    for f in table.schema:
        if pa.types.is_timestamp(f.type):
            out[f.name] = "ntz" if f.type.tz is None else "utc"
    return out


def concat_minus(tables: Iterable[pa.Table], key: str, removed: Iterable) -> pa.Table:
    """Concatenates tables and drops rows whose ``key`` is in ``removed``."""
    import pyarrow.compute as pc

    t = pa.concat_tables(list(tables))
    removed = list(removed)
    if not removed:
        return t
    mask = pc.invert(pc.is_in(t[key], value_set=pa.array(removed, type=t.schema.field(key).type)))
    return t.filter(mask)
