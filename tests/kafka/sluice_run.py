"""`sluice run` for the Kafka suite's tests: the TOML they share, a run
started in the background with the caller's environment minus SLUICE_*
settings (each test's TOML is the whole configuration), its output in a log
file; and reading a Delta table back with delta-rs."""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from conftest import SLUICE


def kafka_config(path: Path, *, name: str, bootstrap: str, topics, sink: Path,
                 format: str = "json", pipeline: str = "", source: str = "", kafka: str = "",
                 sections: str = "", sink_extra: str = "") -> Path:
    """Writes the TOML of a Debezium run: merge after every log commit, poll
    every 100 ms, copy-on-write merged tables (the delta-rs reader here
    predates deletion vectors); `pipeline`, `source`, `kafka` and
    `sink_extra` add lines to their sections, `sections` whole sections
    before [sink]."""
    topic_list = ", ".join(f'"{t}"' for t in topics)
    path.write_text(f"""
[pipeline]
name = "{name}"
merge_interval = "0s"
{pipeline}
[source]
kind = "debezium"
format = "{format}"
poll_interval = "100ms"
{source}
[source.kafka]
bootstrap_servers = "{bootstrap}"
topics = [{topic_list}]
{kafka}
{sections}
[sink]
path = "{sink}"
merge_mode = "copy_on_write"
{sink_extra}
""")
    return path


def env() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}


def read_delta(path: Path):
    from deltalake import DeltaTable
    return DeltaTable(str(path)).to_pyarrow_table().to_pylist()


class Run:
    """A long `sluice run` in the background."""

    def __init__(self, config: Path, log: Path):
        self.log = open(log, "a")
        self.proc = subprocess.Popen([SLUICE, "run", "--config", str(config)], env=env(),
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self):
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()

    def stop(self):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
