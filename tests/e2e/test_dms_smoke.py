"""End-to-end smoke test of the DMS source (docs/dms.md): a small DMS tree
(full load with hex counters past LOAD00000009, CDC in date folders, before
images, a delete of a key the full load never had, a bad timestamp), written
here as DMS would write it in Parquet and in CSV, ingested by
``sluice run --once``; the merged table is read back with ``sluice cat`` and
the dead letters with delta-rs."""
from __future__ import annotations

import csv
import gzip
import io
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import cat_table, read_dead_letters, read_table, run_once_ok, sluice_env

COLUMNS = ["id", "name", "amount"]
LOAD_TS = "2022-06-25 08:00:00.000000"  # later than every CDC change: full load still first

# Full load: ids 1..11, one file each: LOAD00000001 .. LOAD0000000B.
FULL_LOAD = [[(i, f"n{i}", Decimal(f"{i}.50"))] for i in range(1, 12)]

# CDC files (date folder, name, rows of (Op, ts, BI image, image)).
CDC = [
    ("2022/06/24", "20220624-190132278", [
        ("U", "2022-06-24 19:01:30.000001", (1, "n1", Decimal("1.50")), (1, "x", Decimal("1.50"))),
        ("D", "2022-06-24 19:01:30.000002", None, (2, "n2", Decimal("2.50"))),
        ("I", "2022-06-24 19:01:30.000003", None, (100, "new", Decimal("100.00"))),
        ("D", "2022-06-24 19:01:30.000004", None, (500, "ghost", None)),  # never loaded
    ]),
    ("2022/06/24", "20220624-190200000", [
        ("U", "2022-06-24 19:02:00.000000", (1, "x", Decimal("1.50")), (1, "y", None)),
        ("U", "2022-06-24 19:02:00.000000", (3, "n3", Decimal("3.50")), (33, "n3", Decimal("3.50"))),
        ("U", "not a timestamp", (4, "n4", Decimal("4.50")), (4, "bad", Decimal("4.50"))),
    ]),
]

EXPECTED = {1: ("y", None), 33: ("n3", Decimal("3.50")), 100: ("new", Decimal("100.00"))}
EXPECTED.update({i: (f"n{i}", Decimal(f"{i}.50")) for i in range(4, 12)})


def cdc_columns(bi: bool):
    return ["Op", "DMS_TIMESTAMP"] + (["BI_" + c for c in COLUMNS] if bi else []) + COLUMNS


def cdc_row(bi_columns: bool, op, ts, bi, img):
    return [op, ts] + (list(bi or (None, None, None)) if bi_columns else []) + list(img)


def write_parquet(path: Path, names, rows):
    types = {"Op": pa.string(), "DMS_TIMESTAMP": pa.string(), "id": pa.int64(),
             "name": pa.string(), "amount": pa.decimal128(10, 2)}
    schema = pa.schema([(n, types[n.removeprefix("BI_")]) for n in names])
    cols = list(zip(*rows)) if rows else [[] for _ in names]
    pq.write_table(pa.table([pa.array(list(c), t.type) for c, t in zip(cols, schema)], schema=schema),
                   path)


def write_csv(path: Path, names, rows, header: bool, gz: bool):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if header:
        w.writerow(names)
    for r in rows:
        w.writerow(["NULL" if v is None else v for v in r])
    data = buf.getvalue().encode()
    if gz:
        path = path.with_name(path.name + ".gz")
        data = gzip.compress(data)
    path.write_bytes(data)


def write_tree(root: Path, fmt: str, header: bool = True, bi: bool = True):
    table = root / "public" / "orders"
    table.mkdir(parents=True)
    ext = "parquet" if fmt == "parquet" else "csv"
    for n, rows in enumerate(FULL_LOAD, start=1):
        names = ["DMS_TIMESTAMP"] + COLUMNS
        data = [[LOAD_TS] + list(r) for r in rows]
        path = table / f"LOAD{n:08X}.{ext}"
        if fmt == "parquet":
            write_parquet(path, names, data)
        else:
            write_csv(path, names, data, header, gz=(n == 11))
    for folder, name, rows in CDC:
        d = table / folder
        d.mkdir(parents=True, exist_ok=True)
        data = [cdc_row(bi, *r) for r in rows]
        if fmt == "parquet":
            write_parquet(d / f"{name}.{ext}", cdc_columns(bi), data)
        else:
            write_csv(d / f"{name}.{ext}", cdc_columns(bi), data, header, gz=False)


def config(tmp: Path, src: Path, sink: Path, fmt: str, header: bool = True) -> Path:
    cfg = tmp / "sluice.toml"
    columns = ""
    if not header:
        columns = 'columns = { id = "long", name = "string", amount = "decimal(10,2)" }\n'
    cfg.write_text(f"""
[source]
kind = "dms"
format = "{fmt}"
path = "{src}"
settle_interval = "0s"

[source.dms]
timestamp_column = "DMS_TIMESTAMP"
csv_header = {"true" if header else "false"}

[sink]
path = "{sink}"

[tables."public.orders"]
primary_keys = ["id"]
{columns}""")
    return cfg


