"""The DMS generator (tools/dms_gen) and the reference model (model.py):

* every option set of the generator writes files that parse (pyarrow,
  Python's csv) and that the model, reading them on its own, replays to the
  generator's true final state (the simulated database), value by value;
* what the files look like: hex LOAD counters past 9, SEGMENTn_ prefixes,
  CDC names by time, out-of-order names, date folders, CDC_TXN files, gzip,
  35-digit change sequences, DMS Parquet types, the timestamp string;
* the model's rules on hand-written tiny cases.
"""
from __future__ import annotations

import datetime as dt
import gzip
import os
import re
from decimal import Decimal

import pyarrow.parquet as pq
import pytest

import model
from dms_gen.generator import Options, data_root, generate

VARIANTS = {
    "parquet": {},
    "parquet-seq-bi-out-of-order": dict(change_sequence_column="AR_H_CHANGE_SEQ",
                                        before_image_prefix="BI_", out_of_order_files=2),
    "parquet-out-of-order": dict(out_of_order_files=3),
    "csv-header-nosup-bi": dict(format="csv", before_image_prefix="BI_", csv_no_sup="NOSUP"),
    "csv-no-header": dict(format="csv", csv_header=False, added_column=False, csv_null="",
                          csv_delimiter="|"),
    "csv-gzip-op-full-load": dict(format="csv", gzip=True, include_op_for_full_load=True),
    "parquet-gzip-ms": dict(gzip=True, timestamp_ms=True),
    "csv-inserts-only": dict(format="csv", cdc_inserts_only=True),
    "parquet-inserts-only": dict(cdc_inserts_only=True),
    "parquet-date-DDMMYYYY-DASH": dict(date_partition="DDMMYYYY", date_delimiter="DASH"),
    "csv-date-YYYYMMDDHH-NONE": dict(format="csv", date_partition="YYYYMMDDHH", date_delimiter="NONE"),
    "csv-cdc-txn": dict(format="csv", preserve_transactions=True, before_image_prefix="BI_"),
}


def _truth_matches(g, state):
    for q, st in g.truth.items():
        got = state[q]
        assert set(got) == set(st), (q, set(st) - set(got), set(got) - set(st))
        for k, row in st.items():
            for c, v in row.items():
                assert model.same(v, got[k].get(c)), (q, k, c, v, got[k].get(c))


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_model_replays_files_to_the_true_state(tmp_path, name):
    g = generate(Options(out=str(tmp_path), seed=7, **VARIANTS[name]))
    s, rows = model.read_tree(str(tmp_path / "sluice.toml"))
    assert sum(len(r) for r in rows.values()) == sum(f["rows"] for f in g.files)
    _truth_matches(g, model.merged(s, rows))
    # the stream has every kind of change
    ops = {r.op for rs in rows.values() for r in rs}
    assert "load" in ops and "I" in ops
    if not g.options.cdc_inserts_only:
        assert {"U", "D"} <= ops


def test_same_seed_same_bytes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    generate(Options(out=str(a), seed=3, format="csv", gzip=True))
    generate(Options(out=str(b), seed=3, format="csv", gzip=True))
    for dirpath, _, files in os.walk(a / "bucket"):
        for f in files:
            p = os.path.join(dirpath, f)
            q = str(p).replace(str(a), str(b), 1)
            assert open(p, "rb").read() == open(q, "rb").read(), p


