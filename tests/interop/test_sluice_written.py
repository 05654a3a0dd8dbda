"""Tables written by Sluice, read by Spark (delta-spark), delta-rs (python
``deltalake``) and DuckDB (delta extension, i.e. delta-kernel-rs), compared
value by value with the pyarrow data the test generated (minus deletions).

Every peer reads every variant, deletion vectors included: deltalake through
its query engine (QueryBuilder), since its plain pyarrow-dataset path still
refuses the deletionVectors reader feature (1.2.1 refused it everywhere,
which is why the pin is 1.6.6).
"""
from __future__ import annotations

import glob
import json
import os
import shutil

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import datagen
import peers
from peers import assert_same_rows

PROTOCOLS = [pytest.param(True, id="dv"), pytest.param(False, id="nodv")]


def log_actions(table_dir: str, version: int) -> list[dict]:
    with open(os.path.join(table_dir, "_delta_log", f"{version:020d}.json")) as f:
        return [json.loads(line) for line in f if line.strip()]


def latest_version(table_dir: str) -> int:
    names = glob.glob(os.path.join(table_dir, "_delta_log", "*.json"))
    return max(int(os.path.basename(n).split(".")[0]) for n in names)


def check_deltalake(path, expected, key, dv_protocol: bool, version=None, label="deltalake"):
    # dv_protocol is kept in the signature so every caller states what it
    # wrote; deltalake reads both.
    del dv_protocol
    assert_same_rows(expected, peers.read_with_deltalake(path, version=version), key,
                     label=label)


def check_all_peers(spark, path, expected, key, dv_protocol: bool, sluice=None):
    """Latest snapshot through every peer (and Sluice itself, if given)."""
    assert_same_rows(expected, peers.read_with_spark(spark, path), key, label="spark")
    assert_same_rows(expected, peers.read_with_duckdb(path), key, label="duckdb")
    check_deltalake(path, expected, key, dv_protocol)
    if sluice is not None:
        assert_same_rows(expected, sluice.cat(path), key, check_column_order=True,
                         label="sluice cat")


# --------------------------------------------------------------------------


@pytest.mark.parametrize("dv", PROTOCOLS)
def test_all_types(spark, sluice, tmp_tables, dv):
    path = tmp_tables("all_types")
    data = datagen.all_types(150)
    sluice.write(path, data, deletion_vectors=dv)

    protocol = next(a["protocol"] for a in log_actions(path, 0) if "protocol" in a)
    if dv:
        assert protocol["minReaderVersion"] == 3 and protocol["minWriterVersion"] == 7
        assert "deletionVectors" in protocol.get("readerFeatures", [])
    # A timestamp without time zone needs the timestampNtz feature (3/7).
    assert "timestampNtz" in protocol.get("readerFeatures", []), protocol

    spark_rows = peers.read_with_spark(spark, path)
    assert_same_rows(data, spark_rows, "id", check_column_order=True, label="spark")
    # Zoned vs. not zoned survives the round trip (values are compared in UTC).
    assert peers.timestamp_kinds(spark_rows) == {"ts_utc": "utc", "ts_ntz": "ntz"}

    duck = peers.read_with_duckdb(path)
    assert_same_rows(data, duck, "id", check_column_order=True, label="duckdb")
    assert peers.timestamp_kinds(duck) == {"ts_utc": "utc", "ts_ntz": "ntz"}

    check_deltalake(path, data, "id", dv)
    if not dv:
        assert peers.timestamp_kinds(peers.read_with_deltalake(path)) == {
            "ts_utc": "utc", "ts_ntz": "ntz"}

    assert_same_rows(data, sluice.cat(path), "id", check_column_order=True, label="sluice cat")

    # Spark's schema of the table, type by type.
    fields = {f.name: f.dataType.simpleString() for f in
              spark.read.format("delta").load(path).schema.fields}
    assert fields == {
        "id": "bigint", "bool": "boolean", "int8": "tinyint", "int16": "smallint",
        "int32": "int", "int64": "bigint", "float32": "float", "float64": "double",
        "dec10_2": "decimal(10,2)", "dec38_10": "decimal(38,10)", "str": "string",
        "bin": "binary", "date": "date", "ts_utc": "timestamp", "ts_ntz": "timestamp_ntz",
        "struct": "struct<a:int,b:string,inner:struct<c:double,d:date>>",
        "list_int": "array<int>", "list_struct": "array<struct<k:string,v:bigint>>",
        "map": "map<string,bigint>",
    }


