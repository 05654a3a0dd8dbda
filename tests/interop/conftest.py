"""Fixtures of the interop suite.

* ``spark``: the one SparkSession (with Delta) shared by the whole pytest run.
* ``sluice``: runs the Sluice CLI (``$SLUICE_BIN``, default build/sluice).
* ``tmp_tables``: ``tmp_tables("name")`` returns a fresh, not yet existing
  table directory.
* ``read_with_spark`` / ``read_with_deltalake`` / ``read_with_duckdb``:
  ``f(path, version=None) -> pyarrow.Table``.
* ``assert_same_rows(expected, actual, key)``: value-by-value comparison with
  a readable diff (see peers.py for the normalisation rules).
"""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import peers  # noqa: E402
from spark_session import get_spark, stop_spark  # noqa: E402

REPO = HERE.parent.parent
DEFAULT_SLUICE = REPO / "build" / "sluice"


# --------------------------------------------------------------------------
# Sluice CLI


class SluiceError(AssertionError):
    pass


class Sluice:
    """Thin wrapper over the CLI. Every call checks the exit status and, on
    failure, raises with the command line, exit code, stdout and stderr."""

    def __init__(self, binary: str, scratch: Path):
        self.binary = binary
        self.scratch = scratch
        self.scratch.mkdir(parents=True, exist_ok=True)

    # -- plumbing
    def run(self, *args, expect_fail: bool = False, timeout: float = 300):
        cmd = [self.binary, *[str(a) for a in args]]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except OSError as e:
            raise SluiceError(f"cannot run the sluice binary {self.binary}: {e} "
                              f"(build it, or set SLUICE_BIN)") from None
        except subprocess.TimeoutExpired as e:
            raise SluiceError(f"timed out after {timeout}s: {shlex.join(cmd)}\n"
                              f"stderr: {e.stderr}") from None
        if expect_fail:
            if proc.returncode == 0:
                raise SluiceError(
                    f"expected a failure but exit status was 0: {shlex.join(cmd)}\n"
                    f"--- stdout (first 2000 chars)\n{proc.stdout[:2000]}\n"
                    f"--- stderr\n{proc.stderr[-2000:]}")
        elif proc.returncode != 0:
            raise SluiceError(
                f"sluice failed with exit status {proc.returncode}: {shlex.join(cmd)}\n"
                f"--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}")
        return proc

    def _tmp(self, suffix: str) -> Path:
        return self.scratch / f"{uuid.uuid4().hex}{suffix}"

    def _as_parquet(self, data) -> Path:
        if isinstance(data, (str, os.PathLike)):
            return Path(data)
        if isinstance(data, pa.Table):
            p = self._tmp(".parquet")
            pq.write_table(data, p)
            return p
        raise TypeError(f"expected a path or pyarrow.Table, got {type(data)}")

    # -- commands
    def write(self, table_dir, data, *, partition_by=None, mode=None,
              target_file_size=None, checkpoint_interval=None, txn=None,
              deletion_vectors: bool = True, compression=None):
        args = ["write", table_dir, "--input", self._as_parquet(data)]
        if partition_by:
            args += ["--partition-by", ",".join(partition_by) if not isinstance(
                partition_by, str) else partition_by]
        if mode:
            args += ["--mode", mode]
        if target_file_size is not None:
            args += ["--target-file-size", int(target_file_size)]
        if checkpoint_interval is not None:
            args += ["--checkpoint-interval", int(checkpoint_interval)]
        if compression is not None:
            args += ["--compression", compression]
        if txn is not None:
            app_id, version = txn
            args += ["--txn", f"{app_id}={int(version)}"]
        if not deletion_vectors:
            args += ["--no-deletion-vectors"]
        return self.run(*args)

    def delete(self, table_dir, key: str, keys, *, copy_on_write: bool = False,
               inline_dv: bool = False):
        if isinstance(keys, (str, os.PathLike)):
            keys_path = Path(keys)
        else:
            arr = keys if isinstance(keys, (pa.Array, pa.ChunkedArray)) else pa.array(list(keys))
            keys_path = self._tmp(".parquet")
            pq.write_table(pa.table({key: arr}), keys_path)
        args = ["delete", table_dir, "--key", key, "--keys-from", keys_path]
        if copy_on_write:
            args.append("--copy-on-write")
        if inline_dv:
            args.append("--inline-dv")
        return self.run(*args)

    def _cat_args(self, table_dir, version, timestamp, out):
        args = ["cat", table_dir]
        if version is not None:
            args += ["--version", int(version)]
        if timestamp is not None:
            args += ["--timestamp", timestamp]
        return args + ["--out", out]

    def cat(self, table_dir, *, version=None, timestamp=None) -> pa.Table:
        out = self._tmp(".parquet")
        self.run(*self._cat_args(table_dir, version, timestamp, out))
        if not out.exists():
            raise SluiceError(f"sluice cat exited 0 but wrote no {out}")
        return pq.read_table(out)

    def cat_refused(self, table_dir, *, version=None) -> str:
        """Runs ``cat`` expecting a refusal; returns stderr. Asserts that no
        output parquet file with rows was produced."""
        out = self._tmp(".parquet")
        proc = self.run(*self._cat_args(table_dir, version, None, out), expect_fail=True)
        if out.exists():
            n = pq.read_metadata(out).num_rows
            assert n == 0, f"sluice cat failed but left {n} rows in {out}"
        return proc.stderr

    def checkpoint(self, table_dir):
        return self.run("checkpoint", table_dir)

    def inspect(self, table_dir) -> dict:
        proc = self.run("inspect", table_dir, "--json")
        try:
            return json.loads(proc.stdout)
        except json.JSONDecodeError as e:
            raise SluiceError(f"sluice inspect --json printed invalid JSON ({e}):\n"
                              f"{proc.stdout[:2000]}") from None


