"""Builds Delta Acceptance Test (DAT) style reader cases with pyspark.

Written for Sluice from the public description of delta-incubator/dat's
reader tests (case names and what each table contains); the code is our own.
Each case directory holds:

    <out>/<case>/test_case_info.json        {"name", "description", "key"}
    <out>/<case>/delta/                     the Delta table
    <out>/<case>/expected/v<N>/table_content.parquet
    <out>/<case>/expected/v<N>/table_version_metadata.json
    <out>/<case>/expected/latest/...        same for the latest version

Expected data is what delta-spark (the reference implementation) reads at
that version. Versions whose data files were vacuumed or whose commits were
removed are not listed.

    python tests/interop/dat/generate.py OUT_DIR [--cases a,b,...]
"""
from __future__ import annotations

import argparse
import datetime as dt
import decimal
import glob
import json
import os
import random
import shutil
import sys
import time
from dataclasses import dataclass
from typing import Callable

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import pyarrow.parquet as pq  # noqa: E402

D = decimal.Decimal


@dataclass
class Case:
    name: str
    description: str
    build: Callable
    key: list | None = None           # columns identifying a row (None: all columns)


CASES: dict[str, Case] = {}


def case(name: str, description: str, key=None):
    def register(fn):
        CASES[name] = Case(name, description, fn, key)
        return fn
    return register


# --------------------------------------------------------------------------
# helpers


def save(spark, rows, ddl: str, path: str, mode="append", partition_by=None, parts=1,
         options=None):
    df = spark.createDataFrame(rows, ddl).coalesce(parts)
    w = df.write.format("delta").mode(mode)
    if partition_by:
        w = w.partitionBy(*partition_by)
    for k, v in (options or {}).items():
        w = w.option(k, v)
    w.save(path)


def create(spark, path: str, columns: str, props: dict | None = None, extra: str = ""):
    tblprops = ""
    if props:
        tblprops = " TBLPROPERTIES (" + ", ".join(f"'{k}' = '{v}'" for k, v in props.items()) + ")"
    spark.sql(f"CREATE TABLE delta.`{path}` ({columns}) USING delta {extra}{tblprops}")


def sample_rows(seed: int, n: int = 5):
    """letter (nullable), int, date: a small deterministic batch."""
    rng = random.Random(seed)
    return [(rng.choice(["a", "b", "c", None]), rng.randint(0, 1000),
             dt.date(rng.randint(1970, 2020), rng.randint(1, 12), 1)) for _ in range(n)]


SAMPLE_DDL = "letter string, int bigint, date date"
SAMPLE_COLUMNS = "letter STRING, int BIGINT, date DATE"

LETTERS_DDL = "letter string, number bigint, a_float double"


# --------------------------------------------------------------------------
# cases: the DAT reader tests


@case("basic_append", "Two appends to an unpartitioned table.")
def basic_append(spark, p):
    save(spark, [("a", 1, 1.1), ("b", 2, 2.2), ("c", 3, 3.3)], LETTERS_DDL, p)
    save(spark, [("d", 4, 4.4), ("e", 5, 5.5)], LETTERS_DDL, p)


@case("basic_partitioned", "Table partitioned by a string column, two appends.")
def basic_partitioned(spark, p):
    save(spark, [("a", 1, 1.1), ("b", 2, 2.2), ("c", 3, 3.3)], LETTERS_DDL, p,
         partition_by=["letter"])
    save(spark, [("a", 4, 4.4), ("e", 5, 5.5), ("f", 6, 6.6)], LETTERS_DDL, p,
         partition_by=["letter"])


@case("partitioned_with_null", "Partitioned table whose second commit adds a null partition.")
def partitioned_with_null(spark, p):
    save(spark, [("a", 1, 1.1), ("b", 2, 2.2), ("c", 3, 3.3)], LETTERS_DDL, p,
         partition_by=["letter"])
    save(spark, [("a", 4, 4.4), ("e", 5, 5.5), (None, 6, 6.6)], LETTERS_DDL, p,
         partition_by=["letter"])


@case("multi_partitioned",
      "Three partition columns (string, date, binary) with nulls and characters that "
      "need escaping; the last commit overwrites the table.", key=["number"])
