"""avro_reencode.py turns JsonConverter messages into what AvroConverter
would have written: the schema mapping, the registered id in the framing,
and a payload that reads back (fastavro) as the same values."""
from __future__ import annotations

import base64
import io
import json
import struct
import uuid
from pathlib import Path

import fastavro
import pytest
import requests

from avro_reencode import Reencoder, avro_datum, avro_schema, encode
from schema_registry import Registry

EVENTS = Path(__file__).resolve().parents[1] / "data" / "debezium" / "postgres_json"


def _read_back(schema: dict, payload: bytes):
    return fastavro.schemaless_reader(io.BytesIO(payload), fastavro.parse_schema(schema))


def test_real_event_schema_follows_avroconverter():
    doc = json.loads((EVENTS / "2-u.value.json").read_text())
    s = avro_schema(doc["schema"])
    assert s["type"] == "record" and s["name"] == "Envelope"
    assert s["namespace"] == "dbserver1.inv.customers"
    assert s["connect.name"] == "dbserver1.inv.customers.Envelope"
    assert s["connect.version"] == 2
    fields = {f["name"]: f for f in s["fields"]}
    before, after = fields["before"]["type"], fields["after"]["type"]
    assert before[0] == "null" and before[1]["name"] == "Value"
    # A record name is defined once; its second use is a reference.
    assert after == ["null", "dbserver1.inv.customers.Value"]
    value = {f["name"]: f for f in before[1]["fields"]}
    assert value["id"] == {"name": "id", "type": {"type": "int", "connect.default": 0},
                           "default": 0}
    price = value["price"]["type"][1]
    assert price["logicalType"] == "decimal" and (price["precision"], price["scale"]) == (10, 2)
    assert price["connect.parameters"] == {"scale": "2", "connect.decimal.precision": "10"}
    assert price["connect.name"] == "org.apache.kafka.connect.data.Decimal"
    assert value["created"]["type"][1] == {"type": "long", "connect.version": 1,
                                           "connect.name": "io.debezium.time.MicroTimestamp"}
    # Optional with a non-null default: [T, null], the default kept.
    source = {f["name"]: f for f in fields["source"]["type"]["fields"]}
    snapshot = source["snapshot"]
    assert snapshot["type"][1] == "null" and snapshot["default"] == "false"
    assert snapshot["type"][0]["connect.default"] == "false"
    assert snapshot["type"][0]["connect.name"] == "io.debezium.data.Enum"


def test_real_events_framed_registered_and_read_back(registry):
    reencoder = Reencoder(registry)
    for path in sorted(EVENTS.glob("*.value.json")):
        doc = json.loads(path.read_text())
        framed = reencoder.convert(path.read_bytes(), "dbserver1.inv.customers")
        magic, schema_id = struct.unpack(">bI", framed[:5])
        assert magic == 0
        # The id is the registry's: served over its REST API.
        got = requests.get(f"{registry.url}/schemas/ids/{schema_id}", timeout=5).json()
        schema = json.loads(got["schema"])
        assert schema == avro_schema(doc["schema"])
        back = _read_back(schema, framed[5:])
        assert back["op"] == doc["payload"]["op"]
        assert back["source"] == doc["payload"]["source"]
        image = doc["payload"]["after"] or doc["payload"]["before"]
        row = back["after"] or back["before"]
        assert row["id"] == image["id"]
        if image.get("blob") is not None:
            assert row["blob"] == base64.b64decode(image["blob"])
        if image.get("price") is not None:
            # fastavro reads the decimal logical type: the exact value.
            unscaled = int.from_bytes(base64.b64decode(image["price"]), "big", signed=True)
            assert row["price"].scaleb(2) == unscaled
    # One schema for all four events, under the TopicNameStrategy subject.
    subjects = requests.get(f"{registry.url}/subjects", timeout=5).json()
    assert subjects == ["dbserver1.inv.customers-value"]


def test_tombstones_keys_and_guid_framing():
    registry = Registry()
    reencoder = Reencoder(registry, framing="guid")
    assert reencoder.convert(None, "t") is None
    assert reencoder.convert(b'{"schema": null, "payload": null}', "t") is None
    key = (EVENTS / "3-d.key.json").read_bytes()
    framed = reencoder.convert(key, "t", is_key=True)
    assert framed[0] == 1
    schema = registry.version("t-key", "latest")[1]
    assert framed[1:17] == uuid.UUID(schema.guid).bytes
    assert _read_back(json.loads(schema.schema), framed[17:]) == {"id": 2}
    with pytest.raises(ValueError):
        reencoder.convert(b'{"id": 1}', "t")


def test_connect_types_without_a_native_avro_form():
    s = {"type": "struct", "name": "x.V", "optional": False, "fields": [
        {"field": "small", "type": "int16", "optional": False},
        {"field": "m", "type": "map", "optional": False,
         "keys": {"type": "int32", "optional": False},
         "values": {"type": "string", "optional": True}},
        {"field": "sm", "type": "map", "optional": True,
         "keys": {"type": "string", "optional": False},
         "values": {"type": "double", "optional": False}},
        {"field": "d", "type": "int32", "optional": False,
         "name": "org.apache.kafka.connect.data.Date", "version": 1},
        {"field": "big", "type": "bytes", "optional": False,
         "name": "org.apache.kafka.connect.data.Decimal", "parameters": {"scale": "1"}},
        {"field": "nested", "type": "struct", "optional": True, "fields": [
            {"field": "f", "type": "float", "optional": False}]},
    ]}
    a = avro_schema(s)
    fields = {f["name"]: f["type"] for f in a["fields"]}
    assert fields["small"] == {"type": "int", "connect.type": "int16"}
    entry = fields["m"]["items"]
    assert fields["m"]["type"] == "array" and entry["name"] == "MapEntry"
    assert entry["namespace"] == "io.confluent.connect.avro"
    assert [f["name"] for f in entry["fields"]] == ["key", "value"]
    assert fields["sm"] == ["null", {"type": "map", "values": "double"}]
    assert fields["d"]["logicalType"] == "date"
    assert fields["big"]["precision"] == 64  # AvroConverter's default
    assert fields["nested"][1]["name"] == "ConnectDefault"
    assert fields["nested"][1]["namespace"] == "io.confluent.connect.avro"
    payload = {"small": 7, "m": [[1, "one"], [2, None]], "sm": {"a": 1.5}, "d": 19000,
               "big": 12.5, "nested": {"f": 0.5}}
    back = _read_back(a, encode(a, avro_datum(s, payload)))
    assert back["m"] == [{"key": 1, "value": "one"}, {"key": 2, "value": None}]
    assert back["sm"] == {"a": 1.5}
    assert str(back["big"]) == "12.5"  # a NUMERIC decimal becomes its unscaled bytes
