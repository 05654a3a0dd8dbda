"""Checks the harness itself, without Sluice: the peers read each other's
tables identically, the comparison catches real differences, and the known
peer limitations the other modules assert are still what they claim."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import datagen
import peers
from peers import assert_same_rows


@pytest.fixture(scope="module")
def rs_all_types(tmp_path_factory):
    from deltalake import write_deltalake

    path = str(tmp_path_factory.mktemp("selfcheck") / "rs_all_types")
    schema = pa.schema([f.with_nullable(True) for f in datagen.ALL_TYPES_SCHEMA])
    data = datagen.all_types(100).cast(schema)
    write_deltalake(path, data)
    return path, data


def test_peers_agree_on_every_type(spark, rs_all_types):
    path, data = rs_all_types
    for label, table in [("deltalake", peers.read_with_deltalake(path)),
                         ("duckdb", peers.read_with_duckdb(path)),
                         ("spark", peers.read_with_spark(spark, path))]:
        assert_same_rows(data, table, "id", check_column_order=True, label=label)
        assert peers.timestamp_kinds(table) == {"ts_utc": "utc", "ts_ntz": "ntz"}, label


def test_comparison_reports_differences(rs_all_types):
    _, data = rs_all_types
    changed = data.set_column(
        data.schema.get_field_index("dec38_10"), "dec38_10",
        pc.if_else(pc.equal(data["id"], 5), pa.scalar(None, data.schema.field("dec38_10").type),
                   data["dec38_10"]))
    with pytest.raises(AssertionError) as e:
        assert_same_rows(data, changed.slice(1), "id")
    msg = str(e.value)
    assert "row count: expected 100, got 99" in msg
    assert "key (0,)" in msg.replace("(0,)", "(0,)") or "missing" in msg
    assert "'dec38_10'" in msg
    # Map order and timestamp zone/unit do not matter; values do.
    assert_same_rows([{"k": 1, "m": [("b", 2), ("a", 1)]}], [{"k": 1, "m": [("a", 1), ("b", 2)]}], "k")
    with pytest.raises(AssertionError):
        assert_same_rows([{"k": 1, "f": 1.0}], [{"k": 1, "f": 1.001}], "k")


def test_deltalake_reads_deletion_vectors(spark, tmp_path):
    """The peer test_sluice_written.py relies on: delta-rs (query engine)
    applies deletion vectors Spark wrote, like DuckDB and Spark do."""
    path = str(tmp_path / "spark_dv")
    spark.sql(f"CREATE TABLE delta.`{path}` (id BIGINT) USING delta "
              "TBLPROPERTIES ('delta.enableDeletionVectors' = 'true')")
    spark.range(10).write.format("delta").mode("append").save(path)
    spark.sql(f"DELETE FROM delta.`{path}` WHERE id % 2 = 0")
    expected = pa.table({"id": pa.array([1, 3, 5, 7, 9], pa.int64())})
    assert_same_rows(expected, peers.read_with_deltalake(path), "id", label="deltalake")
    assert_same_rows(expected, peers.read_with_duckdb(path), "id", label="duckdb")
    assert_same_rows(expected, peers.read_with_spark(spark, path), "id", label="spark")
