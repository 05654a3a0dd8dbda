"""The test broker itself: it starts, and messages go through it with keys,
headers, tombstones and partitions intact (what the Debezium source reads)."""
from __future__ import annotations

import uuid

from confluent_wire import avro_encode, frame_id, header_guid

SCHEMA = {"type": "record", "name": "Value", "namespace": "dbserver1.inventory.customers",
          "fields": [{"name": "id", "type": "int"}, {"name": "email", "type": "string"}]}


def test_produce_and_consume_round_trip(kafka):
    topic = f"smoke-{uuid.uuid4().hex[:8]}"
    kafka.create_topic(topic, partitions=1)
    value = frame_id(7, avro_encode(SCHEMA, {"id": 1, "email": "a@example.com"}))
    guid = uuid.uuid4()
    kafka.produce(topic, [
        (b'{"id":1}', value),
        (b'{"id":1}', None),  # a Kafka tombstone after a delete
        (b'{"id":2}', b"payload", [("__value_schema_id", header_guid(guid))]),
    ])
    got = kafka.consume(topic, 3)
    assert [m.offset() for m in got] == [0, 1, 2]
    assert got[0].key() == b'{"id":1}' and got[0].value() == value
    assert got[1].value() is None
    assert got[2].headers() == [("__value_schema_id", b"\x01" + guid.bytes)]


def test_partitions_keep_their_own_offsets(kafka):
    topic = f"parts-{uuid.uuid4().hex[:8]}"
    kafka.create_topic(topic, partitions=3)
    for p in range(3):
        kafka.produce(topic, [(b"k", f"{p}-{i}".encode()) for i in range(p + 1)], partition=p)
    got = kafka.consume(topic, 6)
    by_partition = {}
    for m in got:
        by_partition.setdefault(m.partition(), []).append((m.offset(), m.value()))
    assert by_partition == {
        0: [(0, b"0-0")],
        1: [(0, b"1-0"), (1, b"1-1")],
        2: [(0, b"2-0"), (1, b"2-1"), (2, b"2-2")],
    }
