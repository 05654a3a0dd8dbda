"""A private MariaDB server for tests (Debian's mariadb-server), with the row
binlog Debezium reads, on a free loopback port, in a temporary folder that
stop() removes. The server runs as the `mysql` user when the tests run as
root (the Debian package creates it). Stopped with SIGKILL after a clean
shutdown attempt (the data is thrown away).
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import List, Optional

from kafka_broker import _die_with_parent, free_port


def mariadb_bin() -> Optional[Path]:
    """The folder holding mariadbd, or None when MariaDB is not installed."""
    for candidate in ("/usr/sbin/mariadbd", "/usr/bin/mariadbd"):
        if Path(candidate).exists():
            return Path(candidate).parent
    return None


def _client() -> Optional[str]:
    return shutil.which("mariadb") or shutil.which("mysql")


class MariaDbServer:
    user = "sluice"
    password = "sluice"
    database = "inventory"
    server_id = 223344

    def __init__(self, mysql_version: bool = False):
        # mysql_version: report a MySQL 5.7 version string, for Debezium's
        # MySQL connector (its MariaDB connector needs no disguise).
        self.mysql_version = mysql_version
        self.bin = mariadb_bin()
        # Under /tmp: the `mysql` user cannot enter pytest's root-only folders.
        self.workdir = Path(tempfile.mkdtemp(prefix="sluice-mariadb-"))
        self.data = self.workdir / "data"
        self.socket = self.workdir / "mysqld.sock"
        self.port = free_port()
        self.log = self.workdir / "mariadb.err"
        self.proc: Optional[subprocess.Popen] = None
        self._as_root = os.geteuid() == 0

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text()[-chars:]
        except OSError:
            return ""

    def start(self, timeout: float = 60) -> "MariaDbServer":
        if self.bin is None or _client() is None:
            raise RuntimeError("MariaDB is not installed (Debian package mariadb-server)")
        owner: List[str] = []
        if self._as_root:
            shutil.chown(self.workdir, "mysql", "mysql")
            owner = ["--user=mysql"]
        r = subprocess.run(["mariadb-install-db", *owner, f"--datadir={self.data}",
                            "--auth-root-authentication-method=normal", "--skip-test-db"],
                           capture_output=True, text=True, timeout=180)
        if r.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed:\n{r.stdout}{r.stderr}")
        args = [
            str(self.bin / "mariadbd"), "--no-defaults", *owner, f"--datadir={self.data}",
            f"--socket={self.socket}", f"--port={self.port}", "--bind-address=127.0.0.1",
            f"--log-error={self.log}", f"--pid-file={self.workdir / 'mysqld.pid'}",
            f"--server-id={self.server_id}", f"--log-bin={self.workdir / 'binlog'}",
            "--binlog-format=ROW", "--binlog-row-image=FULL", "--innodb-flush-log-at-trx-commit=0",
            "--sync-binlog=0", "--skip-name-resolve",
        ]
        if self.mysql_version:
            # Debezium's MySQL connector picks its binlog-status statement
            # by version number: MariaDB 10.11 reads as "newer than MySQL
            # 8.4" and gets SHOW BINARY LOG STATUS, which MariaDB lacks; and
            # Connector/J 9 asks MySQL >= 5.7.20 for transaction_isolation,
            # which MariaDB names tx_isolation.
            args.append("--version=5.7.19-MariaDB-sluice-test")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        deadline = time.time() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mariadbd exited with {self.proc.returncode}:\n{self.tail()}")
            if self._root_sql("SELECT 1", check=False).returncode == 0:
                break
            if time.time() > deadline:
                self.stop()
                raise RuntimeError(f"MariaDB did not start within {timeout}s:\n{self.tail()}")
            time.sleep(0.2)
        # The grants Debezium's binlog connectors document.
        self._root_sql(
            f"CREATE DATABASE {self.database};"
            f"CREATE USER '{self.user}'@'%' IDENTIFIED BY '{self.password}';"
            f"GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT, "
            f"LOCK TABLES, BINLOG MONITOR ON *.* TO '{self.user}'@'%';"
            f"GRANT ALL ON {self.database}.* TO '{self.user}'@'%';")
        return self

    def _root_sql(self, statement: str, check: bool = True) -> subprocess.CompletedProcess:
        r = subprocess.run([_client(), f"--socket={self.socket}", "-uroot", "-e", statement],
                           capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise RuntimeError(f"mariadb failed: {r.stderr}")
        return r

    def sql(self, statement: str, database: Optional[str] = None) -> str:
        """Runs SQL as the test user; the rows tab-separated, without a header."""
        r = subprocess.run(
            [_client(), "-h", "127.0.0.1", f"-P{self.port}", f"-u{self.user}",
             f"-p{self.password}", "-N", "-B", database or self.database, "-e", statement],
            capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"mariadb failed: {r.stderr}")
        return r.stdout

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)