def test_simple_table_without_dv_is_legacy_protocol(sluice, tmp_tables, read_with_deltalake):
    """--no-deletion-vectors with only legacy types: protocol (1,2)."""
    path = tmp_tables("legacy")
    data = datagen.simple(50)
    sluice.write(path, data, deletion_vectors=False)
    protocol = next(a["protocol"] for a in log_actions(path, 0) if "protocol" in a)
    assert (protocol["minReaderVersion"], protocol["minWriterVersion"]) == (1, 2), protocol
    assert_same_rows(data, read_with_deltalake(path), "id", label="deltalake")


@pytest.mark.parametrize("dv", PROTOCOLS)
def test_partitioned(spark, sluice, tmp_tables, dv):
    path = tmp_tables("partitioned")
    first = datagen.partitioned(70)
    second = datagen.partitioned(50, start=1000)
    sluice.write(path, first, partition_by=["region", "day"], deletion_vectors=dv)
    sluice.write(path, second, partition_by=["region", "day"])
    expected = pa.concat_tables([first, second])

    md = next(a["metaData"] for a in log_actions(path, 0) if "metaData" in a)
    assert md["partitionColumns"] == ["region", "day"]
    adds = [a["add"] for v in (0, 1) for a in log_actions(path, v) if "add" in a]
    # Null partition values are JSON nulls in partitionValues.
    assert any(a["partitionValues"]["region"] is None for a in adds)
    assert any(a["partitionValues"]["day"] is None for a in adds)
    assert all(set(a["partitionValues"]) == {"region", "day"} for a in adds)

    check_all_peers(spark, path, expected, "id", dv, sluice)
    # Partition pruning on the null and on an escaped value gives the same rows.
    got = spark.read.format("delta").load(path).where("region IS NULL").toArrow()
    assert_same_rows(expected.filter(pc.is_null(expected["region"])), got, "id",
                     label="spark region IS NULL")
    got = spark.read.format("delta").load(path).where("region = 'x/y'").toArrow()
    assert_same_rows(expected.filter(pc.equal(expected["region"], "x/y")), got, "id",
                     label="spark region = 'x/y'")
    # Time travel through a peer: version 0 is the first batch only.
    assert_same_rows(first, peers.read_with_spark(spark, path, version=0), "id",
                     label="spark v0")


def _write_three_batches(sluice, path, dv: bool):
    batches = [datagen.simple(400, start=s) for s in (0, 400, 800)]
    for b in batches:
        sluice.write(path, b, deletion_vectors=dv)
    return batches


def test_deletes_with_deletion_vectors(spark, sluice, tmp_tables):
    path = tmp_tables("deletes_dv")
    batches = _write_three_batches(sluice, path, dv=True)
    first_delete = list(range(0, 1200, 7))           # rows in every file
    second_delete = list(range(3, 1200, 11))         # touches files that have a DV
    sluice.delete(path, "id", first_delete)
    sluice.delete(path, "id", second_delete)
    v_after_first = latest_version(path) - 1

    # Sluice deleted with deletion vectors, not by rewriting.
    adds = [a["add"] for a in log_actions(path, v_after_first) if "add" in a]
    assert adds and all(a.get("deletionVector") for a in adds), adds
    for a in adds:
        assert a["deletionVector"]["cardinality"] > 0

    expected = peers.concat_minus(batches, "id", first_delete + second_delete)
    check_all_peers(spark, path, expected, "id", dv_protocol=True, sluice=sluice)

    # Time travel: after the first delete only, and before any delete.
    after_first = peers.concat_minus(batches, "id", first_delete)
    assert_same_rows(after_first, peers.read_with_spark(spark, path, version=v_after_first),
                     "id", label="spark after first delete")
    assert_same_rows(after_first, sluice.cat(path, version=v_after_first), "id",
                     label="sluice cat after first delete")
    assert_same_rows(pa.concat_tables(batches), peers.read_with_spark(spark, path, version=2),
                     "id", label="spark before deletes")

    info = sluice.inspect(path)
    assert info["num_rows"] == expected.num_rows
    assert info["version"] == latest_version(path)


