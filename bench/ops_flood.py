#!/usr/bin/env python3
"""Does a flood of requests to `sluice run --http` slow ingestion? Runs the
same `sluice run --once` on a generated Datastream bucket, without and with
N client threads fetching /metrics and /api/status as fast as they can, and
prints the wall times, sluice's own CPU seconds and the answers the flood
got (200 / 429 / other), interleaving quiet and flooded runs (docs/operations.md
"Cost of scraping").

The flood comes from 127.0.0.1. A probe from 127.0.0.2 (its own request
budget) fetches /metrics every 0.5 s in every run, as Prometheus would,
and the slowest answer it got is reported: a scrape must stay prompt.

On one small machine the flood's clients take cores from sluice, which a
real flood (from other hosts) would not: --clients-nice adds, to each round,
a flooded run whose client threads run at nice 19, so what remains is what
sluice's answering costs. --limit N passes --http-max-requests-per-second N
(0: no limit; default: sluice's own default).

--decoy separates what the flood costs the machine from what it costs
ingestion: a second sluice (the same tables, already ingested, idle, same
request budget) serves as a decoy, and each round adds a run in which the
same niced clients flood the decoy while the measured sluice ingests
unflooded. Clients, loopback TCP and answering then load the machine
exactly as in the niced flood, but in another process: the difference
between "flood_nice" and "decoy_nice" is what serving inside the ingesting
process costs it, which is what remains when the clients are on other hosts.

    .venv/bin/python bench/ops_flood.py [--sluice build/sluice] [--runs 3] [--threads 8]
        [--clients-nice] [--decoy] [--limit N]
"""
import argparse
import http.client
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
import urllib.error
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
    ap.add_argument("--clients-nice", action="store_true",
                    help="also run each round flooded by client threads at nice 19")
    ap.add_argument("--decoy", action="store_true",
                    help="also run each round with the niced flood sent to an idle decoy sluice")
    ap.add_argument("--limit", type=float, default=None,
                    help="--http-max-requests-per-second for sluice (default: its default)")
    args = ap.parse_args()
    limit_args = [] if args.limit is None else ["--http-max-requests-per-second", f"{args.limit:g}"]
    work = Path(tempfile.mkdtemp(prefix="sluice-flood-"))
    src = work / "src"
    subprocess.run([sys.executable, str(ROOT / "tools/datastream_gen/generate.py"), "--out", str(src),
                    "--tables", str(args.tables), "--rows-per-table", "20000", "--changes-per-table",
                    str(args.changes), "--files-per-minute", "4", "--quiet"], check=True)
    (work / "empty.toml").write_text("")
    # files must have settled before the timed runs
    time.sleep(3)

    decoy = decoy_url = None
    if args.decoy:
        # The same tables ingested once; then an idle `sluice run` over them
        # (no new files; polls rarely) answers the decoy flood.
        decoy_sink = work / "decoy-sink"
        denv = dict(os.environ, SOURCE_PATH=str(src), DELTA_TABLE_PATH=str(decoy_sink))
        subprocess.run([args.sluice, "run", "--config", str(work / "empty.toml"), "--once"], env=denv,
                       check=True, stdout=subprocess.DEVNULL)
        denv["SLUICE_SOURCE_POLL_INTERVAL"] = "1h"
        decoy_out = work / "decoy.txt"
        decoy = subprocess.Popen([args.sluice, "run", "--config", str(work / "empty.toml"), "--http",
                                  "127.0.0.1:0", *limit_args], env=denv, stdout=open(decoy_out, "w"),
                                 stderr=subprocess.STDOUT)
        while decoy_url is None:
            assert decoy.poll() is None, decoy_out.read_text()[-2000:]
            m = re.search(r"serving (http://\S+)/ ", decoy_out.read_text())
            decoy_url = m.group(1) if m else None
            time.sleep(0.05)
        time.sleep(2)  # its first poll and maintenance are over

    def one(flood: bool, clients_nice: bool = False, at_decoy: bool = False) -> dict:
        sink = work / "sink"
        shutil.rmtree(sink, ignore_errors=True)
        env = dict(os.environ, SOURCE_PATH=str(src), DELTA_TABLE_PATH=str(sink))
        out = work / "out.txt"
        with open(out, "w") as fh:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.monotonic()
            proc = subprocess.Popen([args.sluice, "run", "--config", str(work / "empty.toml"), "--once",
                                     "--http", "127.0.0.1:0", *limit_args], env=env, stdout=fh,
                                    stderr=subprocess.STDOUT)
            url = None
            while url is None and proc.poll() is None:
                m = re.search(r"serving (http://\S+)/ ", out.read_text())
                url = m.group(1) if m else None
            stop = threading.Event()
            codes = {}
            probe_s = []
            failed = []  # (when, what): requests that got no answer

            target = decoy_url if at_decoy else url

            def hammer():
                if clients_nice:  # Linux: nice is per thread; sluice (forked earlier) keeps 0
                    os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
                while not stop.is_set():
                    for path in ("/metrics", "/api/status"):
                        try:
                            with urllib.request.urlopen(target + path, timeout=5) as res:
                                res.read()
                                code = res.status
                        except urllib.error.HTTPError as e:
                            code = e.code
                        except Exception as e:
                            reason = getattr(e, "reason", e)
                            if isinstance(reason, ConnectionRefusedError):
                                continue  # sluice's server has stopped: the run is ending
                            failed.append((time.monotonic(), type(reason).__name__))
                            continue
                        codes[code] = codes.get(code, 0) + 1

            def probe():
                host, port = url.rsplit("/", 1)[1].rsplit(":", 1)
                while not stop.wait(0.5):
                    t = time.monotonic()
                    try:
                        conn = http.client.HTTPConnection(host, int(port), timeout=10,
                                                          source_address=("127.0.0.2", 0))
                        conn.request("GET", "/metrics")
                        res = conn.getresponse()
                        res.read()
                        conn.close()
                        probe_s.append(time.monotonic() - t if res.status == 200 else float("inf"))
                    except ConnectionRefusedError:
                        pass  # sluice's server has stopped: the run is ending
                    except Exception as e:
                        failed.append((time.monotonic(), "probe " + type(e).__name__))
            threads = [threading.Thread(target=hammer) for _ in range(args.threads if flood else 0)]
            threads.append(threading.Thread(target=probe))
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
        # Stop closes the connections in flight: failures in the last second
        # belong to the ending run, not to serving.
        for when, what in failed:
            if when < t0 + elapsed - 1.0:
                codes[what] = codes.get(what, 0) + 1
                if what.startswith("probe"):
                    probe_s.append(float("inf"))
        return {"s": elapsed, "cpu_s": cpu, "codes": codes, "probe_s": probe_s}

    kinds = ["quiet", "flood"] + (["flood_nice"] if args.clients_nice else []) + \
        (["decoy_nice"] if args.decoy else [])
    runs = {kind: [] for kind in kinds}
    load_before = os.getloadavg()[0]
    for _ in range(args.runs):  # interleaved: the shared machine's load drifts
        for kind in kinds:
            runs[kind].append(one(kind != "quiet", clients_nice=kind.endswith("_nice"),
                                  at_decoy=kind == "decoy_nice"))
    report = {"threads": args.threads, "limit": args.limit, "load_before": load_before}
    for kind, rs in runs.items():
        secs = [r["s"] for r in rs]
        report[kind] = {
            "s": [round(x, 2) for x in secs],
            "median_s": round(statistics.median(secs), 2),
            "median_cpu_s": round(statistics.median(r["cpu_s"] for r in rs), 2),
            # /metrics from 127.0.0.2 every 0.5 s: how long a scrape took
            "probes": sum(len(r["probe_s"]) for r in rs),
            "probe_median_s": round(statistics.median(p for r in rs for p in r["probe_s"]), 3),
            "probe_max_s": round(max(p for r in rs for p in r["probe_s"]), 3),
        }
        if kind != "quiet":
            per_s = lambda code: round(statistics.median(r["codes"].get(code, 0) / r["s"] for r in rs))
            answers = sorted({c for r in rs for c in r["codes"]}, key=str)
            report[kind]["per_s"] = {str(c): per_s(c) for c in answers}
            report[kind]["total"] = {str(c): sum(r["codes"].get(c, 0) for r in rs) for c in answers}
            report[kind]["vs_quiet"] = f"{report[kind]['median_s'] / report['quiet']['median_s'] - 1:+.0%}"
    if decoy is not None:
        decoy.terminate()
        decoy.wait(timeout=60)
    print(json.dumps(report))
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
