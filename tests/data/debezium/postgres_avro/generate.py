#!/usr/bin/env python3
"""The real Debezium events of ../postgres_json/ re-encoded as Confluent's
AvroConverter would have written them (tests/kafka/avro_reencode.py), for
the Avro reader's unit test (tests/unit/formats/debezium_avro_record_test.cc),
which checks that both readers give the same batches.

Writes, next to this script: <event>.bin (the framed message: magic 0 + the
schema id + Avro binary) for each <event>.json, and schemas/<id>.avsc (the
registered Avro schema text; ids as the test registry assigns them).

    .venv/bin/python tests/data/debezium/postgres_avro/generate.py
"""
import os
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2] / "kafka"))

from avro_reencode import Reencoder  # noqa: E402
from schema_registry import Registry  # noqa: E402


def main() -> None:
    registry = Registry()
    reencoder = Reencoder(registry)
    source = HERE.parent / "postgres_json"
    (HERE / "schemas").mkdir(exist_ok=True)
    for path in sorted(source.glob("*.json")):
        topic = "dbserver1.inv.customers"
        framed = reencoder.convert(path.read_bytes(), topic, is_key=path.name.endswith(".key.json"))
        out = HERE / (path.name[: -len(".json")] + ".bin")
        if framed is None:
            if out.exists():
                os.remove(out)
            continue
        out.write_bytes(framed)
    for schema in registry.schemas.values():
        (HERE / "schemas" / f"{schema.id}.avsc").write_text(schema.schema)


if __name__ == "__main__":
    main()
