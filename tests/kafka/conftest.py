"""Kafka services for the tests/kafka suite, started on free loopback ports
for the session and stopped at the end, also when a test fails:

* ``kafka``: a single-node KRaft broker (kafka_broker.py; the jars come from
  scripts/install-kafka), about 5 s to start;
* ``registry``: the Schema Registry REST subset (schema_registry.py), served
  from a thread of the test process; ``registry_auth`` the same with basic
  auth;
* ``postgres``: a private PostgreSQL cluster with wal_level=logical
  (postgres_server.py, Debian's postgresql), for Debezium;
* ``debezium``: Kafka Connect standalone with Debezium's PostgreSQL
  connector (kafka_connect.py) capturing ``postgres`` into ``kafka`` with the
  JSON converter (schemas on), topics ``dbserver1.<schema>.<table>``. The
  tables to capture must exist before it starts: the fixture creates schema
  ``inv`` with table ``customers`` (see DEBEZIUM_TABLES).
* ``mariadb``: a private MariaDB server with a row binlog (mariadb_server.py,
  Debian's mariadb-server), parametrized by the Debezium connector that
  captures it: "mariadb" (Debezium's MariaDB connector) and "mysql" (its
  MySQL connector, the server disguised as MySQL 5.7); ``debezium_mariadb``:
  that connector capturing it (mariadb_connect.py), topics
  ``<connector>1.inventory.<table>`` (``debezium_mariadb.topic(table)``),
  table ``customers`` created first (see MARIADB_TABLES).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from kafka_broker import KafkaBroker, check_installed
from kafka_connect import DebeziumPostgres, debezium_installed
from mariadb_connect import DebeziumMariaDb, connector_installed
from mariadb_server import MariaDbServer, mariadb_bin
from postgres_server import PostgresServer, pg_bin
from schema_registry import SchemaRegistryServer

# Created before Debezium starts, so that its snapshot reads them.
DEBEZIUM_TABLES = """
CREATE SCHEMA inv;
CREATE TABLE inv.customers (
  id serial PRIMARY KEY, email text, price numeric(10,2), n numeric,
  created timestamp, updated timestamptz, born date, wake time, doc json,
  uid uuid, blob bytea, tags text[], span interval);
INSERT INTO inv.customers (email, price, n) VALUES ('first@example.com', 1.00, 1);
"""

MARIADB_TABLES = """
CREATE TABLE customers (
  id int PRIMARY KEY, email varchar(100), price decimal(10,2), born date,
  seen timestamp(6) NULL, local datetime(3), flag tinyint(1), doc json, bin varbinary(16));
INSERT INTO customers (id, email, price) VALUES (1, 'first@example.com', 1.00);
"""

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SLUICE = os.environ.get("SLUICE_BIN", str(REPO / "build" / "sluice"))


@pytest.fixture(scope="session")
def kafka(tmp_path_factory):
    missing = check_installed()
    if missing:
        pytest.fail(missing)
    broker = KafkaBroker(tmp_path_factory.mktemp("kafka"))
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def registry():
    with SchemaRegistryServer() as server:
        yield server


@pytest.fixture
def registry_auth():
    with SchemaRegistryServer(user="sluice:s3cret") as server:
        yield server


@pytest.fixture(scope="module")
def postgres():
    if pg_bin() is None:
        pytest.fail("PostgreSQL is not installed (Debian package postgresql, scripts/bootstrap)")
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def debezium(kafka, postgres, tmp_path_factory):
    missing = debezium_installed()
    if missing:
        pytest.fail(missing)
    postgres.sql(DEBEZIUM_TABLES)
    connect = DebeziumPostgres(tmp_path_factory.mktemp("connect"), kafka.bootstrap, postgres)
    connect.start()
    try:
        yield connect
    finally:
        connect.stop()


@pytest.fixture(scope="module", params=["mariadb", "mysql"])
def mariadb(request):
    if mariadb_bin() is None:
        pytest.fail("MariaDB is not installed (Debian package mariadb-server, scripts/bootstrap)")
    server = MariaDbServer(mysql_version=request.param == "mysql")
    server.connector = request.param
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def debezium_mariadb(kafka, mariadb, tmp_path_factory):
    missing = connector_installed(mariadb.connector)
    if missing:
        pytest.fail(missing)
    mariadb.sql(MARIADB_TABLES)
    connect = DebeziumMariaDb(tmp_path_factory.mktemp(f"connect-{mariadb.connector}"),
                              kafka.bootstrap, mariadb, connector=mariadb.connector)
    connect.start()
    try:
        yield connect
    finally:
        connect.stop()
