"""What the peers share: the input files in arrival (path) order, cut into
batches of N files, and the merge rule of the original Datastream connector.

Merge rule (the same in every peer): within a batch keep the latest event
per key by sequence; apply it only if it is newer than the target row's
sequence; a delete deletes; an insert or update of an unknown key inserts.
The sequence of a MySQL event is (backfill before CDC, binlog file number,
binlog position), packed here into one long: 0 for the backfill, else
file_number << 32 | position (positions stay below 2^31: binlogs rotate at
1 GiB).
"""
from __future__ import annotations

import glob
import json
import os
import time

KEY = "id"
SEQ = "_seq"
DELETED = "_deleted"


def input_files(source: str) -> list:
    files = sorted(glob.glob(os.path.join(source, "*", "*", "*", "*", "*", "*", "*.avro")))
    if not files:
        raise SystemExit(f"no Avro files under {source}/<table>/yyyy/mm/dd/hh/mm/")
    return files


def batches(files: list, per_batch: int) -> list:
    return [files[i:i + per_batch] for i in range(0, len(files), per_batch)]


class BatchTimer:
    """Collects per-batch timings; report() prints one JSON object."""

    def __init__(self):
        self.t0 = time.perf_counter()
        self.t_first = None
        self.rows = []
        self.untimed = 0.0  # harness work between batches (reclaiming disk)

    def start(self):
        if self.t_first is None:
            self.t_first = time.perf_counter()
        return time.perf_counter()

    def done(self, started: float, **fields):
        fields["ms"] = (time.perf_counter() - started) * 1000.0
        self.rows.append(fields)

    def exclude(self, seconds: float) -> None:
        self.untimed += seconds

    def report(self, **extra) -> None:
        end = time.perf_counter()
        out = {"startup_seconds": (self.t_first or end) - self.t0,
               "processing_seconds": end - (self.t_first or end) - self.untimed,
               "untimed_seconds": self.untimed,
               "seconds": end - self.t0, "batches": self.rows}
        out.update(extra)
        print("BENCH_RESULT " + json.dumps(out), flush=True)
