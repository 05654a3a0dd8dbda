#!/usr/bin/env python3
"""Regenerates the foreign checkpoint fixtures used by checkpoint_test.cc.

Writes small Delta tables with delta-rs (deltalake) and Spark (delta-spark),
lets each engine write its own checkpoint, and keeps only:
  <name>.checkpoint.parquet        the checkpoint (or <name>.part<i>.parquet)
  <name>._last_checkpoint          the engine's _last_checkpoint file
  expected.json                    facts derived independently of the
                                   checkpoint, by replaying the JSON commits
                                   up to the checkpoint version.

Run with the project venv:  .venv/bin/python tests/data/delta/checkpoints/generate.py
Spark needs network once to fetch io.delta:delta-spark_2.13:4.0.0 into
$HOME/.cache/sluice/ivy.
"""

import json
import os
import shutil
import tempfile

import pyarrow as pa

OUT = os.path.dirname(os.path.abspath(__file__))


# --- independent facts: replay of the JSON commits (PROTOCOL.md "Action
# Reconciliation") --------------------------------------------------------


def dv_id(action):
    dv = action.get("deletionVector")
    if not dv:
        return None
    uid = dv["storageType"] + dv["pathOrInlineDv"]
    if dv.get("offset") is not None:
        uid += "@" + str(dv["offset"])
    return uid


def replay(log_dir, version):
    protocol = metadata = None
    txns, adds, removes, domains = {}, {}, {}, {}
    for v in range(version + 1):
        with open(os.path.join(log_dir, "%020d.json" % v)) as f:
            for line in f:
                if not line.strip():
                    continue
                (kind, a), = json.loads(line).items()
                if kind == "protocol":
                    protocol = a
                elif kind == "metaData":
                    metadata = a
                elif kind == "txn":
                    txns[a["appId"]] = a
                elif kind == "add":
                    key = (a["path"], dv_id(a))
                    adds[key] = a
                    removes.pop(key, None)
                elif kind == "remove":
                    key = (a["path"], dv_id(a))
                    adds.pop(key, None)
                    removes[key] = a
                elif kind == "domainMetadata":
                    if a.get("removed"):
                        domains.pop(a["domain"], None)
                    else:
                        domains[a["domain"]] = a
    def file_fact(a, with_pv=True):
        fact = {"path": a["path"], "size": a.get("size")}
        if with_pv:
            fact["partitionValues"] = a.get("partitionValues")
        fact["deletionVector"] = a.get("deletionVector")
        for k in ("baseRowId", "defaultRowCommitVersion", "deletionTimestamp"):
            if k in a:
                fact[k] = a[k]
        fact["hasStats"] = a.get("stats") is not None
        return fact
    return {
        "version": version,
        "protocol": protocol,
        "metaData": {k: metadata[k] for k in
                     ("id", "schemaString", "partitionColumns", "configuration")},
        "txns": sorted(({"appId": t["appId"], "version": t["version"]}
                        for t in txns.values()), key=lambda t: t["appId"]),
        "adds": sorted((file_fact(a) for a in adds.values()),
                       key=lambda f: (f["path"], json.dumps(f["deletionVector"]))),
        "removes": sorted((file_fact(a, with_pv=False) for a in removes.values()),
                          key=lambda f: (f["path"], json.dumps(f["deletionVector"]))),
        "domains": sorted(domains),
    }


def keep(name, table_dir, facts):
    """Copies the newest checkpoint of table_dir as <name>.*; returns facts."""
    log = os.path.join(table_dir, "_delta_log")
    with open(os.path.join(log, "_last_checkpoint")) as f:
        last = json.load(f)
    shutil.copy(os.path.join(log, "_last_checkpoint"),
                os.path.join(OUT, name + "._last_checkpoint"))
    version = last["version"]
    parts = last.get("parts")
    files = []
    if parts:
        for i in range(1, parts + 1):
            src = "%020d.checkpoint.%010d.%010d.parquet" % (version, i, parts)
            dst = "%s.part%d.parquet" % (name, i)
            shutil.copy(os.path.join(log, src), os.path.join(OUT, dst))
            files.append(dst)
    else:
        dst = name + ".checkpoint.parquet"
        shutil.copy(os.path.join(log, "%020d.checkpoint.parquet" % version),
                    os.path.join(OUT, dst))
        files.append(dst)
    f = replay(log, version)
    f["files"] = files
    # The schema Spark embeds is large and not a fact we check.
    f["lastCheckpoint"] = {k: v for k, v in last.items() if k != "checkpointSchema"}
    facts[name] = f


