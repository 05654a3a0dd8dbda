"""Kafka services for the tests/kafka suite, started on free loopback ports
for the session and stopped at the end, also when a test fails:

* ``kafka``: a single-node KRaft broker (kafka_broker.py; the jars come from
  scripts/install-kafka), about 5 s to start;
* ``registry``: the Schema Registry REST subset (schema_registry.py), served
  from a thread of the test process; ``registry_auth`` the same with basic
  auth.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from kafka_broker import KafkaBroker, check_installed
from schema_registry import SchemaRegistryServer

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