def multi_partitioned(spark, p):
    ddl = "letter string, date date, data binary, number bigint"
    parts = ["letter", "date", "data"]
    save(spark, [("a", dt.date(1970, 1, 1), b"hello", 1), ("b", dt.date(1970, 1, 1), b"world", 2),
                 ("b", dt.date(1970, 1, 2), b"world", 3)], ddl, p, partition_by=parts)
    save(spark, [("a", None, b"x", 4), (None, None, None, 5)], ddl, p)
    save(spark, [("/%20%f", dt.date(1970, 1, 1), b"hello", 6),
                 ("b", dt.date(1970, 1, 1), "😈".encode(), 7)], ddl, p, mode="overwrite")


@case("multi_partitioned_2", "Boolean, timestamp and decimal partition columns.", key=["int"])
def multi_partitioned_2(spark, p):
    ddl = "bool boolean, time timestamp, amount decimal(10,2), int bigint"
    utc = dt.timezone.utc
    save(spark, [(True, dt.datetime(1970, 1, 1, tzinfo=utc), D("200.00"), 1),
                 (True, dt.datetime(1970, 1, 1, 12, 30, tzinfo=utc), D("200.00"), 2),
                 (False, dt.datetime(1970, 1, 2, 8, 45, tzinfo=utc), D("12.00"), 3)],
         ddl, p, partition_by=["bool", "time", "amount"])


@case("with_schema_change", "The second commit overwrites data and schema (overwriteSchema).")
def with_schema_change(spark, p):
    save(spark, [("a", 1), ("b", 2), ("c", 3)], "letter string, number bigint", p)
    save(spark, [(22, 33), (44, 55), (66, 77)], "num1 bigint, num2 bigint", p, mode="overwrite",
         options={"overwriteSchema": "true"})


@case("with_schema_evolution", "Second commit adds a column (mergeSchema); old rows read null.")
def with_schema_evolution(spark, p):
    save(spark, [("a", 1), ("b", 2)], "letter string, number bigint", p)
    save(spark, [("c", 3, 3.5), ("d", 4, None)], "letter string, number bigint, extra double", p,
         options={"mergeSchema": "true"})


@case("all_primitive_types", "Every primitive type, one row per value.", key=["int64"])
def all_primitive_types(spark, p):
    ddl = ("utf8 string, int64 bigint, int32 int, int16 smallint, int8 tinyint, float32 float, "
           "float64 double, bool boolean, binary binary, decimal decimal(5,3), date32 date, "
           "timestamp timestamp")
    rows = [(str(i), i, i, i, i, float(i), float(i), i % 2 == 0, bytes(range(i)),
             D("10.000") + i, dt.date(1970, 1, 1) + dt.timedelta(days=i),
             dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(hours=i))
            for i in range(5)]
    save(spark, rows, ddl, p)


@case("nested_types", "Struct, array and map columns.", key=["pk"])
def nested_types(spark, p):
    ddl = ("pk int, struct struct<float64: double, bool: boolean>, array array<smallint>, "
           "map map<string, int>")
    rows = [(i, (float(i), i % 2 == 0), list(range(i + 1)), {str(k): k for k in range(i)})
            for i in range(5)]
    save(spark, rows, ddl, p)


def _three_overwrites(spark, p):
    for seed in range(3):
        save(spark, sample_rows(seed), SAMPLE_DDL, p, mode="overwrite")


@case("with_checkpoint", "checkpointInterval=2 and three overwrites: a checkpoint at v2.")
def with_checkpoint(spark, p):
    create(spark, p, SAMPLE_COLUMNS, {"delta.checkpointInterval": 2})
    _three_overwrites(spark, p)


@case("no_replay", "A checkpoint at v2, then commits 0 and 1 and unreferenced data files removed.")
def no_replay(spark, p):
    create(spark, p, SAMPLE_COLUMNS, {"delta.checkpointInterval": 2})
    _three_overwrites(spark, p)
    # What VACUUM RETAIN 0 HOURS would do, without its (slow) Spark job:
    # delete every data file the latest snapshot does not reference.
    from urllib.parse import unquote, urlparse

    live = {os.path.realpath(unquote(urlparse(f).path))
            for f in spark.read.format("delta").load(p).inputFiles()}
    for f in glob.glob(os.path.join(p, "*.parquet")):
        if os.path.realpath(f) not in live:
            os.remove(f)
    for v in (0, 1):
        os.remove(os.path.join(p, "_delta_log", f"{v:020d}.json"))
    return {"versions": "latest"}