def test_file_names_and_formats(tmp_path):
    g = generate(Options(out=str(tmp_path), seed=5, change_sequence_column="AR_H_CHANGE_SEQ",
                         before_image_prefix="BI_", out_of_order_files=2))
    root = data_root(g.options)
    items = sorted(os.listdir(os.path.join(root, "inv", "items")))
    loads = [f for f in items if f.startswith("LOAD")]
    assert "LOAD00000009.parquet" in loads and "LOAD0000000A.parquet" in loads
    accounts = os.listdir(os.path.join(root, "public", "accounts"))
    assert "SEGMENT1_LOAD00000001.parquet" in accounts and "SEGMENT2_LOAD00000001.parquet" in accounts
    cdc = [f for f in items if not f.startswith("LOAD")]
    assert cdc and all(re.fullmatch(r"\d{8}-\d{9}\.parquet", f) for f in cdc)
    # names out of transaction order: a later-named file holds earlier commits
    firsts = []
    for f in sorted(cdc):
        t = pq.read_table(os.path.join(root, "inv", "items", f)).column("dmsTimestamp").to_pylist()
        firsts.append(min(t))
    assert firsts != sorted(firsts)
    # DMS Parquet types
    t = pq.read_table(os.path.join(root, "inv", "items", cdc[0]))
    types = {f.name: str(f.type) for f in t.schema}
    assert types["Op"] == "string" and types["dmsTimestamp"] == "string"
    assert types["stock"] == "uint32" and types["serial"] == "uint64" and types["tiny"] == "uint8"
    assert types["tod"] == "time32[ms]" and types["blob"] == "binary"
    assert types["BI_sku"] == "string" and types["AR_H_CHANGE_SEQ"] == "string"
    meta = pq.ParquetFile(os.path.join(root, "public", "accounts", "SEGMENT1_LOAD00000001.parquet"))
    assert meta.schema.column(meta.schema_arrow.get_field_index("balance")).physical_type == "FIXED_LEN_BYTE_ARRAY"
    assert "Op" not in meta.schema_arrow.names  # full load without IncludeOpForFullLoad
    row = t.to_pylist()[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", row["dmsTimestamp"])
    assert re.fullmatch(r"\d{35}", row["AR_H_CHANGE_SEQ"])
    orders = pq.read_table(os.path.join(root, "sales", "orders", sorted(
        f for f in os.listdir(os.path.join(root, "sales", "orders")) if not f.startswith("LOAD"))[0]))
    assert orders.schema.field("created_at").type.unit == "us"


def test_one_transaction_shares_a_timestamp_and_unknown_deletes(tmp_path):
    g = generate(Options(out=str(tmp_path), seed=11))
    s, rows = model.read_tree(str(tmp_path / "sluice.toml"))
    per_ts = {}
    for rs in rows.values():
        for r in rs:
            if r.op != "load":
                per_ts.setdefault(r.ts, []).append(r)
    assert max(len(v) for v in per_ts.values()) >= 5
    seen = {}
    ghosts = 0
    for table, rs in rows.items():
        keys = s.keys[table]
        live = {model.key_of(r, keys) for r in rs if r.op in ("load", "I", "U")}
        ghosts += sum(1 for r in rs if r.op == "D" and model.key_of(r, keys) not in live)
    assert ghosts >= 1, "no delete of a key the stream never had"
    del seen


def test_csv_cells(tmp_path):
    g = generate(Options(out=str(tmp_path), seed=2, format="csv", csv_no_sup="NOSUP",
                         before_image_prefix="BI_", gzip=True))
    root = data_root(g.options)
    texts = []
    for dirpath, _, files in os.walk(root):
        for f in files:
            assert f.endswith(".csv.gz")
            texts.append(gzip.decompress(open(os.path.join(dirpath, f), "rb").read()).decode())
    alltext = "\n".join(texts)
    assert "NOSUP" in alltext and ",NULL," in alltext and '""' in alltext  # quotes doubled
    assert any(t.startswith("Op,dmsTimestamp,id,") for t in texts)
    assert any(t.startswith("dmsTimestamp,id,") for t in texts)  # full load: no Op


def test_date_partitions(tmp_path):
    for seq, delim, pattern in [("YYYYMMDD", "SLASH", r"\d{4}/\d\d/\d\d"),
                                ("YYYYMMDDHH", "UNDERSCORE", r"\d{4}_\d\d_\d\d_\d\d"),
                                ("YYYYMM", "DASH", r"\d{4}-\d\d"),
                                ("MMYYYYDD", "SLASH", r"\d\d/\d{4}/\d\d"),
                                ("DDMMYYYY", "NONE", r"\d{8}")]:
        out = tmp_path / seq
        g = generate(Options(out=str(out), seed=1, date_partition=seq, date_delimiter=delim,
                             transactions=40))
        for f in g.files:
            rel = os.path.dirname(f["path"])
            parts = rel.split("/", 2)
            assert re.fullmatch(pattern, parts[2]), (seq, delim, rel)
        s, rows = model.read_tree(str(out / "sluice.toml"))
        _truth_matches(g, model.merged(s, rows))


def test_cdc_txn_files(tmp_path):
    g = generate(Options(out=str(tmp_path), seed=4, format="csv", preserve_transactions=True))
    root = data_root(g.options)
    names = sorted(os.listdir(os.path.join(root, "cdc")))
    assert names and all(re.fullmatch(r"CDC_TXN-\d{17}\.csv", n) for n in names)
    multi = [f for f in g.files if f["kind"] == "cdc_txn" and len(f["tables"]) > 1]
    assert multi, "no CDC_TXN file holds rows of several tables"
    first = open(os.path.join(root, "cdc", names[0])).readline()
    assert re.match(r"^[IUD],(orders|accounts|items),(sales|public|inv),\d{4}-", first)
    # no per-table CDC files: only the full load in the table folders
    assert all(f["kind"] != "cdc" for f in g.files)


# --------------------------------------------------------------------------
# the model on hand-written cases


def _settings(**kw):
    base = dict(fmt="csv", root="", timestamp_column="ts", change_sequence_column="",
                csv_header=True, csv_null="NULL", csv_delimiter=",", csv_no_sup=None,
                cdc_inserts_only=False, before_image_prefix="BI_", cdc_path="",
                cdc_start_date="", keys={"s.t": ["id"]}, columns={"s.t": None})
    base.update(kw)
    return model.Settings(**base)


T = dt.datetime(2022, 6, 24, 12, 0, 0)


def _row(op, id_, v, ts=None, seq=None, f="f", ft="1", i=0, before=None):
    return model.Row("s.t", op, {"id": id_, "v": v}, ts, seq, f, ft, i, before)


def test_model_full_load_sorts_before_cdc_whatever_the_timestamps():
    s = _settings()
    rows = {"s.t": [_row("U", 1, "cdc", ts=T), _row("load", 1, "load", ts=T + dt.timedelta(hours=1))]}
    assert model.merged(s, rows)["s.t"] == {(1,): {"id": 1, "v": "cdc"}}


def test_model_timestamp_then_file_then_row():
    s = _settings()
    rows = {"s.t": [
        _row("U", 1, "second-file", ts=T, ft="2", i=0),
        _row("U", 1, "row1", ts=T, ft="1", i=1),
        _row("U", 1, "row0", ts=T, ft="1", i=0),
        _row("U", 1, "earlier", ts=T - dt.timedelta(seconds=1), ft="9", i=5),
    ]}
    assert model.merged(s, rows)["s.t"][(1,)]["v"] == "second-file"


def test_model_change_sequence_is_a_number_and_wins_over_timestamps():
    s = _settings(change_sequence_column="seq")
    rows = {"s.t": [_row("U", 1, "big", ts=T, seq=10**34 + 9),
                    _row("U", 1, "small", ts=T + dt.timedelta(hours=1), seq=10**34 + 10)]}
    assert model.merged(s, rows)["s.t"][(1,)]["v"] == "small"


def test_model_deletes_nulls_nosup_and_moves():
    s = _settings()
    rows = {"s.t": [
        _row("load", 1, "a", ts=T),
        _row("D", 7, "ghost", ts=T + dt.timedelta(seconds=1)),                 # never had
        _row("U", 1, None, ts=T + dt.timedelta(seconds=2)),                    # to NULL
        model.Row("s.t", "U", {"id": 1, "v": model.NOSUP}, T + dt.timedelta(seconds=3), None, "f", "1", 0),
        _row("U", 2, "moved", ts=T + dt.timedelta(seconds=4), before=(1,)),     # key change
    ]}
    assert model.merged(s, rows)["s.t"] == {(2,): {"id": 2, "v": "moved"}}
    rows["s.t"].insert(3, _row("U", 1, "b", ts=T + dt.timedelta(seconds=2.5)))
    # NoSup keeps the stored value, and the move keeps what it carried
    st = model.merged(s, {"s.t": rows["s.t"][:5]})["s.t"]
    assert st == {(1,): {"id": 1, "v": "b"}}
    h = model.history(s, rows)["s.t"]
    assert [(v["id"], v["v"], v["__START_AT"], v["__END_AT"]) for v in h] == [
        (1, "a", T, T + dt.timedelta(seconds=2)),
        (1, None, T + dt.timedelta(seconds=2), T + dt.timedelta(seconds=2.5)),
        (1, "b", T + dt.timedelta(seconds=2.5), T + dt.timedelta(seconds=4)),
        (2, "moved", T + dt.timedelta(seconds=4), None)]


def test_model_inserts_only_and_snapshot():
    s = _settings(cdc_inserts_only=True)
    d1 = dt.datetime(2022, 6, 24, 23, 0)
    rows = {"s.t": [_row("load", 1, "a", ts=d1), _row("I", 1, "b", ts=d1 + dt.timedelta(hours=2)),
                    _row("I", 2, "c", ts=d1 + dt.timedelta(minutes=30))]}
    assert model.merged(s, rows)["s.t"] == {(1,): {"id": 1, "v": "b"}, (2,): {"id": 2, "v": "c"}}
    snap = model.snapshot(s, rows, "2022-06-24")["s.t"]
    assert snap == {(1,): {"id": 1, "v": "a"}, (2,): {"id": 2, "v": "c"}}
    # a full-load row stamped after the date is not in it, unless
    # cdc_start_date stamps the full load
    late = {"s.t": [_row("load", 3, "x", ts=d1 + dt.timedelta(days=2))]}
    assert model.snapshot(s, late, "2022-06-24")["s.t"] == {}
    s2 = _settings(cdc_inserts_only=True, cdc_start_date="2022-06-20")
    assert model.snapshot(s2, late, "2022-06-24")["s.t"] == {(3,): {"id": 3, "v": "x"}}


def test_model_value_comparison():
    assert model.same(Decimal("1.50"), Decimal("1.5"))
    assert model.same(2**64 - 1, Decimal(2**64 - 1))
    assert not model.same(Decimal("1.5"), 1.5 + 1e-9)
    assert model.same(dt.datetime(2022, 1, 1, 1, 2, 3, 4),
                      dt.datetime(2022, 1, 1, 1, 2, 3, 4, tzinfo=dt.timezone.utc))
    assert model.same(dt.date(2022, 1, 2), "2022-01-02")
    assert not model.same(None, "")
    assert model.same("", "")


def test_model_order_matters(tmp_path):
    """Ordering CDC rows by file name alone (ignoring commit time) disagrees
    with the true state when names are out of order: the test can fail."""
    g = generate(Options(out=str(tmp_path), seed=9, out_of_order_files=3))
    s, rows = model.read_tree(str(tmp_path / "sluice.toml"))
    naive = {}
    for table, rs in rows.items():
        st = {}
        for r in sorted(rs, key=lambda r: (r.op != "load", r.file_time, r.index)):
            model._apply(st, r, s.keys[table], False)
        naive[table] = st
    with pytest.raises(AssertionError):
        _truth_matches(g, naive)


def test_generated_config_uses_the_issue_keys(tmp_path):
    import tomllib
    issue_keys = {"timestamp_column", "change_sequence_column", "csv_header", "csv_null",
                  "csv_delimiter", "include_op_for_full_load", "cdc_inserts_only",
                  "before_image_prefix", "cdc_start_date"}
    g = generate(Options(out=str(tmp_path), seed=1, format="csv", csv_no_sup="NOSUP",
                         preserve_transactions=True, sink=str(tmp_path / "lake")))
    cfg = tomllib.loads((tmp_path / "sluice.toml").read_text())
    assert cfg["source"]["kind"] == "dms" and cfg["source"]["format"] == "csv"
    assert set(cfg["source"]["dms"]) == issue_keys | {"csv_no_sup_value", "cdc_path"}
    assert cfg["sink"]["path"] == str(tmp_path / "lake")
    for t in g.tables:
        tc = cfg["tables"][t.qualified]
        assert tc["primary_keys"] == t.keys
        # CSV: every column with its type, in file order
        assert list(tc["columns"]) == [c for c, _ in t.columns] + ([t.added[0]] if t.added else [])


def test_full_load_rows_stamped_after_a_cdc_change_of_their_key(tmp_path):
    """DMS can stamp a full-load row later than a CDC change of the same key;
    the stream has such keys (and the model still puts the load first)."""
    generate(Options(out=str(tmp_path), seed=14, rows_per_table=30, transactions=80))
    s, rows = model.read_tree(str(tmp_path / "sluice.toml"))
    n = 0
    for table, rs in rows.items():
        keys = s.keys[table]
        load_ts = {model.key_of(r, keys): r.ts for r in rs if r.op == "load"}
        n += sum(1 for r in rs if r.op in ("U", "D") and model.key_of(r, keys) in load_ts
                 and r.ts < load_ts[model.key_of(r, keys)])
    assert n >= 3, n


def test_command_line(tmp_path):
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    cli = os.path.join(root, "tools", "dms_gen", "generate.py")
    out = tmp_path / "g"
    proc = subprocess.run([sys.executable, cli, "--out", str(out), "--format", "csv", "--gzip",
                           "--csv-no-sup", "NOSUP", "--before-image-prefix", "BI_",
                           "--transactions", "30", "--sink", str(tmp_path / "lake")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "sluice.toml" in proc.stdout
    s, rows = model.read_tree(str(out / "sluice.toml"))
    assert s.fmt == "csv" and s.csv_no_sup == "NOSUP"
    assert all(rows.values())
