#!/usr/bin/env python3
"""Realistic Google Datastream (Cloud Storage destination) output generator.

Writes the bucket layout Datastream uses::

    DIR/<schema>_<table>/yyyy/mm/dd/hh/mm/<schema_key>_<read_method>_<task>_<shard>_<seq>.avro|.jsonl[.gz]

plus an expected-events manifest under ``DIR/_expected/`` (see README.md next
to this file).  Everything is derived from ``--seed``: two runs with the same
options produce byte-identical files.

Written from the observed shape of real Datastream files (the fixtures in
/work/shared/fixtures/datastream) and Google's public documentation; no code
was taken from other projects.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gzip
import hashlib
import io
import json
import math
import os
import random
import sys
import time
from decimal import Decimal
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference  # noqa: E402

GENERATOR_VERSION = 1

# 2024-12-31 23:56:00 UTC: the CDC window crosses hour, day, month and year.
T0_MS = 1735689360000
CDC_START_OFFSET_MS = 95_000

# ----------------------------------------------------------------------------
# Column kinds
# ----------------------------------------------------------------------------
# kind -> Avro type of the (nullable) payload field
AVRO_TYPES = {
    "int": "int",
    "bigint": "long",
    "ubigint": {"type": "string", "logicalType": "number"},  # MySQL BIGINT UNSIGNED
    "decimal": {"type": "bytes", "logicalType": "decimal", "precision": 18, "scale": 2},
    "str": "string",
    "text": "string",
    "datetime": {"type": "long", "logicalType": "timestamp-micros"},
    "mdate": {"type": "long", "logicalType": "timestamp-micros"},  # MySQL DATE
    "pdate": {"type": "int", "logicalType": "date"},  # PostgreSQL DATE
    "json": {"type": "string", "logicalType": "json"},
    "tinybool": "int",  # MySQL BOOL = TINYINT(1)
    "bool": "boolean",
    "double": "double",
}

# manifest encoding of each kind (documented in README.md)
MANIFEST_ENCODING = {
    "int": "JSON integer",
    "bigint": "JSON integer",
    "ubigint": "decimal digits as a JSON string (may exceed 2^63-1)",
    "decimal": "exact decimal as a JSON string with 2 fraction digits",
    "str": "JSON string",
    "text": "JSON string",
    "datetime": "JSON integer: microseconds since the epoch, UTC",
    "mdate": "JSON integer: microseconds since the epoch of midnight UTC",
    "pdate": "JSON integer: days since 1970-01-01",
    "json": "the JSON document as a JSON string",
    "tinybool": "JSON integer 0 or 1",
    "bool": "JSON boolean",
    "double": "JSON number (round-trips the float64)",
}

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima "
         "mike november oscar papa quebec romeo sierra tango uniform victor whiskey "
         "xray yankee zulu ledger invoice parcel sluice river delta lake stream "
         "naïve café Zürich São-Paulo Ærø Kraków 東京 データ 😀 ñandú").split()


def _make_pools():
    """Pre-built strings (fixed seed, so they do not depend on --seed): drawing
    from pools keeps generation fast; a random suffix keeps values distinct."""
    r = random.Random(20240611)
    short = [" ".join(r.choice(WORDS) for _ in range(r.randint(1, 3))) for _ in range(2048)]
    long_ = []
    for _ in range(512):
        n = r.choice((5, 10, 20, 40, 80, 200))
        s = " ".join(r.choice(WORDS) for _ in range(n))
        if r.random() < 0.1:
            s += "\nline two\twith tab, \"quotes\" and \\backslash"
        long_.append(s)
    return short, long_


_SHORT_POOL, _LONG_POOL = _make_pools()


def _short(rng: random.Random) -> str:
    return _SHORT_POOL[rng.getrandbits(11)]


def _long(rng: random.Random) -> str:
    return f"{_LONG_POOL[rng.getrandbits(9)]} #{rng.getrandbits(20)}"


def _decimal(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.02:
        cents = rng.choice((999999999999999999, -999999999999999999, 0, 1, -1))
    elif r < 0.1:
        cents = rng.randint(-10**17, 10**17)
    else:
        cents = rng.randint(-50_000, 5_000_000)
    sign = "-" if cents < 0 else ""
    a = abs(cents)
    return f"{sign}{a // 100}.{a % 100:02d}"


def _ubigint(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.05:
        return rng.choice(("18446744073709551615", "9223372036854775808", "0"))
    if r < 0.3:
        return str(rng.randint(2**63, 2**64 - 1))
    return str(rng.randint(0, 10**9))


_EPOCH_2010_US = 1262304000 * 10**6
_SPAN_15Y_US = 15 * 365 * 86400 * 10**6


def _datetime_us(rng: random.Random) -> int:
    return _EPOCH_2010_US + rng.randint(0, _SPAN_15Y_US)


def _mdate_us(rng: random.Random) -> int:
    return (_EPOCH_2010_US // 86_400_000_000 + rng.randint(0, 6000)) * 86_400_000_000


def _pdate_days(rng: random.Random) -> int:
    return rng.randint(-11000, 20000)  # 1939 .. 2024, negative days included


def _json_doc(rng: random.Random) -> str:
    doc = {"tags": [rng.choice(WORDS) for _ in range(rng.randint(0, 3))],
           "n": rng.randint(-1000, 1000),
           "nested": {"ok": rng.random() < 0.5, "ratio": round(rng.random(), 4), "none": None}}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def _double(rng: random.Random) -> float:
    return rng.choice((0.0, -1.5, 1e300)) if rng.random() < 0.03 else rng.uniform(-1e6, 1e6)


VALUE_GEN = {
    "int": lambda rng: rng.randint(-2**31, 2**31 - 1) if rng.random() < 0.05 else rng.randint(0, 100_000),
    "bigint": lambda rng: rng.randint(-2**63, 2**63 - 1) if rng.random() < 0.05 else rng.randint(0, 10**12),
    "ubigint": _ubigint,
    "decimal": _decimal,
    "str": _short,
    "text": _long,
    "datetime": _datetime_us,
    "mdate": _mdate_us,
    "pdate": _pdate_days,
    "json": _json_doc,
    "tinybool": lambda rng: rng.randint(0, 1),
    "bool": lambda rng: rng.random() < 0.5,
    "double": _double,
}

# ----------------------------------------------------------------------------
# Table templates: (flavour, schema/database, table, columns, pk, added column)
# column = (name, kind, nullable)
# ----------------------------------------------------------------------------
TEMPLATES = [
    dict(flavour="mysql", schema="shop", table="orders", pk=["id"], backfill_style="empty",
         columns=[("id", "int", False), ("customer_id", "ubigint", False),
                  ("amount", "decimal", False), ("status", "str", False),
                  ("note", "text", True), ("created_at", "datetime", False),
                  ("ship_date", "mdate", True), ("attrs", "json", True),
                  ("is_gift", "tinybool", False), ("weight_kg", "double", True)],
         added=("coupon_code", "str")),
    dict(flavour="postgresql", schema="public", table="accounts", pk=["tenant_id", "account_id"],
         columns=[("tenant_id", "int", False), ("account_id", "bigint", False),
                  ("balance", "decimal", False), ("owner_name", "str", False),
                  ("bio", "text", True), ("opened_at", "datetime", False),
                  ("birthday", "pdate", True), ("prefs", "json", True),
                  ("active", "bool", False), ("score", "double", True)],
         added=("risk_level", "int")),
    dict(flavour="mysql", schema="inventory", table="items", pk=["sku"], backfill_style="zero",
         columns=[("sku", "str", False), ("warehouse_id", "int", False), ("qty", "int", False),
                  ("unit_price", "decimal", False), ("big_counter", "ubigint", True),
                  ("title", "str", False), ("description", "text", True),
                  ("updated_at", "datetime", False), ("restock_date", "mdate", True),
                  ("meta", "json", True), ("discontinued", "tinybool", False)],
         added=("color", "str")),
    dict(flavour="postgresql", schema="sales", table="events", pk=["id"],
         columns=[("id", "bigint", False), ("account_ref", "bigint", False),
                  ("amount", "decimal", True), ("kind", "str", False), ("body", "text", False),
                  ("happened_at", "datetime", False), ("payload_doc", "json", True),
                  ("flagged", "bool", True)],
         added=("region", "str")),
]

READ_METHODS = {
    "mysql": ("mysql-backfill-fulldump", "mysql-cdc-binlog"),
    "postgresql": ("postgresql-backfill", "postgresql-cdc"),
}


class Table:
    def __init__(self, idx: int, tmpl: dict, seed: int):
        self.idx = idx
        self.flavour = tmpl["flavour"]
        self.schema = tmpl["schema"]
        suffix = "" if idx < len(TEMPLATES) else f"_{idx // len(TEMPLATES) + 1}"
        self.table = tmpl["table"] + suffix
        self.object = f"{self.schema}_{self.table}"
        self.pk = list(tmpl["pk"])
        self.columns = list(tmpl["columns"])
        self.added = (tmpl["added"][0], tmpl["added"][1], True)
        self.backfill_style = tmpl.get("backfill_style", "empty")
        self.kinds = {c[0]: c[1] for c in self.columns + [self.added]}
        self.nullable = {c[0]: c[2] for c in self.columns + [self.added]}
        self.backfill_rm, self.cdc_rm = READ_METHODS[self.flavour]
        # Avro schemas per version (1 = original, 2 = with the added column)
        self.avro_schema = {1: self._avro_schema(self.columns), 2: self._avro_schema(self.columns + [self.added])}
        self.schema_key = {v: hashlib.sha1(json.dumps(s["fields"][-1], sort_keys=True).encode()
                                           + str(seed).encode()).hexdigest()
                           for v, s in self.avro_schema.items()}
        self.parsed = {}
        self.task_id = {rm: int.from_bytes(hashlib.sha1(f"{seed}/{self.object}/{rm}".encode()).digest()[:4],
                                           "big", signed=True)
                        for rm in (self.backfill_rm, self.cdc_rm)}

    def columns_for(self, version: int):
        return self.columns + ([self.added] if version == 2 else [])

    def _avro_schema(self, cols) -> dict:
        if self.flavour == "mysql":
            sm = {"type": "record", "name": "source_metadata", "fields": [
                {"name": "table", "type": "string"},
                {"name": "database", "type": "string"},
                {"name": "primary_keys", "type": {"type": "array", "items": "string"}},
                {"name": "log_file", "type": ["null", "string"]},
                {"name": "log_position", "type": ["null", "long"]},
                {"name": "change_type", "type": ["null", "string"]},
                {"name": "is_deleted", "type": ["null", "boolean"]}]}
        else:
            sm = {"type": "record", "name": "source_metadata", "fields": [
                {"name": "schema", "type": "string"},
                {"name": "table", "type": "string"},
                {"name": "is_deleted", "type": ["null", "boolean"]},
                {"name": "change_type", "type": ["null", "string"]},
                {"name": "tx_id", "type": ["null", "long"]},
                {"name": "lsn", "type": ["null", "string"]},
                {"name": "primary_keys", "type": ["null", {"type": "array", "items": "string"}]}]}
        payload = {"type": "record", "name": "payload", "fields": [
            {"name": n, "type": ["null", AVRO_TYPES[k]], "default": None} for (n, k, _) in cols]}
        ts_ms = {"type": "long", "logicalType": "timestamp-millis"}
        return {"type": "record", "name": self.object, "fields": [
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

    def describe(self) -> dict:
        cols = [{"name": n, "kind": k, "nullable": nl, "primary_key": n in self.pk,
                 "avro_type": AVRO_TYPES[k], "manifest_encoding": MANIFEST_ENCODING[k],
                 "added_in_version": 1} for (n, k, nl) in self.columns]
        n, k, nl = self.added
        cols.append({"name": n, "kind": k, "nullable": nl, "primary_key": False,
                     "avro_type": AVRO_TYPES[k], "manifest_encoding": MANIFEST_ENCODING[k],
                     "added_in_version": 2})
        return {"object": self.object, "flavour": self.flavour,
                ("database" if self.flavour == "mysql" else "schema"): self.schema,
                "table": self.table, "primary_keys": self.pk, "columns": cols,
                "read_methods": [self.backfill_rm, self.cdc_rm],
                "schema_keys": {str(v): k for v, k in self.schema_key.items()},
                "avro_schemas": {str(v): s for v, s in self.avro_schema.items()}}


# ----------------------------------------------------------------------------
# Row state per table
# ----------------------------------------------------------------------------
class TableState:
    def __init__(self, t: Table, rng: random.Random):
        self.t = t
        self.rng = rng
        self.rows: Dict[tuple, dict] = {}
        self.live: List[tuple] = []
        self.pos: Dict[tuple, int] = {}
        self.deleted: List[tuple] = []
        self.next_id = 1
        self.version = 1

    def _add_live(self, k):
        self.pos[k] = len(self.live)
        self.live.append(k)

    def _remove_live(self, k):
        i = self.pos.pop(k)
        last = self.live.pop()
        if i < len(self.live):
            self.live[i] = last
            self.pos[last] = i

    def new_key(self) -> dict:
        rng = self.rng
        n = self.next_id
        self.next_id += 1
        kv = {}
        for c in self.t.pk:
            kind = self.t.kinds[c]
            if c == "tenant_id":
                kv[c] = n % 17 + 1
            elif c == "account_id":
                kv[c] = 10**10 + n * 7
            elif kind in ("int", "bigint"):
                kv[c] = n
            else:  # string key
                kv[c] = f"SKU-{n:07d}-{rng.choice(('A', 'B', 'Ü', 'Z'))}"
        return kv

    def value(self, name: str):
        kind = self.t.kinds[name]
        if self.t.nullable[name] and self.rng.random() < 0.2:
            return None
        return VALUE_GEN[kind](self.rng)

    def full_row(self, kv: dict) -> dict:
        row = {}
        for (n, _k, _nl) in self.t.columns_for(self.version):
            row[n] = kv[n] if n in kv else self.value(n)
        return row

    def key_tuple(self, row: dict) -> tuple:
        return tuple(row[c] for c in self.t.pk)

    def insert(self) -> dict:
        if self.deleted and self.rng.random() < 0.1:
            k = self.deleted.pop(self.rng.randrange(len(self.deleted)))
            kv = dict(zip(self.t.pk, k))
        else:
            kv = self.new_key()
        row = self.full_row(kv)
        k = self.key_tuple(row)
        self.rows[k] = row
        self._add_live(k)
        return row

    def pick_live(self) -> Optional[tuple]:
        if not self.live:
            return None
        return self.live[self.rng.randrange(len(self.live))]

    def update(self, k) -> dict:
        row = dict(self.rows[k])
        if self.version == 2 and self.t.added[0] not in row:
            row[self.t.added[0]] = None
        non_pk = [n for (n, _k, _nl) in self.t.columns_for(self.version) if n not in self.t.pk]
        for n in self.rng.sample(non_pk, min(len(non_pk), self.rng.randint(1, 3))):
            if self.t.nullable[n] and self.rng.random() < 0.25:
                row[n] = None  # an update that sets a column to NULL
            else:
                row[n] = VALUE_GEN[self.t.kinds[n]](self.rng)
        self.rows[k] = row
        return row

    def delete(self, k) -> dict:
        row = self.rows.pop(k)
        self._remove_live(k)
        self.deleted.append(k)
        return row

    def change_pk(self, k) -> Tuple[dict, dict]:
        old = self.delete(k)
        kv = self.new_key()
        new = dict(old)
        if self.version == 2 and self.t.added[0] not in new:
            new[self.t.added[0]] = None
        new.update(kv)
        nk = self.key_tuple(new)
        self.rows[nk] = new
        self._add_live(nk)
        return old, new


# ----------------------------------------------------------------------------
# Event generation
# ----------------------------------------------------------------------------
def fmt_lsn(n: int) -> str:
    return f"{n >> 32:X}/{n & 0xFFFFFFFF:X}"


def generate_events(opts, tables: List[Table]):
    """Returns {object: [event, ...]} in true (reference) order per table."""
    rng = random.Random(opts.seed)
    states = {t.object: TableState(t, random.Random(f"{opts.seed}/rows/{t.object}")) for t in tables}
    events: Dict[str, List[dict]] = {t.object: [] for t in tables}
    gidx = [0]

    def emit(t: Table, **ev):
        ev["object"] = t.object
        ev["flavour"] = t.flavour
        ev["primary_keys"] = t.pk
        ev["key"] = {c: ev["payload"][c] for c in t.pk}
        ev["gen_index"] = len(events[t.object])
        ev["global_index"] = gidx[0]
        gidx[0] += 1
        events[t.object].append(ev)

    # ---------------- backfill ----------------
    for t in tables:
        st = states[t.object]
        bf_ts = T0_MS + (t.idx % 8) * 7_000 + (0 if t.flavour == "mysql" else rng.randint(0, 999))
        read_ts = bf_ts + rng.randint(150, 900)
        for i in range(opts.rows_per_table):
            row = st.insert()
            read_ts += rng.randint(0, 2)
            if t.flavour == "mysql":
                if t.backfill_style == "empty":
                    lf, lp, sk = "", 0, [bf_ts, "", 0]
                else:
                    lf, lp, sk = None, None, [bf_ts, 0, 0]
                emit(t, read_method=t.backfill_rm, change_type="INSERT", is_deleted=False,
                     source_timestamp_ms=bf_ts, read_timestamp_ms=read_ts, log_file=lf,
                     log_position=lp, sort_keys=sk, payload=dict(row), schema_version=1)
            else:
                emit(t, read_method=t.backfill_rm, change_type="INSERT", is_deleted=False,
                     source_timestamp_ms=bf_ts, read_timestamp_ms=read_ts, lsn=None, tx_id=None,
                     sort_keys=[bf_ts, ""], payload=dict(row), schema_version=1)

    # ---------------- CDC ----------------
    cdc_start = T0_MS + CDC_START_OFFSET_MS
    duration_ms = opts.cdc_minutes * 60_000
    for flavour in ("mysql", "postgresql"):
        ftables = [t for t in tables if t.flavour == flavour]
        if not ftables:
            continue
        frng = random.Random(f"{opts.seed}/cdc/{flavour}")
        ops = []
        for t in ftables:
            ops.extend([t] * opts.changes_per_table)
        frng.shuffle(ops)
        if not ops:
            continue
        schema_change_at = {t.object: int(opts.changes_per_table * 0.6) for t in ftables}
        done = {t.object: 0 for t in ftables}
        n_ops = len(ops)
        # event positions: one increment per op (a PK change's two halves share one)
        if flavour == "mysql":
            half = n_ops // 2
            pos_incs = [frng.randint(180, 900) for _ in range(n_ops)]
            # file 000001 starts so that positions cross 2^31 a quarter of the way in
            q = max(0, half // 2)
            pos = 2**31 - sum(pos_incs[:q]) - 1 if half > 0 else 4
            pos = max(pos, 4)
            binlog = 1
        else:
            lsn_incs = [frng.randint(40, 400) for _ in range(n_ops)]
            h = n_ops // 2
            lsn = (0x10 << 32) - sum(lsn_incs[:h])  # crosses F/FFFFFFFF -> 10/0 halfway
            tx_id = 363_000 + frng.randint(0, 9999)
        mean_step = duration_ms / max(1, n_ops)
        clock = float(cdc_start)
        last_read = cdc_start
        i = 0
        while i < n_ops:
            txn = min(n_ops - i, frng.choice((1, 1, 1, 2, 3)))
            clock += frng.expovariate(1.0 / (mean_step * txn)) if mean_step > 0 else 0
            commit_ms = int(clock)
            if flavour == "mysql":
                commit_ms -= commit_ms % 1000  # binlog timestamps have 1 s resolution
            else:
                tx_id += frng.randint(1, 4)
            for j in range(txn):
                t = ops[i + j]
                st = states[t.object]
                if done[t.object] == schema_change_at[t.object]:
                    st.version = 2
                done[t.object] += 1
                if flavour == "mysql":
                    if i + j == n_ops // 2 and i + j > 0:
                        binlog += 1  # rotation: positions restart
                        pos = 235
                    else:
                        pos += pos_incs[i + j]
                    meta = dict(log_file=f"mysql-bin.{binlog:06d}", log_position=pos)
                    sk_tail = [meta["log_file"], pos]
                else:
                    lsn += lsn_incs[i + j]
                    meta = dict(lsn=fmt_lsn(lsn), tx_id=tx_id)
                    sk_tail = [meta["lsn"]]
                # Datastream's reader lags the source by a varying amount but reads in order
                read_ms = max(last_read + frng.randint(0, 3), commit_ms + frng.randint(200, 8_000))
                last_read = read_ms
                common = dict(read_method=t.cdc_rm, source_timestamp_ms=commit_ms,
                              read_timestamp_ms=read_ms, sort_keys=[commit_ms] + sk_tail,
                              schema_version=st.version, **meta)
                r = frng.random()
                k = st.pick_live()
                if k is None or r < 0.30:
                    row = st.insert()
                    emit(t, change_type="INSERT", is_deleted=False, payload=dict(row), **common)
                elif r < 0.75:
                    row = st.update(k)
                    emit(t, change_type="UPDATE-INSERT" if flavour == "mysql" else "UPDATE",
                         is_deleted=False, payload=dict(row), **common)
                elif r < 0.92:
                    row = st.delete(k)
                    emit(t, change_type="DELETE", is_deleted=True,
                         payload=_delete_image(t, row, st.version), **common)
                else:
                    old, new = st.change_pk(k)
                    emit(t, change_type="UPDATE-DELETE", is_deleted=True,
                         payload=_delete_image(t, old, st.version), **common)
                    emit(t, change_type="UPDATE-INSERT", is_deleted=False, payload=dict(new), **common)
            i += txn
    return events, states


def _delete_image(t: Table, row: dict, version: int) -> dict:
    """MySQL deletes carry the whole old row; PostgreSQL (REPLICA IDENTITY
    DEFAULT) only the key columns, the rest NULL."""
    out = dict(row)
    if version == 2 and t.added[0] not in out:
        out[t.added[0]] = None
    if t.flavour == "postgresql":
        for n in out:
            if n not in t.pk:
                out[n] = None
    return out


# ----------------------------------------------------------------------------
# Files
# ----------------------------------------------------------------------------
def _minute(ms: int) -> Tuple[int, ...]:
    d = _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.timezone.utc)
    return (d.year, d.month, d.day, d.hour, d.minute)


def _split(evs: List[dict], parts: int) -> List[List[dict]]:
    """Contiguous chunks; never separate the two halves of a PK change."""
    parts = max(1, min(parts, len(evs)))
    size = math.ceil(len(evs) / parts)
    out, cur = [], []
    for ev in evs:
        if len(cur) >= size and cur[-1]["change_type"] != "UPDATE-DELETE":
            out.append(cur)
            cur = []
        cur.append(ev)
    if cur:
        out.append(cur)
    return out


def plan_files(opts, tables: List[Table], events: Dict[str, List[dict]]) -> List[dict]:
    rng = random.Random(f"{opts.seed}/files")
    files = []
    for t in tables:
        evs = events[t.object]
        seq = {rm: rng.randint(0, 50) for rm in (t.backfill_rm, t.cdc_rm)}
        groups: List[Tuple[str, tuple, int, List[dict]]] = []
        for ev in evs:
            g = (ev["read_method"], _minute(ev["source_timestamp_ms"]), ev["schema_version"])
            if groups and groups[-1][:3] == g:
                groups[-1][3].append(ev)
            else:
                groups.append((g[0], g[1], g[2], [ev]))
        for rm, minute, ver, gevs in groups:
            for chunk in _split(gevs, opts.files_per_minute):
                seq[rm] += rng.randint(1, 40)
                shard = rng.randint(0, 7)
                base = f"{t.schema_key[ver]}_{rm}_{t.task_id[rm]}_{shard}_{seq[rm]}"
                folder = "/".join([t.object, f"{minute[0]:04d}", f"{minute[1]:02d}", f"{minute[2]:02d}",
                                   f"{minute[3]:02d}", f"{minute[4]:02d}"])
                files.append(dict(object=t.object, table=t, read_method=rm, minute=minute,
                                  schema_version=ver, schema_key=t.schema_key[ver], stem=f"{folder}/{base}",
                                  events=chunk))
    # uuids: per-file random prefix + Datastream's binary-looking 8-digit counter
    for f in files:
        for i, ev in enumerate(f["events"]):
            if i % 256 == 0:
                hx = hashlib.sha1(f"{opts.seed}/{f['stem']}/{i // 256}".encode()).hexdigest()
                prefix = f"{hx[0:8]}-{hx[8:12]}-4{hx[13:16]}-{'89ab'[int(hx[16], 16) % 4]}{hx[17:20]}-{hx[20:24]}"
            ev["uuid"] = prefix + format(i % 256, "08b")
            ev["row"] = i
    # arrival order and late files
    newest_minute = {}
    for f in files:
        if "cdc" in f["read_method"]:
            newest_minute[f["object"]] = max(newest_minute.get(f["object"], f["minute"]), f["minute"])
    # late candidates: CDC files of a minute folder older than the table's newest;
    # picked round-robin over the tables so both flavours get some
    per_table: Dict[str, List[int]] = {}
    for i, f in enumerate(files):
        if "cdc" in f["read_method"] and f["minute"] < newest_minute[f["object"]]:
            per_table.setdefault(f["object"], []).append(i)
    for lst in per_table.values():
        rng.shuffle(lst)
    late = set()
    objs = [t.object for t in tables if t.object in per_table]
    while len(late) < opts.late_files and any(per_table.values()):
        for o in objs:
            if per_table[o] and len(late) < opts.late_files:
                late.add(per_table[o].pop())
    on_time = sorted((i for i in range(len(files)) if i not in late),
                     key=lambda i: (max(e["read_timestamp_ms"] for e in files[i]["events"]),
                                    files[i]["object"], files[i]["stem"]))
    order = on_time + sorted(late, key=lambda i: (files[i]["object"], files[i]["stem"]))
    for arrival, i in enumerate(order):
        f = files[i]
        f["arrival"] = arrival
        f["late"] = i in late
        f["phase"] = 2 if i in late else 1
        f["ts_style"] = "T" if (i % 2 == 0) else " "
        for ev in f["events"]:
            ev["arrival"] = arrival
            ev["late"] = f["late"]
            ev["phase"] = f["phase"]
    return files


# ---------------- encoders ----------------
def _fmt_secs(secs: int, style: str) -> str:
    tm = time.gmtime(secs)
    sep = "T" if style == "T" else " "
    return (f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}{sep}"
            f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}")


def _fmt_ms(ms: int, style: str) -> str:
    secs, frac = divmod(ms, 1000)
    return f"{_fmt_secs(secs, style)}.{frac:03d}" + ("Z" if style == "T" else "")


def _fmt_us(us: int, style: str) -> str:
    secs, frac = divmod(us, 1_000_000)
    return f"{_fmt_secs(secs, style)}.{frac:06d}" + ("Z" if style == "T" else "")


def _json_value(kind: str, v, style: str) -> str:
    if v is None:
        return "null"
    if kind in ("int", "bigint", "tinybool"):
        return str(v)
    if kind in ("ubigint", "decimal"):
        return v  # exact number literal
    if kind in ("str", "text", "json"):
        return json.dumps(v, ensure_ascii=False)
    if kind == "bool":
        return "true" if v else "false"
    if kind == "double":
        return repr(float(v))
    if kind in ("datetime", "mdate"):
        return '"' + _fmt_us(v, style) + '"'
    if kind == "pdate":
        return '"' + (_dt.date(1970, 1, 1) + _dt.timedelta(days=v)).isoformat() + '"'
    raise ValueError(kind)


def _source_metadata(t: Table, ev: dict) -> dict:
    if t.flavour == "mysql":
        return {"table": t.table, "database": t.schema, "primary_keys": t.pk,
                "log_file": ev["log_file"], "log_position": ev["log_position"],
                "change_type": ev["change_type"], "is_deleted": ev["is_deleted"]}
    return {"schema": t.schema, "table": t.table, "is_deleted": ev["is_deleted"],
            "change_type": ev["change_type"], "tx_id": ev["tx_id"], "lsn": ev["lsn"],
            "primary_keys": t.pk}


def _avro_bytes(opts, f: dict, stream_name: str) -> bytes:
    import fastavro
    t: Table = f["table"]
    ver = f["schema_version"]
    if ver not in t.parsed:
        t.parsed[ver] = fastavro.parse_schema(t.avro_schema[ver])
    dec_cols = [n for (n, k, _) in t.columns_for(ver) if k == "decimal"]
    recs = []
    for ev in f["events"]:
        p = dict(ev["payload"])
        for n in dec_cols:
            if p.get(n) is not None:
                p[n] = Decimal(p[n])
        recs.append({"uuid": ev["uuid"], "read_timestamp": ev["read_timestamp_ms"],
                     "source_timestamp": ev["source_timestamp_ms"], "object": t.object,
                     "read_method": ev["read_method"], "stream_name": stream_name,
                     "schema_key": f["schema_key"], "sort_keys": ev["sort_keys"],
                     "source_metadata": _source_metadata(t, ev), "payload": p})
    buf = io.BytesIO()
    sync = hashlib.md5(f"{opts.seed}/{f['stem']}".encode()).digest()
    fastavro.writer(buf, t.parsed[ver], recs, codec=opts.codec, sync_marker=sync,
                    sync_interval=opts.avro_sync_interval)
    return buf.getvalue()


def _json_bytes(opts, f: dict, stream_name: str) -> bytes:
    t: Table = f["table"]
    style = f["ts_style"]
    qcols = [(n, k, json.dumps(n) + ":") for (n, k, _) in t.columns_for(f["schema_version"])]
    lines = []
    for ev in f["events"]:
        p = ev["payload"]
        payload = "{" + ",".join(qn + _json_value(k, p.get(n), style) for (n, k, qn) in qcols) + "}"
        head = json.dumps({"uuid": ev["uuid"],
                           "read_timestamp": _fmt_ms(ev["read_timestamp_ms"], style),
                           "source_timestamp": _fmt_ms(ev["source_timestamp_ms"], style),
                           "object": t.object, "read_method": ev["read_method"],
                           "stream_name": stream_name, "schema_key": f["schema_key"],
                           "sort_keys": ev["sort_keys"],
                           "source_metadata": _source_metadata(t, ev)},
                          ensure_ascii=False, separators=(",", ":"))
        lines.append(head[:-1] + ',"payload":' + payload + "}")
    data = ("\n".join(lines) + "\n").encode("utf-8")
    if opts.json_gzip:
        buf = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as gz:
            gz.write(data)
        data = buf.getvalue()
    return data


# ----------------------------------------------------------------------------
# Driver
# ----------------------------------------------------------------------------
def _formats(opts) -> List[str]:
    return ["avro", "json"] if opts.format == "both" else [opts.format]


def _root(opts, fmt: str) -> str:
    return os.path.join(opts.out, fmt) if opts.format == "both" else opts.out


def _rel(opts, fmt: str, stem: str) -> str:
    ext = ".avro" if fmt == "avro" else (".jsonl.gz" if opts.json_gzip else ".jsonl")
    return (f"{fmt}/" if opts.format == "both" else "") + stem + ext


def _options_record(opts) -> dict:
    return {k: getattr(opts, k) for k in ("format", "tables", "rows_per_table", "changes_per_table",
                                          "seed", "files_per_minute", "late_files", "codec",
                                          "json_gzip", "cdc_minutes")}


def check_codec(codec: str) -> None:
    need = {"snappy": ("cramjam", "cramjam"), "zstandard": ("zstandard", "zstandard")}
    if codec in need:
        mod, pkg = need[codec]
        try:
            __import__(mod)
        except ImportError:
            if codec == "snappy":
                try:
                    __import__("snappy")
                    return
                except ImportError:
                    pass
            raise SystemExit(f"codec {codec!r} needs the pip package {pkg!r} in this venv")


def run(opts) -> dict:
    t_start = time.perf_counter()
    if opts.emit_late_only:
        opts.phase = "2"
    if "avro" in _formats(opts):
        check_codec(opts.codec)
    tables = [Table(i, TEMPLATES[i % len(TEMPLATES)], opts.seed) for i in range(opts.tables)]
    events, states = generate_events(opts, tables)
    files = plan_files(opts, tables, events)
    stream_name = f"projects/{100000000000 + opts.seed % 899999999999}/locations/us-central1/streams/sluice-gen-{opts.seed}"

    exp_dir = os.path.join(opts.out, "_expected")
    summary_path = os.path.join(exp_dir, "_summary.json")
    if opts.phase == "2" and os.path.exists(summary_path):
        with open(summary_path) as fh:
            prev = json.load(fh).get("options")
        if prev is not None and prev != _options_record(opts):
            raise SystemExit(f"phase 2 options differ from the first run's: {prev} vs {_options_record(opts)}")

    max_read = max((e["read_timestamp_ms"] for f in files for e in f["events"]), default=T0_MS)
    mtime_base = max_read // 1000 + 60
    written = 0
    file_rows = []
    for f in files:
        for ev in f["events"]:
            ev["files"] = {fmt: _rel(opts, fmt, f["stem"]) for fmt in _formats(opts)}
        for fmt in _formats(opts):
            rel = _rel(opts, fmt, f["stem"])
            file_rows.append({"path": rel, "format": fmt, "object": f["object"],
                              "read_method": f["read_method"],
                              "minute_folder": "/".join(f"{x:02d}" for x in f["minute"]),
                              "schema_version": f["schema_version"], "schema_key": f["schema_key"],
                              "events": len(f["events"]),
                              "first_gen_index": f["events"][0]["gen_index"],
                              "last_gen_index": f["events"][-1]["gen_index"],
                              "arrival": f["arrival"], "late": f["late"], "phase": f["phase"],
                              "timestamp_style": "iso-T-Z" if f["ts_style"] == "T" else "space",
                              "codec": opts.codec if fmt == "avro" else ("gzip" if opts.json_gzip else "none")})
            if opts.phase == "1" and f["late"] or opts.phase == "2" and not f["late"]:
                continue
            data = _avro_bytes(opts, f, stream_name) if fmt == "avro" else _json_bytes(opts, f, stream_name)
            path = os.path.join(opts.out, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as fh:
                fh.write(data)
            os.utime(path, (mtime_base + f["arrival"], mtime_base + f["arrival"]))
            written += 1

    # manifest
    os.makedirs(exp_dir, exist_ok=True)
    table_summ = []
    total = 0
    for t in tables:
        evs = events[t.object]
        total += len(evs)
        with open(os.path.join(exp_dir, t.object + ".jsonl"), "w", encoding="utf-8") as fh:
            for ev in evs:
                rec = {k: v for k, v in ev.items() if k not in ("row",)}
                rec["row"] = ev["row"]
                rec["file"] = ev["files"][_formats(opts)[0]]
                if len(rec["files"]) == 1:
                    del rec["files"]
                rec["cdc_op"] = ("snapshot" if "backfill" in ev["read_method"] else
                                 {"INSERT": "insert", "UPDATE": "update", "UPDATE-INSERT": "update",
                                  "DELETE": "delete", "UPDATE-DELETE": "delete"}[ev["change_type"]])
                if "lsn" in ev and ev["lsn"] is not None:
                    rec["lsn_num"] = reference.parse_lsn(ev["lsn"])
                fh.write(json.dumps(rec, sort_keys=True) + "\n")
        st = states[t.object]
        live = {k: st.rows[k] for k in st.live}
        d = t.describe()
        d.update({"events": len(evs),
                  "backfill_events": sum(1 for e in evs if "backfill" in e["read_method"]),
                  "cdc_events": sum(1 for e in evs if "cdc" in e["read_method"]),
                  "files": sum(1 for f in files if f["object"] == t.object),
                  "late_files": sum(1 for f in files if f["object"] == t.object and f["late"]),
                  "live_rows": len(live), "state_digest": reference.state_digest(live),
                  "change_types": {ct: sum(1 for e in evs if e["change_type"] == ct)
                                   for ct in ("INSERT", "UPDATE", "UPDATE-INSERT", "UPDATE-DELETE", "DELETE")},
                  "binlog_files": sorted({e["log_file"] for e in evs if e.get("log_file")}),
                  "lsn_range": ([min(e["lsn"] for e in evs if e.get("lsn")),
                                 max(e["lsn"] for e in evs if e.get("lsn"))]
                                if any(e.get("lsn") for e in evs) else None)})
        if d["lsn_range"]:
            lsns = [reference.parse_lsn(e["lsn"]) for e in evs if e.get("lsn")]
            d["lsn_range"] = [fmt_lsn(min(lsns)), fmt_lsn(max(lsns))]
        table_summ.append(d)
    with open(os.path.join(exp_dir, "_files.jsonl"), "w") as fh:
        for r in sorted(file_rows, key=lambda r: (r["arrival"], r["format"])):
            fh.write(json.dumps(r) + "\n")
    summary = {"generator": "sluice tools/datastream_gen", "version": GENERATOR_VERSION,
               "options": _options_record(opts), "stream_name": stream_name,
               "formats": _formats(opts), "total_events": total,
               "total_files": len(files) * len(_formats(opts)),
               "late_files": sum(1 for f in files if f["late"]) * len(_formats(opts)),
               "tables": table_summ}
    with open(summary_path, "w") as fh:
        json.dump(summary, fh, indent=1, ensure_ascii=False)
    summary["_written_files"] = written
    summary["_seconds"] = time.perf_counter() - t_start
    return summary


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="output directory (the bucket root)")
    p.add_argument("--format", choices=("avro", "json", "both"), default="avro",
                   help="both: DIR/avro/... and DIR/json/... with the same events")
    p.add_argument("--tables", type=int, default=4, help="tables; alternately MySQL and PostgreSQL")
    p.add_argument("--rows-per-table", type=int, default=200, help="backfill rows per table")
    p.add_argument("--changes-per-table", type=int, default=500,
                   help="CDC operations per table (a PK change is one operation, two events)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--files-per-minute", type=int, default=2,
                   help="files per table, read method, minute folder and schema version")
    p.add_argument("--late-files", type=int, default=2,
                   help="CDC files that arrive after newer minute folders exist")
    p.add_argument("--codec", choices=("null", "deflate", "snappy", "zstandard"), default="null")
    p.add_argument("--json-gzip", action="store_true", help="write .jsonl.gz")
    p.add_argument("--avro-sync-interval", type=int, default=16000,
                   help="Avro block size in bytes (smaller: more blocks a file)")
    p.add_argument("--cdc-minutes", type=int, default=6, help="length of the CDC window")
    p.add_argument("--phase", choices=("all", "1", "2"), default="all",
                   help="1: all files except late ones; 2: only the late ones; all: both")
    p.add_argument("--emit-late-only", action="store_true", help="same as --phase 2")
    p.add_argument("--quiet", action="store_true")
    return p


def main(argv=None) -> int:
    opts = build_parser().parse_args(argv)
    s = run(opts)
    if not opts.quiet:
        print(f"wrote {s['_written_files']} files, {s['total_events']} events "
              f"({len(s['tables'])} tables) in {s['_seconds']:.2f}s -> {opts.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
