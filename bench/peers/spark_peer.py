#!/usr/bin/env python3
"""Spark peer: Spark + delta-spark in local[2] doing what the original
Databricks Datastream connector does: a file stream over the table's Avro
files (spark-avro, `maxFilesPerTrigger` = N, oldest file first), and per
micro-batch (foreachBatch) an append of the flattened events to the log table
followed by a MERGE of the batch's latest event per key into the merged
table (rule in bench/peers/common.py). The merged table has deletion vectors
enabled, so Spark's MERGE marks rows instead of rewriting files where it can.

With `--format dms-parquet|dms-csv` it does what the snapshot generator and
DLT's APPLY CHANGES do with DMS files (bench/dms_workload.py): a file stream
over the table folder (parquet or csv, the schema given, `maxFilesPerTrigger`
= N, full load first), the sequence of dms_input.py (full load before CDC,
then the change sequence), and the same log append and MERGE per batch.

    spark_peer.py --source DIR --sink DIR --files-per-batch N [--memory 2g] [--format avro]

Jars (delta-spark, spark-avro) come from Maven Central through Spark's ivy
resolver into the cache of tests/interop/spark_session.py
(~/.cache/sluice/ivy). Session settings are those of a tuned local job
(whole-stage codegen on, full JIT, shuffle partitions = cores), not the
interop suite's tiny-table settings.

Prints `BENCH_RESULT {json}` with per-batch timings (log, merge).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "interop"))
import common  # noqa: E402
import dms_input  # noqa: E402
import spark_session  # noqa: E402


def avro_package() -> str:
    import pyspark
    scala = "2.13" if pyspark.__version__.startswith("4") else "2.12"
    return f"org.apache.spark:spark-avro_{scala}:{pyspark.__version__}"


def build_session(memory: str, cores: int):
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession
    os.makedirs(spark_session.ivy_dir(), exist_ok=True)
    warehouse = tempfile.mkdtemp(prefix="sluice-bench-spark-")
    spark = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("sluice-bench-spark-peer")
        .config("spark.jars.packages", ",".join([spark_session._delta_package(), avro_package()]))
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
        .config("spark.driver.extraJavaOptions",
                "-Duser.timezone=UTC -Dderby.system.home=" + warehouse)
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def flatten(df):
    """The connector's flattening: payload columns, then the metadata, the
    sequence and the delete flag."""
    from pyspark.sql import functions as F
    payload_cols = [f"payload.{f.name}" for f in df.schema["payload"].dataType.fields]
    log_file = F.coalesce(F.col("source_metadata.log_file"), F.lit(""))
    file_no = F.when(log_file == "", F.lit(0)).otherwise(
        F.substring_index(log_file, ".", -1).cast("long"))
    seq = F.when(F.col("read_method").contains("backfill"), F.lit(0).cast("long")).otherwise(
        F.shiftleft(file_no, 32).bitwiseOR(F.coalesce(F.col("source_metadata.log_position"), F.lit(0))))
    return df.select(*payload_cols, "uuid", "read_timestamp", "source_timestamp", "read_method",
                     F.col("source_metadata.change_type").alias("change_type"),
                     log_file.alias("log_file"),
                     F.col("source_metadata.log_position").alias("log_position"),
                     seq.alias(common.SEQ),
                     F.coalesce(F.col("source_metadata.is_deleted"), F.lit(False)).alias(common.DELETED))


def flatten_dms(df):
    """DMS rows as they are (payload, Op, timestamp and change sequence),
    then the sequence and the delete flag."""
    from pyspark.sql import functions as F
    seq = F.coalesce(F.col(dms_input.workload.CHANGE_SEQ_COLUMN)
                     .cast(f"decimal({dms_input.SEQ_PRECISION},0)"),
                     F.lit(0).cast(f"decimal({dms_input.SEQ_PRECISION},0)"))
    return df.select("*", seq.alias(common.SEQ),
                     F.coalesce(F.col("Op") == "D", F.lit(False)).alias(common.DELETED))


def avro_input(spark, source: str, files_per_batch: int):
    """(file stream, flatten, payload names) of a Datastream table folder."""
    files = common.input_files(source)
    table_dir = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.dirname(files[0]))))))
    schema = spark.read.format("avro").load(files[0]).schema
    glob_path = os.path.join(table_dir, "*", "*", "*", "*", "*", "*.avro")
    stream = (spark.readStream.format("avro").schema(schema)
              .option("maxFilesPerTrigger", files_per_batch).load(glob_path))
    return stream, flatten, [f.name for f in schema["payload"].dataType.fields]


def dms_stream(spark, source: str, fmt: str, files_per_batch: int):
    """(file stream, flatten, payload names) of a DMS table folder."""
    dms_input.input_files(source, fmt)  # fails early on an empty folder
    reader = (spark.readStream.format(dms_input.FORMATS[fmt]).schema(dms_input.spark_ddl())
              .option("maxFilesPerTrigger", files_per_batch))
    if fmt == "dms-csv":
        reader = (reader.option("header", "true").option("nullValue", "NULL")
                  .option("escape", '"').option("enforceSchema", "false")
                  .option("timestampFormat", "yyyy-MM-dd HH:mm:ss.SSSSSS"))
    return reader.load(dms_input.table_dir(source)), flatten_dms, dms_input.workload.PAYLOAD


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--sink", required=True)
    ap.add_argument("--files-per-batch", type=int, default=10)
    ap.add_argument("--memory", default="2g")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--format", choices=["avro", *dms_input.FORMATS], default="avro")
    opts = ap.parse_args(argv)
    timer = common.BatchTimer()
    spark = build_session(opts.memory, opts.cores)
    from delta.tables import DeltaTable
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if opts.format == "avro":
        stream, flatten_fn, payload_names = avro_input(spark, opts.source, opts.files_per_batch)
    else:
        stream, flatten_fn, payload_names = dms_stream(spark, opts.source, opts.format,
                                                       opts.files_per_batch)
    log_path = os.path.join(opts.sink, "bench", "orders_log")
    merged_path = os.path.join(opts.sink, "bench", "orders")
    target_cols = payload_names + [common.SEQ]
    empty = flatten_fn(spark.createDataFrame([], stream.schema)).select(*target_cols)
    (empty.write.format("delta").option("delta.enableDeletionVectors", "true")
     .mode("overwrite").save(merged_path))
    merged = DeltaTable.forPath(spark, merged_path)
    assignments = {c: f"s.{c}" for c in target_cols}

    def merge_batch(batch_df, batch_id):
        t = timer.start()
        events = flatten_fn(batch_df).persist()
        rows = events.count()
        events.write.format("delta").mode("append").save(log_path)
        t_log = time.perf_counter()
        w = Window.partitionBy(common.KEY).orderBy(F.col(common.SEQ).desc())
        latest = (events.withColumn("_rn", F.row_number().over(w)).filter("_rn = 1").drop("_rn"))
        (merged.alias("t").merge(latest.alias("s"), f"t.{common.KEY} = s.{common.KEY}")
         .whenMatchedDelete(condition=f"s.{common.DELETED} AND s.{common.SEQ} > t.{common.SEQ}")
         .whenMatchedUpdate(condition=f"NOT s.{common.DELETED} AND s.{common.SEQ} > t.{common.SEQ}",
                            set=assignments)
         .whenNotMatchedInsert(condition=f"NOT s.{common.DELETED}", values=assignments)
         .execute())
        events.unpersist()
        timer.done(t, batch=batch_id, rows=rows, log_ms=(t_log - t) * 1000,
                   merge_ms=(time.perf_counter() - t_log) * 1000)

    query = (stream.writeStream.foreachBatch(merge_batch)
             .option("checkpointLocation", os.path.join(opts.sink, "_checkpoints", "orders"))
             .trigger(availableNow=True).start())
    query.awaitTermination()
    timer.report(engine="spark", log_table=log_path, merged_table=merged_path)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
