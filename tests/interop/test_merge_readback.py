"""Spark reads merged tables of the merge differential test as the model's rows.

tests/merge_reference/test_differential.py checks delta-rs and DuckDB on a few
of its random cases; this suite (which owns the shared SparkSession) checks
Spark + delta-spark on the same cases: two in deletion-vector mode, one in
copy-on-write mode, each with several batches, restarts and a column added
mid-stream.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/merge_reference"))

import test_differential as diff  # noqa: E402

pytestmark = pytest.mark.skipif(not diff.DRIVER.exists(),
                                reason=f"merge driver not built: {diff.DRIVER}")


@pytest.mark.parametrize("seed", diff._peer_seeds())
def test_spark_reads_the_models_rows(seed, tmp_path, read_with_spark):
    case = diff.Case(seed)
    table = diff.run_case(case, tmp_path)
    expected = case.expected()
    assert diff.rows_of(table, case.columns()) == expected, case.describe()
    got = diff.rows_of(read_with_spark(str(tmp_path / "table")), case.columns())
    assert got == expected, (
        f"{case.describe()}\nonly in Spark: {sorted(set(got) - set(expected), key=repr)[:10]}\n"
        f"only in model: {sorted(set(expected) - set(got), key=repr)[:10]}")
