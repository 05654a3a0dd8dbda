"""Debezium's PostgreSQL connector, run by Kafka Connect standalone against
a real PostgreSQL, writes the change events the Debezium source reads: a
snapshot read of the existing row, then insert, update and delete with the
delete's tombstone, as JsonConverter envelopes with schemas. The same event
shapes are checked byte-for-byte by the C++ reader's unit tests
(tests/data/debezium/postgres_json, taken from this set-up)."""
from __future__ import annotations

import base64
import json

TOPIC = "dbserver1.inv.customers"


def test_changes_arrive_as_debezium_envelopes(kafka, postgres, debezium):
    postgres.sql("INSERT INTO inv.customers (email, price) VALUES ('b@example.com', 2.50);"
                 "UPDATE inv.customers SET email = 'c@example.com' WHERE id = 2;"
                 "DELETE FROM inv.customers WHERE id = 2;")
    messages = kafka.consume(TOPIC, 5, timeout=60)
    assert len(messages) == 5, [m.value() for m in messages]
    values = [json.loads(m.value()) if m.value() is not None else None for m in messages]
    ops = [v["payload"]["op"] if v else None for v in values]
    assert ops == ["r", "c", "u", "d", None]  # the delete's tombstone last

    snapshot, insert, update, delete = (v["payload"] for v in values[:4])
    assert snapshot["source"]["snapshot"] in ("true", "last", "first")
    assert insert["source"]["snapshot"] == "false"
    assert insert["after"]["email"] == "b@example.com"
    # numeric(10,2) is a Connect Decimal: base64 of the unscaled value.
    assert base64.b64decode(insert["after"]["price"]) == (250).to_bytes(2, "big")
    assert update["after"]["email"] == "c@example.com"
    assert delete["after"] is None and delete["before"]["id"] == 2
    # PostgreSQL order: source.sequence is ["<last commit lsn>", "<lsn>"].
    lsns = [int(json.loads(p["source"]["sequence"])[1]) for p in (insert, update, delete)]
    assert lsns == sorted(lsns) and len(set(lsns)) == 3

    schema = values[1]["schema"]
    fields = {f["field"]: f for f in schema["fields"]}
    assert {"before", "after", "source", "op", "ts_ms"} <= fields.keys()
    after = {f["field"]: f for f in fields["after"]["fields"]}
    assert after["price"]["name"] == "org.apache.kafka.connect.data.Decimal"
    assert after["price"]["parameters"] == {"scale": "2", "connect.decimal.precision": "10"}
    assert after["n"]["name"] == "io.debezium.data.VariableScaleDecimal"
    assert after["updated"]["name"] == "io.debezium.time.ZonedTimestamp"
    assert after["created"]["name"] == "io.debezium.time.MicroTimestamp"
    # The key is the primary key, as a Connect record.
    assert json.loads(messages[1].key())["payload"] == {"id": 2}
    assert messages[4].key() == messages[3].key()