def check(sink: Path, typed: bool, bi: bool = True):
    expected = dict(EXPECTED)
    if not bi:
        # Without before images the key change is an upsert of 33; 3 stays.
        expected[3] = ("n3", Decimal("3.50"))
    merged = {r["id"] if typed else int(r["id"]): r for r in cat_table(sink / "public" / "orders")}
    assert sorted(merged) == sorted(expected)
    for k, (name, amount) in expected.items():
        row = merged[k]
        assert row["name"] == name, (k, row)
        got = row["amount"]
        if not typed and got is not None:
            got = Decimal(got)
        assert got == amount, (k, row)
    log = read_table(sink / "public" / "orders_log")
    ops = sorted(r["_cdc_op"] for r in log)
    # 11 snapshot rows; CDC: 2 updates + 1 delete + 1 insert + 1 ghost delete in the
    # first file; the key move is a delete + an update; the bad row is a dead letter.
    assert ops.count("snapshot") == 11
    assert ops.count("delete") == (3 if bi else 2)
    assert ops.count("update") == 3
    assert ops.count("insert") == 1
    dead = read_dead_letters(sink, "public.orders")
    assert len(dead) == 1, dead
    text = repr(dead[0])
    assert "unparseable timestamp" in text and "20220624-190200000" in text, dead


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_dms_full_load_then_cdc(tmp_path, fmt):
    src, sink = tmp_path / "src", tmp_path / "sink"
    write_tree(src, fmt)
    cfg = config(tmp_path, src, sink, fmt)
    run_once_ok(cfg, sluice_env(src, sink))
    check(sink, typed=(fmt == "parquet"))


def test_dms_csv_without_header_takes_configured_columns(tmp_path):
    src, sink = tmp_path / "src", tmp_path / "sink"
    write_tree(src, "csv", header=False, bi=False)
    cfg = config(tmp_path, src, sink, "csv", header=False)
    run_once_ok(cfg, sluice_env(src, sink))
    check(sink, typed=True, bi=False)


def test_dms_cdc_txn_rows_routed_to_their_tables(tmp_path):
    """PreserveTransactions: one CDC_TXN file holds the changes of two tables in
    transaction order (no header); each row lands in its own table."""
    src, sink = tmp_path / "src", tmp_path / "sink"
    for table, rows in {"orders": [["DMS_TIMESTAMP", "id", "name"], [LOAD_TS, "1", "a"],
                                   [LOAD_TS, "2", "b"]],
                        "items": [["DMS_TIMESTAMP", "sku", "price"], [LOAD_TS, "X1", "1.5"]]}.items():
        d = src / "sales" / table
        d.mkdir(parents=True)
        write_csv(d / "LOAD00000001.csv", rows[0], rows[1:], header=True, gz=False)
    (src / "cdc").mkdir()
    txn = [
        ["U", "orders", "sales", "2022-06-24 19:01:30.000001", "1", "a2"],
        ["I", "items", "sales", "2022-06-24 19:01:30.000001", "X2", "2.25"],
        ["D", "orders", "sales", "2022-06-24 19:01:30.000002", "2", "b"],
        ["U", "items", "sales", "2022-06-24 19:01:30.000002", "X1", "9.75"],
        ["U", "orders", "sales", "2022-06-24 19:01:30.000002", "1", "a3"],
    ]
    write_csv(src / "cdc" / "CDC_TXN-20220624190131000.csv", [], txn, header=False, gz=False)
    cfg = tmp_path / "sluice.toml"
    cfg.write_text(f"""
[source]
kind = "dms"
format = "csv"
path = "{src}"
settle_interval = "0s"

[source.dms]
timestamp_column = "DMS_TIMESTAMP"
cdc_path = "cdc"

[sink]
path = "{sink}"

[tables."sales.orders"]
primary_keys = ["id"]
columns = {{ id = "long", name = "string" }}

[tables."sales.items"]
primary_keys = ["sku"]
columns = {{ sku = "string", price = "double" }}
""")
    run_once_ok(cfg, sluice_env(src, sink))
    orders = {r["id"]: r["name"] for r in cat_table(sink / "sales" / "orders")}
    assert orders == {1: "a3"}
    items = {r["sku"]: r["price"] for r in cat_table(sink / "sales" / "items")}
    assert items == {"X1": 9.75, "X2": 2.25}
    # no stream was made of the cdc folder as if it were a schema
    assert not (sink / "cdc").exists()


def test_dms_no_sup_value_keeps_the_full_load_value(tmp_path):
    """A CsvNoSupValue cell keeps the stored value, also when the CDC file sorts
    before the full-load files by path (full load is taken first)."""
    src, sink = tmp_path / "src", tmp_path / "sink"
    write_tree(src, "csv")
    d = src / "public" / "orders" / "2022" / "06" / "24"
    write_csv(d / "20220624-190300000.csv", cdc_columns(True),
              [["U", "2022-06-24 19:03:00.000000", 5, "n5", "5.50", 5, "NOSUP", "7.00"]],
              header=True, gz=False)
    cfg = config(tmp_path, src, sink, "csv")
    # One file per commit, merged after each: the order of files matters.
    cfg.write_text("[pipeline]\nmerge_interval = \"0s\"\n" + cfg.read_text()
                   .replace('csv_header = true', 'csv_header = true\ncsv_no_sup_value = "NOSUP"')
                   .replace('settle_interval = "0s"', 'settle_interval = "0s"\nmax_files_per_batch = 1'))
    run_once_ok(cfg, sluice_env(src, sink))
    merged = {int(r["id"]): r for r in cat_table(sink / "public" / "orders")}
    assert merged[5]["name"] == "n5", merged[5]
    assert Decimal(merged[5]["amount"]) == Decimal("7.00"), merged[5]
