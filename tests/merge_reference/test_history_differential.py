"""Differential test of the C++ history (SCD2) tables against model.py's
history().

For each seeded case: a random change stream (inserts, snapshots, updates,
updates setting NULL, updates touching only untracked columns, identical
updates, deletes incl. of never-seen keys, re-inserts after delete, exact
replays, equal-seq ties with another image, equal timestamps, out-of-order
events, a few invalid rows, a column added mid-stream), with a random
track-history list, cut into random micro-batches, is applied by
tests/tools/history_driver (HistoryTable, deletion-vector or copy-on-write
mode, sometimes one data file per few rows and frequent checkpoints) with
random restarts (index rebuilt from the table, checked equal to the
incremental one) and retries of committed batches (must be
already_applied). The history table's rows must equal model.history() of
all the events exactly (NULLs, timestamps and sequences included).

One documented limit of the C++ writer (docs/merge.md, "History") is kept
out of the streams: an event arriving in a later batch that falls strictly
inside a run of in-place updates with other tracked values (or is a delete
there). `_drop_unsupported` removes such events before anything runs;
test_generator_covers_every_feature checks that late splices still happen
often, and that deletes which found no open version (orphan deletes, kept in
the history table's side table) are often followed, in a later batch and
sometimes after a restart, by an older upsert that must end at them.

  SLUICE_HISTORY_CASES  number of cases (default 1000)
  SLUICE_HISTORY_SEED   base seed (default 20261201); case i uses seed base + i
  SLUICE_HISTORY_DRIVER path of the driver (default build/tests/unit/history_driver)
"""

from __future__ import annotations

import json
import os
import random
import struct
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from model import history, history_folds

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(os.environ.get("SLUICE_HISTORY_DRIVER", ROOT / "build/tests/unit/history_driver"))
CASES = int(os.environ.get("SLUICE_HISTORY_CASES", "1000"))
BASE_SEED = int(os.environ.get("SLUICE_HISTORY_SEED", "20261201"))

TS_TYPE = pa.timestamp("us", tz="UTC")
TS0 = 1_700_000_000_000_000
HISTORY_COLUMNS = ["__START_AT", "__END_AT", "_cdc_seq", "_cdc_last_seq", "_cdc_end_seq"]

pytestmark = pytest.mark.skipif(not DRIVER.exists(), reason=f"history driver not built: {DRIVER}")


def _seq(n: int, rng: random.Random) -> bytes:
    base = struct.pack(">I", n)
    return base + (bytes([rng.randrange(256)]) if rng.random() < 0.2 else b"")


