"""Decode speed of the Debezium source's message decoder alone (issue 15).

Writes --messages JSON envelopes (JsonConverter with schemas, the snapshot
rows of bench/kafka_bench.py, byte for byte) to a file, then runs
build/bench/debezium_decode_bench over them: no broker, no tables, so the
figure is the decode cost that bounds a Kafka backfill (a profile of the
10M-row backfill is mostly this decoder).

    .venv/bin/python bench/debezium_decode_bench.py [--messages 200000]
        [--unit 30000] [--repeat 5] [--runs 3] [--bin build/bench/debezium_decode_bench]

Prints one JSON line per run and the median messages/s.
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "kafka"))

from kafka_bench import Encoder  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=200_000)
    ap.add_argument("--unit", type=int, default=30_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--bin", default=str(ROOT / "build" / "bench" / "debezium_decode_bench"))
    opts = ap.parse_args()
    enc = Encoder("json", "kb0")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "messages.tsv"
        with open(path, "w") as out:
            for key in range(opts.messages):
                k, v = enc.encode(key, "r", 1_700_000_000_000 + key, 1_000_000 + key)
                out.write(k.decode() + "\t" + v.decode() + "\n")
        rates = []
        for _ in range(opts.runs):
            proc = subprocess.run([opts.bin, str(path), "json", str(opts.unit), str(opts.repeat)],
                                  capture_output=True, text=True, check=True)
            line = json.loads(proc.stdout)
            print(json.dumps(line), flush=True)
            rates.append(line["messages_per_s"])
    print(f"median decode rate: {statistics.median(rates):,.0f} messages/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
