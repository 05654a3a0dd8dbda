"""Kafka Connect standalone with one of Debezium's binlog connectors capturing
a MariaDB server (mariadb_server.py), for tests:

* "mariadb": Debezium's MariaDB connector (3.5.0, the newest release the
  Maven mirror reachable here serves; plugins/debezium-connector-mariadb).
  `source.connector` = "mariadb".
* "mysql": Debezium's MySQL connector (3.6.1), which reads MariaDB's row
  binlog the same way when the server reports a MySQL 5.7 version string
  (MariaDbServer(mysql_version=True)). `source.connector` = "mysql".

Both write the same envelope (`source.file`/`pos`/`row`). The schema history
lives in a file of the worker's folder. Everything else (the worker, its
process group, waiting for RUNNING) is kafka_connect's.
"""
from __future__ import annotations

from typing import Dict, Optional

from kafka_broker import PLUGINS
from kafka_connect import DebeziumPostgres

# connector name -> (plugin folder, connector class)
CONNECTORS = {
    "mariadb": ("debezium-connector-mariadb", "io.debezium.connector.mariadb.MariaDbConnector"),
    "mysql": ("debezium-connector-mysql", "io.debezium.connector.mysql.MySqlConnector"),
}


def connector_installed(connector: str) -> Optional[str]:
    folder = PLUGINS / CONNECTORS[connector][0]
    if not (folder / ".pom.sha").exists():
        return f"{folder} is missing: run scripts/install-kafka"
    return None


class DebeziumMariaDb(DebeziumPostgres):
    """One Connect worker running a Debezium binlog connector on MariaDB."""

    def __init__(self, workdir, bootstrap: str, db, connector: str = "mariadb",
                 topic_prefix: Optional[str] = None, schemas: bool = True,
                 extra: Optional[Dict[str, str]] = None):
        self.connector = connector
        self.plugin_folder = CONNECTORS[connector][0]
        super().__init__(workdir, bootstrap, db, topic_prefix=topic_prefix or f"{connector}1",
                         schemas=schemas, extra=extra)

    def topic(self, table: str) -> str:
        return f"{self.topic_prefix}.{self.pg.database}.{table}"

    def connector_properties(self) -> Dict[str, str]:
        props = {
            "name": self.name,
            "connector.class": CONNECTORS[self.connector][1],
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
        if self.connector == "mariadb":
            # The test server has no TLS; the MariaDB driver would offer it.
            props["database.ssl.mode"] = "disable"
        props.update(self.extra)
        return props

    def start(self, timeout: float = 120) -> "DebeziumMariaDb":
        missing = connector_installed(self.connector)
        if missing:
            raise RuntimeError(missing)
        super().start(timeout)
        return self
