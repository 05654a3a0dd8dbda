#!/usr/bin/env python3
"""Generate reference deletion vector files with Spark + delta-spark.

Run once (outputs are committed):

    .venv/bin/python tests/data/delta/spark_dv/generate.py

For each case a one-file Delta table is written with spark.range (so a row's
index within the parquet file equals its id), some ids are DELETEd with
deletion vectors enabled, and the DV file Spark wrote is copied to
<case>/deletion_vector_<uuid>.bin. cases.json records the descriptor from the
commit's add action and the expected deleted row indexes (as [begin, end)
ranges, to keep the file small), so a test can use <case>/ as the table root
and resolve the descriptor as-is.
"""

import json
import os
import shutil
import sys
import tempfile

from pyspark.sql import SparkSession

HERE = os.path.dirname(os.path.abspath(__file__))

# name -> (number of rows, SQL predicate on id, python predicate on id)
CASES = {
    # A handful of scattered rows: one array container.
    "array": (100, "id IN (3, 4, 7, 11, 18, 29, 64, 99)",
              lambda i: i in (3, 4, 7, 11, 18, 29, 64, 99)),
    # > 4096 scattered rows in one 64K block: a bitmap container.
    "bitmap": (10000, "id % 2 = 0", lambda i: i % 2 == 0),
    # Long contiguous ranges: run containers after runOptimize, crossing a
    # 64K container boundary, plus a lone value (array container).
    "run": (140000, "(id >= 1000 AND id < 9000) OR (id >= 60000 AND id < 70010) "
                    "OR id = 139999",
            lambda i: 1000 <= i < 9000 or 60000 <= i < 70010 or i == 139999),
}


def spark_session(tmp):
    ivy = os.path.expanduser("~/.cache/sluice/ivy")
    return (
        SparkSession.builder.master("local[1]")
        .appName("sluice-spark-dv")
        .config("spark.jars.packages", "io.delta:delta-spark_2.13:4.0.0")
        .config("spark.jars.ivy", ivy)
        .config("spark.sql.extensions",
                "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog",
                "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.ui.enabled", "false")
        # Keep Spark's scratch directories out of the working tree.
        .config("spark.sql.warehouse.dir", os.path.join(tmp, "warehouse"))
        .getOrCreate()
    )


def last_commit_actions(table):
    log = os.path.join(table, "_delta_log")
    commits = sorted(f for f in os.listdir(log) if f.endswith(".json"))
    with open(os.path.join(log, commits[-1])) as f:
        return [json.loads(line) for line in f if line.strip()]


def to_ranges(values):
    """Sorted ints -> [[begin, end), ...] of consecutive values."""
    ranges = []
    for v in values:
        if ranges and ranges[-1][1] == v:
            ranges[-1][1] = v + 1
        else:
            ranges.append([v, v + 1])
    return ranges


def main():
    tmp = tempfile.mkdtemp(prefix="sluice_spark_dv_")
    spark = spark_session(tmp)
    out = {}
    for name, (rows, sql_pred, py_pred) in CASES.items():
        table = os.path.join(tmp, name)
        (spark.range(rows).coalesce(1).write.format("delta")
         .option("delta.enableDeletionVectors", "true").save(table))
        spark.sql(f"DELETE FROM delta.`{table}` WHERE {sql_pred}")
        remaining = spark.read.format("delta").load(table).count()
        deleted = [i for i in range(rows) if py_pred(i)]
        assert remaining == rows - len(deleted), (name, remaining)

        adds = [a["add"] for a in last_commit_actions(table) if "add" in a]
        assert len(adds) == 1 and adds[0].get("deletionVector"), adds
        dv = adds[0]["deletionVector"]
        assert dv["storageType"] == "u", dv
        bins = [f for f in os.listdir(table) if f.endswith(".bin")]
        assert len(bins) == 1, bins
        case_dir = os.path.join(HERE, name)
        shutil.rmtree(case_dir, ignore_errors=True)
        os.makedirs(case_dir)
        shutil.copy(os.path.join(table, bins[0]), case_dir)
        out[name] = {
            "dv_file": bins[0],
            "num_rows": rows,
            "descriptor": dv,
            "deleted_ranges": to_ranges(deleted),
        }
        print(name, dv, file=sys.stderr)
    with open(os.path.join(HERE, "cases.json"), "w") as f:
        # One line per case: the range lists would dominate an indented file.
        f.write('{"generator": "pyspark 4.0.1 + delta-spark 4.0.0",\n "cases": {\n')
        f.write(",\n".join(f"  {json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}"
                            for k, v in out.items()))
        f.write("\n }\n}\n")
    spark.stop()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
