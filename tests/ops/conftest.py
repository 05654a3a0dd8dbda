"""Fixtures for the ops suite: a running status_server_demo (fake tables whose
figures change) and headless Chromium.

Environment:
  SLUICE_STATUS_DEMO  path of the demo server (default: next to SLUICE_BIN's
                      build tree, build/tests/unit/status_server_demo)
  CHROMIUM            the browser binary (default: chromium on PATH)
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def demo_binary() -> Path:
    if os.environ.get("SLUICE_STATUS_DEMO"):
        return Path(os.environ["SLUICE_STATUS_DEMO"])
    if os.environ.get("SLUICE_BIN"):
        return Path(os.environ["SLUICE_BIN"]).parent / "tests/unit/status_server_demo"
    return ROOT / "build/tests/unit/status_server_demo"


class DemoServer:
    def __init__(self, *args: str):
        binary = demo_binary()
        if not binary.exists():
            pytest.fail(f"{binary} not built (cmake --build build --target status_server_demo)")
        self.proc = subprocess.Popen(
            [str(binary), "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            self.stop()
            pytest.fail(f"demo server did not start: {line!r} {self.proc.stderr.read()}")
        self.url = line.split()[-1].rstrip("/")
        self.port = int(self.url.rsplit(":", 1)[1])

    def get(self, path: str, token: str | None = None):
        """(status, headers, body) of GET path."""
        req = urllib.request.Request(self.url + path)
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                return res.status, res.headers, res.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode()

    def raw(self, data: bytes, timeout: float = 10.0) -> bytes:
        """Sends bytes as they are; returns everything until the server closes."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            try:
                s.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
            out = b""
            while True:
                try:
                    chunk = s.recv(65536)
                except (ConnectionResetError, socket.timeout):
                    break
                if not chunk:
                    break
                out += chunk
            return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def demo_factory():
    servers = []

    def make(*args: str) -> DemoServer:
        server = DemoServer(*args)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def demo(demo_factory):
    """inventory.items stopped from the start; the other two progress."""
    return demo_factory("--stop-after-s", "0")


class Chromium:
    def __init__(self, binary: str):
        self.binary = binary

    def run(self, url: str, *extra: str, window: str = "1400,900", budget_ms: int = 4000,
            timeout: float = 60) -> subprocess.CompletedProcess:
        with tempfile.TemporaryDirectory(prefix="sluice-chromium-") as profile:
            cmd = [self.binary, "--headless", "--no-sandbox", "--disable-gpu",
                   "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars",
                   f"--user-data-dir={profile}", f"--window-size={window}",
                   f"--virtual-time-budget={budget_ms}", *extra, url]
            return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)

    def dump_dom(self, url: str, *extra: str) -> str:
        res = self.run(url, "--dump-dom", *extra)
        assert res.returncode == 0, res.stderr[-2000:]
        return res.stdout

    def screenshot(self, url: str, path: Path, window: str = "1400,900", *extra: str) -> Path:
        res = self.run(url, f"--screenshot={path}", *extra, window=window)
        assert res.returncode == 0 and path.exists(), res.stderr[-2000:]
        return path


@pytest.fixture(scope="session")
def chromium() -> Chromium:
    binary = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not binary:
        pytest.fail("headless Chromium is needed (Debian package chromium; scripts/bootstrap installs it)")
    return Chromium(binary)


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
