"""A single-node Kafka broker in KRaft mode for tests, on a free loopback port.

The jars come from scripts/install-kafka (~/.cache/sluice/kafka/broker). The
broker is its own controller; its storage is formatted once in a temporary
folder (kafka.tools.StorageTool, as `kafka-storage.sh format` does) and the
broker then runs as `kafka.Kafka`, in a new process group that `stop()` ends
by id. On Linux the JVM also gets SIGKILL when the process that started it
dies, so a killed test run leaves no broker behind.

    python tests/kafka/kafka_broker.py          # start one, print its address, wait
"""
from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Dict, List, Optional

CACHE = Path(os.environ.get("SLUICE_CACHE", Path.home() / ".cache" / "sluice")) / "kafka"
BROKER_LIBS = CACHE / "broker"
PLUGINS = CACHE / "plugins"

# Small heap, quick JIT start: the tests move kilobytes.
JVM_OPTS = ["-Xms128m", "-Xmx512m", "-XX:+UseG1GC", "-XX:TieredStopAtLevel=1",
            "-Xshare:auto", "-Djava.awt.headless=true"]

LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = {level}
rootLogger.appenderRef.out.ref = out
logger.kafka.name = kafka
logger.kafka.level = {level}
logger.apache.name = org.apache.kafka
logger.apache.level = {level}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """preexec_fn: a new session (own process group) and SIGKILL when the
    parent dies (Linux prctl PR_SET_PDEATHSIG)."""
    os.setsid()
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def java_command(libs: Path, main: str, *args: str, log_config: Optional[Path] = None,
                 extra_jvm: Optional[List[str]] = None) -> List[str]:
    cmd = ["java", *JVM_OPTS, *(extra_jvm or [])]
    if log_config is not None:
        cmd.append(f"-Dlog4j2.configurationFile={log_config}")
    cmd += ["-cp", f"{libs}/*", main, *args]
    return cmd


