#!/usr/bin/env python3
"""What Sluice's Avro reader must produce, according to fastavro.

Reads an Avro object container file with fastavro and writes one JSON line
per record: the record's values normalized to the Arrow mapping of
src/sluice/formats/avro/arrow_mapping.h, in the shape the C++ test renders
Arrow values in (tests/unit/formats/arrow_json.h):
  timestamps -> integer in the Arrow unit (us, or ns for *-nanos)
  date -> days since epoch; time-* -> microseconds since midnight
  decimal -> unscaled integer as a string; bytes/fixed -> lowercase hex
  NaN/+-inf -> "NaN" / "Infinity" / "-Infinity"
  map -> list of [key, value]; [null, T] -> T or null
  other unions -> {member: value or null, ...} (one member set)
  record nested in itself more than MAX_RECURSION times -> {"$json": v},
  where v is the JSON of json_fallback.h (the C++ side parses the string).

Usage: avro_expected.py FILE.avro OUT.jsonl
"""
import datetime
import decimal
import json
import math
import sys
import uuid

import fastavro

MAX_RECURSION = 1
EPOCH = datetime.datetime(1970, 1, 1)
EPOCH_UTC = EPOCH.replace(tzinfo=datetime.timezone.utc)
US = datetime.timedelta(microseconds=1)
PRIMS = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


class Schema:
    """Full names -> definitions of a fastavro-parsed schema."""

    def __init__(self, parsed):
        self.named = {}
        self._collect(parsed)

    def _collect(self, s):
        if isinstance(s, list):
            for b in s:
                self._collect(b)
        elif isinstance(s, dict):
            t = s.get("type")
            if t in ("record", "error", "enum", "fixed"):
                self.named[s["name"]] = s
            if t in ("record", "error"):
                for f in s["fields"]:
                    self._collect(f["type"])
            elif t == "array":
                self._collect(s["items"])
            elif t == "map":
                self._collect(s["values"])
            elif isinstance(t, (dict, list)):
                self._collect(t)

    def resolve(self, s):
        while True:
            if isinstance(s, str) and s not in PRIMS:
                s = self.named[s]
            elif isinstance(s, dict) and isinstance(s.get("type"), (dict, list)):
                s = s["type"]
            elif isinstance(s, dict) and isinstance(s.get("type"), str) and \
                    s["type"] not in PRIMS and s["type"] not in (
                        "record", "error", "enum", "fixed", "array", "map"):
                s = self.named[s["type"]]
            else:
                return s


def type_of(s):
    return s if isinstance(s, str) else s["type"]


def logical_of(s):
    """The logical type our parser accepts (invalid ones are dropped)."""
    if not isinstance(s, dict) or "logicalType" not in s:
        return None
    t, lt = s["type"], s["logicalType"]
    ok = {("int", "date"), ("int", "time-millis"), ("long", "time-micros"),
          ("long", "timestamp-millis"), ("long", "timestamp-micros"),
          ("long", "timestamp-nanos"), ("long", "local-timestamp-millis"),
          ("long", "local-timestamp-micros"), ("long", "local-timestamp-nanos"),
          ("string", "uuid"), ("string", "number"),
          ("bytes", "decimal"), ("fixed", "decimal")}
    return lt if (t, lt) in ok else None


def member_name(sch, s, all_members):
    s = sch.resolve(s)
    t = type_of(s)
    if t in ("record", "error", "enum", "fixed"):
        simple = s["name"].rsplit(".", 1)[-1]
        clash = sum(1 for m in all_members
                    if type_of(sch.resolve(m)) in ("record", "error", "enum", "fixed")
                    and sch.resolve(m)["name"].rsplit(".", 1)[-1] == simple)
        return s["name"] if clash > 1 else simple
    return "record" if t == "error" else t


def category(sch, s):
    s = sch.resolve(s)
    t, lt = type_of(s), logical_of(s)
    if t in ("record", "error", "enum", "fixed"):
        return ("named", s["name"])
    if lt in ("timestamp-millis", "timestamp-micros", "local-timestamp-millis",
              "local-timestamp-micros", "date"):
        return "datetime"
    if lt in ("time-millis", "time-micros"):
        return "time"
    if lt == "decimal":
        return "decimal"
    if lt == "uuid":
        return "uuid"
    return {"int": "int", "long": "int", "float": "float", "double": "float",
            "string": "str", "bytes": "bytes", "boolean": "bool", "null": "null",
            "array": "list", "map": "dict"}[t]


def value_category(v):
    if isinstance(v, tuple):
        return ("named", v[0])
    if v is None:
        return "null"
    for cls, cat in ((bool, "bool"), (int, "int"), (float, "float"), (str, "str"),
                     (bytes, "bytes"), (decimal.Decimal, "decimal"), (uuid.UUID, "uuid"),
                     (datetime.date, "datetime"), (datetime.time, "time"),
                     (list, "list"), (dict, "dict")):
        if isinstance(v, cls):
            return cat
    raise TypeError(f"unexpected value {v!r}")


