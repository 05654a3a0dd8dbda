#!/usr/bin/env python3
"""Fast Datastream (MySQL, Avro) workload generator for the benchmark.

One wide table, ``bench.orders`` (22 columns: ints, decimal(18,2), short and
long strings, timestamps, a nullable JSON column), written the way Datastream
writes a MySQL stream to Cloud Storage::

    OUT/bench_orders/yyyy/mm/dd/hh/mm/<schema_key>_<read_method>_<task>_0_<seq>.avro

* an initial backfill of ``--rows`` rows (``mysql-backfill-fulldump``, files of
  ``--backfill-file-rows`` rows), keys 1..rows;
* then ``--changes`` CDC events (``mysql-cdc-binlog``): 60% updates, 25%
  inserts, 10% deletes and 5% *late* updates (``--late-share``). On-time events
  go, in binlog order, into files of ``--cdc-file-events`` events. The late
  events of every group of ``--late-group`` on-time files go into one file
  that lands after the *next* group: their binlog positions are older than
  events already delivered, so an engine must ignore them when a newer event
  of the same key was applied and apply them otherwise. Late updates target
  hot keys half of the time, so both cases are common.

Path order is arrival order (and file mtimes follow it), so Sluice (path
order), Spark's file stream (mtime order) and the delta-rs peer read the same
files in the same batches. The peers, like the original Spark connector, keep
no tombstones, so the generator never deletes a key that has a late event
(a late update after a delete would bring the row back in them; Sluice's
tombstones are exercised by its differential tests, not here). Inserts always
use fresh keys, and updates and deletes only touch live keys.

Every payload is a deterministic function of (seed, file, row), so the same
options always give the same files. ``OUT/_bench/manifest.json`` records the
counts (events per op, late events, files, expected live rows).

``Stream`` writes one growing table chunk by chunk instead (backfill chunks
of fresh keys, on-time CDC batches over the keys so far, each chunk in a
minute folder of its own), for the table-size sweep (bench/size_sweep.py),
whose input at 100M rows would not fit on the disk at once.

Written for Sluice; no code was taken from other projects.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import multiprocessing as mp
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import avro_enc as enc  # noqa: E402

DATABASE = "bench"
TABLE = "orders"
OBJECT = f"{DATABASE}_{TABLE}"
BACKFILL_RM = "mysql-backfill-fulldump"
CDC_RM = "mysql-cdc-binlog"
STREAM = "projects/123456789012/locations/us-central1/streams/sluice-bench"
# 2025-03-01 00:00:00 UTC
T0_MS = 1740787200000
BINLOG_ROTATE = 1 << 30  # MySQL's default max_binlog_size
OP_INSERT, OP_UPDATE, OP_DELETE, OP_LATE = 0, 1, 2, 3

_DEC = {"type": "bytes", "logicalType": "decimal", "precision": 18, "scale": 2}
_TS = {"type": "long", "logicalType": "timestamp-micros"}
# (name, avro type, nullable)
COLUMNS = [
    ("id", "long", False),
    ("customer_id", "long", False),
    ("store_id", "int", False),
    ("status", "string", False),
    ("channel", "string", False),
    ("currency", "string", False),
    ("amount", _DEC, False),
    ("tax", _DEC, False),
    ("discount", _DEC, True),
    ("quantity", "int", False),
    ("sku", "string", False),
    ("description", "string", False),
    ("shipping_address", "string", False),
    ("notes", "string", True),
    ("created_at", _TS, False),
    ("updated_at", _TS, False),
    ("shipped_at", _TS, True),
    ("is_priority", "int", False),
    ("weight_kg", "double", True),
    ("attrs", {"type": "string", "logicalType": "json"}, True),
    ("row_version", "int", False),
    ("updated_by", "string", False),
]
COLUMN_NAMES = [c[0] for c in COLUMNS]


def avro_schema() -> dict:
    sm = {"type": "record", "name": "source_metadata", "fields": [
        {"name": "table", "type": "string"},
        {"name": "database", "type": "string"},
        {"name": "primary_keys", "type": {"type": "array", "items": "string"}},
        {"name": "log_file", "type": ["null", "string"]},
        {"name": "log_position", "type": ["null", "long"]},
        {"name": "change_type", "type": ["null", "string"]},
        {"name": "is_deleted", "type": ["null", "boolean"]}]}
    payload = {"type": "record", "name": "payload", "fields": [
        {"name": n, "type": ["null", t], "default": None} for (n, t, _) in COLUMNS]}
    ts_ms = {"type": "long", "logicalType": "timestamp-millis"}
    return {"type": "record", "name": OBJECT, "fields": [
        {"name": "uuid", "type": "string"},
        {"name": "read_timestamp", "type": ts_ms},
        {"name": "source_timestamp", "type": ts_ms},
        {"name": "object", "type": "string"},
        {"name": "read_method", "type": "string"},
        {"name": "stream_name", "type": "string"},
        {"name": "schema_key", "type": "string"},
        {"name": "sort_keys", "type": {"type": "array", "items": ["string", "long"]}},
        {"name": "source_metadata", "type": sm},
        {"name": "payload", "type": payload}]}


SCHEMA_KEY = hashlib.sha1(json.dumps(avro_schema(), sort_keys=True).encode()).hexdigest()

# ----------------------------------------------------------------------------
# Value pools (fixed, independent of --seed)
# ----------------------------------------------------------------------------
_WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike "
          "november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee "
          "zulu ledger invoice parcel sluice river lake stream harbour crate pallet "
          "naïve café Zürich São-Paulo Kraków 東京 データ").split()
_STATUS = ["pending", "paid", "packed", "shipped", "delivered", "cancelled", "refunded"]
_CHANNEL = ["web", "ios", "android", "store", "phone", "partner"]
_CURRENCY = ["USD", "EUR", "GBP", "JPY", "CHF", "SEK"]
_USERS = [f"svc-{w}" for w in _WORDS[:24]] + ["admin", "batch-job", "api", "support"]


def _pools():
    r = np.random.default_rng(20250301)
    w = np.array(_WORDS)
    desc = [" ".join(w[r.integers(0, len(w), int(r.integers(12, 60)))]) for _ in range(4096)]
    streets = [f"{int(r.integers(1, 9999))} {w[r.integers(0, len(w))].title()} "
               f"{['Street', 'Road', 'Avenue', 'Lane', 'Way'][int(r.integers(0, 5))]}"
               for _ in range(1024)]
    cities = [f"{w[r.integers(0, len(w))].title()}ville, {int(r.integers(10000, 99999))}"
              for _ in range(256)]
    notes = [" ".join(w[r.integers(0, len(w), int(r.integers(3, 25)))]) for _ in range(1024)]
    tags = [",".join(f'"{t}"' for t in w[r.integers(0, len(w), int(r.integers(0, 4)))])
            for _ in range(512)]
    return desc, streets, cities, notes, tags


_DESC, _STREETS, _CITIES, _NOTES, _TAGS = _pools()


def _dec(cents: np.ndarray) -> list:
    """decimal(18,2) values as 8-byte big-endian two's complement."""
    return enc.fixed_bytes(np.asarray(cents).astype(">i8").tobytes(), 8)