def stop_process(proc: subprocess.Popen, timeout: float = 10) -> None:
    """Ends the process's own group (it was started in a new session, so the
    group id is its pid): SIGTERM, then SIGKILL after `timeout` seconds."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


def check_installed() -> Optional[str]:
    """None when the jars are there, else what to run."""
    if not (BROKER_LIBS / ".pom.sha").exists():
        return f"{BROKER_LIBS} is missing: run scripts/install-kafka"
    return None


class KafkaBroker:
    """One KRaft broker+controller. `bootstrap` is `127.0.0.1:<port>`."""

    def __init__(self, workdir: Path, log_level: str = "WARN"):
        self.workdir = Path(workdir)
        self.port = free_port()
        self.controller_port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.log = self.workdir / "broker.log"
        self.log_level = log_level
        self.proc: Optional[subprocess.Popen] = None

    # -- configuration --------------------------------------------------
    def properties(self) -> Dict[str, str]:
        return {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},"
                         f"CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.workdir / "data"),
            "num.partitions": "1",
            "auto.create.topics.enable": "true",
            # One node: every internal topic has one replica.
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            # A consumer group starts at once instead of waiting 3 s.
            "group.initial.rebalance.delay.ms": "0",
            "log.flush.interval.messages": "1000000",
        }

    def _write_config(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        path = self.workdir / "server.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in self.properties().items()))
        (self.workdir / "log4j2.properties").write_text(LOG4J2.format(level=self.log_level))
        return path

    # -- life cycle -----------------------------------------------------
    def start(self, timeout: float = 60) -> "KafkaBroker":
        missing = check_installed()
        if missing:
            raise RuntimeError(missing)
        config = self._write_config()
        log_config = self.workdir / "log4j2.properties"
        # A url-safe id may start with '-': passed as --cluster-id=<id> so the
        # tool's argument parser never takes it for an option (1 start in 64
        # failed so).
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        fmt = subprocess.run(
            java_command(BROKER_LIBS, "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}",
                         "-c", str(config), log_config=log_config),
            capture_output=True, text=True, timeout=120)
        if fmt.returncode != 0:
            raise RuntimeError(f"kafka-storage format failed ({fmt.returncode}):\n"
                               f"{fmt.stdout}\n{fmt.stderr}")
        with open(self.log, "w") as fh:
            self.proc = subprocess.Popen(
                java_command(BROKER_LIBS, "kafka.Kafka", str(config), log_config=log_config),
                stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent)
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        """Ready once the broker answers a metadata request naming itself."""
        from confluent_kafka.admin import AdminClient

        deadline = time.time() + timeout
        admin = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0})
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the Kafka broker exited with {self.proc.returncode}:\n"
                                   f"{self.tail()}")
            try:
                md = admin.list_topics(timeout=1)
                if md.brokers:
                    return
            except Exception:  # noqa: BLE001 - KafkaException until it listens
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the Kafka broker did not answer within {timeout}s:\n{self.tail()}")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)

    def tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text()[-chars:]
        except OSError:
            return "(no log)"

    # -- client helpers -------------------------------------------------
    def client_config(self, **extra) -> Dict[str, object]:
        conf: Dict[str, object] = {"bootstrap.servers": self.bootstrap}
        conf.update(extra)
        return conf

    def create_topic(self, name: str, partitions: int = 1, **config: str) -> None:
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient(self.client_config())
        futures = admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1, config=config)],
            operation_timeout=30)
        futures[name].result(timeout=30)

    def produce(self, topic: str, messages, partition: Optional[int] = None) -> None:
        """`messages`: (key, value) or (key, value, headers) tuples, bytes or
        None; delivered synchronously (an error fails the call)."""
        from confluent_kafka import Producer

        errors: List[str] = []

        def on_delivery(err, _msg):
            if err is not None:
                errors.append(str(err))

        producer = Producer(self.client_config(**{"enable.idempotence": True, "linger.ms": 5}))
        for m in messages:
            key, value = m[0], m[1]
            kwargs = {"key": key, "value": value, "on_delivery": on_delivery}
            if len(m) > 2 and m[2]:
                kwargs["headers"] = list(m[2])
            if partition is not None:
                kwargs["partition"] = partition
            producer.produce(topic, **kwargs)
        remaining = producer.flush(30)
        if remaining or errors:
            raise RuntimeError(f"produce to {topic}: {remaining} undelivered, errors {errors}")

    def wait_for_topic(self, topic: str, timeout: float = 30) -> None:
        """Waits until `topic` exists (a producer such as Debezium creates it
        with its first message)."""
        from confluent_kafka.admin import AdminClient

        admin = AdminClient(self.client_config())
        deadline = time.time() + timeout
        while time.time() < deadline:
            md = admin.list_topics(topic=topic, timeout=5)
            t = md.topics.get(topic)
            if t is not None and t.error is None and t.partitions:
                return
            time.sleep(0.2)
        raise TimeoutError(f"topic {topic} did not appear within {timeout}s")

    def consume(self, topic: str, count: int, timeout: float = 30, group: Optional[str] = None):
        """The first `count` messages of `topic` (from the earliest offset) as
        confluent_kafka Message objects; waits for the topic to exist."""
        from confluent_kafka import Consumer

        deadline = time.time() + timeout
        self.wait_for_topic(topic, timeout)
        consumer = Consumer(self.client_config(**{
            "group.id": group or f"test-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }))
        out = []
        try:
            consumer.subscribe([topic])
            while len(out) < count and time.time() < deadline:
                msg = consumer.poll(0.5)
                if msg is None:
                    continue
                if msg.error():
                    raise RuntimeError(f"consume {topic}: {msg.error()}")
                out.append(msg)
        finally:
            consumer.close()
        return out


if __name__ == "__main__":
    import tempfile

    work = Path(tempfile.mkdtemp(prefix="sluice-kafka-"))
    t0 = time.time()
    broker = KafkaBroker(work, log_level="INFO").start()
    print(f"broker on {broker.bootstrap} in {time.time() - t0:.1f}s (log {broker.log})", flush=True)
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        broker.stop()
