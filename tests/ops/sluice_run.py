"""A real ``sluice run --http`` on a Datastream bucket written by
tools/datastream_gen, for the ops suite: start it, find its address, read
its routes, stop it; and read the tables it wrote with delta-rs.

Environment: SLUICE_BIN (default build/sluice)."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SLUICE = os.environ.get("SLUICE_BIN", str(ROOT / "build" / "sluice"))
GENERATOR = ROOT / "tools" / "datastream_gen" / "generate.py"


def gen(out: Path, **options) -> dict:
    """tools/datastream_gen/generate.py --out OUT --key value ...; the
    manifest's file list (one dict per file)."""
    cmd = [sys.executable, str(GENERATOR), "--out", str(out), "--quiet"]
    for k, v in options.items():
        cmd += ["--" + k.replace("_", "-"), str(v)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"generator failed: {cmd}\n{proc.stderr}"
    with open(out / "_expected" / "_files.jsonl") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def env_for(src: Path, sink: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SLUICE_") and k not in (
               "SOURCE_PATH", "DELTA_TABLE_PATH", "DELTA_SCHEMA_EVOLUTION_STRATEGY")}
    env.update({"SOURCE_PATH": str(src), "DELTA_TABLE_PATH": str(sink)})
    env.update({k: str(v) for k, v in extra.items()})
    return env


class SluiceRun:
    """``sluice run --config CONFIG --http ADDR [args]`` in the background
    (an empty configuration unless `config` names one)."""

    def __init__(self, tmp: Path, env: dict, *args: str, http: str = "127.0.0.1:0",
                 config: Path | None = None):
        if config is None:
            config = tmp / "empty.toml"
            config.write_text("")
        self.log_path = tmp / f"sluice-run-{time.monotonic_ns()}.out"
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen([SLUICE, "run", "--config", str(config), "--http", http, *args],
                                     env=env, stdout=self._log, stderr=subprocess.STDOUT, text=True)
        self.token = None
        if "--http-token" in args:
            self.token = args[args.index("--http-token") + 1]
        deadline = time.monotonic() + 30
        self.url = None
        while time.monotonic() < deadline and self.url is None:
            m = re.search(r"serving (http://[^/\s]+)/", self.output())
            if m:
                self.url = m.group(1)
            elif self.proc.poll() is not None:
                break
            else:
                time.sleep(0.05)
        assert self.url, f"sluice run did not start its server:\n{self.output()[-3000:]}"

    def output(self) -> str:
        return self.log_path.read_text()

    def get(self, path: str, token: str | None = "default"):
        """(status, body) of GET path; the run's token unless told otherwise."""
        req = urllib.request.Request(self.url + path)
        token = self.token if token == "default" else token
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                return res.status, res.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def status(self) -> dict:
        code, body = self.get("/api/status")
        assert code == 200, body
        return json.loads(body)

    def stop(self, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


def wait_until(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def read_table(path: Path) -> list:
    from deltalake import DeltaTable
    return DeltaTable(str(path)).to_pyarrow_table().to_pylist()


def table_exists(path: Path) -> bool:
    return (Path(path) / "_delta_log").is_dir() and any((Path(path) / "_delta_log").glob("*.json"))


def log_path(sink: Path, qualified: str) -> Path:
    db, table = qualified.split(".", 1)
    return Path(sink) / db / (table + "_log")


def dead_letter_path(sink: Path, qualified: str) -> Path:
    return Path(sink) / "_dead_letters" / qualified


def count_rows(path: Path) -> int:
    return len(read_table(path)) if table_exists(path) else 0
