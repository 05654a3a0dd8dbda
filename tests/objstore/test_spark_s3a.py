"""Spark reads Sluice's tables on the S3 emulator through s3a.

A `sluice run` from one bucket of the S3 emulator (moto, SigV4 enforced)
writes log, merged and history tables into another; Spark (delta-spark with
Hadoop's s3a connector from Maven Central, configured as for any
S3-compatible store: spark_s3a.py) reads each through s3a:// and every value
must equal the expectation: the generator's manifest (log),
reference.replay() (merged), the reference model's SCD2 fold (history), and
the rows delta-rs reads (or `sluice cat`, where deletion vectors keep the
installed delta-rs out). Spark reads the merged and history tables again
after `sluice compact` and `vacuum` on the bucket.
"""
from __future__ import annotations

import json
import re

import pyarrow as pa
import pytest

from conftest import sluice, unique
from spark_s3a import get_spark_s3a, stop_spark
from test_pipeline import (both_env, cat, e2e, empty_config, generate, read_delta_rs,  # noqa: F401
                           run_once, table_uri)

import peers  # noqa: E402  (tests/interop, put on sys.path by spark_s3a)

MODES = ["copy_on_write", "deletion_vectors"]


@pytest.fixture(scope="module")
def spark(s3):
    """One Spark session for the module (Spark starts slowly on 2 cores)."""
    session = get_spark_s3a(s3.env)
    yield session
    stop_spark()


def read_spark(spark, uri: str) -> pa.Table:
    """The table at s3://bucket/path, read by Spark as s3a://bucket/path."""
    scheme, rest = uri.split("://", 1)
    assert scheme == "s3", uri
    return spark.read.format("delta").load("s3a://" + rest).toArrow()


def check_history(rows, expected, obj: str, merged_rows) -> None:
    """The history table's versions equal the reference model's, per key in
    order, value by value (__START_AT, __END_AT and every payload column);
    the open versions are the merged table's keys."""
    keycols = expected.events[obj][0]["primary_keys"]
    kinds = expected.kinds(obj)
    got = {}
    for r in sorted(rows, key=lambda r: r["_cdc_seq"]):
        got.setdefault(tuple(str(r[c]) for c in keycols), []).append(r)
    want = e2e.model_history(expected, obj)
    assert got.keys() == want.keys(), (
        f"{obj}: history keys only in the table {sorted(set(got) - set(want))[:5]}, "
        f"only in the model {sorted(set(want) - set(got))[:5]}")
    bad = []
    for key, versions in want.items():
        if len(got[key]) != len(versions):
            bad.append(f"{key}: {len(got[key])} versions, model {len(versions)}")
            continue
        for i, (r, v) in enumerate(zip(got[key], versions)):
            if e2e._us(r["__START_AT"]) != v["__START_AT"]:
                bad.append(f"{key} v{i}: __START_AT {r['__START_AT']}, model {v['__START_AT']}")
            end = None if r["__END_AT"] is None else e2e._us(r["__END_AT"])
            if end != v["__END_AT"]:
                bad.append(f"{key} v{i}: __END_AT {r['__END_AT']}, model {v['__END_AT']}")
            for col, kind in kinds.items():
                if not e2e.value_matches(kind, v.get(col), r.get(col)):
                    bad.append(f"{key} v{i}: {col} ({kind}) = {r.get(col)!r}, model {v.get(col)!r}")
    assert not bad, f"{obj}: {len(bad)} history mismatches:\n  " + "\n  ".join(bad[:20])
    open_keys = {k for k, vs in got.items() if vs[-1]["__END_AT"] is None}
    assert open_keys == {tuple(str(r[c]) for c in keycols) for r in merged_rows}, obj


@pytest.mark.parametrize("mode", MODES)
def test_spark_reads_the_pipelines_tables_through_s3a(mode, s3, spark, tmp_path, monkeypatch,
                                                      empty_config):
    monkeypatch.chdir(tmp_path)  # anything written locally by mistake lands here
    src, expected = generate(tmp_path, seed=83 + MODES.index(mode))
    bucket = unique("stream")
    s3.make_bucket(bucket)
    assert s3.upload_tree(bucket, "datastream/out", src) > 4
    sink = s3.uri(unique("lake"))
    env = both_env(s3, SOURCE_PATH=f"s3://{bucket}/datastream/out", DELTA_TABLE_PATH=sink,
                   SLUICE_SINK_MERGE_MODE=mode, SLUICE_PIPELINE_MERGE_INTERVAL="0s",
                   SLUICE_SINK_HISTORY_TABLES="true",
                   # several merges, whose updates and deletes hit earlier
                   # files (deletion vectors, or files rewritten), and no
                   # maintenance: Spark reads many files; `sluice compact`
                   # below rewrites them
                   SLUICE_SOURCE_MAX_FILES_PER_BATCH="2", SLUICE_SINK_MAINTENANCE="false")
    run_once(env, empty_config)

    def dv_files(uri: str) -> int:
        return json.loads(sluice(s3, "inspect", uri, "--json", env=env).stdout)[
            "files_with_deletion_vectors"]

    def same_as_other_reader(got: pa.Table, uri: str, key, label: str) -> None:
        """Spark's rows equal delta-rs's (copy-on-write) or `sluice cat`'s
        (deletion vectors: the installed delta-rs cannot apply them)."""
        other = read_delta_rs(s3, uri) if mode == "copy_on_write" else cat(s3, env, uri, tmp_path)
        peers.assert_same_rows(other, got, key=key, label=label)

    def uris(obj: str):
        merged_uri = table_uri(sink, expected, obj)
        return table_uri(sink, expected, obj, "_log"), merged_uri, merged_uri + "_history"

    def check_in_spark(obj: str) -> None:
        """Spark's log, merged and history tables of `obj`: every value as
        expected, and the rows the other reader has."""
        keycols = expected.events[obj][0]["primary_keys"]
        log_uri, merged_uri, history_uri = uris(obj)
        log = read_spark(spark, log_uri)
        e2e.compare_log_to_manifest(log.to_pylist(), expected, obj)
        peers.assert_same_rows(read_delta_rs(s3, log_uri), log, key="_cdc_seq",
                               label=f"{obj}_log")
        merged = read_spark(spark, merged_uri)
        e2e.compare_merged_to_reference(merged.to_pylist(), expected, obj)
        same_as_other_reader(merged, merged_uri, keycols, obj)
        history = read_spark(spark, history_uri)
        check_history(history.to_pylist(), expected, obj, merged.to_pylist())
        same_as_other_reader(history, history_uri, "_cdc_seq", f"{obj}_history")

    for obj in sorted(expected.tables):
        for uri in uris(obj)[1:]:
            # in that mode Spark applies deletion vectors it reads through s3a
            assert (dv_files(uri) > 0) == (mode == "deletion_vectors"), uri
        check_in_spark(obj)

    # Compacted and vacuumed on the bucket (deletion vectors purged), the
    # tables still read the same.
    obj = sorted(expected.tables)[0]
    for uri in uris(obj):
        sluice(s3, "compact", uri, "--min-small-files", "2", "--max-deleted-ratio", "0", env=env)
        vacuumed = sluice(s3, "vacuum", uri, "--retention", "0s", env=env).stdout
        assert re.search(r"deleted [1-9]\d* file\(s\)", vacuumed), vacuumed
        assert dv_files(uri) == 0, uri
    check_in_spark(obj)
