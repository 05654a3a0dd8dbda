#!/usr/bin/env python3
"""Writes unified_types_expected.json: the payload of every Datastream Avro
fixture as fastavro decodes it, after the conversions documented in
docs/datastream.md ("Types"), in the form unified_types_test.cc renders
Arrow values:

  null / bool / int / float   as JSON
  decimal                     its exact text ("11.22")
  string                      as is
  bytes                       "hex:" + lowercase hex
  timestamp                   integer microseconds since the epoch (UTC)
  date                        integer days since the epoch
  time of day                 "[-]HH:MM:SS[.ffffff]"
  timestampTz record          its `timestamp` (already the instant), offset dropped
  varchar record              its `value`
  multidimensionalArray       list of the elements' `elementValue`
  other records / arrays      objects / lists of the above

Usage: .venv/bin/python tests/data/sources/gen_unified_types_expected.py
(reads $SLUICE_FIXTURES_DIR or ../shared/fixtures next to the repository).
"""
import datetime
import decimal
import glob
import json
import os
import sys

import fastavro

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
ONE_US = datetime.timedelta(microseconds=1)


def clock(t):
    text = f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
    return text + (f".{t.microsecond:06d}" if t.microsecond else "")


def convert(v):
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, bytes):
        return "hex:" + v.hex()
    if isinstance(v, datetime.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=datetime.timezone.utc)
        return (v - EPOCH) // ONE_US  # integer arithmetic, exact
    if isinstance(v, datetime.date):
        return (v - datetime.date(1970, 1, 1)).days
    if isinstance(v, datetime.time):
        return clock(v)
    if isinstance(v, list):
        return [convert(x) for x in v]
    if isinstance(v, dict):
        keys = set(v)
        if keys == {"timestamp", "offset"}:
            return convert(v["timestamp"])
        if keys == {"value", "length"}:
            return v["value"]
        if keys == {"nestedArray", "elementValue"}:
            if v["nestedArray"] is None:
                raise ValueError("array without nestedArray")
            out = []
            for e in v["nestedArray"]:
                if e is not None and e.get("nestedArray") is not None:
                    raise ValueError("multi-dimensional array in a fixture")
                out.append(None if e is None else convert(e["elementValue"]))
            return out
        return {k: convert(x) for k, x in v.items()}
    raise TypeError(f"unexpected value {v!r}")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    fixtures = os.environ.get("SLUICE_FIXTURES_DIR") or os.path.join(
        here, "..", "..", "..", "..", "shared", "fixtures")
    out = {}
    for path in sorted(glob.glob(os.path.join(fixtures, "datastream", "avro", "*.avro"))):
        with open(path, "rb") as f:
            out[os.path.basename(path)] = [
                {k: convert(x) for k, x in rec["payload"].items()} for rec in fastavro.reader(f)]
    if not out:
        sys.exit(f"no fixtures under {fixtures}")
    with open(os.path.join(here, "unified_types_expected.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
