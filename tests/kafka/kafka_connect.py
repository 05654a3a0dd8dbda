"""Kafka Connect standalone with Debezium's PostgreSQL connector, for tests.

Connect comes from the broker's folder (connect-runtime, the JSON
converter), the connector from ~/.cache/sluice/kafka/plugins (both by
scripts/install-kafka). The worker runs with JsonConverter for keys and
values (`schemas` selects schemas.enable), its offsets in a file, its REST
API on a free loopback port (used to wait until the connector's task runs).
It is started in its own process group that stop() ends by id, and dies with
the process that started it (kafka_broker._die_with_parent).
"""
from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Dict, Optional

import requests

from kafka_broker import BROKER_LIBS, PLUGINS, LOG4J2, _die_with_parent, free_port, java_command, \
    stop_process


def debezium_installed() -> Optional[str]:
    if not (PLUGINS / "debezium-connector-postgres" / ".pom.sha").exists():
        return f"{PLUGINS}/debezium-connector-postgres is missing: run scripts/install-kafka"
    return None


class DebeziumPostgres:
    """One Connect worker running one Debezium PostgreSQL connector."""

    # The worker's plugin.path holds only this folder of PLUGINS (a link in
    # the worker's folder): Connect scans every plugin it is given (about
    # 1.5 s each on a busy machine), and the worker needs one connector. A
    # folder of jars given as plugin.path itself would make each jar a plugin.
    plugin_folder = "debezium-connector-postgres"

    def __init__(self, workdir: Path, bootstrap: str, pg, topic_prefix: str = "dbserver1",
                 schemas: bool = True, extra: Optional[Dict[str, str]] = None):
        self.workdir = Path(workdir)
        self.bootstrap = bootstrap
        self.pg = pg
        self.topic_prefix = topic_prefix
        self.schemas = schemas
        self.extra = extra or {}
        self.rest_port = free_port()
        self.name = f"{topic_prefix}-connector"
        self.log = self.workdir / "connect.log"
        self.proc: Optional[subprocess.Popen] = None

    def worker_properties(self) -> Dict[str, str]:
        schemas = "true" if self.schemas else "false"
        return {
            "bootstrap.servers": self.bootstrap,
            "key.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "key.converter.schemas.enable": schemas,
            "value.converter.schemas.enable": schemas,
            "offset.storage.file.filename": str(self.workdir / "offsets"),
            "offset.flush.interval.ms": "1000",
            "plugin.path": str(self.workdir / "plugins"),
            "plugin.discovery": "only_scan",
            "listeners": f"http://127.0.0.1:{self.rest_port}",
        }

    def connector_properties(self) -> Dict[str, str]:
        props = {
            "name": self.name,
            "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
            "tasks.max": "1",
            "database.hostname": "127.0.0.1",
            "database.port": str(self.pg.port),
            "database.user": self.pg.user,
            "database.password": self.pg.password,
            "database.dbname": self.pg.database,
            "topic.prefix": self.topic_prefix,
            "plugin.name": "pgoutput",
            "slot.name": f"{self.topic_prefix}_slot".replace("-", "_"),
            "publication.name": f"{self.topic_prefix}_pub".replace("-", "_"),
            "publication.autocreate.mode": "all_tables",
            "snapshot.mode": "initial",
        }
        props.update(self.extra)
        return props

    def start(self, timeout: float = 120) -> "DebeziumPostgres":
        missing = debezium_installed()
        if missing:
            raise RuntimeError(missing)
        self.workdir.mkdir(parents=True, exist_ok=True)
        link = self.workdir / "plugins" / self.plugin_folder
        if not link.is_symlink():
            link.parent.mkdir(exist_ok=True)
            link.symlink_to(PLUGINS / self.plugin_folder, target_is_directory=True)
        worker = self.workdir / "worker.properties"
        worker.write_text("".join(f"{k}={v}\n" for k, v in self.worker_properties().items()))
        connector = self.workdir / "connector.properties"
        connector.write_text("".join(f"{k}={v}\n" for k, v in self.connector_properties().items()))
        log_config = self.workdir / "log4j2.properties"
        log_config.write_text(LOG4J2.format(level="WARN"))
        with open(self.log, "w") as fh:
            self.proc = subprocess.Popen(
                java_command(BROKER_LIBS, "org.apache.kafka.connect.cli.ConnectStandalone",
                             str(worker), str(connector), log_config=log_config),
                stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent)
        try:
            self._wait_running(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def status(self) -> Optional[dict]:
        try:
            r = requests.get(f"http://127.0.0.1:{self.rest_port}/connectors/{self.name}/status",
                             timeout=2)
        except requests.RequestException:
            return None
        return r.json() if r.status_code == 200 else None

    def _wait_running(self, timeout: float) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Kafka Connect exited with {self.proc.returncode}:\n"
                                   f"{self.tail()}")
            st = self.status()
            if st:
                tasks = st.get("tasks") or []
                if any(t.get("state") == "FAILED" for t in tasks):
                    raise RuntimeError(f"the Debezium task failed: {tasks}\n{self.tail()}")
                if st["connector"]["state"] == "RUNNING" and tasks and \
                        all(t.get("state") == "RUNNING" for t in tasks):
                    return
            time.sleep(0.3)
        raise RuntimeError(f"Debezium did not run within {timeout}s:\n{self.tail()}")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=15)

    def tail(self, chars: int = 5000) -> str:
        try:
            return self.log.read_text()[-chars:]
        except OSError:
            return "(no log)"
