"""A SparkSession that reads Delta tables on an S3-compatible store through
Hadoop's s3a connector, for tests/objstore.

It is tests/interop/spark_session.py's session (same delta-spark, ivy cache
and small-table settings) plus hadoop-aws, whose version must be the Hadoop of
pyspark's own client jars (3.4.1 for pyspark 4.0.x). hadoop-aws declares the
whole AWS SDK v2 bundle (~500 MB, every AWS service); s3a needs only the S3
client and what it links to, so the bundle is excluded and those modules are
listed instead (~16 MB with their dependencies).

The s3a settings are those a user gives Spark for any S3-compatible store
(MinIO, Ceph, R2, an emulator): endpoint, path-style access, region, keys,
SSL from the endpoint's scheme.

    python tests/objstore/spark_s3a.py --warm       # fetch the jars once, check s3a loads
    python tests/objstore/spark_s3a.py --packages   # the Maven coordinates it uses
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict, Mapping

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "interop"))
import spark_session  # noqa: E402

HADOOP_VERSION = "3.4.1"  # pyspark 4.0.x's hadoop-client-api/-runtime
# hadoop-aws 3.4.1 was built with SDK 2.24.6, but Maven Central as this
# project reaches it serves no s3-transfer-manager 2.24.6 (s3a links to it);
# 2.29.52 is the SDK of Hadoop 3.4.2, from before 2.30 turned on checksums
# many S3-compatible stores refuse.
AWS_SDK_VERSION = "2.29.52"
PACKAGES = [f"org.apache.hadoop:hadoop-aws:{HADOOP_VERSION}"] + [
    f"software.amazon.awssdk:{m}:{AWS_SDK_VERSION}" for m in ("s3", "sts", "s3-transfer-manager")]
EXCLUDES = ["software.amazon.awssdk:bundle"]

def spark_hadoop_version() -> str:
    """The Hadoop version of pyspark's own client jars."""
    import pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    found = [p.name for p in jars.glob("hadoop-client-api-*.jar")]
    assert len(found) == 1, f"no single hadoop-client-api jar in {jars}: {found}"
    return found[0][len("hadoop-client-api-"):-len(".jar")]


def s3a_conf(env: Mapping[str, str]) -> Dict[str, str]:
    """Spark settings for s3a from the variables Sluice reads for S3
    (AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)."""
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env["AWS_ENDPOINT_URL"]
    conf = {
        "fs.s3a.endpoint": endpoint,
        "fs.s3a.endpoint.region": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION",
                                                                  "us-east-1"),
        "fs.s3a.path.style.access": "true",
        "fs.s3a.connection.ssl.enabled": str(endpoint.startswith("https://")).lower(),
        "fs.s3a.aws.credentials.provider":
            "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        "fs.s3a.access.key": env["AWS_ACCESS_KEY_ID"],
        "fs.s3a.secret.key": env["AWS_SECRET_ACCESS_KEY"],
        # A test that goes wrong should fail in seconds, not retry for minutes.
        "fs.s3a.attempts.maximum": "2",
        "fs.s3a.retry.limit": "2",
        "fs.s3a.connection.timeout": "20s",
    }
    return {"spark.hadoop." + k: v for k, v in conf.items()}


def get_spark_s3a(env: Mapping[str, str]):
    """The process's Spark session (built on first use) for the S3 store
    `env` describes; s3a settings are per JVM here, so one store a process."""
    assert spark_hadoop_version() == HADOOP_VERSION, (
        f"pyspark ships Hadoop {spark_hadoop_version()}: hadoop-aws {HADOOP_VERSION} "
        "(and its AWS SDK) in spark_s3a.py must match it")
    conf = s3a_conf(env)
    spark = spark_session.get_spark("sluice-objstore-s3a", PACKAGES,
                                    {"spark.jars.excludes": ",".join(EXCLUDES), **conf})
    endpoint = "spark.hadoop.fs.s3a.endpoint"
    assert spark.conf.get(endpoint, None) == conf[endpoint], "one s3a store per process"
    return spark


stop_spark = spark_session.stop_spark


def _warm() -> int:
    """Resolves the jars into the ivy cache and checks that s3a links (the
    S3 client is built against a store that need not exist)."""
    spark = get_spark_s3a({"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_REGION": "us-east-1",
                           "AWS_ACCESS_KEY_ID": "warm", "AWS_SECRET_ACCESS_KEY": "warm"})
    jvm = spark.sparkContext._jvm
    hadoop_conf = spark.sparkContext._jsc.hadoopConfiguration()
    fs = jvm.org.apache.hadoop.fs.FileSystem.get(jvm.java.net.URI("s3a://warm/"), hadoop_conf)
    name = fs.getClass().getName()
    fs.close()
    stop_spark()
    if name != "org.apache.hadoop.fs.s3a.S3AFileSystem":
        print(f"s3a:// is served by {name}", file=sys.stderr)
        return 1
    print("spark + delta + s3a ready; jars cached in", spark_session.ivy_dir())
    return 0


if __name__ == "__main__":
    if "--warm" in sys.argv[1:]:
        sys.exit(_warm())
    if "--packages" in sys.argv[1:]:
        print(",".join(PACKAGES + ["-" + e for e in EXCLUDES]))
        sys.exit(0)
    print(__doc__)
