"""Kafka Connect standalone with Debezium's MySQL connector capturing a
MariaDB server (mariadb_server.py), for tests. Debezium's own MariaDB
connector is not served by the package registries reachable here; its MySQL
connector (3.6.1) reads MariaDB's row binlog the same way and writes the same
envelope (`source.connector` = "mysql", `source.file`/`pos`/`row`). The
schema history lives in a file of the worker's folder. Everything else (the
worker, its process group, waiting for RUNNING) is kafka_connect's.
"""
from __future__ import annotations

from typing import Dict, Optional

from kafka_broker import PLUGINS
from kafka_connect import DebeziumPostgres


def mysql_connector_installed() -> Optional[str]:
    if not (PLUGINS / "debezium-connector-mysql" / ".pom.sha").exists():
        return f"{PLUGINS}/debezium-connector-mysql is missing: run scripts/install-kafka"
    return None


class DebeziumMariaDb(DebeziumPostgres):
    """One Connect worker running Debezium's MySQL connector on MariaDB."""

    def __init__(self, workdir, bootstrap: str, db, topic_prefix: str = "mariadb1",
                 schemas: bool = True, extra: Optional[Dict[str, str]] = None):
        super().__init__(workdir, bootstrap, db, topic_prefix=topic_prefix, schemas=schemas,
                         extra=extra)

    def connector_properties(self) -> Dict[str, str]:
        props = {
            "name": self.name,
            "connector.class": "io.debezium.connector.mysql.MySqlConnector",
            "tasks.max": "1",
            "database.hostname": "127.0.0.1",
            "database.port": str(self.pg.port),
            "database.user": self.pg.user,
            "database.password": self.pg.password,
            "database.server.id": "5400",
            "database.include.list": self.pg.database,
            "topic.prefix": self.topic_prefix,
            "snapshot.mode": "initial",
            "snapshot.locking.mode": "none",
            "schema.history.internal": "io.debezium.storage.file.history.FileSchemaHistory",
            "schema.history.internal.file.filename": str(self.workdir / "schema-history.dat"),
        }
        props.update(self.extra)
        return props

    def start(self, timeout: float = 120) -> "DebeziumMariaDb":
        missing = mysql_connector_installed()
        if missing:
            raise RuntimeError(missing)
        super().start(timeout)
        return self
