"""A private PostgreSQL cluster for tests (Debian's postgresql package), with
`wal_level=logical` for Debezium, on a free loopback port, in a temporary
folder that stop() removes. PostgreSQL refuses to run as root: when the tests run as root the
cluster is created and run as the `postgres` user (runuser), which the
Debian package creates. Stopped with `pg_ctl stop -m immediate` (the data
is thrown away).
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import List, Optional

from kafka_broker import free_port


def pg_bin() -> Optional[Path]:
    """The newest installed server's bin folder, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"),
                   key=lambda p: int(Path(p).parent.parent.name))
    return Path(found[-1]).parent if found else None


class PostgresServer:
    user = "sluice"
    password = "sluice"
    database = "inventory"

    def __init__(self):
        self.bin = pg_bin()
        # Its own folder under /tmp: the `postgres` user cannot enter
        # pytest's (root-only) temporary folders.
        self.workdir = Path(tempfile.mkdtemp(prefix="sluice-pg-"))
        self.data = self.workdir / "pgdata"
        self.port = free_port()
        self.log = self.workdir / "postgres.log"
        self._as_root = os.geteuid() == 0

    def _run(self, *cmd: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
        argv: List[str] = list(cmd)
        if self._as_root:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=120, **kw)
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}{r.stderr}"
                               f"\n{self.tail()}")
        return r

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text()[-chars:]
        except OSError:
            return ""

    def start(self) -> "PostgresServer":
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed (Debian package postgresql)")
        if self._as_root:
            shutil.chown(self.workdir, "postgres", "postgres")
        pwfile = self.workdir / "pw"
        pwfile.write_text(self.password + "\n")
        if self._as_root:
            shutil.chown(pwfile, "postgres", "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", self.user,
                  "--pwfile", str(pwfile), "-A", "scram-sha-256", "--no-sync", "-E", "UTF8")
        options = " ".join([
            f"-p {self.port}", "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={self.workdir}",
            "-c wal_level=logical", "-c max_wal_senders=4", "-c max_replication_slots=4",
            "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
        ])
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                  "-o", options, "-w", "-t", "60", "start")
        self.sql(f"CREATE DATABASE {self.database}", database="postgres")
        return self

    def stop(self) -> None:
        if self.bin is not None and (self.data / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                      "-w", "stop", check=False)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def sql(self, statement: str, database: Optional[str] = None) -> str:
        """Runs SQL through psql; the rows as unaligned text."""
        env = dict(os.environ, PGPASSWORD=self.password)
        psql = shutil.which("psql") or str(self.bin / "psql")
        r = subprocess.run(
            [psql, "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user,
             "-d", database or self.database, "-v", "ON_ERROR_STOP=1", "-At", "-c", statement],
            capture_output=True, text=True, env=env, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"psql failed: {r.stderr}")
        return r.stdout


def wait_until(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
