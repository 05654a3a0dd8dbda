"""Differential test of the C++ merge against the Python reference model.

For each seeded case: a random change stream (inserts, snapshots, updates,
updates setting NULL, deletes incl. of never-seen keys, primary-key moves,
re-inserts after delete, exact replays, equal-seq ties with a different
image, out-of-order events, a few invalid rows, a column added mid-stream),
cut into random micro-batches, is written as Parquet change batches and
applied by tests/tools/merge_driver (PlanBatch + WriteMerge + KeyIndex, in
deletion-vector or copy-on-write mode, sometimes with one data file per
1-5 rows and frequent checkpoints) with random restarts (index rebuilt
from the table + tombstones, checked equal to the incremental one), retries
of committed batches (must be already_applied) and crashes between the
tombstone commit and the main commit. The merged table's rows must equal
model.py's replay of the same batches exactly (NULLs included).

  SLUICE_DIFF_CASES   number of cases (default 2000)
  SLUICE_DIFF_SEED    base seed (default 20261122); case i uses seed base + i
  SLUICE_MERGE_DRIVER path of the driver (default build/tests/unit/merge_driver)

A failing case's seed is in its test id and message; rerun it alone with
SLUICE_DIFF_SEED=<seed> SLUICE_DIFF_CASES=1.
"""

from __future__ import annotations

import json
import os
import random
import struct
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from model import MergeModel

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(os.environ.get("SLUICE_MERGE_DRIVER", ROOT / "build/tests/unit/merge_driver"))
CASES = int(os.environ.get("SLUICE_DIFF_CASES", "2000"))
BASE_SEED = int(os.environ.get("SLUICE_DIFF_SEED", "20261122"))

TS_TYPE = pa.timestamp("us", tz="UTC")
TS0 = 1_700_000_000_000_000

pytestmark = pytest.mark.skipif(not DRIVER.exists(),
                                reason=f"merge driver not built: {DRIVER}")


# --------------------------------------------------------------------------
# stream generation


def _seq(n: int, rng: random.Random) -> bytes:
    """Seq of logical position n: memcmp order = n order, with varying
    lengths (a suffix never reorders: prefixes differ first)."""
    base = struct.pack(">I", n)
    return base + (bytes([rng.randrange(256)]) * rng.randrange(2) if rng.random() < 0.2 else b"")


