"""avro_reencode.py on the running connector's own messages: a table of
many PostgreSQL types (and a column added mid-stream) goes through Debezium
with JsonConverter; every message re-encoded as AvroConverter would write it
reads back (fastavro) as exactly the JSON payload.

With SLUICE_CAPTURE_DEBEZIUM=<dir> the JSON messages are also written there
(<n>-<op>.value.json / .key.json; tombstones skipped), which is how
tests/data/debezium/postgres_types_json/ was made for the C++ readers' test.
"""
from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path

import fastavro
import pytest

from avro_reencode import Reencoder, _strip_logical, avro_schema
from conftest import DEBEZIUM_TABLES
from kafka_connect import DebeziumPostgres
from schema_registry import Registry

# A topic prefix of its own: the broker is shared by the whole session, and
# this module's connector would otherwise add a second snapshot of
# inv.customers to test_debezium.py's topic.
PREFIX = "reencode1"
TOPIC = f"{PREFIX}.inv.types"


@pytest.fixture(scope="module")
def debezium(kafka, postgres, tmp_path_factory):
    postgres.sql(DEBEZIUM_TABLES)
    connect = DebeziumPostgres(tmp_path_factory.mktemp("connect"), kafka.bootstrap, postgres,
                               topic_prefix=PREFIX)
    connect.start()
    try:
        yield connect
    finally:
        connect.stop()

SETUP = """
CREATE TYPE inv.mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE inv.types (
  id int PRIMARY KEY, s smallint, b bigint, r real, d double precision, flag boolean,
  wide numeric(50,5), small numeric(5,2), free numeric, day date, t time, ts timestamp(3),
  tstz timestamptz, span interval, j jsonb, u uuid, raw bytea, nums int[], words text[],
  bits bit(4), pt point, mood inv.mood, ch char(3));
INSERT INTO inv.types VALUES (1, -32768, 9007199254740993, 1.5, -2.25e300, true,
  '123456789012345678901234567890123456789012345.12345', -999.99, '-0.000123', '2024-02-29',
  '23:59:59.999999', '2024-02-29 12:34:56.789', '2024-02-29 12:34:56.789+05:30',
  '1 year 2 months 3 days 04:05:06.7', '{"k": [1, null, "x"]}',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\\x00ff10', '{1,NULL,3}', '{"a b",NULL,"é"}',
  B'1010', '(1.5,-2)', 'happy', 'ab');
INSERT INTO inv.types (id) VALUES (2);
ALTER TABLE inv.types ADD COLUMN extra text;
INSERT INTO inv.types (id, extra, free) VALUES (3, 'new', 'NaN');
UPDATE inv.types SET s = 7, extra = 'upd' WHERE id = 1;
DELETE FROM inv.types WHERE id = 2;
"""


def _as_json(s: dict, v):
    """An Avro value (read without logical types) in JsonConverter's form."""
    if v is None:
        return None
    t = s["type"]
    if t == "struct":
        return {f["field"]: _as_json(f, v.get(f["field"])) for f in s["fields"]}
    if t == "array":
        return [_as_json(s["items"], e) for e in v]
    if t == "map":
        if isinstance(v, dict):
            return {k: _as_json(s["values"], e) for k, e in v.items()}
        return [[_as_json(s["keys"], e["key"]), _as_json(s["values"], e["value"])] for e in v]
    if t == "bytes":
        return base64.b64encode(v).decode()
    return v


def test_live_messages_reencode_exactly(kafka, postgres, debezium):
    postgres.sql(SETUP)
    messages = kafka.consume(TOPIC, 6, timeout=90)
    ops = [json.loads(m.value())["payload"]["op"] if m.value() else None for m in messages]
    assert ops == ["c", "c", "c", "u", "d", None]
    capture = os.environ.get("SLUICE_CAPTURE_DEBEZIUM")
    registry = Registry()
    reencoder = Reencoder(registry)
    ids = set()
    for n, m in enumerate(messages):
        for side, raw in (("key", m.key()), ("value", m.value())):
            framed = reencoder.convert(raw, TOPIC, is_key=side == "key")
            if raw is None:
                assert framed is None
                continue
            doc = json.loads(raw)
            schema_id = int.from_bytes(framed[1:5], "big")
            ids.add((side, schema_id))
            registered = json.loads(registry.schemas[schema_id].schema)
            assert registered == avro_schema(doc["schema"])
            parsed = fastavro.parse_schema(_strip_logical(registered))
            back = fastavro.schemaless_reader(io.BytesIO(framed[5:]), parsed)
            assert _as_json(doc["schema"], back) == doc["payload"], (n, side)
            if capture and m.value() is not None:
                out = Path(capture) / f"{n}-{ops[n]}.{side}.json"
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(raw)
    # The added column is a new value schema (and the key keeps its own).
    assert len([i for i in ids if i[0] == "value"]) == 2
    assert len([i for i in ids if i[0] == "key"]) == 1
