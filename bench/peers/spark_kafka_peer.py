#!/usr/bin/env python3
"""Spark peer of bench/kafka_bench.py: the kafka2delta approach. Spark
Structured Streaming (local[2]) reads a Debezium topic (spark-sql-kafka),
parses the envelope (from_json on JsonConverter messages; from_avro on
Confluent-framed Avro after stripping the 5-byte prefix, the writer schema
read once from the registry) and, per micro-batch (foreachBatch), MERGEs the
latest event per key (by `source.lsn`) into a Delta table: a delete deletes,
a newer update updates, an unknown key is inserted.

Each MERGE commit carries the batch's next offset per partition in its
commitInfo `userMetadata` (`{"offsets": {"<p>": next}}`), which is how the
harness knows which events a commit contains.

    spark_kafka_peer.py --bootstrap H:P --topic T --table DIR --checkpoint DIR
        --trigger SECONDS [--format json|avro --registry-url URL] [--memory 2g]

Jars: delta-spark, spark-sql-kafka-0-10_2.13:4.0.0 (4.0.1's token-provider
pom does not resolve), spark-avro from Maven Central into
~/.cache/sluice/ivy (tests/interop/spark_session.py).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "interop"))
import spark_session  # noqa: E402

KAFKA_PACKAGE = "org.apache.spark:spark-sql-kafka-0-10_2.13:4.0.0"

ROW = "id BIGINT, name STRING, qty INT, note STRING"
_ROW_TYPE = "STRUCT<id: BIGINT, name: STRING, qty: INT, note: STRING>"
ENVELOPE = (f"STRUCT<payload: STRUCT<before: {_ROW_TYPE}, after: {_ROW_TYPE}, "
            "source: STRUCT<ts_ms: BIGINT, lsn: BIGINT>, op: STRING, ts_ms: BIGINT>>")


def build_session(memory: str, cores: int, small: bool):
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession
    import pyspark
    os.makedirs(spark_session.ivy_dir(), exist_ok=True)
    warehouse = tempfile.mkdtemp(prefix="sluice-kbench-spark-")
    packages = [spark_session._delta_package(), KAFKA_PACKAGE,
                f"org.apache.spark:spark-avro_2.13:{pyspark.__version__}"]
    spark = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("sluice-kafka-bench-spark-peer")
        .config("spark.jars.packages", ",".join(packages))
        .config("spark.jars.ivy", spark_session.ivy_dir())
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.driver.memory", memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(cores))
        .config("spark.default.parallelism", str(cores))
        .config("spark.sql.warehouse.dir", warehouse)
        .config("spark.sql.session.timeZone", "UTC")
    )
    jvm = "-Duser.timezone=UTC -Dderby.system.home=" + warehouse
    if small:
        # The interop suite's small-job settings (tests/interop/spark_session.py):
        # one shuffle partition, no whole-stage codegen, C1 JIT only.
        spark = (spark.config("spark.sql.shuffle.partitions", "1")
                 .config("spark.sql.codegen.wholeStage", "false"))
        jvm += " -XX:TieredStopAtLevel=1"
    spark = spark.config("spark.driver.extraJavaOptions", jvm).getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--table", required=True)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--trigger", default="0", help="processingTime in seconds")
    ap.add_argument("--format", choices=["json", "avro"], default="json")
    ap.add_argument("--registry-url", default="")
    ap.add_argument("--memory", default="2g")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--small-job-tuning", action="store_true",
                    help="shuffle partitions 1, no whole-stage codegen, C1 JIT")
    ap.add_argument("--max-offsets", type=int, default=0,
                    help="maxOffsetsPerTrigger (0: no limit)")
    opts = ap.parse_args(argv)
    spark = build_session(opts.memory, opts.cores, opts.small_job_tuning)
    from delta.tables import DeltaTable
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    (spark.createDataFrame([], f"{ROW}, lsn BIGINT").write.format("delta")
     .option("delta.enableDeletionVectors", "true").mode("overwrite").save(opts.table))
    merged = DeltaTable.forPath(spark, opts.table)

    reader = (spark.readStream.format("kafka").option("kafka.bootstrap.servers", opts.bootstrap)
              .option("subscribe", opts.topic).option("startingOffsets", "earliest"))
    if opts.max_offsets:
        reader = reader.option("maxOffsetsPerTrigger", opts.max_offsets)
    raw = reader.load()
    if opts.format == "json":
        env = F.from_json(F.col("value").cast("string"), ENVELOPE).getField("payload")
    else:
        from pyspark.sql.avro.functions import from_avro
        subject = f"{opts.topic}-value"
        with urllib.request.urlopen(f"{opts.registry_url}/subjects/{subject}/versions/latest") as r:
            schema = json.loads(r.read())["schema"]
        # Confluent framing: magic byte + 4-byte id, then the Avro datum.
        env = from_avro(F.expr("substring(value, 6, length(value) - 5)"), schema)
    events = raw.select("partition", "offset", env.alias("e")).select(
        "partition", "offset",
        F.coalesce(F.col("e.after.id"), F.col("e.before.id")).alias("id"),
        F.col("e.after.name").alias("name"), F.col("e.after.qty").alias("qty"),
        F.col("e.after.note").alias("note"), F.col("e.source.lsn").alias("lsn"),
        (F.col("e.op") == "d").alias("_deleted"))
    cols = ["id", "name", "qty", "note", "lsn"]
    assignments = {c: f"s.{c}" for c in cols}

    def merge_batch(batch_df, batch_id):
        batch = batch_df.persist()
        ends = batch.groupBy("partition").agg(F.max("offset").alias("last")).collect()
        if not ends:
            batch.unpersist()
            return
        meta = {"offsets": {str(r["partition"]): int(r["last"]) + 1 for r in ends}, "batch": batch_id}
        w = Window.partitionBy("id").orderBy(F.col("lsn").desc())
        latest = batch.withColumn("_rn", F.row_number().over(w)).filter("_rn = 1").drop("_rn")
        spark.conf.set("spark.databricks.delta.commitInfo.userMetadata", json.dumps(meta))
        (merged.alias("t").merge(latest.alias("s"), "t.id = s.id")
         .whenMatchedDelete(condition="s._deleted AND s.lsn > t.lsn")
         .whenMatchedUpdate(condition="NOT s._deleted AND s.lsn > t.lsn", set=assignments)
         .whenNotMatchedInsert(condition="NOT s._deleted", values=assignments)
         .execute())
        batch.unpersist()
        print(f"batch {batch_id}: {meta['offsets']}", flush=True)

    writer = (events.writeStream.foreachBatch(merge_batch)
              .option("checkpointLocation", opts.checkpoint)
              .trigger(processingTime=f"{float(opts.trigger)} seconds"))
    query = writer.start()
    query.awaitTermination()
    return 0


if __name__ == "__main__":
    sys.exit(main())
