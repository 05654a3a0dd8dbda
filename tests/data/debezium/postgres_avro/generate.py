#!/usr/bin/env python3
"""The real Debezium events of ../postgres_json/ re-encoded as Confluent's
AvroConverter would have written them (tests/kafka/avro_reencode.py), for
the Avro reader's unit test (tests/unit/formats/debezium_avro_record_test.cc),
which checks that both readers give the same batches.

Writes, next to this script: <event>.bin (the framed message: magic 0 + the
schema id + Avro binary) for each <event>.json, the same in types/ for
../postgres_types_json/ (many PostgreSQL types, a column added mid-stream),
and schemas/<id>.avsc (the registered Avro schema text; ids as the test
registry assigns them).
Also the seeds of the debezium_avro_fuzz target (fuzz/debezium_avro_fuzz.cc
has their layout) in tests/data/fuzz/debezium_avro/.

    .venv/bin/python tests/data/debezium/postgres_avro/generate.py
"""
import os
import pathlib
import struct
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2] / "kafka"))

import confluent_wire  # noqa: E402
from avro_reencode import Reencoder  # noqa: E402
from schema_registry import Registry  # noqa: E402


def reencode(registry: Registry, source: pathlib.Path, target: pathlib.Path, topic: str) -> None:
    reencoder = Reencoder(registry)
    target.mkdir(exist_ok=True)
    for path in sorted(source.glob("*.json")):
        framed = reencoder.convert(path.read_bytes(), topic, is_key=path.name.endswith(".key.json"))
        out = target / (path.name[: -len(".json")] + ".bin")
        if framed is None:
            if out.exists():
                os.remove(out)
            continue
        out.write_bytes(framed)


def main() -> None:
    registry = Registry()
    data = HERE.parent
    reencode(registry, data / "postgres_json", HERE, "dbserver1.inv.customers")
    # Many PostgreSQL types and a column added mid-stream, from
    # tests/kafka/test_avro_reencode_live.py.
    reencode(registry, data / "postgres_types_json", HERE / "types", "dbserver1.inv.types")
    (HERE / "schemas").mkdir(exist_ok=True)
    for schema in registry.schemas.values():
        (HERE / "schemas" / f"{schema.id}.avsc").write_text(schema.schema)
    write_fuzz_seeds(registry)


def _message(payload: bytes, kind: int = 0) -> bytes:
    return bytes([kind]) + struct.pack(">H", len(payload)) + payload


def write_fuzz_seeds(registry: Registry) -> None:
    seeds = HERE.parents[1] / "fuzz" / "debezium_avro"
    seeds.mkdir(parents=True, exist_ok=True)
    for name, folder in (("real", HERE), ("types", HERE / "types")):
        for side in ("value", "key"):
            framed = [p.read_bytes() for p in sorted(folder.glob(f"*.{side}.bin"))]
            schema_id = int.from_bytes(framed[0][1:5], "big")
            schema = registry.schemas[schema_id].schema.encode()
            # As id 9 (the input's own schema), with a tombstone, and once with
            # the id in a header (kind 2 | 9 << 2) and the payload alone.
            body = b"".join(_message(confluent_wire.frame_id(9, m[5:])) for m in framed)
            body += _message(b"", 1) + _message(framed[0][5:], 2 | (9 << 2))
            (seeds / f"{name}_{side}.bin").write_bytes(schema + b"\0" + body)


if __name__ == "__main__":
    main()