def payload_columns(rng: np.random.Generator, keys: np.ndarray, ts_ms: np.ndarray,
                    versions: np.ndarray) -> list:
    """The payload of n events, Avro-encoded, one list per column (COLUMNS
    order); every column is a ["null", T] union."""
    n = len(keys)
    kh = (keys * 2654435761) % (1 << 32)  # key-derived, stable across versions
    ints = lambda lo, hi: rng.integers(lo, hi, n)  # noqa: E731
    null = lambda share: rng.random(n) < share  # noqa: E731
    N = enc.nullable
    amount = ints(0, 5_000_000)
    suffix = ints(0, 1 << 20).tolist()
    desc = [f"{_DESC[d]} #{x}" for d, x in zip(ints(0, len(_DESC)).tolist(), suffix)]
    addr = [f"{_STREETS[a]}, {_CITIES[c]}"
            for a, c in zip(ints(0, len(_STREETS)).tolist(), ints(0, len(_CITIES)).tolist())]
    attrs = [f'{{"tags":[{_TAGS[t]}],"n":{a},"gift":{"true" if g else "false"}}}'
             for t, a, g in zip(ints(0, len(_TAGS)).tolist(), ints(-1000, 1000).tolist(),
                                (ints(0, 2) == 1).tolist())]
    return [
        N(enc.varints(keys)),
        N(enc.varints(kh % 5_000_000 + 1)),
        N(enc.varints(ints(1, 500))),
        N(enc.pooled_strings(_STATUS, ints(0, len(_STATUS)))),
        N(enc.pooled_strings(_CHANNEL, ints(0, len(_CHANNEL)))),
        N(enc.pooled_strings(_CURRENCY, kh % len(_CURRENCY))),
        N(_dec(amount)),
        N(_dec(amount // 5)),
        N(_dec(ints(0, 100_000)), null(1 / 3)),
        N(enc.varints(ints(1, 20))),
        N(enc.strings([f"SKU-{k:06d}" for k in (kh % 200_000).tolist()])),
        N(enc.strings(desc)),
        N(enc.strings(addr)),
        N(enc.pooled_strings(_NOTES, ints(0, len(_NOTES))), null(0.5)),
        N(enc.varints(1_577_836_800_000_000 + (kh % 157_680_000) * 1_000_000)),  # 2020..2025
        N(enc.varints(ts_ms * 1000)),
        N(enc.varints(ts_ms * 1000 + ints(0, 3 * 86_400_000_000)), null(1 / 3)),
        N(enc.varints((ints(0, 10) == 0).astype(np.int64))),
        N(enc.doubles((rng.random(n) * 50).round(3)), null(0.2)),
        N(enc.strings(attrs), null(0.25)),
        N(enc.varints(versions)),
        N(enc.pooled_strings(_USERS, ints(0, len(_USERS)))),
    ]


# ----------------------------------------------------------------------------
# The plan: which events, in which files, in which order
# ----------------------------------------------------------------------------
def draw_ops(rng: np.random.Generator, c: int, late_p: float) -> np.ndarray:
    """The op of each of c CDC events: 60% updates, 25% inserts, 10% deletes
    and late_p late updates (the shares of the first three scaled by
    (1 - late_p) / 0.95)."""
    ins_p = 0.25 * (1 - late_p) / 0.95
    u = rng.random(c)
    op = np.full(c, OP_UPDATE, dtype=np.int8)
    op[u < ins_p] = OP_INSERT
    op[(u >= ins_p) & (u < ins_p + 0.10 * (1 - late_p) / 0.95)] = OP_DELETE
    op[u >= 1 - late_p] = OP_LATE
    return op


def choose_keys(rng: np.random.Generator, op: np.ndarray, alive: np.ndarray, protected,
                next_key: int, live: int, hot_n: int):
    """The key of each event of `op`, in binlog order: inserts take fresh keys
    (next_key, next_key + 1, ...), updates and deletes live keys (30% of the
    updates one of the hot keys 1..hot_n). Updates `alive` (and `protected`,
    keys with a late event, which are never deleted; None when there are no
    late events) in place, and `op` where an update or delete finds no live key
    and becomes an insert. Returns (keys, next_key, live)."""
    c = len(op)
    keys = np.zeros(c, dtype=np.int64)
    hot_pick = rng.random(c) < 0.3
    draws = rng.random(c * 2 + 64)
    di = 0
    op_list = op.tolist()
    hot_list = hot_pick.tolist()
    for i in range(c):
        o = op_list[i]
        if o == OP_INSERT or live == 0:
            if o != OP_INSERT:
                op[i] = OP_INSERT
            k = next_key
            next_key += 1
            alive[k] = True
            live += 1
        else:
            hi = hot_n if (hot_list[i] and o != OP_DELETE) else next_key - 1
            while True:
                if di >= len(draws):
                    draws = rng.random(len(draws))
                    di = 0
                k = 1 + int(draws[di] * hi)
                di += 1
                if alive[k] and not (o == OP_DELETE and protected is not None and protected[k]):
                    break
            if o == OP_DELETE:
                alive[k] = False
                live -= 1
            elif o == OP_LATE:
                protected[k] = True
        keys[i] = k
    return keys, next_key, live


def plan_cdc(opts):
    """Chooses op, key, binlog position and timestamp for every CDC event in
    true (binlog) order. Returns arrays and the live-row count at the end."""
    c = opts.changes
    rng = np.random.default_rng([opts.seed, 1])
    op = draw_ops(rng, c, opts.late_share)
    capacity = opts.rows + c + 1
    alive = np.zeros(capacity, dtype=bool)
    alive[1:opts.rows + 1] = True
    protected = np.zeros(capacity, dtype=bool)  # has a late event: never deleted
    hot_n = max(100, opts.rows // 100)
    keys, _next_key, live = choose_keys(rng, op, alive, protected, opts.rows + 1, opts.rows, hot_n)
    g = np.cumsum(rng.integers(180, 900, c, dtype=np.int64))
    binlog = g // BINLOG_ROTATE + 1
    pos = g % BINLOG_ROTATE + 4
    # ~2000 events/s; binlog timestamps have 1 s resolution
    cdc_start = T0_MS + max(3_600_000, opts.rows // 25 + 60_000)  # after the backfill
    ts = cdc_start + np.cumsum(rng.exponential(0.5, c)).astype(np.int64)
    ts -= ts % 1000
    return op, keys, binlog, pos, ts, live


def plan_files(opts, op):
    """Files as (kind, event indices) in arrival order. Backfill files carry
    key ranges instead of indices."""
    files = []
    for first in range(1, opts.rows + 1, opts.backfill_file_rows):
        files.append(("backfill", first, min(opts.rows, first + opts.backfill_file_rows - 1)))
    on_time = np.flatnonzero(op != OP_LATE)
    late = np.flatnonzero(op == OP_LATE)
    per = opts.cdc_file_events
    chunks = [on_time[i:i + per] for i in range(0, len(on_time), per)]
    # late events of group g (on-time files [g*G, (g+1)*G)) land after group g+1
    bounds = [int(ch[-1]) for ch in chunks]
    group = opts.late_group
    late_of_group = {}
    if len(late):
        file_of = np.searchsorted(np.array(bounds), late)  # on-time file each late event falls in
        file_of = np.minimum(file_of, len(chunks) - 1)
        for g in np.unique(file_of // group).tolist():
            late_of_group[g] = late[(file_of // group) == g]
    n_groups = (len(chunks) + group - 1) // group
    for g in range(n_groups + 1):
        for ch in chunks[g * group:(g + 1) * group]:
            files.append(("cdc", ch))
        if g - 1 in late_of_group:
            files.append(("late", late_of_group[g - 1]))
    return files


# ----------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------
def _minute_dir(ms: int) -> str:
    d = _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.timezone.utc)
    return f"{d.year:04d}/{d.month:02d}/{d.day:02d}/{d.hour:02d}/{d.minute:02d}"


_SM_HEAD = enc.string(TABLE) + enc.string(DATABASE) + b"\x02" + enc.string("id") + b"\x00"
_CHANGE_TYPE = {OP_INSERT: enc.BRANCH1 + enc.string("INSERT"),
                OP_UPDATE: enc.BRANCH1 + enc.string("UPDATE-INSERT"),
                OP_LATE: enc.BRANCH1 + enc.string("UPDATE-INSERT"),
                OP_DELETE: enc.BRANCH1 + enc.string("DELETE")}
_IS_DELETED = {True: b"\x02\x01", False: b"\x02\x00"}


def write_file(job):
    """Worker: builds and writes one Avro file. job = (out, seed, index, kind,
    arrival_ms, name, keys, source ts, binlog, pos, op, versions)."""
    out, seed, index, kind, arrival_ms, name, keys, ts, binlog, pos, op, versions = job
    rng = np.random.default_rng([seed, 2, index])
    n = len(keys)
    payload = payload_columns(rng, keys, ts, versions)
    lag = rng.integers(200, 2000, n)
    read_ts = np.maximum(ts + lag, arrival_ms - 5000) if kind == "late" else ts + lag
    prefix = hashlib.sha1(f"{seed}/{name}".encode()).hexdigest()
    uuid_head = f"{prefix[0:8]}-{prefix[8:12]}-4{prefix[13:16]}-a{prefix[17:20]}-{prefix[20:24]}"
    uuids = enc.strings([f"{uuid_head}{i:08x}" for i in range(n)])
    rm = BACKFILL_RM if kind == "backfill" else CDC_RM
    const = (enc.string(OBJECT) + enc.string(rm) + enc.string(STREAM) + enc.string(SCHEMA_KEY))
    ts_enc = enc.varints(ts)
    head = [u + r + t + const for u, r, t in zip(uuids, enc.varints(read_ts), ts_enc)]
    if kind == "backfill":
        # sort_keys [ts, "", 0]; log_file "", log_position 0, INSERT, not deleted
        tail = (b"\x00" + enc.string("") + b"\x02\x00\x00" + _SM_HEAD + enc.BRANCH1
                + enc.string("") + b"\x02\x00" + _CHANGE_TYPE[OP_INSERT] + _IS_DELETED[False])
        meta = [b"\x06\x02" + t + tail for t in ts_enc]
    else:
        files = {b: enc.string(f"mysql-bin.{b:06d}") for b in np.unique(binlog).tolist()}
        pos_enc = enc.varints(pos)
        meta = []
        for t, b, p, o in zip(ts_enc, binlog.tolist(), pos_enc, op.tolist()):
            lf = files[b]
            meta.append(b"\x06\x02" + t + b"\x00" + lf + b"\x02" + p + b"\x00" + _SM_HEAD
                        + enc.BRANCH1 + lf + enc.BRANCH1 + p + _CHANGE_TYPE[o]
                        + _IS_DELETED[o == OP_DELETE])
    rows = [b"".join(parts) for parts in zip(head, meta, *payload)]
    sync = hashlib.md5(name.encode()).digest()
    data = enc.ocf_header(avro_schema(), sync) + enc.ocf_blocks(rows, sync)
    path = os.path.join(out, OBJECT, _minute_dir(arrival_ms), name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)
    return path, n, len(data)


def generate(opts) -> dict:
    t0 = time.perf_counter()
    if opts.changes:
        op, keys, binlog, pos, ts, live = plan_cdc(opts)
    else:
        op = np.zeros(0, np.int8)
        keys = binlog = pos = ts = np.zeros(0, np.int64)
        live = opts.rows
    files = plan_files(opts, op)
    t_plan = time.perf_counter() - t0
    task = int.from_bytes(hashlib.sha1(f"{opts.seed}".encode()).digest()[:4], "big", signed=True)
    seq = 1_000_000
    jobs = []
    bf_start = T0_MS
    for index, f in enumerate(files):
        seq += 1 + (index * 7919) % 37
        if f[0] == "backfill":
            k = np.arange(f[1], f[2] + 1, dtype=np.int64)
            # backfill reads ~25K rows/s
            arrival = bf_start + (f[1] - 1) // 25
            t = np.full(len(k), bf_start, dtype=np.int64)
            name = f"{SCHEMA_KEY}_{BACKFILL_RM}_{task}_0_{seq}.avro"
            jobs.append((opts.out, opts.seed, index, "backfill", arrival, name, k, t,
                         None, None, None, np.ones(len(k), np.int64)))
        else:
            idx = f[1]
            arrival = int(ts[idx].max()) + 1000
            if f[0] == "late":
                prev = jobs[-1][4]  # lands with the on-time file before it
                arrival = max(arrival, prev)
            name = f"{SCHEMA_KEY}_{CDC_RM}_{task}_0_{seq}.avro"
            jobs.append((opts.out, opts.seed, index, f[0], arrival, name, keys[idx], ts[idx],
                         binlog[idx], pos[idx], op[idx], idx.astype(np.int64) + 2))
    # arrival (path) order must be non-decreasing in minute folders
    for i in range(1, len(jobs)):
        if jobs[i][4] < jobs[i - 1][4]:
            j = list(jobs[i])
            j[4] = jobs[i - 1][4]
            jobs[i] = tuple(j)
    procs = opts.jobs or os.cpu_count() or 1
    written = []
    if procs > 1 and len(jobs) > 1:
        with mp.get_context("fork").Pool(procs) as pool:
            written = list(pool.imap(write_file, jobs, chunksize=1))
    else:
        written = [write_file(j) for j in jobs]
    mtime0 = int(time.time()) - len(written) - 10
    for i, (path, _n, _b) in enumerate(written):
        os.utime(path, (mtime0 + i, mtime0 + i))
    seconds = time.perf_counter() - t0
    counts = {name: int((op == code).sum()) for name, code in
              (("insert", OP_INSERT), ("update", OP_UPDATE), ("delete", OP_DELETE),
               ("late_update", OP_LATE))}
    manifest = {
        "generator": "sluice bench/gen.py", "version": 1,
        "options": {k: getattr(opts, k) for k in ("rows", "changes", "seed", "backfill_file_rows",
                                                  "cdc_file_events", "late_share", "late_group")},
        "object": OBJECT, "database": DATABASE, "table": TABLE, "primary_keys": ["id"],
        "columns": [{"name": n, "avro_type": t, "nullable": nl} for (n, t, nl) in COLUMNS],
        "backfill_events": opts.rows, "cdc_events": int(len(op)), "cdc_ops": counts,
        "events": opts.rows + int(len(op)), "expected_live_rows": int(live),
        "files": len(written), "backfill_files": sum(1 for f in files if f[0] == "backfill"),
        "cdc_files": sum(1 for f in files if f[0] == "cdc"),
        "late_files": sum(1 for f in files if f[0] == "late"),
        "file_events": [n for (_p, n, _b) in written],
        "bytes": sum(b for (_p, _n, b) in written),
        "seconds": round(seconds, 3), "plan_seconds": round(t_plan, 3), "processes": procs,
    }
    os.makedirs(os.path.join(opts.out, "_bench"), exist_ok=True)
    with open(os.path.join(opts.out, "_bench", "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
    return manifest


class Stream:
    """One table grown chunk by chunk while a Sluice process reads it (the
    table-size sweep, bench/size_sweep.py), without writing the whole input
    up front.

    ``backfill(out, n)`` writes the next n backfill rows (fresh keys);
    ``cdc(out, c)`` writes c on-time CDC events (no late ones) over the keys
    written so far, with the op mix of the main workload (draw_ops with no
    late share: ~63% updates, ~26% inserts of fresh keys, ~11% deletes of live
    keys). Each chunk goes whole into a minute folder of its own (chunk i:
    T0 + i minutes) and its file names keep growing, so path order is arrival
    order across the whole run; binlog positions keep growing from CDC chunk to
    CDC chunk. ``live`` is the row count the merged table must have after
    everything written so far. Payloads are deterministic per (seed, file)."""

    def __init__(self, seed: int = 1, backfill_file_rows: int = 20_000,
                 cdc_file_events: int = 10_000, jobs: int = 0):
        self.seed = seed
        self.backfill_file_rows = backfill_file_rows
        self.cdc_file_events = cdc_file_events
        self.jobs = jobs or os.cpu_count() or 1
        self.alive = np.zeros(1 << 16, dtype=bool)
        self.next_key = 1
        self.live = 0
        self.backfill_rows = 0
        self.cdc_ops = {"insert": 0, "update": 0, "delete": 0}
        self.binlog_bytes = 0
        self.cdc_ts_ms = T0_MS + 3_600_000
        self.chunks = 0
        self.files = 0
        self.bytes = 0
        self._seq = 1_000_000
        self._task = int.from_bytes(hashlib.sha1(f"{seed}".encode()).digest()[:4], "big",
                                    signed=True)
        self._pool = None

    @property
    def cdc_events(self) -> int:
        return sum(self.cdc_ops.values())

    @property
    def events(self) -> int:
        return self.backfill_rows + self.cdc_events

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None

    def _reserve(self, keys: int) -> None:
        need = self.next_key + keys + 1
        if need > len(self.alive):
            grown = np.zeros(max(need, 2 * len(self.alive)), dtype=bool)
            grown[:len(self.alive)] = self.alive
            self.alive = grown

    def _job(self, out, kind, arrival, keys, ts, binlog, pos, op, versions):
        self._seq += 1 + (self.files * 7919) % 37
        if self._seq >= 10_000_000:  # names must keep sorting in arrival order
            raise ValueError("too many files for 7-digit sequence numbers")
        rm = BACKFILL_RM if kind == "backfill" else CDC_RM
        name = f"{SCHEMA_KEY}_{rm}_{self._task}_0_{self._seq}.avro"
        job = (out, self.seed, self.files, kind, arrival, name, keys, ts, binlog, pos, op, versions)
        self.files += 1
        return job

    def _write(self, kind, arrival, jobs) -> dict:
        if self.jobs > 1 and len(jobs) > 1:
            if self._pool is None:
                self._pool = mp.get_context("fork").Pool(self.jobs)
            written = list(self._pool.imap(write_file, jobs, chunksize=1))
        else:
            written = [write_file(j) for j in jobs]
        self.chunks += 1
        nbytes = sum(b for (_p, _n, b) in written)
        self.bytes += nbytes
        return {"kind": kind, "dir": os.path.join(OBJECT, _minute_dir(arrival)),
                "files": [p for (p, _n, _b) in written],
                "events": sum(n for (_p, n, _b) in written), "bytes": nbytes}

    def _arrival(self) -> int:
        return T0_MS + self.chunks * 60_000

    def backfill(self, out: str, rows: int) -> dict:
        """Writes the next `rows` backfill rows under `out`; returns the
        chunk: its minute folder (relative to out), files, events, bytes."""
        arrival = self._arrival()
        first = self.next_key
        self._reserve(rows)
        jobs = []
        for lo in range(first, first + rows, self.backfill_file_rows):
            k = np.arange(lo, min(first + rows, lo + self.backfill_file_rows), dtype=np.int64)
            jobs.append(self._job(out, "backfill", arrival, k, np.full(len(k), T0_MS, np.int64),
                                  None, None, None, np.ones(len(k), np.int64)))
        self.alive[first:first + rows] = True
        self.next_key += rows
        self.live += rows
        self.backfill_rows += rows
        return self._write("backfill", arrival, jobs)

    def cdc(self, out: str, changes: int) -> dict:
        """Writes `changes` on-time CDC events under `out` in files of
        cdc_file_events; returns the chunk like backfill()."""
        arrival = self._arrival()
        rng = np.random.default_rng([self.seed, 3, self.chunks])
        op = draw_ops(rng, changes, 0.0)
        self._reserve(changes)
        hot_n = max(1, min(max(100, self.live // 100), self.next_key - 1))
        keys, self.next_key, self.live = choose_keys(rng, op, self.alive, None, self.next_key,
                                                     self.live, hot_n)
        g = self.binlog_bytes + np.cumsum(rng.integers(180, 900, changes, dtype=np.int64))
        self.binlog_bytes = int(g[-1])
        binlog = g // BINLOG_ROTATE + 1
        pos = g % BINLOG_ROTATE + 4
        ts = self.cdc_ts_ms + np.cumsum(rng.exponential(0.5, changes)).astype(np.int64)
        self.cdc_ts_ms = int(ts[-1])
        ts -= ts % 1000
        versions = self.cdc_events + 2 + np.arange(changes, dtype=np.int64)
        jobs = []
        for lo in range(0, changes, self.cdc_file_events):
            s = slice(lo, lo + self.cdc_file_events)
            jobs.append(self._job(out, "cdc", arrival, keys[s], ts[s], binlog[s], pos[s], op[s],
                                  versions[s]))
        for name, code in (("insert", OP_INSERT), ("update", OP_UPDATE), ("delete", OP_DELETE)):
            self.cdc_ops[name] += int((op == code).sum())
        return self._write("cdc", arrival, jobs)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--rows", type=int, default=200_000, help="backfill rows (S)")
    p.add_argument("--changes", type=int, default=100_000, help="CDC events (C)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--backfill-file-rows", type=int, default=20_000)
    p.add_argument("--cdc-file-events", type=int, default=10_000)
    p.add_argument("--late-share", type=float, default=0.05)
    p.add_argument("--late-group", type=int, default=10,
                   help="on-time files whose late events share one late file")
    p.add_argument("--jobs", type=int, default=0, help="writer processes (default: cores)")
    p.add_argument("--quiet", action="store_true")
    return p


def main(argv=None) -> int:
    opts = build_parser().parse_args(argv)
    if os.path.exists(os.path.join(opts.out, OBJECT)):
        print(f"{opts.out}/{OBJECT} exists; remove it first", file=sys.stderr)
        return 2
    m = generate(opts)
    if not opts.quiet:
        print(f"wrote {m['files']} files, {m['events']} events ({m['bytes'] / 1e6:.1f} MB) in "
              f"{m['seconds']:.1f}s ({m['events'] / max(m['seconds'], 1e-9):,.0f} events/s) "
              f"-> {opts.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
