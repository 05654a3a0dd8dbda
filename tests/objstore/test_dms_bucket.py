"""The DMS source reading from a bucket (issues 13 and 14): tools/dms_gen
writes a DMS tree, the test uploads it to one emulated store, `sluice run
--once` ingests it into tables on another, and the log and merged tables
are compared value by value with the independent model
(tests/dms_reference/model.py) reading the same files locally. The nested
layouts (date-partitioned folders under each table, the CDC_TXN folder
beside the schemas) are what a bucket lists differently from a disk."""
from __future__ import annotations

import collections
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from conftest import REPO, sluice, unique
from test_pipeline import both_env, cat, read_delta_rs, run_once

sys.path.insert(0, str(REPO / "tools"))
# The DMS model is loaded under its own name: tests/merge_reference's model
# module is also called `model`, and both are imported in one pytest run.
_spec = importlib.util.spec_from_file_location(
    "dms_model", REPO / "tests" / "dms_reference" / "model.py")
model = importlib.util.module_from_spec(_spec)
sys.modules["dms_model"] = model
_spec.loader.exec_module(model)
from dms_gen.generator import Options, data_root, generate  # noqa: E402

# (source store, sink store, generator options)
CASES = {
    "parquet-date-folders-s3-to-azure": (
        "s3", "azure", dict(format="parquet", before_image_prefix="BI_", date_partition="YYYYMMDDHH",
                            date_delimiter="SLASH")),
    "csv-cdc-txn-gcs-to-s3": (
        "gcs", "s3", dict(format="csv", preserve_transactions=True, before_image_prefix="BI_",
                          added_column=False)),
}


def key_of(values, keys, like=None):
    return tuple(repr(model.norm(values[k] if isinstance(values, dict) else values[i],
                                 like=(like[i] if like else None)))
                 for i, k in enumerate(keys))


@pytest.mark.parametrize("case", sorted(CASES))
def test_dms_from_bucket_matches_model(case, request, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source_kind, sink_kind, opts = CASES[case]
    src_store = request.getfixturevalue(source_kind)
    sink_store = request.getfixturevalue(sink_kind)
    gen = tmp_path / "gen"
    g = generate(Options(out=str(gen), sink=str(tmp_path / "unused-sink"), rows_per_table=30,
                         transactions=60, seed=23, **opts))
    settings, rows = model.read_tree(str(gen / "sluice.toml"))
    bucket = unique("dms")
    src_store.make_bucket(bucket)
    assert src_store.upload_tree(bucket, "dms/out", Path(data_root(g.options))) > 3
    sink = sink_store.uri(unique("lake"))
    # the generated TOML with the source and sink moved to the buckets
    config = tmp_path / "bucket.toml"
    text = (gen / "sluice.toml").read_text()
    text = text.replace(f'path = "{data_root(g.options)}"',
                        f'path = "{src_store.scheme}://{bucket}/dms/out"')
    text = text.replace(f'path = "{tmp_path / "unused-sink"}"', f'path = "{sink}"')
    assert f"{src_store.scheme}://{bucket}" in text and sink in text, text
    config.write_text(text)
    env = both_env(src_store, sink_store, SLUICE_PIPELINE_MERGE_INTERVAL="0s")
    run_once(env, config)

    merged = model.merged(settings, rows)
    for t in g.tables:
        q = t.qualified
        schema, name = q.split(".", 1)
        columns = [c for c, _ in t.columns] + ([t.added[0]] if t.added else [])
        # log: one row per DMS row (a key change adds the old key's delete),
        # none twice
        log = read_delta_rs(sink_store, f"{sink}/{schema}/{name}_log").to_pylist()
        moves = sum(1 for r in rows[q] if r.op == "U" and r.before_key is not None
                    and r.before_key != model.key_of(r, t.keys))
        assert len(log) == len(rows[q]) + moves, (q, len(log), len(rows[q]), moves)
        twice = [o for o, n in collections.Counter(
            (r["_cdc_origin"], r["_cdc_op"]) for r in log).items() if n > 1]
        assert not twice, (q, twice[:5])
        # merged: the model's state, every data column
        got_rows = cat(sink_store, env, f"{sink}/{schema}/{name}", tmp_path).to_pylist()
        state = merged[q]
        like = next(iter(state)) if state else None
        got = {key_of(r, t.keys, like): r for r in got_rows}
        want = {key_of(k, t.keys): v for k, v in state.items()}
        assert len(got) == len(got_rows), f"{q}: duplicated keys in the merged table"
        assert set(got) == set(want), (q, sorted(set(want) - set(got))[:3],
                                       sorted(set(got) - set(want))[:3])
        bad = [f"{k}: {c} = {got[k].get(c)!r}, model {row.get(c)!r}"
               for k, row in want.items() for c in columns
               if not model.same(row.get(c), got[k].get(c))]
        assert not bad, f"{q}: {len(bad)} values differ:\n  " + "\n  ".join(bad[:20])
    # a second run finds nothing new: no log table gets a commit
    # (maintenance off, its commits would be legitimate)
    def versions():
        return {t.qualified: json.loads(sluice(
            sink_store, "inspect", f"{sink}/{t.qualified.replace('.', '/')}_log", "--json",
            env=env).stdout)["version"] for t in g.tables}

    before = versions()
    run_once(dict(env, SLUICE_SINK_MAINTENANCE="false"), config)
    assert versions() == before
