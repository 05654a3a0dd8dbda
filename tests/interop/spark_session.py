"""One shared SparkSession with Delta Lake for the interop tests.

The delta-spark jars come from Maven Central through Spark's ivy resolver and
are cached under ~/.cache/sluice/ivy (override with SLUICE_CACHE), so after the
first run (scripts/bootstrap runs ``--warm``) no network is needed.

    python tests/interop/spark_session.py --warm   # start, run a query, stop
"""
from __future__ import annotations

import os
import sys
import tempfile

_SESSION = None


def _delta_package() -> str:
    import pyspark
    from importlib.metadata import version

    scala = "2.13" if pyspark.__version__.startswith("4") else "2.12"
    return f"io.delta:delta-spark_{scala}:{version('delta-spark')}"


def ivy_dir() -> str:
    cache = os.environ.get("SLUICE_CACHE", os.path.expanduser("~/.cache/sluice"))
    return os.path.join(cache, "ivy")


def session_builder(app_name: str, packages=(), conf=None):
    """The builder every Sluice test session shares: Delta Lake (plus the
    Maven `packages` given), the ivy cache above, settings for tiny tables
    on 2 cores, and `conf` last."""
    # Spark must run with the interpreter of this venv on both sides.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    os.makedirs(ivy_dir(), exist_ok=True)
    warehouse = tempfile.mkdtemp(prefix="sluice-spark-warehouse-")
    builder = (
        SparkSession.builder.master(os.environ.get("SLUICE_SPARK_MASTER", "local[2]"))
        .appName(app_name)
        .config("spark.jars.packages", ",".join([_delta_package(), *packages]))
        .config("spark.jars.ivy", ivy_dir())
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog",
                "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.driver.memory", os.environ.get("SLUICE_SPARK_MEMORY", "1g"))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        # Tiny tables on 2 cores: one shuffle partition, no whole-stage code
        # generation and a C1-only JIT start and run small jobs ~40% faster.
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.warehouse.dir", warehouse)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.extraJavaOptions",
                "-Duser.timezone=UTC -XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
                " -Dderby.system.home=" + warehouse)
        .config("spark.executor.extraJavaOptions", "-Duser.timezone=UTC")
        # Small tables: no need for Delta's own background work or stats caching.
        .config("spark.databricks.delta.snapshotPartitions", "1")
        .config("spark.databricks.delta.stalenessLimit", "0")
    )
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    return builder


def get_spark(app_name: str = "sluice-interop", packages=(), conf=None):
    """Builds (once per process: one SparkContext per JVM) and returns the
    shared SparkSession; later calls get it as it was built."""
    global _SESSION
    if _SESSION is not None:
        return _SESSION
    _SESSION = session_builder(app_name, packages, conf).getOrCreate()
    _SESSION.sparkContext.setLogLevel("ERROR")
    return _SESSION


def stop_spark() -> None:
    global _SESSION
    if _SESSION is not None:
        _SESSION.stop()
        _SESSION = None


def _warm() -> int:
    spark = get_spark()
    path = tempfile.mkdtemp(prefix="sluice-warm-")
    spark.range(3).write.format("delta").mode("overwrite").save(path)
    n = spark.read.format("delta").load(path).count()
    stop_spark()
    if n != 3:
        print(f"warm-up read {n} rows instead of 3", file=sys.stderr)
        return 1
    print("spark + delta ready; jars cached in", ivy_dir())
    return 0


if __name__ == "__main__":
    if "--warm" in sys.argv[1:]:
        sys.exit(_warm())
    print(__doc__)
