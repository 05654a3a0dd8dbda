"""Tables written by Spark (delta-spark 4.0) and by delta-rs (python
``deltalake``), read back by ``sluice cat`` with exactly their rows: at the
latest version, at every earlier version (time travel) and by timestamp; and
``sluice inspect --json`` reports the right version, row count, transactions,
partition columns and checkpoint.

Expected rows are computed in Python from the generated batches, never taken
from the writer itself; each table's expectation is also cross-checked against
the writer's own reader, so a wrong expectation cannot hide a Sluice bug.
"""
from __future__ import annotations

import datetime as dt
import glob
import os
import shutil
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import datagen
import peers
from peers import assert_same_rows

BASE_TIME = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


@dataclass
class Foreign:
    name: str
    path: str
    key: str
    versions: dict = field(default_factory=dict)   # version -> expected pa.Table
    txns: dict = field(default_factory=dict)       # appId -> version (latest)
    partition_columns: list = field(default_factory=list)
    last_checkpoint: int | None = None

    @property
    def latest(self) -> int:
        return max(self.versions)


def commit_time(version: int) -> dt.datetime:
    return BASE_TIME + dt.timedelta(hours=version)


def pin_commit_times(path: str) -> None:
    """Sets each commit file's modification time to BASE_TIME + version hours.
    The modification time is the commit timestamp of the protocol (without
    in-commit timestamps), so timestamp time travel becomes deterministic."""
    for f in glob.glob(os.path.join(path, "_delta_log", "*.json")):
        v = int(os.path.basename(f).split(".")[0])
        t = commit_time(v).timestamp()
        os.utime(f, (t, t))


def iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def spark_df(spark, table: pa.Table):
    return spark.createDataFrame(table)


# --------------------------------------------------------------------------
# builders


def build_spark_partitioned(spark, root) -> Foreign:
    f = Foreign("spark_partitioned", os.path.join(root, "spark_partitioned"), "id",
                partition_columns=["region", "day"])
    b0, b1 = datagen.partitioned(60), datagen.partitioned(40, start=100)
    spark_df(spark, b0).write.format("delta").partitionBy("region", "day").save(f.path)
    f.versions[0] = b0
    spark_df(spark, b1).write.format("delta").mode("append").save(f.path)
    f.versions[1] = pa.concat_tables([b0, b1])
    # v2: replace partition region='a' with new rows.
    b2 = datagen.partitioned(14, start=500)
    b2 = b2.set_column(1, "region", pa.array(["a"] * b2.num_rows))
    spark_df(spark, b2).write.format("delta").mode("overwrite") \
        .option("replaceWhere", "region = 'a'").save(f.path)
    prev = f.versions[1]
    keep = prev.filter(pc.fill_null(pc.not_equal(prev["region"], "a"), True))
    f.versions[2] = pa.concat_tables([keep, b2])
    return f


def build_spark_deletion_vectors(spark, root) -> Foreign:
    f = Foreign("spark_dv", os.path.join(root, "spark_dv"), "id")
    spark.sql(f"CREATE TABLE delta.`{f.path}` (id BIGINT NOT NULL, name STRING, value DOUBLE,"
              f" day DATE) USING delta TBLPROPERTIES ('delta.enableDeletionVectors' = 'true')")
    f.versions[0] = datagen.simple(0)
    b1, b2 = datagen.simple(300), datagen.simple(300, start=300)
    spark_df(spark, b1).repartition(2).write.format("delta").mode("append").save(f.path)
    f.versions[1] = b1
    spark_df(spark, b2).repartition(2).write.format("delta").mode("append").save(f.path)
    all_rows = pa.concat_tables([b1, b2])
    f.versions[2] = all_rows
    spark.sql(f"DELETE FROM delta.`{f.path}` WHERE id % 5 = 0")
    t3 = all_rows.filter(pc.not_equal(_mod(all_rows["id"], 5), 0))
    f.versions[3] = t3
    spark.sql(f"UPDATE delta.`{f.path}` SET name = 'updated' WHERE id % 7 = 0")
    upd = pc.equal(_mod(t3["id"], 7), 0)
    t4 = t3.set_column(1, "name", pc.if_else(upd, pa.scalar("updated"), t3["name"]))
    f.versions[4] = t4
    spark.sql(f"DELETE FROM delta.`{f.path}` WHERE id % 3 = 0")
    f.versions[5] = t4.filter(pc.not_equal(_mod(t4["id"], 3), 0))
    # The DELETEs must really have produced deletion vectors.
    log = os.path.join(f.path, "_delta_log", f"{3:020d}.json")
    assert '"deletionVector"' in open(log).read(), "Spark did not write a deletion vector"
    return f


