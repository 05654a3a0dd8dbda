"""Tests of the DMS variant of the benchmark (bench/dms_bench.py) at a tiny
scale: the workload (bench/dms_workload.py) and, against the real binary,
generation + `sluice run` + the copy floor + the delta-rs peer + the
equality check + the snapshot measurement, without Spark (BENCH_PEERS). No timings are asserted.

Run: .venv/bin/python -m pytest tests/tools -q
"""

import csv
import glob
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "bench", "peers"))

import dms_input  # noqa: E402
import dms_workload  # noqa: E402
import gen  # noqa: E402

SLUICE = os.environ.get("SLUICE_BIN", os.path.join(ROOT, "build", "sluice"))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    base = tmp_path_factory.mktemp("dms")
    avro = str(base / "avro")
    assert gen.main(["--out", avro, "--rows", "1500", "--changes", "2500",
                     "--backfill-file-rows", "500", "--cdc-file-events", "400",
                     "--late-group", "2", "--jobs", "1", "--quiet"]) == 0
    out = str(base / "dms")
    return out, dms_workload.convert(avro, out, jobs_n=1)


def test_both_formats_hold_the_same_events(tiny):
    out, m = tiny
    assert m["dms"]["load_files"] == 3 and m["dms"]["cdc_files"] >= 7
    tables = {}
    for fmt in dms_input.FORMATS:
        files = dms_input.input_files(os.path.join(out, dms_input.FORMATS[fmt]), fmt)
        names = [os.path.basename(f) for f in files]
        assert names[:3] == [f"LOAD0000000{i}.{dms_input.FORMATS[fmt]}" for i in (1, 2, 3)]
        assert names[3:] == sorted(names[3:])  # CDC by name: arrival order
        tables[fmt] = dms_input.with_sequence(dms_input.read_arrow(files, fmt), "_seq", "_del")
    assert tables["dms-parquet"].equals(tables["dms-csv"])
    t = tables["dms-csv"]
    assert t.num_rows == m["events"] == 4000
    ops = t.column("Op").to_pylist()
    assert ops[:1500] == ["I"] * 1500  # IncludeOpForFullLoad
    seqs = t.column("_seq").to_pylist()
    assert set(seqs[:1500]) == {0} and min(seqs[1500:]) > 0
    assert ops[1500:].count("D") == m["cdc_ops"]["delete"]
    # late files hold older sequences than what came before them
    cdc = seqs[1500:]
    assert sum(1 for a, b in zip(cdc, cdc[1:]) if b < a) >= 1


def test_csv_is_what_dms_writes(tiny):
    out, _m = tiny
    path = sorted(glob.glob(os.path.join(out, "csv", "bench", "orders", "2*.csv")))[0]
    with open(path, newline="") as fh:
        raw = fh.read()
    rows = list(csv.reader(raw.splitlines()))
    assert rows[0][:3] == ["Op", "dmsTimestamp", "id"] and rows[0][-1] == "AR_H_CHANGE_SEQ"
    assert all(len(r) == len(rows[0]) for r in rows)
    assert all(r[0] in ("I", "U", "D") and len(r[-1]) == 35 for r in rows[1:])
    assert ",NULL," in raw and '"NULL"' not in raw  # CsvNullValue, unquoted


def test_dms_bench_tiny(tmp_path, tiny):
    """Generation, `sluice run --once` on both formats, the copy floor, the
    delta-rs peer, the equality check and the snapshot measurement, against the real
    binary."""
    # make test builds it first; a missing binary is a broken set-up, not a pass
    assert os.path.exists(SLUICE), f"{SLUICE} is missing: build first (make build)"
    env = dict(os.environ, SLUICE_BIN=SLUICE, BENCH_WORK=str(tmp_path / "work"),
               BENCH_RESULTS=str(tmp_path / "results"), BENCH_ROWS="1500", BENCH_CHANGES="2500",
               BENCH_PEERS="delta-rs,copy-floor",
               BENCH_SNAPSHOT_ROWS="2000")
    r = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "dms_bench.py"), "small"],
                       env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    lines = r.stdout.strip().splitlines()
    for line, fmt in ((lines[-2], "parquet"), (lines[-1], "csv")):
        assert line.startswith("throughput ratio: spark n/a, delta-rs ")
        assert line.endswith(f" (dms-{fmt})") and "copy-floor n/a" not in line
    assert lines[-3].startswith("snapshot to write-once ratio: ")
    assert r.stdout.count("delta-rs: merged table equal to Sluice's") == 2
    with open(tmp_path / "results" / "dms-small-latest.json") as fh:
        results = json.load(fh)
    assert set(results["formats"]) == {"parquet", "csv"}
    for f in results["formats"].values():
        assert f["throughput_ratio"]["delta-rs"] > 0 and f["throughput_ratio"]["copy-floor"] > 0
        assert f["engines"]["copy-floor"]["events"] == 4000
        assert f["engines"]["sluice"]["events"] == 4000
    assert results["snapshot"]["rows"] == 2000
    # a second run reuses both workloads
    r = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "dms_bench.py"), "small"],
                       env=dict(env, BENCH_FORMATS="parquet", BENCH_SNAPSHOT_ROWS="0"),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "DMS workload: reusing" in r.stdout and "workload main-1500-2500: reusing" in r.stdout
