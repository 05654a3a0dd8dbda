"""`sluice compact` and `sluice vacuum` on tables with many small files and
deletion vectors: Spark (delta-spark), delta-rs (``deltalake``) and DuckDB
(delta-kernel-rs) must return exactly the same rows before and after, and
vacuum with a zero retention must leave only the files the table uses."""
from __future__ import annotations

import glob
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import peers
from peers import assert_same_rows


def batch(first: int, n: int, partitioned: bool) -> pa.Table:
    ids = list(range(first, first + n))
    cols = {
        "id": pa.array(ids, pa.int64()),
        "name": pa.array([f"name-{i}" if i % 7 else None for i in ids], pa.string()),
        "amount": pa.array([i * 1.5 for i in ids], pa.float64()),
    }
    if partitioned:
        cols["region"] = pa.array(["eu" if i % 3 else "us" for i in ids], pa.string())
    return pa.table(cols)


def data_files(path: str) -> list[str]:
    return sorted(p for p in glob.glob(os.path.join(path, "**", "*"), recursive=True)
                  if os.path.isfile(p) and "_delta_log" not in p and "/_sluice/" not in p)


def read_all(spark, path):
    return {
        "spark": peers.read_with_spark(spark, path),
        "deltalake": peers.read_with_deltalake(path),
        "duckdb": peers.read_with_duckdb(path),
    }


@pytest.mark.parametrize("partitioned", [False, True], ids=["flat", "partitioned"])
def test_compact_then_vacuum_keeps_every_reader_identical(spark, sluice, tmp_tables, partitioned):
    path = tmp_tables("maint")
    parts = ["region"] if partitioned else None
    tables = []
    for b in range(8):  # many small files
        t = batch(b * 25, 25, partitioned)
        tables.append(t)
        # One batch in gzip: every reader must read a table of mixed codecs.
        sluice.write(path, t, partition_by=parts, compression="gzip" if b == 3 else None)
    # Deletion vectors in several files, one file mostly deleted, inline DVs too.
    deleted = [1, 2, 30, 31, 77, 120, 199] + list(range(50, 70))
    sluice.delete(path, "id", deleted[:7])
    sluice.delete(path, "id", deleted[7:], inline_dv=True)
    # A side table under _sluice/ (as a merged table has) must survive vacuum.
    side = os.path.join(path, "_sluice", "tombstones")
    sluice.write(side, pa.table({"key": pa.array([b"k1"]), "n": pa.array([1])}))

    expected = peers.concat_minus(tables, "id", deleted)
    before = read_all(spark, path)
    for label, got in before.items():
        assert_same_rows(expected, got, "id", label=f"before/{label}")
    files_before = data_files(path)
    codecs_before = {pq.ParquetFile(f).metadata.row_group(0).column(0).compression
                     for f in files_before if f.endswith(".parquet")}
    assert codecs_before == {"ZSTD", "GZIP"}, codecs_before

    bad = sluice.run("compact", path, "--compression", "brotli", expect_fail=True).stderr
    assert "--compression" in bad and "snappy" in bad, bad
    out = sluice.run("compact", path, "--max-deleted-ratio", "0.2",
                     "--compression", "snappy").stdout
    assert "compacted at version" in out, out
    versions = sorted(glob.glob(os.path.join(path, "_delta_log", "*.json")))
    with open(versions[-1]) as f:
        actions = [json.loads(line) for line in f if line.strip()]
    removes = [a["remove"] for a in actions if "remove" in a]
    adds = [a["add"] for a in actions if "add" in a]
    assert removes and adds
    assert all(r["dataChange"] is False for r in removes)
    assert all(a["dataChange"] is False and "deletionVector" not in a for a in adds)
    assert all(json.loads(a["stats"])["numRecords"] > 0 for a in adds)
    # The new files use the codec asked for (the table's were zstd and gzip).
    for a in adds:
        meta = pq.ParquetFile(os.path.join(path, a["path"])).metadata
        codecs = {meta.row_group(g).column(c).compression
                  for g in range(meta.num_row_groups) for c in range(meta.num_columns)}
        assert codecs == {"SNAPPY"}, (a["path"], codecs)
    if partitioned:
        assert {a["partitionValues"]["region"] for a in adds} == {"eu", "us"}
        for a in adds:
            assert a["path"].startswith(f"region={a['partitionValues']['region']}/")

    after_compact = read_all(spark, path)
    for label, got in after_compact.items():
        assert_same_rows(expected, got, "id", label=f"compacted/{label}")

    dry = sluice.run("vacuum", path, "--retention", "0s", "--dry-run").stdout
    assert "would delete" in dry, dry
    assert data_files(path) != [] and len(data_files(path)) > len(adds)

    out = sluice.run("vacuum", path, "--retention", "0s").stdout
    assert "deleted" in out, out
    left = data_files(path)
    # Only the new files remain (no DV file: the compacted files have none).
    assert len(left) == len(adds), left
    assert len(left) < len(files_before)
    assert os.path.exists(os.path.join(side, "_delta_log", f"{0:020d}.json"))

    after_vacuum = read_all(spark, path)
    for label, got in after_vacuum.items():
        assert_same_rows(expected, got, "id", label=f"vacuumed/{label}")
    assert_same_rows(expected, sluice.cat(path), "id", label="sluice cat")
    # Time travel to before the compaction fails clearly: its files are gone.
    err = sluice.cat_refused(path, version=3)
    assert "deleted by vacuum" in err, err