@case("stats_as_struct", "Checkpoint stats written only as a struct (stats_parsed), not JSON.")
def stats_as_struct(spark, p):
    create(spark, p, SAMPLE_COLUMNS, {"delta.checkpointInterval": 2,
                                      "delta.checkpoint.writeStatsAsStruct": "true",
                                      "delta.checkpoint.writeStatsAsJson": "false"})
    _three_overwrites(spark, p)


@case("no_stats", "No statistics anywhere (dataSkippingNumIndexedCols=0, checkpoint without stats).")
def no_stats(spark, p):
    create(spark, p, SAMPLE_COLUMNS, {"delta.checkpointInterval": 2,
                                      "delta.checkpoint.writeStatsAsStruct": "false",
                                      "delta.checkpoint.writeStatsAsJson": "false",
                                      "delta.dataSkippingNumIndexedCols": 0})
    _three_overwrites(spark, p)


@case("deletion_vectors", "Rows deleted with a deletion vector.")
def deletion_vectors(spark, p):
    create(spark, p, SAMPLE_COLUMNS, {"delta.enableDeletionVectors": "true"})
    save(spark, sample_rows(42, 20), SAMPLE_DDL, p)
    spark.sql(f"DELETE FROM delta.`{p}` WHERE letter = 'a'")


@case("deletion_vectors_checkpointed",
      "Deletion vectors (delete, update, delete) with a checkpoint carrying the DV descriptors.")
def deletion_vectors_checkpointed(spark, p):
    create(spark, p, SAMPLE_COLUMNS, {"delta.enableDeletionVectors": "true",
                                      "delta.checkpointInterval": 3})
    save(spark, sample_rows(1, 30), SAMPLE_DDL, p, parts=2)
    spark.sql(f"DELETE FROM delta.`{p}` WHERE int % 3 = 0")
    spark.sql(f"UPDATE delta.`{p}` SET letter = 'z' WHERE int % 5 = 0")
    spark.sql(f"DELETE FROM delta.`{p}` WHERE letter IS NULL")


@case("check_constraints", "Table with a CHECK constraint (writer feature only).")
def check_constraints(spark, p):
    create(spark, p, SAMPLE_COLUMNS, {"delta.enableDeletionVectors": "true"})
    save(spark, sample_rows(42), SAMPLE_DDL, p)
    spark.sql(f"ALTER TABLE delta.`{p}` ADD CONSTRAINT int_positive CHECK (int > 0)")


@case("cdf", "Change data feed on; an UPDATE and a DELETE leave _change_data files.")
def cdf(spark, p):
    create(spark, p, SAMPLE_COLUMNS, {"delta.enableChangeDataFeed": "true"})
    save(spark, sample_rows(42, 10), SAMPLE_DDL, p)
    spark.sql(f"UPDATE delta.`{p}` SET letter = 'a' WHERE letter = 'c'")
    spark.sql(f"DELETE FROM delta.`{p}` WHERE letter = 'a'")


@case("generated_columns", "A column GENERATED ALWAYS AS an expression.")
def generated_columns(spark, p):
    from delta.tables import DeltaTable
    from pyspark.sql import types as T

    (DeltaTable.create(spark).location(p)
     .addColumn("letter", T.StringType()).addColumn("int", T.LongType())
     .addColumn("date", T.DateType())
     .addColumn("year", T.IntegerType(), generatedAlwaysAs="year(date)")
     .execute())
    save(spark, sample_rows(42), SAMPLE_DDL, p)


@case("column_mapping", "Column mapping mode 'name' and a renamed column.")
def column_mapping(spark, p):
    create(spark, p, SAMPLE_COLUMNS, {"delta.columnMapping.mode": "name"})
    save(spark, sample_rows(42), SAMPLE_DDL, p)
    spark.sql(f"ALTER TABLE delta.`{p}` RENAME COLUMN int TO new_int")
    save(spark, sample_rows(43), "letter string, new_int bigint, date date", p)