def _mod(arr, m):
    return pc.subtract(arr, pc.multiply(pc.divide(arr, m), m))


def build_spark_checkpoints(spark, root) -> Foreign:
    """checkpointInterval=2: classic checkpoints at 2, 4, 6; a multi-part
    checkpoint at 8 (checkpoint.partSize forces several parts); commit 9 after
    it. Each append carries a txn."""
    f = Foreign("spark_checkpoints", os.path.join(root, "spark_checkpoints"), "id",
                last_checkpoint=8)
    spark.sql(f"CREATE TABLE delta.`{f.path}` (id BIGINT, name STRING, value DOUBLE, day DATE)"
              f" USING delta TBLPROPERTIES ('delta.checkpointInterval' = '2')")
    f.versions[0] = datagen.simple(0)
    batches = []
    for v in range(1, 10):
        b = datagen.simple(15, start=v * 100)
        batches.append(b)
        w = spark_df(spark, b).repartition(2).write.format("delta").mode("append")
        w = w.option("txnAppId", "spark-app").option("txnVersion", v * 10)
        if v == 8:
            spark.conf.set("spark.databricks.delta.checkpoint.partSize", "3")
        try:
            w.save(f.path)
        finally:
            spark.conf.unset("spark.databricks.delta.checkpoint.partSize")
        f.versions[v] = pa.concat_tables(batches)
    f.txns = {"spark-app": 90}
    log = os.path.join(f.path, "_delta_log")
    parts = glob.glob(os.path.join(log, f"{8:020d}.checkpoint.*.*.parquet"))
    assert len(parts) > 1, f"Spark did not write a multi-part checkpoint: {os.listdir(log)}"
    assert os.path.exists(os.path.join(log, f"{4:020d}.checkpoint.parquet"))
    return f


def build_deltalake_ops(root) -> Foreign:
    from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake

    f = Foreign("deltalake_ops", os.path.join(root, "deltalake_ops"), "id")
    batches = [datagen.simple(25, start=s) for s in (0, 100, 200)]
    for i, b in enumerate(batches):
        write_deltalake(f.path, b, mode="append", commit_properties=CommitProperties(
            app_transactions=[Transaction(app_id="rs-app", version=i + 1)]))
        f.versions[i] = pa.concat_tables(batches[: i + 1])
    b3 = datagen.simple(10, start=1000)
    write_deltalake(f.path, b3, mode="overwrite")
    f.versions[3] = b3
    b4 = datagen.simple(10, start=2000)
    write_deltalake(f.path, b4, mode="append", commit_properties=CommitProperties(
        app_transactions=[Transaction(app_id="rs-other", version=42)]))
    f.versions[4] = pa.concat_tables([b3, b4])
    DeltaTable(f.path).create_checkpoint()
    b5 = datagen.simple(5, start=3000)
    write_deltalake(f.path, b5, mode="append")
    f.versions[5] = pa.concat_tables([b3, b4, b5])
    f.txns = {"rs-app": 3, "rs-other": 42}
    f.last_checkpoint = 4
    return f


def build_deltalake_all_types(root) -> Foreign:
    """Every type, written by delta-rs (all columns nullable: delta-rs marks
    NOT NULL columns in a way Spark rejects, which is not Sluice's concern)."""
    from deltalake import write_deltalake

    f = Foreign("deltalake_all_types", os.path.join(root, "deltalake_all_types"), "id")
    schema = pa.schema([fl.with_nullable(True) for fl in datagen.ALL_TYPES_SCHEMA])
    b0 = datagen.all_types(80).cast(schema)
    b1 = datagen.all_types(40, start=80).cast(schema)
    write_deltalake(f.path, b0)
    write_deltalake(f.path, b1, mode="append")
    f.versions = {0: b0, 1: pa.concat_tables([b0, b1])}
    return f