class Case:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        rng = self.rng = random.Random(seed)
        self.composite = rng.random() < 0.25
        self.keys = ["id", "tag"] if self.composite else ["id"]
        self.mode = rng.choice(["deletion_vectors", "deletion_vectors", "copy_on_write"])
        self.track = rng.choice([[], [], ["name"], ["name", "amount"]])
        self.dropped = 0
        self._generate()
        self._cut()
        self._drop_unsupported()

    def _key(self):
        k = self.rng.randrange(self.key_space)
        return (k, "t%d" % (k % 3)) if self.composite else (k,)

    def _image(self, key, nulls=False, like=None):
        rng = self.rng
        row = dict(zip(self.keys, key))
        if like is not None and rng.random() < 0.5:
            # Same tracked values, maybe other untracked ones (in place).
            row.update({c: like[c] for c in ("name", "amount", "extra")})
            if rng.random() < 0.6:
                row["amount"] = rng.randrange(-50, 50)
            return row
        row["name"] = None if nulls and rng.random() < 0.5 else rng.choice(["a", "b", "", "ünï"])
        row["amount"] = None if nulls and rng.random() < 0.5 else rng.randrange(-50, 50)
        row["extra"] = None if rng.random() < 0.4 else rng.choice(["p", "q"])
        return row

    def _generate(self) -> None:
        rng = self.rng
        self.key_space = rng.choice([3, 10, 40])
        n_events = rng.randrange(1, rng.choice([15, 60, 200]))
        images: dict = {}
        stream: list[dict] = []
        n = 1
        ts = TS0
        while len(stream) < n_events:
            n += rng.randrange(1, 3)
            # Equal timestamps now and then (a transaction's events).
            ts = ts if rng.random() < 0.15 else ts + rng.randrange(1, 5000)
            r = rng.random()
            live = sorted(images)
            if r < 0.3 or not live:
                key = self._key()
                op = "snapshot" if n < 15 and rng.random() < 0.5 else "insert"
                e = {"op": op, "key": key, "row": self._image(key)}
            elif r < 0.65:
                key = rng.choice(live)
                e = {"op": "update", "key": key,
                     "row": self._image(key, nulls=rng.random() < 0.3, like=images[key])}
            elif r < 0.77:
                key = rng.choice(live) if rng.random() < 0.8 else self._key()
                e = {"op": "delete", "key": key, "row": self._image(key, nulls=True)}
            elif r < 0.87:
                if stream:
                    stream.append(dict(rng.choice(stream)))  # exact replay
                continue
            elif r < 0.93:
                if stream:  # equal-seq tie with another image
                    e = dict(rng.choice(stream))
                    if e["op"] == "truncate":
                        continue  # a keyed event with a truncate's seq: not generated
                    e["row"] = self._image(e["key"], nulls=True)
                    e["op"] = rng.choice(["update", "insert", "delete", e["op"]])
                    stream.append(e)
                continue
            elif r < 0.96:
                kind = rng.randrange(3)
                e = {"op": "insert", "key": self._key(), "row": None}
                e["row"] = self._image(e["key"])
                e["seq"], e["ts"] = _seq(n, rng), ts
                if kind == 0:
                    e["key"] = (None,) + tuple(e["key"][1:])
                    e["row"]["id"] = None
                elif kind == 1:
                    e["seq"] = b""
                else:
                    e["op"] = "upsert?"
                stream.append(e)
                continue
            elif r < 0.97:
                # A truncate (not keyed): every open version ends at it.
                key = tuple(None for _ in self.keys)
                e = {"op": "truncate", "key": key,
                     "row": {c: None for c in self._image(self._key())}}
                images.clear()
            else:
                continue
            e["seq"], e["ts"] = _seq(n, rng), ts
            if e["op"] == "truncate":
                pass
            elif e["op"] == "delete":
                images.pop(e["key"], None)
            else:
                images[e["key"]] = e["row"]
            stream.append(e)
        if rng.random() < 0.15:
            rng.shuffle(stream)
        else:
            for _ in range(rng.randrange(len(stream) + 1)):
                i = rng.randrange(len(stream))
                j = min(len(stream) - 1, i + rng.randrange(1, 8))
                stream[i], stream[j] = stream[j], stream[i]
        self.events = stream

    def _cut(self) -> None:
        rng = self.rng
        cuts = sorted(rng.sample(range(1, len(self.events)),
                                 min(len(self.events) - 1, rng.randrange(0, rng.choice([4, 12, 30])))))
        bounds = [0] + cuts + [len(self.events)]
        self.batches = [self.events[a:b] for a, b in zip(bounds, bounds[1:])]
        nb = len(self.batches)
        self.added = rng.randrange(1, nb) if nb > 1 and rng.random() < 0.5 else None
        pick = lambda p: sorted(i for i in range(nb) if rng.random() < p)  # noqa: E731
        self.rebuild_after = pick(0.3)
        self.retry = pick(0.15)
        self.checkpoint_interval = rng.choice([10, 2, 3])
        self.file_rows = rng.choice([0, 0, 1, 2, 5])

    # --- the model's view ---------------------------------------------------

    def model_event(self, i: int, e: dict) -> dict:
        row = dict(e["row"])
        if self.added is None:
            row.pop("extra", None)
        elif i < self.added:
            row["extra"] = None  # the column did not exist yet
        return {"op": e["op"], "seq": e["seq"], "key": e["key"], "row": row, "ts": e["ts"]}

    def model_events(self) -> list[dict]:
        return [self.model_event(i, e) for i, b in enumerate(self.batches) for e in b]

    def _drop_unsupported(self) -> None:
        """Removes events hitting the writer's documented limit (module
        docstring), judged against the fold of the earlier batches, and
        counts the late events the stream exercises."""
        self.late_splices = 0
        self.orphans_reached = 0  # upserts older than an earlier batch's orphan delete
        self.orphans_reached_after_restart = 0
        first_batch: dict = {}  # (key, seq) -> batch that first carried it
        prior: list[dict] = []
        for i, batch in enumerate(self.batches):
            folds = history_folds(prior, self.track)
            kept = []
            for e in batch:
                me = self.model_event(i, e)
                if e["op"] == "truncate" and e["seq"] and any(
                        v["_cdc_seq"] < e["seq"] < v["_cdc_last_seq"]
                        for f in folds.values() for v in f.versions):
                    self.dropped += 1  # inside an absorbed run of some key: the same limit
                    continue
                fold = folds.get(tuple(e["key"])) if all(k is not None for k in e["key"]) else None
                if fold and e["seq"] and self._unsupported(me, fold):
                    self.dropped += 1
                    continue
                if fold and e["seq"] and fold.versions and e["seq"] < max(
                        v["_cdc_end_seq"] or v["_cdc_last_seq"] for v in fold.versions):
                    self.late_splices += 1
                if fold and e["seq"] and e["op"] != "delete":
                    orphans = [d for d in fold.ignored_deletes if e["seq"] < d]
                    if orphans:
                        self.orphans_reached += 1
                        since = min(first_batch[(tuple(e["key"]), d)] for d in orphans)
                        if any(since <= r < i for r in self.rebuild_after):
                            self.orphans_reached_after_restart += 1
                if e["seq"]:
                    first_batch.setdefault((tuple(e["key"]), e["seq"]), i)
                kept.append(e)
                prior.append(me)
            self.batches[i] = kept
        self.events = [e for b in self.batches for e in b]

    def _unsupported(self, e: dict, fold) -> bool:
        s = e["seq"]
        cols = self.track or [c for c in e["row"]]
        for v in fold.versions:
            if v["_cdc_seq"] < s < v["_cdc_last_seq"]:
                if e["op"] == "delete" or any(e["row"].get(c) != v.get(c) for c in cols):
                    return True
        return False

    def columns(self) -> list[str]:
        cols = list(self.keys) + ["name", "amount"]
        if self.added is not None:
            cols.append("extra")
        return cols + HISTORY_COLUMNS

    def expected(self) -> list[tuple]:
        cols = self.columns()
        return sorted((tuple(r.get(c) for c in cols)
                       for r in history(self.model_events(), self.keys, self.track)), key=repr)

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for i, batch in enumerate(self.batches):
            cols = {"id": pa.array([e["row"].get("id") for e in batch], pa.int64())}
            if self.composite:
                cols["tag"] = pa.array([e["row"].get("tag") for e in batch], pa.string())
            cols["name"] = pa.array([e["row"].get("name") for e in batch], pa.string())
            cols["amount"] = pa.array([e["row"].get("amount") for e in batch], pa.int64())
            if self.added is not None and i >= self.added:
                cols["extra"] = pa.array([e["row"].get("extra") for e in batch], pa.string())
            cols["_cdc_op"] = pa.array([e["op"] for e in batch], pa.string())
            cols["_cdc_seq"] = pa.array([e["seq"] for e in batch], pa.binary())
            cols["_cdc_ts"] = pa.array([e["ts"] for e in batch], pa.int64()).cast(TS_TYPE)
            pq.write_table(pa.table(cols), directory / f"batch_{i:04d}.parquet")

    def describe(self) -> str:
        return (f"seed={self.seed} mode={self.mode} keys={self.keys} track={self.track} "
                f"events={len(self.events)} batches={len(self.batches)} dropped={self.dropped} "
                f"late_splices={self.late_splices} orphans_reached={self.orphans_reached} "
                f"column_added_at={self.added} "
                f"rebuild_after={self.rebuild_after} retry={self.retry} "
                f"checkpoint_interval={self.checkpoint_interval} file_rows={self.file_rows}")


