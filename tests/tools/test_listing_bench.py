"""The listing benchmark (bench/listing_bench.py) at a tiny scale, against
the real discovery binary (build/bench/listing_bench): its ListObjectsV2
answers in front of moto (prefix, delimiter, start-after and, with more
than 1,000 keys in a folder, continuation tokens) must let Sluice's source
find every file once, nothing when idle, and exactly the one new file.
No timings are asserted.

Run: .venv/bin/python -m pytest tests/tools -q
"""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH_BIN = os.environ.get("LISTING_BENCH_BIN",
                           os.path.join(ROOT, "build", "bench", "listing_bench"))


def test_listing_bench_finds_every_file_once(tmp_path):
    out = tmp_path / "listing.json"
    # 1,200 files in a folder: more than one page of a listing.
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", "listing_bench.py"), "--tables", "3",
         "--files", "1200", "--minutes", "10", "--polls", "2", "--json", str(out)],
        env={**os.environ, "LISTING_BENCH_BIN": BENCH_BIN}, capture_output=True, text=True,
        timeout=180)  # a listing that repeats a page never ends
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    r = json.loads(out.read_text())
    assert r["objects"] == 3600
    assert r["catchup"]["units"] == 3600, r["catchup"]
    for poll in r["idle"]:
        assert poll["units"] == 0 and poll["requests"] == {"LIST": 4}, poll
    assert r["one_new_file"]["units"] == 1, r["one_new_file"]
    assert r["restart"]["units"] == 0, r["restart"]
    # The late-file check lists each folder whole: two pages of 1,000 keys.
    assert r["restart"]["requests"]["LIST"] > 4 + 3, r["restart"]
