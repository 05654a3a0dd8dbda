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
  * truncate (not keyed; its key may be null) with seq T: every live row
    whose seq is < T goes (no tombstone), and every event whose seq is <= the
    newest truncate seen (the watermark) is ignored, in this batch and all
    later ones, forever.
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
    truncated: bool = False


class MergeModel:
    def __init__(self, retention_ms: int = DEFAULT_RETENTION_MS) -> None:
        self.state: Dict[Tuple[Any, ...], KeyState] = {}
        self.retention_ms = retention_ms
        self.truncate_seq: Optional[bytes] = None

    def apply_batch(self, events: Iterable[Mapping[str, Any]], now_ms: int = 0) -> BatchResult:
        result = BatchResult()
        self._expire(now_ms)
        winners: Dict[Tuple[Any, ...], Tuple[int, Mapping[str, Any], bytes]] = {}
        truncate: Optional[bytes] = None
        for index, event in enumerate(events):
            op = event.get("op")
            seq = _seq_bytes(event.get("seq"))
            key = tuple(event.get("key") or ())
            if op not in KNOWN_OPS:
                result.invalid.append((index, "unknown _cdc_op"))
                continue
            if op == "truncate":
                if not seq:
                    result.invalid.append((index, "no usable sequence"))
                elif self.truncate_seq is None or seq > self.truncate_seq:
                    truncate = seq if truncate is None else max(truncate, seq)
                continue
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
        if truncate is not None:
            for key in [k for k, s in self.state.items() if s.live and s.seq < truncate]:
                del self.state[key]
            self.truncate_seq = truncate
            result.truncated = True
        for key, (_, event, seq) in sorted(winners.items(), key=lambda kv: kv[1][0]):
            if self.truncate_seq is not None and seq <= self.truncate_seq:
                result.ignored_stale += 1
                continue
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


# --------------------------------------------------------------------------
# History (SCD type 2) tables: docs/merge.md "History".
#
# A history event is a mapping like the merge's, plus
#   ts   -- the event's _cdc_ts (any comparable value; copied as is)
# The history is the fold, per key, of every valid event seen so far in seq
# order; of several events of one key with the same seq only the first seen
# counts (the others are replays), whatever their arrival order or batches.
#
#   upsert, an open version whose tracked columns equal the event's
#       -> the version absorbs it (image and last seq from the newer of the two)
#   upsert otherwise -> the open version (if any) ends at it; a version opens
#   delete, an open version -> it ends at the delete
#   delete, none open -> nothing
#   truncate (any key, key null) -> every key's open version ends at it;
#       nothing is kept for a key with none open (no orphan delete)
#
# A version is {**image, "__START_AT", "__END_AT", "_cdc_seq",
# "_cdc_last_seq", "_cdc_end_seq"}; the open one has END_AT/end seq None.


@dataclass
class HistoryFold:
    """The fold of one key: its versions, and the deletes that found no open
    version (orphan deletes: the C++ writer keeps them in a side table so an
    older upsert arriving later ends at them)."""
    versions: List[Dict[str, Any]] = field(default_factory=list)
    ignored_deletes: List[bytes] = field(default_factory=list)


def _history_valid(event: Mapping[str, Any]) -> bool:
    key = tuple(event.get("key") or ())
    return (event.get("op") in UPSERT_OPS | {"delete"} and bool(key)
            and all(part is not None for part in key) and bool(_seq_bytes(event.get("seq")))
            and event.get("ts") is not None)


def history_folds(events: Iterable[Mapping[str, Any]],
                  track: Optional[List[str]] = None) -> Dict[Tuple[Any, ...], HistoryFold]:
    """Per key, the fold of `events` (in arrival order) as defined above.
    `track` lists the tracked payload columns; None or [] = all of them."""
    first_seen: Dict[Tuple[Tuple[Any, ...], bytes], Mapping[str, Any]] = {}
    truncates: Dict[bytes, Mapping[str, Any]] = {}
    for event in events:
        if event.get("op") == "truncate":
            seq = _seq_bytes(event.get("seq"))
            if seq and event.get("ts") is not None:
                truncates.setdefault(seq, event)
            continue
        if not _history_valid(event):
            continue
        ident = (tuple(event["key"]), _seq_bytes(event["seq"]))
        first_seen.setdefault(ident, event)
    by_key: Dict[Tuple[Any, ...], List[Tuple[bytes, Mapping[str, Any]]]] = {}
    for (key, seq), event in first_seen.items():
        by_key.setdefault(key, []).append((seq, event))
    for key in by_key:
        # A key's own event with a truncate's seq is not generated by the
        # tests (C++ counts the first seen); the truncate goes first here.
        by_key[key] = [(seq, e) for seq, e in by_key[key] if seq not in truncates]
        by_key[key] += list(truncates.items())
    folds = {}
    for key, seq_events in by_key.items():
        fold = HistoryFold()
        current: Optional[Dict[str, Any]] = None
        for seq, event in sorted(seq_events, key=lambda se: se[0]):
            if event["op"] == "truncate":
                if current is not None:
                    current["__END_AT"] = event["ts"]
                    current["_cdc_end_seq"] = seq
                    current = None
                continue
            if event["op"] == "delete":
                if current is None:
                    fold.ignored_deletes.append(seq)
                    continue
                current["__END_AT"] = event["ts"]
                current["_cdc_end_seq"] = seq
                current = None
                continue
            image = dict(event.get("row") or {})
            columns = track or sorted(set(image) | set(current or {}) - set(_HISTORY_COLUMNS))
            if current is not None and all(image.get(c) == current.get(c) for c in columns):
                current.update(image)  # seq order: this event is the newer one
                current["_cdc_last_seq"] = seq
                continue
            if current is not None:
                current["__END_AT"] = event["ts"]
                current["_cdc_end_seq"] = seq
            current = {**image, "__START_AT": event["ts"], "__END_AT": None, "_cdc_seq": seq,
                       "_cdc_last_seq": seq, "_cdc_end_seq": None}
            fold.versions.append(current)
        folds[key] = fold
    return folds


_HISTORY_COLUMNS = ("__START_AT", "__END_AT", "_cdc_seq", "_cdc_last_seq", "_cdc_end_seq")


def history(events: Iterable[Mapping[str, Any]], keys: List[str],
            track: Optional[List[str]] = None) -> List[Dict[str, Any]]:
    """The history table's rows for `events` (arrival order), sorted by key
    then _cdc_seq. `keys` names the key columns (only used for sorting and
    to check the images carry them)."""
    rows = []
    for key, fold in sorted(history_folds(events, track).items(), key=lambda kv: repr(kv[0])):
        for version in fold.versions:
            assert tuple(version.get(k) for k in keys) == key, (version, key)
            rows.append(version)
    return rows