def test_inline_deletion_vectors(spark, sluice, tmp_tables):
    """DVs stored inline in the log (z85, storage type 'i'), then a second
    delete that unions into them."""
    path = tmp_tables("deletes_inline_dv")
    batches = _write_three_batches(sluice, path, dv=True)
    first, second = list(range(0, 1200, 13)), list(range(5, 1200, 17))
    sluice.delete(path, "id", first, inline_dv=True)
    sluice.delete(path, "id", second, inline_dv=True)
    adds = [a["add"] for a in log_actions(path, latest_version(path)) if "add" in a]
    assert adds and all(a["deletionVector"]["storageType"] == "i" for a in adds), adds
    expected = peers.concat_minus(batches, "id", first + second)
    check_all_peers(spark, path, expected, "id", dv_protocol=True, sluice=sluice)


def test_deletes_copy_on_write(spark, sluice, tmp_tables):
    """Copy-on-write on a table without the DV feature: readable by every
    peer, deltalake included."""
    path = tmp_tables("deletes_cow")
    batches = _write_three_batches(sluice, path, dv=False)
    deleted = list(range(0, 1200, 7)) + list(range(3, 1200, 11))
    sluice.delete(path, "id", deleted[:100], copy_on_write=True)
    sluice.delete(path, "id", deleted[100:], copy_on_write=True)

    for v in range(3, latest_version(path) + 1):
        for a in log_actions(path, v):
            assert "deletionVector" not in a.get("add", {}), a
            if "remove" in a:
                assert a["remove"].get("dataChange") is True
    expected = peers.concat_minus(batches, "id", deleted)
    check_all_peers(spark, path, expected, "id", dv_protocol=False, sluice=sluice)
    assert_same_rows(peers.concat_minus(batches, "id", deleted[:100]),
                     peers.read_with_deltalake(path, version=3), "id",
                     label="deltalake after first delete")


def test_copy_on_write_on_dv_table(spark, sluice, tmp_tables):
    """--copy-on-write on a DV-capable table: no DV appears in the log."""
    path = tmp_tables("cow_on_dv")
    batches = _write_three_batches(sluice, path, dv=True)
    deleted = list(range(5, 1200, 9))
    sluice.delete(path, "id", deleted, copy_on_write=True)
    assert all("deletionVector" not in a.get("add", {}) for a in log_actions(path, 3))
    check_all_peers(spark, path, peers.concat_minus(batches, "id", deleted), "id",
                    dv_protocol=True, sluice=sluice)


@pytest.mark.parametrize("dv", PROTOCOLS)
def test_many_commits_and_checkpoints(spark, sluice, tmp_tables, dv):
    path = tmp_tables("checkpoints")
    batches = []
    for i in range(27):                              # versions 0..26
        b = datagen.simple(10, start=i * 10)
        batches.append(b)
        sluice.write(path, b, checkpoint_interval=10, deletion_vectors=dv)
    assert latest_version(path) == 26

    log = os.path.join(path, "_delta_log")
    for v in (10, 20):
        assert glob.glob(os.path.join(log, f"{v:020d}.checkpoint*.parquet")), os.listdir(log)
    with open(os.path.join(log, "_last_checkpoint")) as f:
        assert json.load(f)["version"] == 20

    expected = pa.concat_tables(batches)
    check_all_peers(spark, path, expected, "id", dv, sluice)
    for v in (5, 10, 15, 20):
        exp_v = pa.concat_tables(batches[: v + 1])
        assert_same_rows(exp_v, peers.read_with_spark(spark, path, version=v), "id",
                         label=f"spark v{v}")
        assert_same_rows(exp_v, sluice.cat(path, version=v), "id", label=f"sluice v{v}")
    check_deltalake(path, pa.concat_tables(batches[:16]), "id", dv, version=15,
                    label="deltalake v15")

    # Explicit checkpoint at the latest version.
    sluice.checkpoint(path)
    assert glob.glob(os.path.join(log, f"{26:020d}.checkpoint*.parquet"))
    with open(os.path.join(log, "_last_checkpoint")) as f:
        assert json.load(f)["version"] == 26
    assert sluice.inspect(path)["last_checkpoint"] == 26

    # Peers must be able to rebuild the snapshot from Sluice's checkpoint
    # alone: a copy without the commits before it (Spark, like the protocol's
    # log-cleanup rules, keeps the checkpoint version's own commit file).
    bare = tmp_tables("checkpoint_only")
    shutil.copytree(path, bare)
    for v in range(0, 26):
        os.remove(os.path.join(bare, "_delta_log", f"{v:020d}.json"))
    for name in os.listdir(os.path.join(bare, "_delta_log")):
        if name.endswith(".crc"):
            os.remove(os.path.join(bare, "_delta_log", name))
    check_all_peers(spark, bare, expected, "id", dv, sluice)


