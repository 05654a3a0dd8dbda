"""Reference model of Sluice's merge rules (DESIGN.md §4), for differential
tests of the C++ merge (src/sluice/merge/).

Deliberately naive and independent of the C++ code: a dict from key to the
state the merged table holds for it, replayed batch by batch.

An event is a dict (or any mapping) with:
  op   -- "snapshot" | "insert" | "update" | "delete" | "truncate"
  seq  -- bytes (or str, compared as UTF-8 bytes); bytewise order = event order
  key  -- tuple of key values (None in any position = null key)
  row  -- dict of payload columns (the full row image; ignored for deletes)

Rules:
  * within a batch only the latest event per key counts (greatest seq;
    equal seq = replay: the first occurrence wins);
  * an event whose seq is <= what the table holds for its key (live row or
    tombstone) is ignored;
  * a delete removes the row and leaves a tombstone (key, seq), which
    expires `retention_ms` after it was written;
  * snapshot/insert/update replace the whole row (so NULLs set NULL);
  * a null key, a missing/empty seq or an unknown op is invalid (dead letter);
  * truncate is not supported (raises NotImplementedError), as in C++.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

UPSERT_OPS = {"snapshot", "insert", "update"}
KNOWN_OPS = UPSERT_OPS | {"delete", "truncate"}
DEFAULT_RETENTION_MS = 7 * 24 * 3600 * 1000


def _seq_bytes(seq: Any) -> Optional[bytes]:
    if seq is None:
        return None
    if isinstance(seq, str):
        return seq.encode("utf-8")
    return bytes(seq)


@dataclass
class KeyState:
    seq: bytes
    live: bool
    row: Optional[Dict[str, Any]] = None   # live only
    deleted_at_ms: int = 0                 # tombstone only


@dataclass
class BatchResult:
    invalid: List[Tuple[int, str]] = field(default_factory=list)
    superseded: int = 0
    ignored_stale: int = 0
    upserts: int = 0
    deletes: int = 0


class MergeModel:
    def __init__(self, retention_ms: int = DEFAULT_RETENTION_MS) -> None:
        self.state: Dict[Tuple[Any, ...], KeyState] = {}
        self.retention_ms = retention_ms

    def apply_batch(self, events: Iterable[Mapping[str, Any]], now_ms: int = 0) -> BatchResult:
        result = BatchResult()
        self._expire(now_ms)
        winners: Dict[Tuple[Any, ...], Tuple[int, Mapping[str, Any], bytes]] = {}
        for index, event in enumerate(events):
            op = event.get("op")
            seq = _seq_bytes(event.get("seq"))
            key = tuple(event.get("key") or ())
            if op not in KNOWN_OPS:
                result.invalid.append((index, "unknown _cdc_op"))
                continue
            if op == "truncate":
                raise NotImplementedError("truncate events are not supported by the merge")
            if not key or any(part is None for part in key):
                result.invalid.append((index, "null primary key"))
                continue
            if not seq:
                result.invalid.append((index, "no usable sequence"))
                continue
            best = winners.get(key)
            if best is not None:
                result.superseded += 1
                if seq <= best[2]:
                    continue
            winners[key] = (index, event, seq)
        for key, (_, event, seq) in sorted(winners.items(), key=lambda kv: kv[1][0]):
            held = self.state.get(key)
            if held is not None and seq <= held.seq:
                result.ignored_stale += 1
                continue
            if event["op"] == "delete":
                self.state[key] = KeyState(seq=seq, live=False, deleted_at_ms=now_ms)
                result.deletes += 1
            else:
                self.state[key] = KeyState(seq=seq, live=True, row=dict(event.get("row") or {}))
                result.upserts += 1
        return result

    def _expire(self, now_ms: int) -> None:
        cutoff = now_ms - self.retention_ms
        for key in [k for k, s in self.state.items() if not s.live and s.deleted_at_ms < cutoff]:
            del self.state[key]

    def rows(self) -> Dict[Tuple[Any, ...], Dict[str, Any]]:
        """The merged table: key -> row image (with its `_cdc_seq`)."""
        return {
            key: {**s.row, "_cdc_seq": s.seq}
            for key, s in sorted(self.state.items(), key=lambda kv: repr(kv[0]))
            if s.live
        }

    def tombstones(self) -> Dict[Tuple[Any, ...], bytes]:
        return {key: s.seq for key, s in self.state.items() if not s.live}


def replay(batches: Iterable[Iterable[Mapping[str, Any]]], now_ms: int = 0) -> MergeModel:
    model = MergeModel()
    for batch in batches:
        model.apply_batch(batch, now_ms)
    return model
