"""Bad DMS input (issue 14): malformed CSV (unbalanced quote, wrong column
count, bad UTF-8), a Parquet file whose schema changed so a value no longer
casts to the table's enforced schema, and an unparseable timestamp each give
dead-letter rows with a reason and the file; every other row and file is
ingested; `sluice run --once` exits 0 (no table stopped).
"""
from __future__ import annotations

import datetime as dt
import io
import os

import pyarrow as pa
import pyarrow.parquet as pq

from dms_support import Scenario, check_merged, model, read_dead_letters, require_dms_source
from conftest import read_table

LATE = dt.datetime(2022, 6, 26, 12, 0, 0)


def _ts(i: int) -> str:
    return (LATE + dt.timedelta(seconds=i)).strftime("%Y-%m-%d %H:%M:%S.%f")


def _dead_letters_of(sink, qualified, name):
    rows = read_dead_letters(sink, qualified)
    return [r for r in rows if name in str(r.get("file") or r.get("_cdc_origin") or r)]


def _keys_in(path, col):
    return {r[col] for r in read_table(path)}


def test_malformed_csv_goes_to_dead_letters(tmp_path):
    require_dms_source(tmp_path)
    sc = Scenario(tmp_path, format="csv", before_image_prefix="BI_")
    settings, rows = sc.model()
    expected = model.merged(settings, rows)
    orders = sc.root / "sales" / "orders"
    header = open(next(p for p in sorted(orders.iterdir()) if not p.name.startswith("LOAD")),
                  encoding="utf-8").readline()
    cols = header.strip().split(",")
    n = len(cols)

    def line(op, i, ident, status="ok"):
        vals = {"Op": op, "dmsTimestamp": _ts(i), "id": str(ident), "customer": "c",
                "amount": "1.00", "qty": "1", "status": status, "note": "NULL", "region": "r1",
                "created_at": "2022-01-01 00:00:00.000000", "flag": "1", "priority": "NULL",
                "BI_id": "NULL"}
        return ",".join(vals.get(c, "NULL") for c in cols)

    # wrong column count and bad UTF-8, each on its own line between good rows
    a = [header.strip(), line("I", 1, 70001), line("I", 2, 70002) + ",extra",
         line("I", 3, 70003)]
    data = ("\n".join(a) + "\n").encode() + line("I", 4, 70004, status="bad\xff").encode("latin-1") \
        + b"\n" + (line("I", 5, 70005) + "\n").encode()
    fa = orders / "20220626-120010000.csv"
    fa.write_bytes(data)
    # an unbalanced quote: the rows before it are good
    b = [header.strip(), line("I", 11, 70011), line("I", 12, 70012, status='"open')]
    b += [line("I", 13 + k, 70013 + k) for k in range(3)]
    fb = orders / "20220626-120020000.csv"
    fb.write_text("\n".join(b) + "\n")
    for f in (fa, fb):
        os.utime(f, (LATE.timestamp(), LATE.timestamp()))

    proc = sc.run_once(check=False)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert "STOPPED" not in proc.stdout
    ids = {int(x) for x in _keys_in(sc.table_path("sales.orders", "_log"), "id")}
    assert {70001, 70003, 70005, 70011} <= ids, "good rows next to bad ones are missing"
    assert not {70002, 70004} & ids, "a malformed row was ingested"
    dl_a = _dead_letters_of(sc.sink, "sales.orders", fa.name)
    dl_b = _dead_letters_of(sc.sink, "sales.orders", fb.name)
    assert len(dl_a) >= 2, f"wrong column count and bad UTF-8 need a dead letter each: {dl_a}"
    assert dl_b, "the unbalanced quote gave no dead letter"
    for r in dl_a + dl_b:
        assert r.get("reason"), r
    # the other tables are exact
    for q in ("public.accounts", "inv.items"):
        check_merged(sc, {q: expected[q]})


def test_parquet_changed_schema_and_bad_timestamp_go_to_dead_letters(tmp_path):
    require_dms_source(tmp_path)
    sc = Scenario(tmp_path, format="parquet")
    settings, rows = sc.model()
    expected = model.merged(settings, rows)
    # an enforced schema on sales.orders: a column whose type changed to text
    # that does not cast is a dead letter, not a schema change
    text = sc.config.read_text()
    old = '[tables."sales.orders"]\nprimary_keys = ["id"]'
    assert old in text
    sc.config.write_text(text.replace(old, old + '\ncolumns = { id = "long", customer = "string", '
                                      'amount = "decimal(12,2)", qty = "integer", status = "string", '
                                      'note = "string", region = "string", created_at = "timestamp", '
                                      'flag = "byte", priority = "integer" }'))
    orders = sc.root / "sales" / "orders"
    changed = pa.table({"Op": ["I", "I"], "dmsTimestamp": [_ts(1), _ts(2)],
                        "id": pa.array([90001, 90002], pa.int64()), "customer": ["a", "b"],
                        "qty": ["lots", "12x"], "status": ["changed", "schema"]})
    fc = orders / "20220626-120030000.parquet"
    pq.write_table(changed, fc)
    good = pa.table({"Op": ["I", "I", "I"],
                     "dmsTimestamp": [_ts(3), "2022-13-45 25:61:00.000000", _ts(5)],
                     "id": pa.array([90003, 90004, 90005], pa.int64()), "customer": ["a", "b", "c"],
                     "qty": pa.array([1, 2, 3], pa.int32()), "status": ["ok", "bad time", "ok"]})
    fd = orders / "20220626-120040000.parquet"
    pq.write_table(good, fd)
    # a truncated Parquet file: a dead letter, never a crash
    fe = orders / "20220626-120050000.parquet"
    buf = io.BytesIO()
    pq.write_table(good, buf)
    fe.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2] + b"PAR1")
    for f in (fc, fd, fe):
        os.utime(f, (LATE.timestamp(), LATE.timestamp()))

    proc = sc.run_once(check=False, SLUICE_SOURCE_INCOMPLETE_TIMEOUT="1s")
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert "STOPPED" not in proc.stdout
    ids = {int(x) for x in _keys_in(sc.table_path("sales.orders", "_log"), "id")}
    assert {90003, 90005} <= ids
    assert not {90001, 90002, 90004} & ids
    dl_c = _dead_letters_of(sc.sink, "sales.orders", fc.name)
    assert len(dl_c) == 2 and all(r.get("reason") for r in dl_c), dl_c
    dl_d = _dead_letters_of(sc.sink, "sales.orders", fd.name)
    assert len(dl_d) == 1 and dl_d[0].get("reason"), dl_d
    assert _dead_letters_of(sc.sink, "sales.orders", fe.name), "truncated Parquet gave no dead letter"
    # the other tables are exact, and so are the old keys of sales.orders
    for q in ("public.accounts", "inv.items"):
        check_merged(sc, {q: expected[q]})
