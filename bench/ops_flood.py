#!/usr/bin/env python3
"""Does a flood of requests to `sluice run --http` slow ingestion? Runs the
same `sluice run --once` on a generated Datastream bucket, without and with
N client threads fetching /metrics and /api/status as fast as they can, and
prints the wall times (docs/operations.md "Cost of scraping").

    .venv/bin/python bench/ops_flood.py [--sluice build/sluice] [--runs 3] [--threads 8]
"""
import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluice", default=str(ROOT / "build" / "sluice"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--tables", type=int, default=4)
    ap.add_argument("--changes", type=int, default=20000)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sluice-flood-"))
    src = work / "src"
    subprocess.run([sys.executable, str(ROOT / "tools/datastream_gen/generate.py"), "--out", str(src),
                    "--tables", str(args.tables), "--rows-per-table", "20000", "--changes-per-table",
                    str(args.changes), "--files-per-minute", "4", "--quiet"], check=True)
    (work / "empty.toml").write_text("")
    # files must have settled before the timed runs
    time.sleep(3)

    def one(flood: bool) -> tuple:
        sink = work / "sink"
        shutil.rmtree(sink, ignore_errors=True)
        env = dict(os.environ, SOURCE_PATH=str(src), DELTA_TABLE_PATH=str(sink))
        out = work / "out.txt"
        with open(out, "w") as fh:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.monotonic()
            proc = subprocess.Popen([args.sluice, "run", "--config", str(work / "empty.toml"), "--once",
                                     "--http", "127.0.0.1:0"], env=env, stdout=fh, stderr=subprocess.STDOUT)
            url = None
            while url is None and proc.poll() is None:
                m = re.search(r"serving (http://\S+)/ ", out.read_text())
                url = m.group(1) if m else None
            stop = threading.Event()
            count = [0]

            def hammer():
                while not stop.is_set():
                    for path in ("/metrics", "/api/status"):
                        try:
                            urllib.request.urlopen(url + path, timeout=5).read()
                            count[0] += 1
                        except Exception:
                            pass
            threads = [threading.Thread(target=hammer) for _ in range(args.threads if flood else 0)]
            for t in threads:
                t.start()
            proc.wait()
            elapsed = time.monotonic() - t0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            # sluice's own CPU (the clients are threads of this process, not
            # children): what serving the flood costs it, apart from the
            # cores the clients take from it on a small machine.
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            stop.set()
            for t in threads:
                t.join()
        assert proc.returncode == 0, out.read_text()[-2000:]
        return elapsed, count[0], cpu

    results = {"quiet": [], "flood": [], "requests": [], "quiet_cpu": [], "flood_cpu": []}
    for _ in range(args.runs):
        secs, _n, cpu = one(False)
        results["quiet"].append(secs)
        results["quiet_cpu"].append(cpu)
        secs, n, cpu = one(True)
        results["flood"].append(secs)
        results["flood_cpu"].append(cpu)
        results["requests"].append(n / secs)
    print(json.dumps({
        "quiet_s": [round(x, 2) for x in results["quiet"]],
        "flood_s": [round(x, 2) for x in results["flood"]],
        "median_quiet_s": round(statistics.median(results["quiet"]), 2),
        "median_flood_s": round(statistics.median(results["flood"]), 2),
        "median_quiet_cpu_s": round(statistics.median(results["quiet_cpu"]), 2),
        "median_flood_cpu_s": round(statistics.median(results["flood_cpu"]), 2),
        "requests_per_s": round(statistics.median(results["requests"])),
        "threads": args.threads,
    }))
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
