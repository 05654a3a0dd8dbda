"""Reference replay of a Datastream expected-events manifest.

The generator (generate.py) writes ``DIR/_expected/<object>.jsonl``: one JSON
object per event, in any order a test likes.  ``replay`` sorts the events of
each table with Datastream's ordering rules and applies them to an empty
key -> row map, giving the state a correct merge must end with.

Ordering (most significant first):
  MySQL       backfill before CDC; binlog file number; log_position;
              UPDATE-DELETE before UPDATE-INSERT at the same position;
              source_timestamp; generation index (tie breaker, never needed
              for correctness of the per-key state).
  PostgreSQL  backfill before CDC; source_timestamp; LSN as a 64-bit number
              (``F/FFFFFFFF`` < ``10/0``); UPDATE-DELETE before UPDATE-INSERT.
"""

from __future__ import annotations

import json
import os
from typing import Dict, Iterable, List, Tuple

DELETE_TYPES = ("DELETE", "UPDATE-DELETE")


def parse_lsn(lsn: str) -> int:
    """``"16/CB002DB0"`` -> 0x16CB002DB0 (the number, never the string)."""
    hi, lo = lsn.split("/")
    return (int(hi, 16) << 32) | int(lo, 16)


def binlog_number(log_file: str) -> int:
    """``"mysql-bin.000123"`` -> 123."""
    return int(log_file.rsplit(".", 1)[1])


def is_backfill(event: dict) -> bool:
    return "backfill" in event["read_method"]


def order_key(event: dict) -> Tuple:
    """Sort key of one manifest event within its table."""
    bf = 0 if is_backfill(event) else 1
    half = 0 if event["change_type"] == "UPDATE-DELETE" else 1
    ts = event["source_timestamp_ms"]
    if event["flavour"] == "mysql":
        if bf == 0:
            return (0, 0, 0, 0, ts, event["gen_index"])
        return (1, binlog_number(event["log_file"]), event["log_position"], half,
                ts, event["gen_index"])
    if bf == 0:
        return (0, ts, 0, 0, event["gen_index"])
    return (1, ts, parse_lsn(event["lsn"]), half, event["gen_index"])


def key_of(event: dict) -> Tuple:
    """Primary-key tuple of an event, in the table's primary_keys order."""
    return tuple(event["key"][k] for k in event["primary_keys"])


def sorted_events(events: Iterable[dict]) -> List[dict]:
    return sorted(events, key=order_key)


def replay(expected_events: Iterable[dict]) -> Dict[str, Dict[Tuple, dict]]:
    """Latest live state per table and key.

    Returns ``{object: {pk_tuple: payload}}``; deleted keys are absent.  Columns
    that were added by a schema change and are missing from an older event's
    payload stay missing (read them as NULL).
    """
    by_table: Dict[str, List[dict]] = {}
    for ev in expected_events:
        by_table.setdefault(ev["object"], []).append(ev)
    out: Dict[str, Dict[Tuple, dict]] = {}
    for obj, evs in by_table.items():
        state: Dict[Tuple, dict] = {}
        for ev in sorted_events(evs):
            k = key_of(ev)
            if ev["change_type"] in DELETE_TYPES:
                state.pop(k, None)
            else:
                state[k] = ev["payload"]
        out[obj] = state
    return out


def tombstones(expected_events: Iterable[dict]) -> Dict[str, Dict[Tuple, dict]]:
    """Keys whose last event is a delete: ``{object: {pk_tuple: event}}``."""
    last: Dict[str, Dict[Tuple, dict]] = {}
    by_table: Dict[str, List[dict]] = {}
    for ev in expected_events:
        by_table.setdefault(ev["object"], []).append(ev)
    for obj, evs in by_table.items():
        m: Dict[Tuple, dict] = {}
        for ev in sorted_events(evs):
            m[key_of(ev)] = ev
        last[obj] = {k: e for k, e in m.items() if e["change_type"] in DELETE_TYPES}
    return last


def load_manifest(out_dir: str, objects: Iterable[str] = None) -> List[dict]:
    """Read every ``_expected/<object>.jsonl`` (or just the named ones)."""
    exp = os.path.join(out_dir, "_expected")
    if objects is None:
        with open(os.path.join(exp, "_summary.json")) as fh:
            objects = [t["object"] for t in json.load(fh)["tables"]]
    events: List[dict] = []
    for obj in objects:
        with open(os.path.join(exp, obj + ".jsonl")) as fh:
            events.extend(json.loads(line) for line in fh if line.strip())
    return events


def state_digest(state: Dict[Tuple, dict]) -> str:
    """Order-independent digest of one table's state (for quick comparisons)."""
    import hashlib
    h = hashlib.sha1()
    for k in sorted(state, key=lambda t: json.dumps(list(t))):
        h.update(json.dumps([list(k), state[k]], sort_keys=True).encode())
    return h.hexdigest()
