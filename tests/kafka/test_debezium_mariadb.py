"""Debezium's MariaDB connector, and its MySQL connector, each run by Kafka
Connect standalone against a real MariaDB (Debian's), write the change
events the Debezium source reads for MySQL-family databases: ordering by
(binlog file, pos, row), `source.db` as the schema. The envelope test runs
once per connector (the `mariadb` fixture's parameter); `sluice run` runs
with the MariaDB connector. Checked here so that a connector or server
upgrade that changes the shapes fails loudly; tests/data/debezium holds
events taken from these runs, mariadb_connector_json from the MariaDB
connector's and mariadb_json from the MySQL connector's (SLUICE_SAVE_EVENTS=DIR
writes them again, into DIR/<connector>)."""
from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest


def _payloads(messages):
    return [json.loads(m.value())["payload"] if m.value() is not None else None
            for m in messages]


def test_mariadb_changes_arrive_as_debezium_envelopes(kafka, mariadb, debezium_mariadb):
    TOPIC = debezium_mariadb.topic("customers")
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
    assert snapshot["source"]["connector"] == debezium_mariadb.connector
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
        out = Path(save) / debezium_mariadb.connector
        out.mkdir(parents=True, exist_ok=True)
        for i, (m, p) in enumerate(zip(messages[:4], payloads)):
            (out / f"{i}-{p['op']}.key.json").write_bytes(m.key())
            (out / f"{i}-{p['op']}.value.json").write_bytes(m.value())


def _mariadb_rows(mariadb):
    """SELECT * as comparable values: NULL as None, bytes as hex, TIMESTAMP
    in UTC, DATETIME as written."""
    rows = {}
    text = mariadb.sql("SET time_zone = '+00:00';"
                       "SELECT id, email, price, born, seen, local, flag, doc, HEX(bin) "
                       "FROM customers")
    for line in text.splitlines():
        v = [None if x == "NULL" else x for x in line.split("\t")]
        rows[int(v[0])] = {"email": v[1], "price": v[2], "born": v[3], "seen": v[4],
                           "local": v[5], "flag": None if v[6] is None else int(v[6]),
                           "doc": None if v[7] is None else json.loads(v[7]),
                           "bin": v[8] or None}
    return rows


def _delta_rows(path: Path):
    from sluice_run import read_delta
    if not (path / "_delta_log").is_dir():
        return None
    import datetime as dt

    rows = {}
    for r in read_delta(path):
        seen, local = r.get("seen"), r.get("local")
        if seen is not None:  # TIMESTAMP: a UTC instant
            assert seen.utcoffset() == dt.timedelta(0), seen
            seen = seen.strftime("%Y-%m-%d %H:%M:%S.%f")
        if local is not None:  # DATETIME(3): wall-clock, no zone
            assert local.tzinfo is None, local
            local = local.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        rows[r["id"]] = {"email": r["email"], "seen": seen, "local": local,
                         "price": None if r["price"] is None else str(r["price"]),
                         "born": None if r["born"] is None else r["born"].isoformat(),
                         "flag": None if r["flag"] is None else int(r["flag"]),
                         "doc": None if r["doc"] is None else json.loads(r["doc"]),
                         "bin": None if r["bin"] is None else r["bin"].hex().upper() or None}
    return rows


# With Debezium's MariaDB connector only: the MySQL connector's events differ
# by `source.connector` alone, which the decoder treats alike (and a second
# run would cost about 11 s).
@pytest.mark.parametrize("mariadb", ["mariadb"], indirect=True)
def test_mariadb_through_sluice_run(kafka, mariadb, debezium_mariadb, tmp_path):
    """`sluice run` on Debezium's MariaDB connector's topic of a MariaDB table:
    inserts, updates, a delete and a key change (Debezium's delete + create),
    several in one transaction; the merged table equals SELECT * in MariaDB
    and the log holds each change message once, in binlog order."""
    import time
    from sluice_run import Run, kafka_config, read_delta

    TOPIC = debezium_mariadb.topic("customers")
    sink = tmp_path / "sink"
    config = tmp_path / "mariadb.toml"
    kafka_config(config, name="maria", bootstrap=kafka.bootstrap, topics=[TOPIC], sink=sink,
                 sink_extra="history_tables = true")
    run = Run(config, tmp_path / "run.log")
    try:
        mariadb.sql(
            "SET time_zone = '+02:00';"  # TIMESTAMP converts to UTC, DATETIME does not
            "INSERT INTO customers (id, email, price, born, seen, local, flag, doc, bin) VALUES "
            "(10, 'ten@example.com', 10.50, '1999-12-31', '2021-06-30 23:59:59.999999',"
            " '2022-01-01 01:02:03.456', 1, '{\"n\": 10}', x'0a'),"
            "(11, 'eleven@example.com', 11.00, NULL, NULL, NULL, 0, NULL, NULL),"
            "(12, 'twelve@example.com', 12.25, '2000-02-29', '1970-01-02 00:00:00',"
            " '1969-12-31 23:59:59.001', NULL, '[1, 2]', x'');"
            "START TRANSACTION;"
            "UPDATE customers SET price = price + 1, email = 'ten@new.example.com' WHERE id = 10;"
            "DELETE FROM customers WHERE id = 12;"
            "UPDATE customers SET id = 13 WHERE id = 11;"
            "COMMIT;"
            "UPDATE customers SET doc = '{\"n\": 13}', local = '2038-01-19 03:14:08.5' "
            "WHERE id = 13;")
        expected = _mariadb_rows(mariadb)
        assert set(expected) == {1, 10, 13}
        deadline = time.time() + 90
        got = None
        while time.time() < deadline:
            try:
                got = _delta_rows(sink / "inventory" / "customers")
            except Exception as e:  # a commit being written
                got = f"unreadable: {e}"
            if got == expected:
                break
            time.sleep(0.3)
        assert got == expected, (f"merged != SELECT *:\n got      {got}\n expected {expected}\n"
                                 f"{(tmp_path / 'run.log').read_text()[-3000:]}")
        assert run.alive(), (tmp_path / "run.log").read_text()[-3000:]
    finally:
        run.stop()
    log = read_delta(sink / "inventory" / "customers_log")
    origins = [r["_cdc_origin"] for r in log]
    assert len(origins) == len(set(origins)), "a Kafka message twice in the log"
    # Every change message of the topic is in the log (tombstones are not
    # changes): the snapshot row, the first test's three and these nine.
    changes = [m for m in kafka.consume(TOPIC, len(log) + 50, timeout=10) if m.value() is not None]
    assert len(log) == len(changes), (len(log), len(changes))
    history = read_delta(sink / "inventory" / "customers_history")
    open_rows = sorted(r["id"] for r in history if r["__END_AT"] is None)
    assert open_rows == [1, 10, 13]