def rows_of(table: pa.Table, cols: list[str]) -> list[tuple]:
    if table.num_rows == 0:
        return []
    missing = [c for c in cols if c not in table.column_names]
    assert not missing, f"output lacks columns {missing}: {table.schema}"
    data = {}
    for c in cols:
        col = table.column(c)
        if pa.types.is_timestamp(col.type):
            col = col.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
        data[c] = col.to_pylist()
    return sorted((tuple(bytes(v) if isinstance(v, memoryview) else v
                         for v in (data[c][i] for c in cols))
                   for i in range(table.num_rows)), key=repr)


def run_case(case: Case, work: Path) -> pa.Table:
    batches = work / "batches"
    case.write(batches)
    out = work / "out.parquet"
    cmd = [str(DRIVER), "--batches", str(batches), "--table", str(work / "table"),
           "--out", str(out), "--keys", ",".join(case.keys), "--mode", case.mode,
           "--track", ",".join(case.track),
           "--rebuild-after", ",".join(map(str, case.rebuild_after)),
           "--retry", ",".join(map(str, case.retry)),
           "--checkpoint-interval", str(case.checkpoint_interval),
           "--file-rows", str(case.file_rows)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, (
        f"{case.describe()}\ndriver failed ({proc.returncode}): {proc.stderr}\n{' '.join(cmd)}")
    json.loads(proc.stdout.strip().splitlines()[-1])
    return pq.read_table(out)


@pytest.mark.parametrize("index", range(CASES), ids=lambda i: f"seed{BASE_SEED + i}")
def test_history_matches_model(index, tmp_path):
    case = Case(BASE_SEED + index)
    table = run_case(case, tmp_path)
    expected = case.expected()
    got = rows_of(table, case.columns())
    assert got == expected, (
        f"{case.describe()}\nonly in C++: {sorted(set(got) - set(expected), key=repr)[:8]}\n"
        f"only in model: {sorted(set(expected) - set(got), key=repr)[:8]}")


def _peer_seeds():
    """The first two multi-batch cases with a column added, late splices and
    at least 5 rows: one per mode."""
    want = {"deletion_vectors": 1, "copy_on_write": 1}
    seeds = []
    seed = BASE_SEED
    while any(want.values()):
        c = Case(seed)
        if (want[c.mode] and len(c.batches) >= 4 and c.added is not None and c.late_splices
                and len(c.expected()) >= 5):
            want[c.mode] -= 1
            seeds.append(seed)
        seed += 1
    return seeds


@pytest.mark.parametrize("seed", _peer_seeds())
def test_peers_read_the_same_history(seed, tmp_path):
    """delta-rs and DuckDB's delta extension read the history table the
    driver wrote as the model's rows."""
    sys.path.insert(0, str(ROOT / "tests/interop"))
    import peers

    case = Case(seed)
    run_case(case, tmp_path)
    expected = case.expected()
    table_dir = str(tmp_path / "table")
    assert rows_of(peers.read_with_deltalake(table_dir), case.columns()) == expected, \
        case.describe()
    assert rows_of(peers.read_with_duckdb(table_dir), case.columns()) == expected, \
        case.describe()


def test_generator_covers_every_feature():
    seen = set()
    late = dropped = events = orphans = orphans_restart = 0
    for i in range(min(CASES, 200)):
        c = Case(BASE_SEED + i)
        seen |= {e["op"] for e in c.events}
        late += c.late_splices
        orphans += c.orphans_reached
        orphans_restart += c.orphans_reached_after_restart
        dropped += c.dropped
        events += len(c.events)
        if c.added is not None:
            seen.add("column_added")
        if c.retry:
            seen.add("retry")
        if c.rebuild_after:
            seen.add("rebuild")
        if c.track:
            seen.add("track")
        if c.composite:
            seen.add("composite")
        if c.mode == "copy_on_write":
            seen.add("copy_on_write")
        ts = [e["ts"] for e in c.events]
        if len(set(ts)) < len(ts):
            seen.add("equal_ts")
    if CASES >= 50:
        for want in ["insert", "snapshot", "update", "delete", "truncate", "upsert?", "column_added", "retry",
                     "rebuild", "track", "composite", "copy_on_write", "equal_ts"]:
            assert want in seen, want
        assert late > events // 20, (late, events)
        assert dropped < events // 10, (dropped, events)
        assert orphans > events // 200, (orphans, events)
        assert orphans_restart > 0, orphans_restart