def sluice_binary() -> str:
    return os.environ.get("SLUICE_BIN", str(DEFAULT_SLUICE))


@pytest.fixture(scope="session")
def sluice(tmp_path_factory) -> Sluice:
    binary = sluice_binary()
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        pytest.fail(f"sluice binary missing or not executable: {binary} "
                    f"(build it with cmake --build build, or set SLUICE_BIN)", pytrace=False)
    # Run a private copy: a rebuild during the run must not swap binaries
    # between tests.
    import shutil

    bin_dir = tmp_path_factory.mktemp("sluice-bin")
    copy = bin_dir / "sluice"
    shutil.copy2(binary, copy)
    return Sluice(str(copy), tmp_path_factory.mktemp("sluice-scratch"))


# --------------------------------------------------------------------------
# peers


@pytest.fixture(scope="session")
def spark():
    session = get_spark()
    yield session
    stop_spark()


@pytest.fixture
def tmp_tables(tmp_path):
    """Factory: tmp_tables("name") -> path (str) of a fresh table directory."""
    counter = {"n": 0}

    def make(name: str = "t") -> str:
        counter["n"] += 1
        p = tmp_path / f"{name}-{counter['n']}"
        return str(p)

    return make


@pytest.fixture
def read_with_spark(spark):
    def read(path, version=None, timestamp=None):
        return peers.read_with_spark(spark, path, version=version, timestamp=timestamp)
    return read


@pytest.fixture
def read_with_deltalake():
    return peers.read_with_deltalake


@pytest.fixture
def read_with_duckdb():
    def read(path, version=None):
        if version is not None:
            raise NotImplementedError("the suite reads DuckDB at the latest version only")
        return peers.read_with_duckdb(path)
    return read


@pytest.fixture
def assert_same_rows():
    return peers.assert_same_rows


# --------------------------------------------------------------------------
# DAT cases: generated once per run, in a background process (its own Spark
# JVM) that starts at collection time, so the two cores overlap Spark work of
# the generator with the other test modules; test_dat.py runs last.
# SLUICE_DAT_DIR=<dir> keeps the generated cases there and reuses them on the
# next run if the generator did not change.

DAT_GENERATOR = HERE / "dat" / "generate.py"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    dat_items = [i for i in items if i.path.name == "test_dat.py"]
    if not dat_items:
        return
    items[:] = [i for i in items if i.path.name != "test_dat.py"] + dat_items
    import tempfile

    keep = os.environ.get("SLUICE_DAT_DIR")
    out = keep or tempfile.mkdtemp(prefix="sluice-dat-")
    os.makedirs(out, exist_ok=True)
    log_path = os.path.join(out, "generate.log")
    log = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, str(DAT_GENERATOR), out], stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True, cwd=str(REPO))
    config._sluice_dat = {"proc": proc, "out": out, "log": log_path, "keep": bool(keep),
                          "log_file": log}


def pytest_sessionfinish(session, exitstatus):
    dat = getattr(session.config, "_sluice_dat", None)
    if not dat:
        return
    proc = dat["proc"]
    if proc.poll() is None:
        import signal

        try:
            os.killpg(proc.pid, signal.SIGTERM)   # the generator's own process group
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)
    dat["log_file"].close()
    if not dat["keep"]:
        import shutil

        shutil.rmtree(dat["out"], ignore_errors=True)


@pytest.fixture(scope="session")
def dat_dir(request) -> Path:
    dat = getattr(request.config, "_sluice_dat", None)
    if dat is None:
        pytest.fail("DAT generator was not started (collection hook did not run)")
    try:
        rc = dat["proc"].wait(timeout=float(os.environ.get("SLUICE_DAT_TIMEOUT", 900)))
    except subprocess.TimeoutExpired:
        pytest.fail(f"DAT generation timed out; log: {dat['log']}")
    if rc != 0:
        with open(dat["log"]) as f:
            tail = f.read()[-6000:]
        pytest.fail(f"DAT generation failed (exit {rc}); log {dat['log']}:\n{tail}",
                    pytrace=False)
    return Path(dat["out"])
