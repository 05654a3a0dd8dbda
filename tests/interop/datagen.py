"""Deterministic test data (pyarrow) shared by the interop tests."""
from __future__ import annotations

import datetime as dt
import decimal
import random

import pyarrow as pa

D = decimal.Decimal
UTC = dt.timezone.utc

STRINGS = ["", "a", "plain ascii", "ünïcødé", "日本語", "emoji 😈🎉", "tab\tnew\nline",
           "quote ' \" back\\slash", "x" * 300]

ALL_TYPES_SCHEMA = pa.schema([
    pa.field("id", pa.int64(), nullable=False),
    ("bool", pa.bool_()),
    ("int8", pa.int8()),
    ("int16", pa.int16()),
    ("int32", pa.int32()),
    ("int64", pa.int64()),
    ("float32", pa.float32()),
    ("float64", pa.float64()),
    ("dec10_2", pa.decimal128(10, 2)),
    ("dec38_10", pa.decimal128(38, 10)),
    ("str", pa.string()),
    ("bin", pa.binary()),
    ("date", pa.date32()),
    ("ts_utc", pa.timestamp("us", tz="UTC")),
    ("ts_ntz", pa.timestamp("us")),
    ("struct", pa.struct([("a", pa.int32()), ("b", pa.string()),
                          ("inner", pa.struct([("c", pa.float64()), ("d", pa.date32())]))])),
    ("list_int", pa.list_(pa.int32())),
    ("list_struct", pa.list_(pa.struct([("k", pa.string()), ("v", pa.int64())]))),
    ("map", pa.map_(pa.string(), pa.int64())),
])


def _maybe(rng: random.Random, i: int, col: int, value):
    """Nulls everywhere: each column is null in about one row in six, and
    row 1 is null in every nullable column."""
    if i == 1 or (i * 7 + col * 3) % 6 == 0:
        return None
    return value


def all_types(n: int = 120, start: int = 0, seed: int = 7) -> pa.Table:
    rng = random.Random(seed + start)
    cols: dict[str, list] = {f.name: [] for f in ALL_TYPES_SCHEMA}
    edge_int = {"int8": (-128, 127), "int16": (-32768, 32767),
                "int32": (-2**31, 2**31 - 1), "int64": (-2**63, 2**63 - 1)}
    for j in range(n):
        i = start + j
        cols["id"].append(i)
        c = 0

        def put(name, value):
            nonlocal c
            c += 1
            cols[name].append(_maybe(rng, i, c, value))

        put("bool", i % 3 == 0)
        for name, (lo, hi) in edge_int.items():
            v = lo if i % 11 == 2 else hi if i % 11 == 3 else rng.randint(lo, hi)
            put(name, v)
        f = [0.0, -0.0, 1.5, -2.25, 3.4e38, 1e-30, float("inf"), float("-inf"), float("nan")]
        put("float32", f[i % len(f)] if i % 2 == 0 else rng.uniform(-1e6, 1e6))
        g = [0.0, 1e308, -1e-308, 5e-324, float("inf"), float("nan"), 0.1]
        put("float64", g[i % len(g)] if i % 2 == 0 else rng.uniform(-1e12, 1e12))
        put("dec10_2", D(f"{rng.randint(-10**10 + 1, 10**10 - 1)}e-2") if i % 13 else D("99999999.99"))
        put("dec38_10", D(f"{rng.randint(-10**38 + 1, 10**38 - 1)}e-10") if i % 13
            else D("-9999999999999999999999999999.9999999999"))
        put("str", STRINGS[i % len(STRINGS)] + ("" if i % 4 else f" #{i}"))
        put("bin", bytes(rng.randrange(256) for _ in range(i % 9)))
        put("date", dt.date(1970, 1, 1) + dt.timedelta(days=rng.randint(-40000, 40000))
            if i % 17 else dt.date(1, 1, 1) if i % 2 else dt.date(9999, 12, 31))
        put("ts_utc", dt.datetime(2000, 1, 1, tzinfo=UTC)
            + dt.timedelta(microseconds=rng.randint(-2 * 10**15, 2 * 10**15)))
        put("ts_ntz", dt.datetime(2000, 1, 1)
            + dt.timedelta(microseconds=rng.randint(-2 * 10**15, 2 * 10**15)))
        put("struct", {"a": None if i % 5 == 0 else i, "b": STRINGS[(i + 3) % len(STRINGS)],
                       "inner": None if i % 7 == 0 else
                       {"c": i / 4, "d": None if i % 3 == 0 else dt.date(2020, 1, 1 + i % 28)}})
        put("list_int", [None if (i + k) % 5 == 0 else k * i for k in range(i % 5)])
        put("list_struct", [{"k": f"k{k}", "v": None if k == 1 else k} for k in range(i % 4)])
        put("map", [(f"key{k}", None if k == 2 else i * k) for k in range(i % 4)])
    return pa.table(cols, schema=ALL_TYPES_SCHEMA)


SIMPLE_SCHEMA = pa.schema([pa.field("id", pa.int64(), nullable=False),
                           ("name", pa.string()), ("value", pa.float64()),
                           ("day", pa.date32())])


def simple(n: int, start: int = 0) -> pa.Table:
    ids = list(range(start, start + n))
    return pa.table({
        "id": ids,
        "name": [None if i % 10 == 9 else f"name-{i}" for i in ids],
        "value": [i * 1.25 for i in ids],
        "day": [dt.date(2024, 1, 1) + dt.timedelta(days=i % 40) for i in ids],
    }, schema=SIMPLE_SCHEMA)


PARTITION_STRINGS = ["a", "b b", "x/y", "50%", "é=1", "日本", None]


def partitioned(n: int = 90, start: int = 0) -> pa.Table:
    ids = list(range(start, start + n))
    return pa.table({
        "id": pa.array(ids, pa.int64()),
        "region": pa.array([PARTITION_STRINGS[i % len(PARTITION_STRINGS)] for i in ids]),
        "day": pa.array([None if i % 8 == 5 else dt.date(2024, 2, 27) + dt.timedelta(days=i % 4)
                         for i in ids], pa.date32()),
        "amount": pa.array([D(f"{i * 37 % 1000}e-1") for i in ids], pa.decimal128(10, 2)),
        "note": pa.array([None if i % 6 == 0 else f"n{i}" for i in ids]),
    })
