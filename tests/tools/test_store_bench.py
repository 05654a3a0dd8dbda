"""bench/store_bench.py (the benchmark's workload on the S3 emulator) at a
tiny scale against the real binary and moto: both runs happen, the bucket's
tables are checked equal to the local ones, and the ratio is reported. No
timings are asserted."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_store_bench_tiny(tmp_path):
    exe = os.environ.get("SLUICE_BIN", os.path.join(ROOT, "build", "sluice"))
    assert os.path.exists(exe), f"{exe} is missing: build first (make build)"
    env = dict(os.environ, SLUICE_BIN=exe, BENCH_WORK=str(tmp_path / "work"),
               BENCH_RESULTS_DIR=str(tmp_path), BENCH_ROWS="3000", BENCH_CHANGES="2000")
    r = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "store_bench.py"), "small"],
                       env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "merged table equal to the local one" in r.stdout
    assert r.stdout.strip().splitlines()[-1].startswith("s3 throughput ratio: ")
    with open(tmp_path / "s3-small-latest.json") as fh:
        results = json.load(fh)
    assert results["s3_throughput_ratio"] > 0
    for name in ("sluice-local", "sluice-s3-emulator"):
        assert results["engines"][name]["events"] == 5000
