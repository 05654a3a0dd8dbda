#!/usr/bin/env python3
"""What Sluice's Datastream JSON reader must produce, according to Python's
json module (numbers parsed as Decimal, so nothing goes through a double).

Reads the given files together (a JSON array of events, or NDJSON, either
possibly gzip-compressed), infers column types by the rules of
src/sluice/formats/json/type_inference.h (re-implemented here independently)
and writes:
  line 1: {"schema": {column: pyarrow type string}}
  then one JSON line per event, in the shape tests/unit/formats/arrow_json.h
  renders Arrow values in:
    timestamps -> microseconds since the epoch
    decimal128(p,s) -> the unscaled integer as a string
    columns of mixed JSON types -> {"$json": value} (the C++ side parses the
    string it got); Decimals inside become floats
    sort_keys -> [{"string": s|null, "long": n|null}, ...]
Lines that are not valid JSON are skipped (the C++ side reports them).

Usage: json_expected.py OUT.jsonl FILE...
"""
import datetime
import decimal
import gzip
import json
import sys

import pyarrow as pa

decimal.getcontext().prec = 200
FIXED = ["uuid", "read_timestamp", "source_timestamp", "object", "read_method",
         "stream_name", "schema_key", "sort_keys", "source_metadata", "payload"]
TS = pa.timestamp("us", tz="UTC")
SORT_KEY = pa.struct([("string", pa.string()), ("long", pa.int64())])
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
MAX_NESTING = 32
INT64 = (-(1 << 63), (1 << 63) - 1)


def load(path):
    data = open(path, "rb").read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    text = data.decode("utf-8").lstrip("\ufeff")
    loads = lambda s: json.loads(s, parse_float=decimal.Decimal)
    if text.lstrip().startswith("["):
        return loads(text)
    events = []
    for line in text.split("\n"):
        if line.strip():
            try:
                events.append(loads(line))
            except ValueError:
                pass
    return events


class Node:
    """A column's inferred type (see type_inference.h)."""

    def __init__(self):
        self.kind = "null"
        self.fractional = self.overflow = False
        self.int_digits = self.scale = 0
        self.fields = {}  # insertion-ordered
        self.element = None

    def observe(self, v, depth):
        k = kind_of(v)
        if k == "null":
            return
        if k in ("object", "array") and depth >= MAX_NESTING:
            k = "mixed"
        if self.kind == "null":
            self.kind = k
        elif self.kind != k:
            self.kind, self.fields, self.element = "mixed", {}, None
        if self.kind == "number":
            if isinstance(v, int):
                self.overflow |= not (INT64[0] <= v <= INT64[1])
                digits, exp = str(abs(v)).lstrip("0"), 0
            else:
                self.fractional = True
                t = v.as_tuple()
                digits, exp = "".join(map(str, t.digits)).lstrip("0"), t.exponent
            self.int_digits = max(self.int_digits, max(0, len(digits) + exp) if digits else 0)
            self.scale = max(self.scale, max(0, -exp))
        elif self.kind == "object":
            self.observe_object(v, depth)
        elif self.kind == "array":
            if self.element is None:
                self.element = Node()
            for e in v:
                self.element.observe(e, depth + 1)

    def observe_object(self, obj, depth):
        self.kind = "object"
        for key, value in obj.items():
            self.fields.setdefault(key, Node()).observe(value, depth + 1)

    def arrow(self):
        if self.kind == "bool":
            return pa.bool_()
        if self.kind == "number":
            if not self.fractional and not self.overflow:
                return pa.int64()
            p = self.int_digits + self.scale
            if p > 38:
                return pa.float64()
            return pa.decimal128(38, 0) if not self.fractional else pa.decimal128(max(p, 1), self.scale)
        if self.kind == "object":
            return self.struct()
        if self.kind == "array":
            return pa.list_(self.element.arrow())
        if self.kind == "null":
            return pa.null()
        return pa.string()

    def struct(self):
        return pa.struct([(k, n.arrow()) for k, n in self.fields.items()])


def kind_of(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, decimal.Decimal)):
        return "number"
    if isinstance(v, str):
        return "string"
    return "object" if isinstance(v, dict) else "array"


def plain(v):
    """JSON-able value: Decimals as floats."""
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v


def render(v, t):
    if v is None:
        return None
    if pa.types.is_struct(t):
        return {t.field(i).name: render(v.get(t.field(i).name), t.field(i).type)
                for i in range(t.num_fields)}
    if pa.types.is_list(t):
        return [render(e, t.value_type) for e in v]
    if pa.types.is_decimal(t):
        return str(int(decimal.Decimal(v).scaleb(t.scale)))
    if pa.types.is_floating(t):
        return float(v)
    if pa.types.is_string(t) and not isinstance(v, str):
        return {"$json": plain(v)}
    return v


def render_mixed(node, v, t):
    """Like render, but a mixed node's strings are JSON text too."""
    if v is None:
        return None
    if node.kind == "mixed":
        return {"$json": plain(v)}
    if node.kind == "object":
        return {k: render_mixed(n, v.get(k), t.field(k).type) for k, n in node.fields.items()}
    if node.kind == "array":
        return [render_mixed(node.element, e, t.value_type) for e in v]
    return render(v, t)


def timestamp(v):
    if v is None:
        return None
    if isinstance(v, str):
        d = datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
        if d.tzinfo is None:
            d = d.replace(tzinfo=datetime.timezone.utc)
        delta = d - EPOCH
        return (delta.days * 86400 + delta.seconds) * 1000000 + delta.microseconds
    return int(decimal.Decimal(v) * 1000)


def sort_key(k):
    if k is None:
        return None
    if isinstance(k, str):
        return {"string": k, "long": None}
    if isinstance(k, int) and not isinstance(k, bool) and INT64[0] <= k <= INT64[1]:
        return {"string": None, "long": k}
    return {"string": {"$json": plain(k)}, "long": None}


def main():
    out, paths = sys.argv[1], sys.argv[2:]
    events = [e for p in paths for e in load(p) if isinstance(e, dict)]
    meta, payload = Node(), Node()
    for e in events:
        if isinstance(e.get("source_metadata"), dict):
            meta.observe_object(e["source_metadata"], 1)
        if isinstance(e.get("payload"), dict):
            payload.observe_object(e["payload"], 1)
    types = {c: pa.string() for c in FIXED}
    types.update(read_timestamp=TS, source_timestamp=TS, sort_keys=pa.list_(SORT_KEY),
                 source_metadata=meta.struct(), payload=payload.struct())
    with open(out, "w") as f:
        f.write(json.dumps({"schema": {c: str(types[c]) for c in FIXED}}) + "\n")
        for e in events:
            row = {}
            for c in FIXED:
                v = e.get(c)
                if c in ("read_timestamp", "source_timestamp"):
                    row[c] = timestamp(v)
                elif c == "sort_keys":
                    row[c] = None if v is None else [sort_key(k) for k in v]
                elif c in ("source_metadata", "payload"):
                    node = meta if c == "source_metadata" else payload
                    row[c] = None if v is None else render_mixed(node, v, types[c])
                else:
                    row[c] = render(v, pa.string())
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
