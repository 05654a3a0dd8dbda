#!/usr/bin/env python3
"""Random Avro files for the differential test of Sluice's Avro reader.

Writes N files OUTDIR/rand_NNNN.avro, each with a random schema (every
primitive and logical type, enums, fixed, arrays, maps, nested and recursive
records, nullable and general unions) and random records, written by fastavro
with a random codec and block size, plus OUTDIR/rand_NNNN.jsonl: the records
as fastavro reads them back, normalized by avro_expected.py.

fastavro writes null and deflate itself; snappy and zstandard files are
transcoded block by block from a null-codec file through the system
libsnappy / libzstd (ctypes), so no extra Python package is needed.

Usage: gen_random_avro.py OUTDIR [N] [SEED]
"""
import ctypes
import datetime
import decimal
import io
import json
import os
import random
import string
import struct
import sys
import uuid
import zlib

import fastavro

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import avro_expected  # noqa: E402

UTC = datetime.timezone.utc


class SchemaGen:
    def __init__(self, rng):
        self.rng = rng
        self.count = 0
        self.named = []  # completed named types, reusable by reference

    def name(self, prefix):
        self.count += 1
        return f"{prefix}{self.count}"

    def leaf(self):
        r = self.rng
        choice = r.choice([
            "null", "boolean", "int", "long", "float", "double", "bytes", "string",
            "date", "time-millis", "time-micros", "timestamp-millis", "timestamp-micros",
            "local-timestamp-millis", "local-timestamp-micros", "timestamp-nanos",
            "uuid", "number", "decimal-bytes", "decimal-fixed", "enum", "fixed",
            "unknown-logical"])
        if choice in ("null", "boolean", "int", "long", "float", "double", "bytes", "string"):
            return choice
        if choice in ("date", "time-millis"):
            return {"type": "int", "logicalType": choice}
        if choice in ("uuid", "number"):
            return {"type": "string", "logicalType": choice}
        if choice == "unknown-logical":
            return {"type": r.choice(["string", "long"]), "logicalType": "x-custom"}
        if choice.startswith("decimal"):
            p = r.choice([1, 5, 10, 18, 19, 38, 39, 60, 76])
            s = r.randint(0, p)
            if choice == "decimal-bytes":
                return {"type": "bytes", "logicalType": "decimal", "precision": p, "scale": s}
            size = 1
            while 2 ** (8 * size - 1) - 1 < 10 ** p:
                size += 1
            return {"type": "fixed", "name": self.name("D"), "size": size + r.randint(0, 2),
                    "logicalType": "decimal", "precision": p, "scale": s}
        if choice == "enum":
            n = r.randint(1, 5)
            return {"type": "enum", "name": self.name("E"), "symbols": [f"S{i}" for i in range(n)]}
        if choice == "fixed":
            return {"type": "fixed", "name": self.name("F"), "size": r.randint(0, 20)}
        return {"type": "long", "logicalType": choice}

    def type(self, depth):
        r = self.rng
        x = r.random()
        if depth <= 0 or x < 0.35:
            t = self.leaf()
        elif x < 0.45:
            t = {"type": "array", "items": self.type(depth - 1)}
        elif x < 0.52:
            t = {"type": "map", "values": self.type(depth - 1)}
        elif x < 0.65:
            t = self.record(depth - 1)
        elif x < 0.80:
            inner = self.type(depth - 1)
            if isinstance(inner, list) or inner == "null":
                return inner
            t = ["null", inner] if r.random() < 0.7 else [inner, "null"]
        elif x < 0.90:
            t = self.union(depth - 1)
        elif x < 0.95 and self.named:
            return r.choice(self.named)["name"]
        else:
            t = self.recursive()
        if isinstance(t, dict) and t.get("type") in ("record", "enum", "fixed"):
            self.named.append(t)
        return t

    def record(self, depth):
        fields = [{"name": f"f{i}", "type": self.type(depth)} for i in range(self.rng.randint(0, 5))]
        return {"type": "record", "name": self.name("R"), "fields": fields}

    def recursive(self):
        name = self.name("Node")
        return {"type": "record", "name": name, "fields": [
            {"name": "value", "type": ["null", self.rng.choice(["int", "string", "double"])]},
            {"name": "children", "type": ["null", {"type": "array", "items": name}]}]}

    def union(self, depth):
        # Members must be told apart by the Python type fastavro returns.
        menu = [("null", "null"), ("boolean", "boolean"), ("int", "int"), ("long", "int"),
                ("float", "float"), ("double", "float"), ("string", "str"), ("bytes", "bytes"),
                ({"type": "long", "logicalType": "timestamp-micros"}, "datetime"),
                ({"type": "int", "logicalType": "date"}, "datetime"),
                ({"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}, "decimal")]
        r = self.rng
        r.shuffle(menu)
        members, used_types, used_cats = [], set(), set()
        for t, cat in menu[: r.randint(2, 5)]:
            base = t if isinstance(t, str) else t["type"]
            if base in used_types or cat in used_cats:
                continue
            used_types.add(base)
            used_cats.add(cat)
            members.append(t)
        if r.random() < 0.5 and "array" not in used_types:
            members.append({"type": "array", "items": self.type(depth)})
        for _ in range(r.randint(0, 2)):
            members.append(self.record(depth))
            self.named.append(members[-1])
        if len(members) < 2:
            members.append(self.record(depth))
            self.named.append(members[-1])
        # fastavro tries branches in order and some logical-type validators
        # raise on foreign values: plain types first.
        members.sort(key=lambda m: isinstance(m, dict) and "logicalType" in m)
        return members


class ValueGen:
    def __init__(self, rng, named):
        self.rng = rng
        self.named = {t["name"]: t for t in named}

    def text(self):
        alphabet = string.ascii_letters + "é€😀\"\\\n\t "
        return "".join(self.rng.choice(alphabet) for _ in range(self.rng.randint(0, 12)))

    def value(self, s, depth=0):
        r = self.rng
        if isinstance(s, str):
            s = self.named.get(s, s)
        if isinstance(s, list):
            branch = r.choice(s)
            v = self.value(branch, depth)
            b = self.named.get(branch, branch) if isinstance(branch, str) else branch
            if isinstance(b, dict) and b.get("type") == "record":
                return (b["name"], v)  # fastavro's explicit-branch notation
            return v
        t = s if isinstance(s, str) else s["type"]
        lt = s.get("logicalType") if isinstance(s, dict) else None
        if lt == "decimal":
            p, sc = s["precision"], s.get("scale", 0)
            unscaled = r.choice([0, 1, -1, 10 ** p - 1, -(10 ** p - 1), r.randint(-(10 ** p - 1), 10 ** p - 1)])
            return decimal.Decimal(unscaled).scaleb(-sc, decimal.Context(prec=100))
        if lt == "date":
            return datetime.date(1970, 1, 1) + datetime.timedelta(days=r.randint(-719162, 2932896))
        if lt in ("time-millis", "time-micros"):
            us = r.randint(0, 86400 * 10 ** 6 - 1)
            if lt == "time-millis":
                us -= us % 1000
            return (datetime.datetime.min + datetime.timedelta(microseconds=us)).time()
        if lt in ("timestamp-millis", "timestamp-micros", "local-timestamp-millis", "local-timestamp-micros"):
            us = r.randint(-62135596800 * 10 ** 6, 253402300799 * 10 ** 6)
            if "millis" in lt:
                us -= us % 1000
            dt = datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=us)
            return dt if lt.startswith("local") else dt.replace(tzinfo=UTC)
        if lt == "uuid":
            return uuid.UUID(int=r.getrandbits(128), version=4)
        if lt == "number":
            return str(r.randint(-(10 ** 38 - 1), 10 ** 38 - 1) // (10 ** r.randint(0, 37)))
        if t == "null":
            return None
        if t == "boolean":
            return r.random() < 0.5
        if t == "int":
            return r.choice([0, -1, 1, 2 ** 31 - 1, -(2 ** 31), r.randint(-(2 ** 31), 2 ** 31 - 1)])
        if t == "long":
            return r.choice([0, -1, 2 ** 63 - 1, -(2 ** 63), r.randint(-(2 ** 63), 2 ** 63 - 1), r.randint(-1000, 1000)])
        if t in ("float", "double"):
            return r.choice([0.0, -0.0, 1.5, float("nan"), float("inf"), float("-inf"), r.uniform(-1e30, 1e30), r.random()])
        if t == "bytes":
            return bytes(r.getrandbits(8) for _ in range(r.randint(0, 10)))
        if t == "string":
            return self.text()
        if t == "fixed":
            return bytes(r.getrandbits(8) for _ in range(s["size"]))
        if t == "enum":
            return r.choice(s["symbols"])
        if t == "array":
            n = r.choice([0, 1, 2, 3, 5]) if depth < 6 else 0
            return [self.value(s["items"], depth + 1) for _ in range(n)]
        if t == "map":
            n = r.choice([0, 1, 2, 4]) if depth < 6 else 0
            return {f"k{i}{self.text()}": self.value(s["values"], depth + 1) for i in range(n)}
        if t == "record":
            return {f["name"]: self.value(f["type"], depth + 1) for f in s["fields"]}
        raise ValueError(s)


def encode_long(n):
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n & ~0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def decode_long(buf, pos):
    shift = result = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return (result >> 1) ^ -(result & 1), pos


_snappy = ctypes.CDLL("libsnappy.so.1")
_zstd = ctypes.CDLL("libzstd.so.1")
_zstd.ZSTD_compressBound.restype = ctypes.c_size_t
_zstd.ZSTD_compress.restype = ctypes.c_size_t


def snappy_block(data):
    out_len = ctypes.c_size_t(32 + len(data) + len(data) // 6)
    out = ctypes.create_string_buffer(out_len.value)
    assert _snappy.snappy_compress(data, ctypes.c_size_t(len(data)), out, ctypes.byref(out_len)) == 0
    return out.raw[: out_len.value] + struct.pack(">I", zlib.crc32(data) & 0xFFFFFFFF)


def zstd_block(data):
    bound = _zstd.ZSTD_compressBound(ctypes.c_size_t(len(data)))
    out = ctypes.create_string_buffer(bound)
    n = _zstd.ZSTD_compress(out, ctypes.c_size_t(bound), data, ctypes.c_size_t(len(data)), 3)
    return out.raw[:n]


def transcode(null_file, codec):
    """Re-encodes a null-codec container file with `codec`, block by block."""
    buf = null_file
    pos = 4
    meta = {}
    while True:
        count, pos = decode_long(buf, pos)
        if count == 0:
            break
        if count < 0:
            count = -count
            _, pos = decode_long(buf, pos)
        for _ in range(count):
            klen, pos = decode_long(buf, pos)
            key = buf[pos: pos + klen].decode()
            pos += klen
            vlen, pos = decode_long(buf, pos)
            meta[key] = buf[pos: pos + vlen]
            pos += vlen
    sync = buf[pos: pos + 16]
    pos += 16
    meta["avro.codec"] = codec.encode()
    out = bytearray(b"Obj\x01")
    out += encode_long(len(meta))
    for k, v in meta.items():
        out += encode_long(len(k)) + k.encode() + encode_long(len(v)) + v
    out += encode_long(0) + sync
    compress = snappy_block if codec == "snappy" else zstd_block
    while pos < len(buf):
        count, pos = decode_long(buf, pos)
        size, pos = decode_long(buf, pos)
        data = compress(bytes(buf[pos: pos + size]))
        pos += size + 16
        out += encode_long(count) + encode_long(len(data)) + data + sync
    return bytes(out)


def main():
    outdir = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    os.makedirs(outdir, exist_ok=True)
    rng = random.Random(seed)
    for i in range(n):
        sg = SchemaGen(rng)
        schema = sg.record(rng.randint(1, 4))
        schema["fields"].append({"name": "id", "type": "long"})
        vg = ValueGen(rng, sg.named)
        records = [vg.value(schema) for _ in range(rng.choice([0, 1, 5, 20, 40]))]
        for j, rec in enumerate(records):
            rec["id"] = j
        codec = rng.choice(["null", "deflate", "snappy", "zstandard"])
        raw = io.BytesIO()
        try:
            fastavro.writer(raw, fastavro.parse_schema(schema), records,
                            codec="deflate" if codec == "deflate" else "null",
                            sync_interval=rng.choice([1, 64, 1000, 16000]))
        except (ValueError, TypeError) as e:  # a fastavro writer quirk: skip this one
            print(f"skipped schema {i}: {e}", file=sys.stderr)
            continue
        data = raw.getvalue()
        if codec in ("snappy", "zstandard"):
            data = transcode(data, codec)
        base = os.path.join(outdir, f"rand_{i:04d}")
        with open(base + ".avro", "wb") as f:
            f.write(data)
        with open(base + ".jsonl", "w") as f:
            for row in avro_expected.expected_rows(base + ".avro" if codec in ("null", "deflate") else _null_copy(raw, base)):
                f.write(json.dumps(row, allow_nan=False) + "\n")


def _null_copy(raw, base):
    # fastavro cannot read snappy/zstandard without extra packages: read the
    # null-codec original (same records) instead.
    path = base + ".orig"
    with open(path, "wb") as f:
        f.write(raw.getvalue())
    return path


if __name__ == "__main__":
    main()