@pytest.fixture(scope="module")
def foreign(spark, tmp_path_factory):
    root = str(tmp_path_factory.mktemp("foreign"))
    tables = [
        build_spark_partitioned(spark, root),
        build_spark_deletion_vectors(spark, root),
        build_spark_checkpoints(spark, root),
        build_deltalake_ops(root),
        build_deltalake_all_types(root),
    ]
    for t in tables:
        pin_commit_times(t.path)
    return {t.name: t for t in tables}


NAMES = ["spark_partitioned", "spark_dv", "spark_checkpoints", "deltalake_ops",
         "deltalake_all_types"]


# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_expectations_match_writer(foreign, spark, name):
    """Sanity of the expected data: Spark reads every version as expected."""
    f = foreign[name]
    for v, expected in f.versions.items():
        assert_same_rows(expected, peers.read_with_spark(spark, f.path, version=v), f.key,
                         label=f"spark reads {name} v{v}")


@pytest.mark.parametrize("name", NAMES)
def test_cat_latest(foreign, sluice, name):
    f = foreign[name]
    assert_same_rows(f.versions[f.latest], sluice.cat(f.path), f.key,
                     check_column_order=True, label=f"{name} latest")


@pytest.mark.parametrize("name", NAMES)
def test_cat_every_version(foreign, sluice, name):
    f = foreign[name]
    for v, expected in sorted(f.versions.items()):
        assert_same_rows(expected, sluice.cat(f.path, version=v), f.key,
                         check_column_order=True, label=f"{name} v{v}")


@pytest.mark.parametrize("name", ["spark_partitioned", "spark_dv", "deltalake_ops"])
def test_cat_by_timestamp(foreign, sluice, spark, name):
    f = foreign[name]
    for v in sorted(f.versions):
        # Half an hour after a commit still means that commit, except after
        # the latest one, which Spark rejects (and the protocol leaves open).
        probes = [commit_time(v)]
        if v != f.latest:
            probes.append(commit_time(v) + dt.timedelta(minutes=30))
        for t in probes:
            # Spark agrees that this timestamp means version v ...
            assert_same_rows(f.versions[v], peers.read_with_spark(spark, f.path, timestamp=iso(t)),
                             f.key, label=f"spark {name} @ {iso(t)}")
            # ... and so must Sluice.
            assert_same_rows(f.versions[v], sluice.cat(f.path, timestamp=iso(t)), f.key,
                             label=f"sluice {name} @ {iso(t)} (= v{v})")


@pytest.mark.parametrize("name", NAMES)
def test_inspect(foreign, sluice, name):
    f = foreign[name]
    info = sluice.inspect(f.path)
    assert info["version"] == f.latest
    assert info["num_rows"] == f.versions[f.latest].num_rows
    assert info["txns"] == f.txns
    assert list(info["partition_columns"]) == f.partition_columns
    if f.last_checkpoint is not None:
        assert info["last_checkpoint"] == f.last_checkpoint
    assert {"minReaderVersion", "minWriterVersion"} <= set(info["protocol"])


def test_spark_dv_protocol_reported(foreign, sluice):
    info = sluice.inspect(foreign["spark_dv"].path)
    assert "deletionVectors" in info["protocol"].get("readerFeatures", [])


def test_multipart_checkpoint_alone(foreign, sluice, tmp_path):
    """Only the multi-part checkpoint at 8 and commit 9 remain: Sluice must
    rebuild the snapshot from the parts."""
    f = foreign["spark_checkpoints"]
    bare = str(tmp_path / "bare")
    shutil.copytree(f.path, bare)
    log = os.path.join(bare, "_delta_log")
    for name in os.listdir(log):
        full = os.path.join(log, name)
        if name.endswith(".crc"):
            os.remove(full)
        elif name.endswith(".json") and int(name.split(".")[0]) <= 8:
            os.remove(full)
        elif ".checkpoint." in name and int(name.split(".")[0]) < 8:
            os.remove(full)
    assert_same_rows(f.versions[9], sluice.cat(bare), f.key, label="latest from multi-part cp")
    assert_same_rows(f.versions[8], sluice.cat(bare, version=8), f.key,
                     label="v8 from multi-part cp")


def test_cat_refuses_missing_version(foreign, sluice):
    f = foreign["deltalake_ops"]
    err = sluice.cat_refused(f.path, version=f.latest + 5)
    assert err.strip(), "a refusal must explain itself on stderr"
