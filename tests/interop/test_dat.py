"""Delta Acceptance Tests (reader cases): ``sluice cat --version V`` on every
case and version built by dat/generate.py, compared value by value with what
delta-spark reads at that version. Cases that need a feature Sluice does not
implement must be refused: non-zero exit, stderr naming the feature, and no
rows. Wrong data is never accepted.
"""
from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from peers import assert_same_rows

_spec = importlib.util.spec_from_file_location(
    "sluice_dat_generate", Path(__file__).parent / "dat" / "generate.py")
generate = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = generate       # dataclasses need the module registered
_spec.loader.exec_module(generate)

# Which cases Sluice reads, and which it must refuse (regex the stderr must
# match). Writer-only features (checkConstraints, generatedColumns,
# changeDataFeed, appendOnly, invariants, inCommitTimestamp, clustering,
# domainMetadata, rowTracking) do not change what a reader sees, so those
# tables must be read.
SUPPORTED = {
    "basic_append", "basic_partitioned", "partitioned_with_null", "multi_partitioned",
    "multi_partitioned_2", "with_schema_change", "with_schema_evolution",
    "all_primitive_types", "nested_types", "with_checkpoint", "no_replay",
    "stats_as_struct", "no_stats", "deletion_vectors", "deletion_vectors_checkpointed",
    "check_constraints", "cdf", "generated_columns", "timestamp_ntz",
    "multi_part_checkpoint", "row_tracking", "append_only", "in_commit_timestamps",
    "clustered",
}
REFUSED = {
    "column_mapping": r"columnMapping",
    # IcebergCompatV1 requires column mapping; naming either is correct.
    "iceberg_compat_v1": r"icebergCompatV1|columnMapping",
    "v2_checkpoint": r"v2Checkpoint",
    "type_widening": r"typeWidening",
    "variant_type": r"variantType",
}


def test_every_case_is_classified():
    assert not SUPPORTED & set(REFUSED)
    assert SUPPORTED | set(REFUSED) == set(generate.CASES), (
        "classify every generated case as SUPPORTED or REFUSED: "
        f"{sorted(set(generate.CASES) ^ (SUPPORTED | set(REFUSED)))}")


def _case(dat_dir: Path, name: str):
    case_dir = dat_dir / name
    info = json.loads((case_dir / "test_case_info.json").read_text())
    return case_dir, info


def _expected(case_dir: Path, label: str):
    return pq.read_table(case_dir / "expected" / label / "table_content.parquet")


@pytest.mark.parametrize("name", sorted(SUPPORTED))
def test_supported_case(dat_dir, sluice, name):
    case_dir, info = _case(dat_dir, name)
    delta = case_dir / "delta"
    assert info["versions"], "the case has no expected version"
    for v in info["versions"]:
        expected = _expected(case_dir, f"v{v}")
        key = info["key"] or expected.column_names
        assert_same_rows(expected, sluice.cat(delta, version=v), key,
                         check_column_order=True, label=f"{name} v{v}")
    expected = _expected(case_dir, "latest")
    key = info["key"] or expected.column_names
    assert_same_rows(expected, sluice.cat(delta), key, check_column_order=True,
                     label=f"{name} latest")


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_case(dat_dir, sluice, name):
    case_dir, info = _case(dat_dir, name)
    delta = case_dir / "delta"
    pattern = re.compile(REFUSED[name])
    for version in (None, 0):        # the feature is on from the first commit
        stderr = sluice.cat_refused(delta, version=version)
        assert pattern.search(stderr), (
            f"{name}: sluice cat refused, but stderr does not name the feature "
            f"({REFUSED[name]}):\n{stderr}")
