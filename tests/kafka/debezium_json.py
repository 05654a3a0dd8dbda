"""Debezium PostgreSQL-connector JSON messages (schemaless envelopes) for
tests that produce to Kafka directly, without a database."""
from __future__ import annotations

import json


def insert_message(i: int, schema: str = "inv", table: str = "items"):
    """(key, value) of the insert of row `i` ({"id": i, "name": "n<i>"}),
    its source position and time growing with `i`."""
    key = json.dumps({"id": i}).encode()
    value = json.dumps({
        "before": None,
        "after": {"id": i, "name": f"n{i}"},
        "source": {"connector": "postgresql", "db": "app", "schema": schema, "table": table,
                   "ts_ms": 1_700_000_000_000 + i, "lsn": 1000 + i, "snapshot": "false"},
        "op": "c", "ts_ms": 1_700_000_000_000 + i}).encode()
    return key, value