def pick_branch(sch, branches, v):
    cat = value_category(v)
    for i, b in enumerate(branches):
        if category(sch, b) == cat:
            return i, (v[1] if isinstance(v, tuple) else v)
    raise ValueError(f"no union branch for {v!r} in {branches}")


def fnum(x):
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def micros(v):
    if isinstance(v, datetime.datetime):
        return (v - (EPOCH_UTC if v.tzinfo else EPOCH)) // US
    raise TypeError(v)


def time_us(v):
    return ((v.hour * 60 + v.minute) * 60 + v.second) * 1000000 + v.microsecond


def unscaled(d, scale):
    with decimal.localcontext() as ctx:
        ctx.prec = 200
        return str(int(d.scaleb(scale)))


def norm(sch, s, v, stack):
    s = sch.resolve(s)
    if isinstance(s, list):
        if len(s) == 1:
            return norm(sch, s[0], v[1] if isinstance(v, tuple) else v, stack)
        nulls = [i for i, b in enumerate(s) if sch.resolve(b) == "null"]
        if len(s) == 2 and len(nulls) == 1:
            if v is None:
                return None
            return norm(sch, s[1 - nulls[0]], v[1] if isinstance(v, tuple) else v, stack)
        if v is None:
            return None
        i, inner = pick_branch(sch, s, v)
        out = {member_name(sch, b, s): None for b in s if sch.resolve(b) != "null"}
        out[member_name(sch, s[i], s)] = norm(sch, s[i], inner, stack)
        return out
    t, lt = type_of(s), logical_of(s)
    if t in ("record", "error"):
        if stack.count(s["name"]) > MAX_RECURSION:
            return {"$json": jsonify(sch, s, v)}
        stack.append(s["name"])
        out = {f["name"]: norm(sch, f["type"], v[f["name"]], stack) for f in s["fields"]}
        stack.pop()
        return out
    if t == "array":
        return [norm(sch, s["items"], x, stack) for x in v]
    if t == "map":
        return [[k, norm(sch, s["values"], x, stack)] for k, x in v.items()]
    if lt == "decimal":
        return unscaled(v, s.get("scale", 0))
    if lt in ("timestamp-millis", "timestamp-micros", "local-timestamp-millis",
              "local-timestamp-micros"):
        return micros(v) if isinstance(v, datetime.datetime) else v * (1000 if "millis" in lt else 1)
    if lt == "date":
        return (v - datetime.date(1970, 1, 1)).days
    if lt in ("time-millis", "time-micros"):
        return time_us(v)
    if lt == "number":
        return unscaled(decimal.Decimal(v), 0)
    if t in ("float", "double"):
        return fnum(v)
    if t in ("bytes", "fixed"):
        return v.hex()
    if lt == "uuid":
        return str(v)
    return v


def jsonify(sch, s, v):
    """json_fallback.h: the value with unions unwrapped, logical types raw."""
    s = sch.resolve(s)
    if isinstance(s, list):
        if v is None:
            return None
        i, inner = pick_branch(sch, s, v)
        return jsonify(sch, s[i], inner)
    t, lt = type_of(s), logical_of(s)
    if t in ("record", "error"):
        return {f["name"]: jsonify(sch, f["type"], v[f["name"]]) for f in s["fields"]}
    if t == "array":
        return [jsonify(sch, s["items"], x) for x in v]
    if t == "map":
        return {k: jsonify(sch, s["values"], x) for k, x in v.items()}
    if lt == "decimal":
        return format(v, "f")
    if lt in ("timestamp-millis", "local-timestamp-millis", "timestamp-micros",
              "local-timestamp-micros"):
        us = micros(v) if isinstance(v, datetime.datetime) else v
        return us // 1000 if "millis" in lt else us
    if lt == "date":
        return (v - datetime.date(1970, 1, 1)).days
    if lt == "time-millis":
        return time_us(v) // 1000
    if lt == "time-micros":
        return time_us(v)
    if t in ("float", "double"):
        return fnum(v)
    if t in ("bytes", "fixed"):
        return v.decode("latin-1")
    if lt == "uuid":
        return str(v)
    return v


def expected_rows(path):
    with open(path, "rb") as f:
        reader = fastavro.reader(f, return_named_type=True)
        schema = reader.writer_schema
        sch = Schema(fastavro.parse_schema(schema))
        root = sch.resolve(fastavro.parse_schema(schema))
        for rec in reader:
            if isinstance(root, dict) and type_of(root) in ("record", "error"):
                yield norm(sch, root, rec, [])
            else:
                yield {"value": norm(sch, root, rec, [])}


def main():
    src, dst = sys.argv[1], sys.argv[2]
    with open(dst, "w") as out:
        for row in expected_rows(src):
            out.write(json.dumps(row, allow_nan=False) + "\n")


if __name__ == "__main__":
    main()