@case("timestamp_ntz", "A TIMESTAMP_NTZ column (timestampNtz feature).")
def timestamp_ntz(spark, p):
    create(spark, p, SAMPLE_COLUMNS + ", ntz TIMESTAMP_NTZ")
    rows = [r + (dt.datetime(2021, 3, 4, 5, 6, 7, 890123) + dt.timedelta(days=i),)
            for i, r in enumerate(sample_rows(42))] + [("n", 1, None, None)]
    save(spark, rows, SAMPLE_DDL + ", ntz timestamp_ntz", p)


@case("iceberg_compat_v1", "IcebergCompatV1 on (requires column mapping).")
def iceberg_compat_v1(spark, p):
    create(spark, p, SAMPLE_COLUMNS, {"delta.columnMapping.mode": "name",
                                      "delta.enableIcebergCompatV1": "true"})
    save(spark, sample_rows(42), SAMPLE_DDL, p)


# --------------------------------------------------------------------------
# further cases for features Sluice must read or refuse


@case("multi_part_checkpoint", "A checkpoint split into several parts, then one more commit.")
def multi_part_checkpoint(spark, p):
    create(spark, p, SAMPLE_COLUMNS, {"delta.checkpointInterval": 3})
    save(spark, sample_rows(1, 6), SAMPLE_DDL, p, parts=2)
    save(spark, sample_rows(2, 6), SAMPLE_DDL, p, parts=2)
    spark.conf.set("spark.databricks.delta.checkpoint.partSize", "2")
    try:
        save(spark, sample_rows(3, 6), SAMPLE_DDL, p, parts=2)
    finally:
        spark.conf.unset("spark.databricks.delta.checkpoint.partSize")
    save(spark, sample_rows(4, 6), SAMPLE_DDL, p)
    assert len(glob.glob(os.path.join(p, "_delta_log", f"{3:020d}.checkpoint.*.*.parquet"))) > 1


@case("v2_checkpoint", "checkpointPolicy=v2: V2 checkpoints with sidecars (v2Checkpoint feature).")
def v2_checkpoint(spark, p):
    create(spark, p, SAMPLE_COLUMNS, {"delta.checkpointPolicy": "v2",
                                      "delta.checkpointInterval": 2})
    save(spark, sample_rows(1), SAMPLE_DDL, p)
    save(spark, sample_rows(2), SAMPLE_DDL, p)
    save(spark, sample_rows(3), SAMPLE_DDL, p)


@case("type_widening", "Type widening on; a column widened from INT to BIGINT.")
def type_widening(spark, p):
    create(spark, p, "id INT, name STRING", {"delta.enableTypeWidening": "true"})
    save(spark, [(1, "a"), (2, "b")], "id int, name string", p)
    spark.sql(f"ALTER TABLE delta.`{p}` ALTER COLUMN id TYPE BIGINT")
    save(spark, [(2**40, "c")], "id bigint, name string", p)


@case("variant_type", "A VARIANT column (variantType feature).")
def variant_type(spark, p):
    spark.sql(f"CREATE TABLE delta.`{p}` USING delta AS "
              "SELECT id, parse_json(concat('{\"a\":', id, '}')) AS v FROM range(3)")


@case("row_tracking", "Row tracking on (readable: a reader may ignore it).")
def row_tracking(spark, p):
    create(spark, p, SAMPLE_COLUMNS, {"delta.enableRowTracking": "true"})
    save(spark, sample_rows(1), SAMPLE_DDL, p)
    save(spark, sample_rows(2), SAMPLE_DDL, p)


@case("append_only", "delta.appendOnly=true.")
def append_only(spark, p):
    create(spark, p, SAMPLE_COLUMNS, {"delta.appendOnly": "true"})
    save(spark, sample_rows(1), SAMPLE_DDL, p)
    save(spark, sample_rows(2), SAMPLE_DDL, p)


@case("in_commit_timestamps", "In-commit timestamps on (writer feature).")
def in_commit_timestamps(spark, p):
    create(spark, p, SAMPLE_COLUMNS, {"delta.enableInCommitTimestamps": "true"})
    save(spark, sample_rows(1), SAMPLE_DDL, p)
    save(spark, sample_rows(2), SAMPLE_DDL, p)