@pytest.mark.parametrize("dv", PROTOCOLS)
def test_txn(spark, sluice, tmp_tables, dv):
    path = tmp_tables("txn")
    b0, b1, b2 = (datagen.simple(20, start=s) for s in (0, 20, 40))
    sluice.write(path, b0, txn=("pipeline-a", 5), deletion_vectors=dv)
    sluice.write(path, b1, txn=("pipeline-a", 6))
    sluice.write(path, b2, txn=("pipeline-b", 1))
    expected = pa.concat_tables([b0, b1, b2])

    txns = [a["txn"] for v in range(3) for a in log_actions(path, v) if "txn" in a]
    assert [(t["appId"], t["version"]) for t in txns] == [
        ("pipeline-a", 5), ("pipeline-a", 6), ("pipeline-b", 1)]
    check_all_peers(spark, path, expected, "id", dv, sluice)
    assert sluice.inspect(path)["txns"] == {"pipeline-a": 6, "pipeline-b": 1}

    # Spark sees the same application versions ...
    jvm = spark._jvm
    delta_log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, path)
    snap_txns = delta_log.update(False, jvm.scala.Option.empty(), jvm.scala.Option.empty()) \
        .transactions()
    assert snap_txns.get("pipeline-a").get() == 6
    assert snap_txns.get("pipeline-b").get() == 1
    # ... and honours them: an idempotent Spark write with an old version is skipped.
    v_before = latest_version(path)
    extra = spark.createDataFrame([(999, "x", 1.0, None)], "id long, name string, value double, day date")
    extra.write.format("delta").mode("append").option("txnAppId", "pipeline-a") \
        .option("txnVersion", 6).save(path)
    assert latest_version(path) == v_before
    extra.write.format("delta").mode("append").option("txnAppId", "pipeline-a") \
        .option("txnVersion", 7).save(path)
    assert latest_version(path) == v_before + 1
    # Sluice reads Spark's txn action back.
    assert sluice.inspect(path)["txns"] == {"pipeline-a": 7, "pipeline-b": 1}

    if not dv:
        from deltalake import DeltaTable

        dt = DeltaTable(path)
        assert dt.transaction_version("pipeline-a") == 7
        assert dt.transaction_version("pipeline-b") == 1


def test_target_file_size_splits_files(spark, sluice, tmp_tables):
    path = tmp_tables("small_files")
    data = datagen.simple(4000)
    sluice.write(path, data, target_file_size=16 * 1024)
    adds = [a["add"] for a in log_actions(path, 0) if "add" in a]
    assert len(adds) > 1, "a 16 KiB target should split 4000 rows over several files"
    assert sum(json.loads(a["stats"])["numRecords"] for a in adds) == 4000
    assert sluice.inspect(path)["num_files"] == len(adds)
    assert_same_rows(data, peers.read_with_spark(spark, path), "id", label="spark")
    assert_same_rows(data, peers.read_with_duckdb(path), "id", label="duckdb")


def test_overwrite(spark, sluice, tmp_tables):
    path = tmp_tables("overwrite")
    sluice.write(path, datagen.simple(30))
    replacement = datagen.simple(12, start=500)
    sluice.write(path, replacement, mode="overwrite")
    check_all_peers(spark, path, replacement, "id", dv_protocol=True, sluice=sluice)
    assert_same_rows(datagen.simple(30), peers.read_with_spark(spark, path, version=0), "id",
                     label="spark v0")