class Case:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        rng = self.rng = random.Random(seed)
        self.composite = rng.random() < 0.3
        self.keys = ["id", "tag"] if self.composite else ["id"]
        self.mode = rng.choice(["deletion_vectors", "copy_on_write"])
        self.events: list[dict] = []
        self._generate()
        self._cut()

    # --- events -----------------------------------------------------------

    def _key(self, rng):
        k = rng.randrange(self.key_space) - self.key_offset
        return (k, "t%d" % (k % 3)) if self.composite else (k,)

    def _image(self, key, nulls):
        rng = self.rng
        row = dict(zip(self.keys, key))
        row["name"] = None if nulls and rng.random() < 0.5 else rng.choice(
            ["a", "b", "", "ünï", "x" * rng.randrange(1, 20)])
        row["amount"] = None if nulls and rng.random() < 0.5 else rng.randrange(-1000, 1000)
        # Only written in batches after the column was added (see _cut).
        row["extra"] = None if rng.random() < 0.3 else rng.choice(["p", "q", "rr"])
        return row

    def _event(self, op, key, n, nulls=False):
        return {"op": op, "seq": _seq(n, self.rng), "key": key,
                "row": self._image(key, nulls), "ts": TS0 + n * 1000 + self.rng.randrange(1000)}

    def _generate(self) -> None:
        rng = self.rng
        self.key_space = rng.choice([5, 30, 200])
        self.key_offset = rng.choice([0, 0, self.key_space // 2])
        n_events = rng.randrange(1, rng.choice([20, 80, 400]))
        live: set = set()
        dead: set = set()
        stream: list[dict] = []
        n = 1
        while len(stream) < n_events:
            n += rng.randrange(1, 3)
            r = rng.random()
            if r < 0.35 or not live:
                key = self._key(rng)
                op = "snapshot" if n < 20 and rng.random() < 0.5 else "insert"
                if key in dead and rng.random() < 0.5:
                    op = "insert"  # re-insert after delete
                stream.append(self._event(op, key, n))
                live.add(key)
                dead.discard(key)
            elif r < 0.65:
                key = rng.choice(sorted(live))
                stream.append(self._event("update", key, n, nulls=rng.random() < 0.3))
            elif r < 0.75:
                key = rng.choice(sorted(live))
                stream.append(self._event("delete", key, n, nulls=True))
                live.discard(key)
                dead.add(key)
            elif r < 0.78:
                key = self._key(rng)  # delete of a possibly never-seen key
                stream.append(self._event("delete", key, n, nulls=True))
                live.discard(key)
                dead.add(key)
            elif r < 0.88:
                # Primary-key move: delete old + insert new at the same position
                # (same seq, either order).
                old = rng.choice(sorted(live))
                new = self._key(rng)
                if new == old:
                    continue
                d = self._event("delete", old, n)
                u = self._event("update", new, n)
                u["seq"] = d["seq"]
                pair = [d, u] if rng.random() < 0.5 else [u, d]
                stream.extend(pair)
                live.discard(old)
                dead.add(old)
                live.add(new)
                dead.discard(new)
            elif r < 0.93:
                # A truncate (not keyed): every row older than it goes.
                e = self._event("truncate", tuple(None for _ in self.keys), n, nulls=True)
                e["row"] = {c: None for c in e["row"]}
                stream.append(e)
                dead |= live
                live.clear()
            elif r < 0.94:
                # Exact replay of an earlier event.
                if stream:
                    stream.append(dict(rng.choice(stream)))
            elif r < 0.98:
                # Equal-seq tie with another image (first applied must win).
                if stream:
                    e = dict(rng.choice(stream))
                    if e["op"] == "truncate":
                        continue  # a keyed event with a truncate's seq: not generated
                    if e["op"] != "delete":
                        e["row"] = self._image(e["key"], nulls=True)
                    e["op"] = rng.choice(["update", "insert", "delete", e["op"]])
                    stream.append(e)
            else:
                # Invalid rows: null key, empty seq, unknown op.
                kind = rng.randrange(3)
                e = self._event("insert", self._key(rng), n)
                if kind == 0:
                    e["key"] = (None,) + tuple(e["key"][1:])
                    e["row"]["id"] = None
                elif kind == 1:
                    e["seq"] = b""
                else:
                    e["op"] = "upsert?"
                stream.append(e)
        # Out of order: local swaps, sometimes a full shuffle.
        if rng.random() < 0.15:
            rng.shuffle(stream)
        else:
            for _ in range(rng.randrange(len(stream) + 1)):
                i = rng.randrange(len(stream))
                j = min(len(stream) - 1, i + rng.randrange(1, 6))
                stream[i], stream[j] = stream[j], stream[i]
        self.events = stream

    def _cut(self) -> None:
        rng = self.rng
        cuts = sorted(rng.sample(range(1, len(self.events)),
                                 min(len(self.events) - 1, rng.randrange(0, rng.choice([4, 12, 30])))))
        bounds = [0] + cuts + [len(self.events)]
        self.batches = [self.events[a:b] for a, b in zip(bounds, bounds[1:])]
        nb = len(self.batches)
        # A column added mid-stream: batches >= added carry `extra`.
        self.added = rng.randrange(1, nb) if nb > 1 and rng.random() < 0.5 else None
        pick = lambda p: sorted(i for i in range(nb) if rng.random() < p)  # noqa: E731
        self.rebuild_after = pick(0.3)
        self.retry = pick(0.15)
        self.orphan = pick(0.15)
        self.checkpoint_interval = rng.choice([10, 2, 3])
        self.file_rows = rng.choice([0, 0, 1, 2, 5])

    # --- files --------------------------------------------------------------

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for i, batch in enumerate(self.batches):
            extra = self.added is not None and i >= self.added
            cols = {"id": pa.array([e["row"].get("id") for e in batch], pa.int64())}
            if self.composite:
                cols["tag"] = pa.array([e["row"].get("tag") for e in batch], pa.string())
            cols["name"] = pa.array([e["row"].get("name") for e in batch], pa.string())
            cols["amount"] = pa.array([e["row"].get("amount") for e in batch], pa.int64())
            if extra:
                cols["extra"] = pa.array([e["row"].get("extra") for e in batch], pa.string())
            cols["_cdc_op"] = pa.array([e["op"] for e in batch], pa.string())
            cols["_cdc_seq"] = pa.array([e["seq"] for e in batch], pa.binary())
            cols["_cdc_ts"] = pa.array([e["ts"] for e in batch], pa.int64()).cast(TS_TYPE)
            pq.write_table(pa.table(cols), directory / f"batch_{i:04d}.parquet")

    def model_batch(self, i: int, batch: list) -> list:
        """The events as the model sees them: the row image is what the
        merged table stores (payload with `extra` NULL before it existed,
        plus _cdc_ts)."""
        out = []
        for e in batch:
            row = dict(e["row"])
            if self.added is None:
                del row["extra"]
            elif i < self.added:
                row["extra"] = None  # the column did not exist yet
            row["_cdc_ts"] = e["ts"]
            out.append({"op": e["op"], "seq": e["seq"], "key": e["key"], "row": row})
        return out

    def expected(self) -> list[tuple]:
        model = MergeModel()
        for i, batch in enumerate(self.batches):
            model.apply_batch(self.model_batch(i, batch))
        cols = self.columns()
        return sorted((tuple(r.get(c) for c in cols) for r in model.rows().values()),
                      key=repr)

    def columns(self) -> list[str]:
        cols = list(self.keys) + ["name", "amount"]
        if self.added is not None:
            cols.append("extra")
        return cols + ["_cdc_seq", "_cdc_ts"]

    def describe(self) -> str:
        return (f"seed={self.seed} mode={self.mode} keys={self.keys} events={len(self.events)} "
                f"batches={len(self.batches)} column_added_at={self.added} "
                f"rebuild_after={self.rebuild_after} retry={self.retry} "
                f"orphan_tombstones={self.orphan} checkpoint_interval={self.checkpoint_interval} "
                f"file_rows={self.file_rows}")


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
    return sorted((tuple(v if not isinstance(v, memoryview) else bytes(v)
                         for v in (data[c][i] for c in cols))
                   for i in range(table.num_rows)), key=repr)


def run_case(case: Case, work: Path) -> pa.Table:
    batches = work / "batches"
    case.write(batches)
    out = work / "out.parquet"
    cmd = [str(DRIVER), "--batches", str(batches), "--table", str(work / "table"),
           "--out", str(out), "--keys", ",".join(case.keys), "--mode", case.mode,
           "--rebuild-after", ",".join(map(str, case.rebuild_after)),
           "--retry", ",".join(map(str, case.retry)),
           "--orphan-tombstones", ",".join(map(str, case.orphan)),
           "--checkpoint-interval", str(case.checkpoint_interval),
           "--file-rows", str(case.file_rows)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, (
        f"{case.describe()}\ndriver failed ({proc.returncode}): {proc.stderr}\n{' '.join(cmd)}")
    json.loads(proc.stdout.strip().splitlines()[-1])
    return pq.read_table(out)


@pytest.mark.parametrize("index", range(CASES), ids=lambda i: f"seed{BASE_SEED + i}")
def test_merge_matches_model(index, tmp_path):
    case = Case(BASE_SEED + index)
    table = run_case(case, tmp_path)
    expected = case.expected()
    got = rows_of(table, case.columns())
    assert got == expected, (
        f"{case.describe()}\nonly in C++: {sorted(set(got) - set(expected), key=repr)[:10]}\n"
        f"only in model: {sorted(set(expected) - set(got), key=repr)[:10]}")


def _peer_seeds():
    """Seeds of the first multi-batch cases with a column added and rows left:
    two in deletion-vector mode, one in copy-on-write mode."""
    want = {"deletion_vectors": 2, "copy_on_write": 1}
    seeds = []
    seed = BASE_SEED
    while any(want.values()):
        c = Case(seed)
        if (want[c.mode] and len(c.batches) >= 4 and c.added is not None
                and len(c.expected()) >= 5):
            want[c.mode] -= 1
            seeds.append(seed)
        seed += 1
    return seeds


@pytest.mark.parametrize("seed", _peer_seeds())
def test_peers_read_the_same_rows(seed, tmp_path):
    """delta-rs (DataFusion, DVs applied) and DuckDB's delta extension read
    the merged table the driver wrote as the model's rows."""
    import sys

    sys.path.insert(0, str(ROOT / "tests/interop"))
    import peers

    case = Case(seed)
    table = run_case(case, tmp_path)
    expected = case.expected()
    assert rows_of(table, case.columns()) == expected, case.describe()
    table_dir = str(tmp_path / "table")
    assert rows_of(peers.read_with_deltalake(table_dir), case.columns()) == expected, \
        case.describe()
    assert rows_of(peers.read_with_duckdb(table_dir), case.columns()) == expected, \
        case.describe()


def test_generator_covers_every_feature():
    """The default cases exercise each kind of event and crash at least once."""
    seen = set()
    for i in range(min(CASES, 300)):
        c = Case(BASE_SEED + i)
        ops = {e["op"] for e in c.events}
        seen |= ops
        if c.added is not None:
            seen.add("column_added")
        if c.retry:
            seen.add("retry")
        if c.orphan:
            seen.add("orphan")
        if c.rebuild_after:
            seen.add("rebuild")
        if c.composite:
            seen.add("composite")
        seqs = [e["seq"] for e in c.events]
        if len(set(seqs)) < len(seqs):
            seen.add("equal_seq")
        if any(not s for s in seqs):
            seen.add("empty_seq")
    if CASES >= 50:
        for want in ["insert", "snapshot", "update", "delete", "truncate", "upsert?", "column_added",
                     "retry", "orphan", "rebuild", "composite", "equal_seq", "empty_seq"]:
            assert want in seen, want