@case("clustered", "Liquid clustering (CLUSTER BY): clustering and domainMetadata features.")
def clustered(spark, p):
    create(spark, p, SAMPLE_COLUMNS, extra="CLUSTER BY (letter) ")
    save(spark, sample_rows(1), SAMPLE_DDL, p)
    save(spark, sample_rows(2), SAMPLE_DDL, p)


# --------------------------------------------------------------------------
# driver


def _protocol_at(path: str, version: int) -> dict | None:
    """The newest protocol action at or before ``version`` found in JSON commits
    (None when only a checkpoint covers it)."""
    proto = None
    for v in range(version + 1):
        f = os.path.join(path, "_delta_log", f"{v:020d}.json")
        if not os.path.exists(f):
            continue
        with open(f) as fh:
            for line in fh:
                if '"protocol"' in line:
                    a = json.loads(line)
                    if "protocol" in a:
                        proto = a["protocol"]
    return proto


def _latest_version(path: str) -> int:
    names = glob.glob(os.path.join(path, "_delta_log", "*.json"))
    return max(int(os.path.basename(n).split(".")[0]) for n in names)


def _write_expected(spark, case_dir: str, delta: str, version: int, label: str) -> None:
    table = spark.read.format("delta").option("versionAsOf", version).load(delta).toArrow()
    out = os.path.join(case_dir, "expected", label)
    os.makedirs(out, exist_ok=True)
    pq.write_table(table, os.path.join(out, "table_content.parquet"))
    meta = {"version": version, "protocol": _protocol_at(delta, version),
            "num_rows": table.num_rows}
    with open(os.path.join(out, "table_version_metadata.json"), "w") as f:
        json.dump(meta, f, indent=2)


def generate_case(spark, c: Case, out: str) -> None:
    case_dir = os.path.join(out, c.name)
    shutil.rmtree(case_dir, ignore_errors=True)
    delta = os.path.join(case_dir, "delta")
    os.makedirs(case_dir)
    result = c.build(spark, delta) or {}
    latest = _latest_version(delta)
    versions = [latest] if result.get("versions") == "latest" else list(range(latest + 1))
    for v in versions:
        _write_expected(spark, case_dir, delta, v, f"v{v}")
    _write_expected(spark, case_dir, delta, latest, "latest")
    with open(os.path.join(case_dir, "test_case_info.json"), "w") as f:
        json.dump({"name": c.name, "description": c.description, "key": c.key,
                   "latest_version": latest, "versions": versions}, f, indent=2)


def source_stamp() -> str:
    import hashlib

    with open(os.path.abspath(__file__), "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


def generate(out: str, spark=None, cases=None, log=print) -> dict:
    """Generates the cases into ``out``; reuses it if already complete for
    this version of the generator. Returns {case: seconds}."""
    stamp_file = os.path.join(out, ".complete")
    wanted = sorted(cases or CASES)
    if os.path.exists(stamp_file):
        with open(stamp_file) as f:
            done = json.load(f)
        if done.get("stamp") == source_stamp() and set(wanted) <= set(done.get("cases", [])):
            return {}
    if spark is None:
        from spark_session import get_spark
        spark = get_spark()
    os.makedirs(out, exist_ok=True)
    timings = {}
    for name in wanted:
        t0 = time.time()
        generate_case(spark, CASES[name], out)
        timings[name] = round(time.time() - t0, 1)
        log(f"[dat] {name}: {timings[name]}s")
    with open(stamp_file, "w") as f:
        json.dump({"stamp": source_stamp(), "cases": wanted}, f)
    return timings


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--cases", help="comma-separated subset (default: all)")
    args = ap.parse_args(argv)
    cases = args.cases.split(",") if args.cases else None
    unknown = set(cases or []) - set(CASES)
    if unknown:
        ap.error(f"unknown cases: {sorted(unknown)}; known: {sorted(CASES)}")
    t0 = time.time()
    generate(args.out, cases=cases)
    print(f"[dat] generated into {args.out} in {time.time() - t0:.0f}s")
    from spark_session import stop_spark
    stop_spark()
    return 0


if __name__ == "__main__":
    sys.exit(main())
