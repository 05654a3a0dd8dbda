"""The DMS workload's column-at-a-time converter (bench/dms_workload.py,
bench/avro_columns.py, bench/dms_csv.py) writes what the row-by-row
reference converter (`--reference`) writes: a tiny generated workload and a
file of edge values converted both ways.

Compared: the same file names, in the same (mtime) order, per format; each
Parquet file read back equal column by column (type and values; the bytes
may differ); each CSV file byte for byte. The numpy Avro decoder is checked
against fastavro on every generated file, and its guesses are checked to
fall back when they are wrong. No timings are asserted.

Run: .venv/bin/python -m pytest tests/tools -q
"""

import csv
import datetime as dt
import filecmp
import glob
import io
import os
import sys
from decimal import Decimal

import fastavro
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import avro_columns  # noqa: E402
import dms_csv  # noqa: E402
import dms_workload  # noqa: E402
import gen  # noqa: E402

UTC = dt.timezone.utc


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    base = tmp_path_factory.mktemp("dmsw")
    avro = str(base / "avro")
    assert gen.main(["--out", avro, "--rows", "1500", "--changes", "2500",
                     "--backfill-file-rows", "500", "--cdc-file-events", "400",
                     "--late-group", "2", "--jobs", "1", "--quiet"]) == 0
    new, ref = str(base / "new"), str(base / "ref")
    m_new = dms_workload.convert(avro, new, jobs_n=2)
    m_ref = dms_workload.convert(avro, ref, jobs_n=1, reference=True)
    return avro, (new, m_new), (ref, m_ref)


def _files(out, fmt):
    """The files of one format in mtime order (what Spark's stream reads by)."""
    files = glob.glob(os.path.join(dms_workload.table_dir(out, fmt), f"*.{fmt}"))
    return sorted(files, key=lambda p: (os.path.getmtime(p), p))


def _same_parquet(a, b):
    ta, tb = pq.read_table(a), pq.read_table(b)
    assert ta.schema == tb.schema == dms_workload.arrow_schema(), a
    assert ta.num_rows == tb.num_rows, a
    for name in ta.column_names:
        assert ta.column(name).equals(tb.column(name)), f"{os.path.basename(a)}: {name}"


def test_same_files_in_the_same_order(both):
    _avro, (new, m_new), (ref, m_ref) = both
    assert m_new["dms"]["converter"] == "columns" and m_ref["dms"]["converter"] == "rows"
    files = m_new["dms"]["load_files"] + m_new["dms"]["cdc_files"]
    assert m_new["dms"]["numpy_decoded_files"] == files and m_ref["dms"]["numpy_decoded_files"] == 0
    for fmt in dms_workload.FORMATS:
        names_new = [os.path.basename(p) for p in _files(new, fmt)]
        names_ref = [os.path.basename(p) for p in _files(ref, fmt)]
        assert names_new == names_ref and len(names_new) >= 10
        assert names_new[:3] == [f"LOAD0000000{i}.{fmt}" for i in (1, 2, 3)]
    for key in ("load_files", "cdc_files", "source_options"):
        assert m_new["dms"][key] == m_ref["dms"][key]
    assert m_new["events"] == m_ref["events"] == 4000


def test_parquet_holds_the_same_rows(both):
    _avro, (new, _m), (ref, _r) = both
    for a, b in zip(_files(new, "parquet"), _files(ref, "parquet")):
        _same_parquet(a, b)


def test_csv_is_byte_identical(both):
    _avro, (new, m_new), (ref, m_ref) = both
    for a, b in zip(_files(new, "csv"), _files(ref, "csv")):
        assert filecmp.cmp(a, b, shallow=False), os.path.basename(a)
    assert m_new["dms"]["bytes"]["csv"] == m_ref["dms"]["bytes"]["csv"]


def test_numpy_decoder_reads_what_fastavro_reads(both):
    avro, _new, _ref = both
    files = glob.glob(os.path.join(avro, gen.OBJECT, "*", "*", "*", "*", "*", "*.avro"))
    for path in files:
        n, cols, fast = avro_columns.read_columns(path, dms_workload.FIELDS)
        assert fast, f"{os.path.basename(path)} went to fastavro"
        n2, cols2 = avro_columns.read_columns_fastavro(path, dms_workload.FIELDS)
        assert n == n2 > 0
        for f in dms_workload.FIELDS:
            assert cols[f].type == cols2[f].type and cols[f].equals(cols2[f]), f


