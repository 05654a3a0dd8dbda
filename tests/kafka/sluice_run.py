"""A `sluice run` for the Kafka suite's tests: started in the background with
the caller's environment minus SLUICE_* settings (each test's TOML is the
whole configuration), its output in a log file; and reading a Delta table
back with delta-rs."""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from conftest import SLUICE


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