# --- delta-rs ---------------------------------------------------------------


def deltars_tables(tmp, facts):
    from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake

    path = os.path.join(tmp, "deltars_partitioned")
    def batch(ids, region):
        return pa.table({"id": pa.array(ids, pa.int64()),
                         "v": pa.array([str(i) for i in ids]),
                         "region": pa.array([region] * len(ids), pa.string())})
    write_deltalake(path, batch([1, 2], "eu"), partition_by=["region"],
                    name="t", description="delta-rs fixture",
                    configuration={"delta.appendOnly": "false"})
    write_deltalake(path, batch([3], "us"), mode="append",
                    commit_properties=CommitProperties(
                        app_transactions=[Transaction("sluice-test", 7)]))
    write_deltalake(path, batch([4], None), mode="append")
    # Overwrite one partition: leaves remove tombstones in the checkpoint.
    write_deltalake(path, batch([5, 6], "eu"), mode="overwrite",
                    predicate="region = 'eu'")
    DeltaTable(path).create_checkpoint()
    keep("deltars_partitioned", path, facts)


# --- Spark ------------------------------------------------------------------


def spark_session():
    from pyspark.sql import SparkSession
    ivy = os.path.join(os.environ["HOME"], ".cache", "sluice", "ivy")
    return (SparkSession.builder.master("local[1]")
            .appName("sluice-checkpoint-fixtures")
            .config("spark.jars.packages", "io.delta:delta-spark_2.13:4.0.0")
            .config("spark.jars.ivy", ivy)
            .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
            .config("spark.sql.catalog.spark_catalog",
                    "org.apache.spark.sql.delta.catalog.DeltaCatalog")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "1")
            .getOrCreate())


def spark_tables(tmp, facts):
    spark = spark_session()
    try:
        # Partitioned, with a null partition value, a txn and tombstones.
        path = os.path.join(tmp, "spark_partitioned")
        spark.sql(f"""CREATE TABLE delta.`{path}` (id BIGINT, v STRING, region STRING)
                      USING delta PARTITIONED BY (region)
                      TBLPROPERTIES (delta.checkpointInterval = 2)""")          # v0
        spark.sql(f"INSERT INTO delta.`{path}` VALUES (1, 'a', 'eu'), (2, 'b', 'us')")  # v1
        df = spark.createDataFrame([(3, "c", None)], "id BIGINT, v STRING, region STRING")
        (df.write.format("delta").mode("append")
         .option("txnAppId", "sluice-test").option("txnVersion", 42).save(path))   # v2
        spark.sql(f"DELETE FROM delta.`{path}` WHERE region = 'us'")              # v3
        spark.sql(f"INSERT INTO delta.`{path}` VALUES (4, 'd', 'us')")            # v4
        keep("spark_partitioned", path, facts)

        # Deletion vectors + row tracking (baseRowId, domainMetadata).
        path = os.path.join(tmp, "spark_dv")
        spark.sql(f"""CREATE TABLE delta.`{path}` (id BIGINT, v STRING) USING delta
                      TBLPROPERTIES (delta.checkpointInterval = 2,
                                     delta.enableDeletionVectors = true,
                                     delta.enableRowTracking = true)""")          # v0
        spark.range(0, 20, 1, 1).selectExpr("id", "cast(id as string) v") \
            .write.format("delta").mode("append").save(path)                     # v1
        spark.sql(f"DELETE FROM delta.`{path}` WHERE id % 3 = 0")                 # v2
        spark.sql(f"DELETE FROM delta.`{path}` WHERE id = 1")                     # v3
        spark.sql(f"INSERT INTO delta.`{path}` VALUES (100, 'x')")                # v4
        keep("spark_dv", path, facts)

        # A multi-part checkpoint (deprecated, but readers must handle it).
        path = os.path.join(tmp, "spark_multipart")
        spark.conf.set("spark.databricks.delta.checkpoint.partSize", "2")
        spark.sql(f"""CREATE TABLE delta.`{path}` (id BIGINT) USING delta
                      TBLPROPERTIES (delta.checkpointInterval = 4)""")            # v0
        for i in range(4):
            spark.sql(f"INSERT INTO delta.`{path}` VALUES ({i})")                # v1..v4
        spark.conf.unset("spark.databricks.delta.checkpoint.partSize")
        keep("spark_multipart", path, facts)
    finally:
        spark.stop()


def main():
    facts = {}
    tmp = tempfile.mkdtemp(prefix="sluice-ckpt-")
    try:
        deltars_tables(tmp, facts)
        spark_tables(tmp, facts)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(facts, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
