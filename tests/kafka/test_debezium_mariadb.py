"""Debezium's MySQL connector, run by Kafka Connect standalone against a real
MariaDB (Debian's), writes the change events the Debezium source reads for
MySQL-family databases: ordering by (binlog file, pos, row), `source.db` as
the schema. Checked here so that a connector or server upgrade that changes
the shapes fails loudly; tests/data/debezium/mariadb_json holds events
taken from this set-up (SLUICE_SAVE_EVENTS=DIR writes them again)."""
from __future__ import annotations

import base64
import json
import os
from pathlib import Path

TOPIC = "mariadb1.inventory.customers"


def _payloads(messages):
    return [json.loads(m.value())["payload"] if m.value() is not None else None
            for m in messages]


def test_mariadb_changes_arrive_as_debezium_envelopes(kafka, mariadb, debezium_mariadb):
    # The snapshot first: changes made while it runs may or may not be in it.
    first = kafka.consume(TOPIC, 1, timeout=60)
    assert _payloads(first)[0]["op"] == "r"
    mariadb.sql("INSERT INTO customers (id, email, price, born, seen, local, flag, doc, bin) "
                "VALUES (2, 'b@example.com', 2.50, '2020-01-02', '2021-01-01 10:00:00.123456', "
                "'2022-01-01 01:02:03.456', 1, '{\"a\": 1}', x'00ff');"
                "UPDATE customers SET email = 'c@example.com' WHERE id = 2;"
                "DELETE FROM customers WHERE id = 2;")
    messages = kafka.consume(TOPIC, 5, timeout=60)
    assert len(messages) == 5, [m.value() for m in messages]
    payloads = _payloads(messages)
    assert [p["op"] if p else None for p in payloads] == ["r", "c", "u", "d", None]

    snapshot, insert, update, delete = payloads[:4]
    assert snapshot["source"]["connector"] == "mysql"
    assert snapshot["source"]["snapshot"] in ("true", "last", "first")
    assert insert["source"]["snapshot"] == "false"
    assert insert["source"]["db"] == "inventory" and insert["source"]["table"] == "customers"
    # MySQL-family order: (binlog file, pos, row), increasing.
    positions = [(p["source"]["file"], p["source"]["pos"], p["source"]["row"])
                 for p in (insert, update, delete)]
    assert positions == sorted(positions) and len(set(positions)) == 3
    assert insert["source"]["file"].startswith("binlog.")
    after = insert["after"]
    assert base64.b64decode(after["price"]) == (250).to_bytes(2, "big")
    assert after["born"] == 18263                             # days since 1970
    assert after["seen"] == "2021-01-01T10:00:00.123456Z"     # TIMESTAMP: UTC
    assert after["local"] == 1640998923456                    # DATETIME(3): ms, no zone
    assert base64.b64decode(after["bin"]) == b"\x00\xff"
    assert update["before"]["email"] == "b@example.com"       # binlog_row_image=FULL
    assert delete["before"]["id"] == 2 and delete["after"] is None

    fields = {f["field"]: f for f in json.loads(messages[1].value())["schema"]["fields"]}
    after_fields = {f["field"]: f for f in fields["after"]["fields"]}
    assert after_fields["price"]["name"] == "org.apache.kafka.connect.data.Decimal"
    assert after_fields["seen"]["name"] == "io.debezium.time.ZonedTimestamp"
    assert after_fields["local"]["name"] == "io.debezium.time.Timestamp"
    assert after_fields["born"]["name"] == "io.debezium.time.Date"
    # MariaDB's JSON is LONGTEXT with a check: a plain string, no Json name
    # (MySQL's JSON would carry io.debezium.data.Json).
    assert after_fields["doc"]["type"] == "string" and "name" not in after_fields["doc"]
    assert json.loads(messages[1].key())["payload"] == {"id": 2}
    assert messages[4].key() == messages[3].key()

    save = os.environ.get("SLUICE_SAVE_EVENTS")
    if save:
        out = Path(save)
        out.mkdir(parents=True, exist_ok=True)
        for i, (m, p) in enumerate(zip(messages[:4], payloads)):
            (out / f"{i}-{p['op']}.key.json").write_bytes(m.key())
            (out / f"{i}-{p['op']}.value.json").write_bytes(m.value())