# ----------------------------------------------------------------------------
# Edge values, written with fastavro (minimal-width decimals, several blocks)
# ----------------------------------------------------------------------------
_EDGE_STRINGS = ["plain", "a,b", 'say "hi"', "two\nlines", "", " ", "naïve 東京", "NULL?",
                 '{"tags":["x","y"],"n":-3}', "#,'\""]
_EDGE_DOUBLES = [0.0, -0.0, 3.0, -2.0, 1e-05, 0.0001, 12.345, 1e15, 9999999999.5,
                 1.2345678901234568e+17, 5e-324, None]
_EDGE_DECIMALS = ["0.00", "0.05", "-0.05", "1.28", "-1.28", "327.68", "-327.69",
                  "9999999999999999.99", "-9999999999999999.99", None]


def _edge_records(n, uuid_prefix=None, anchor_in_notes=False, stray_uuid=False):
    rng = np.random.default_rng(5)
    recs = []
    for i in range(n):
        uuid = (f"{uuid_prefix}{i:08x}" if uuid_prefix else
                "".join(rng.choice(list("0123456789abcdef"), 36)))
        if stray_uuid and i == n // 3:  # a row the search cannot find
            uuid = "f" * 36
        commit = dt.datetime(2025, 3, 1, tzinfo=UTC) + dt.timedelta(milliseconds=int(i * 1237))
        if i == 3:
            commit = dt.datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
        payload = {}
        for name, t, nullable in gen.COLUMNS:
            kind = dms_workload.CSV_TYPES[name]
            if nullable and i % 5 == 1:
                v = None
            elif kind in ("long", "integer"):
                v = [0, -1, 1, 2**31 - 1 if kind == "integer" else 2**62, -7][i % 5]
            elif kind == "string":
                v = _EDGE_STRINGS[i % len(_EDGE_STRINGS)]
            elif kind == "double":
                v = _EDGE_DOUBLES[i % len(_EDGE_DOUBLES)]
            elif kind.startswith("decimal"):
                d = _EDGE_DECIMALS[i % len(_EDGE_DECIMALS)]
                v = None if d is None else Decimal(d)
            else:  # timestamp
                v = [dt.datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=UTC),
                     dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
                     dt.datetime(1970, 1, 1, tzinfo=UTC)][i % 3]
            payload[name] = v
        if anchor_in_notes and i == (n // 3 if stray_uuid else n // 2):
            # the bytes rows share at their start (uuid length 36 = 0x48), inside a value
            payload["notes"] = "xH" + uuid_prefix + "00000000"
        change = ["INSERT", "UPDATE-INSERT", "UPDATE-DELETE", "DELETE"][i % 4]
        recs.append({
            "uuid": uuid, "read_timestamp": commit + dt.timedelta(milliseconds=7),
            "source_timestamp": commit, "object": gen.OBJECT, "read_method": gen.CDC_RM,
            "stream_name": gen.STREAM, "schema_key": gen.SCHEMA_KEY,
            "sort_keys": [str(i), i, "x"] if i % 2 else [],
            "source_metadata": {"table": gen.TABLE, "database": gen.DATABASE,
                                "primary_keys": ["id"],
                                "log_file": f"mysql-bin.{1 + i // 7:06d}",
                                "log_position": (i * 1_000_003) % (1 << 32),
                                "change_type": change, "is_deleted": change == "DELETE"},
            "payload": payload})
    return recs


def _write_avro(path, records, block_records=16, codec="null"):
    with open(path, "wb") as fh:
        fastavro.writer(fh, fastavro.parse_schema(gen.avro_schema()), records,
                        sync_interval=block_records * 400, codec=codec)


def _convert_both(tmp_path, src, full_load):
    outs = {}
    for kind, worker in (("new", dms_workload.convert_file),
                         ("ref", dms_workload.convert_file_rows)):
        out = str(tmp_path / kind)
        for fmt in dms_workload.FORMATS:
            os.makedirs(dms_workload.table_dir(out, fmt), exist_ok=True)
        n, written, _fast = worker((src, out, "F", full_load))
        outs[kind] = (n, written)
    return outs


# shared: the rows are found; random: no common start; anchor_in_value: one
# match too many; anchor_replaces_a_start: as many matches as rows, one of
# them inside a value (decoding a row from there fails)
@pytest.mark.parametrize("uuids", ["shared", "random", "anchor_in_value",
                                   "anchor_replaces_a_start"])
@pytest.mark.parametrize("full_load", [False, True])
def test_edge_values(tmp_path, uuids, full_load):
    prefix = None if uuids == "random" else "1b2c3d4e-5f60-4718-a9b0-c1d2"
    recs = _edge_records(300, prefix, anchor_in_notes=uuids.startswith("anchor"),
                         stray_uuid=uuids == "anchor_replaces_a_start")
    src = str(tmp_path / "edge.avro")
    _write_avro(src, recs)
    _n, _cols, fast = avro_columns.read_columns(src, dms_workload.FIELDS)
    assert fast == (uuids == "shared")  # a wrong guess falls back, never reads wrong
    outs = _convert_both(tmp_path, src, full_load)
    assert outs["new"][0] == outs["ref"][0] == 300
    _same_parquet(outs["new"][1]["parquet"][0], outs["ref"][1]["parquet"][0])
    a, b = outs["new"][1]["csv"][0], outs["ref"][1]["csv"][0]
    assert filecmp.cmp(a, b, shallow=False)
    with open(a, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == 301 and {len(r) for r in rows} == {len(rows[0])}


@pytest.mark.parametrize("codec", ["null", "deflate"])
def test_decoder_agrees_with_fastavro_on_edge_values(tmp_path, codec):
    src = str(tmp_path / "edge.avro")
    _write_avro(src, _edge_records(257, "00000000-0000-4000-a000-0000"), block_records=40,
                codec=codec)
    n, cols, fast = avro_columns.read_columns(src, dms_workload.FIELDS)
    n2, cols2 = avro_columns.read_columns_fastavro(src, dms_workload.FIELDS)
    assert fast and n == n2 == 257
    for f in dms_workload.FIELDS:
        assert cols[f].equals(cols2[f]), f


def test_row_starts_that_do_not_chain_are_refused(tmp_path, monkeypatch):
    """A guess with one start missing decodes (every start is a true one)
    but a row then ends where no row starts: the chaining proof refuses it."""
    src = str(tmp_path / "edge.avro")
    _write_avro(src, _edge_records(40, "00000000-0000-4000-a000-0000"), block_records=1000)
    with open(src, "rb") as fh:
        schema, blocks = avro_columns.read_container(fh.read())
    assert len(blocks) == 1
    count, raw = blocks[0]
    wanted = {tuple(f.split(".")) for f in dms_workload.FIELDS}
    true = avro_columns._Block(raw, schema, wanted).starts(count)
    assert len(true) == count == 40
    monkeypatch.setattr(avro_columns._Block, "starts", lambda self, c: np.delete(true, 5))
    with pytest.raises(avro_columns.NotFast, match="do not chain"):
        avro_columns._Block(raw, schema, wanted).columns(count - 1)


def test_csv_cells_of_doubles_are_python_str():
    rng = np.random.default_rng(11)
    x = np.concatenate([rng.random(3000) * 10.0 ** e for e in range(-9, 19)]
                       + [np.round(rng.random(3000) * 50, 3), np.floor(rng.random(300) * 1e6),
                          [0.0, -0.0, 1e10, 9999999999.999998, 1e-4, 0.000099999, np.inf,
                           -np.inf, np.nan]])
    cells = dms_csv.cell_text(pa.array(x)).to_pylist()
    assert cells == [str(v) for v in x.tolist()]


def test_csv_quotes_what_rfc_4180_quotes(tmp_path):
    """CR is quoted too (the reference, csv.writer with "\n" line ends, left
    it bare; the generator never writes one)."""
    col = pa.array(["a", "a,b", 'a"b', "a\nb", "a\rb", "", None], pa.string())
    assert dms_csv.cell_text(col).to_pylist() == [
        "a", '"a,b"', '"a""b"', '"a\nb"', '"a\rb"', "", None]
    table = pa.table({"s": col, "n": pa.array([1, 2, None, 4, 5, 6, 7], pa.int64())})
    path = str(tmp_path / "t.csv")
    assert dms_csv.write(table, path) == os.path.getsize(path)
    with open(path, newline="", encoding="utf-8") as fh:
        text = fh.read()
    assert list(csv.reader(io.StringIO(text))) == [
        ["s", "n"], ["a", "1"], ["a,b", "2"], ['a"b', "NULL"], ["a\nb", "4"], ["a\rb", "5"],
        ["", "6"], ["NULL", "7"]]
    assert '"NULL"' not in text  # CsvNullValue, unquoted
