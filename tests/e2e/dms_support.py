"""Shared helpers of the DMS end-to-end tests (test_dms_*.py, issue 14).

A scenario: tools/dms_gen writes a DMS bucket and its sluice.toml, the real
``sluice run --config sluice.toml --once`` ingests it (environment cleared of
Sluice's and the connector's variables, so the generated TOML alone
configures the run), and the tables are compared value by value with
tests/dms_reference/model.py reading the same files:

* log tables (delta-rs): one row per DMS row (count per table = rows in its
  files, no ``_cdc_origin`` twice), ``_cdc_op`` per row kind;
* merged tables (``sluice cat``: deletion vectors applied): the model's
  latest state, every data column;
* history tables (``sluice cat``): the model's SCD2 versions, every data
  column plus ``__START_AT``/``__END_AT``.
"""
from __future__ import annotations

import collections
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import pytest

from conftest import REPO, SLUICE, cat_table, read_table, table_exists

sys.path.insert(0, str(REPO / "tools"))
# The DMS model is loaded under its own name: tests/merge_reference's model
# module is also called `model`, and both are imported in one pytest run.
_spec = importlib.util.spec_from_file_location(
    "dms_model", REPO / "tests" / "dms_reference" / "model.py")
model = importlib.util.module_from_spec(_spec)
sys.modules["dms_model"] = model
_spec.loader.exec_module(model)
from dms_gen.generator import Options, data_root, generate  # noqa: E402

CLEARED = ("SOURCE_PATH", "DELTA_TABLE_PATH", "READ_FORMAT", "FILE_READ_CONCURRENCY", "NAME",
           "DELTA_SCHEMA_EVOLUTION_STRATEGY", "BUCKET", "CHECKPOINT_DIR",
           "DELTA_TABLE_NAME_PREFIX", "GENERATE_LOG_TABLE", "DELTA_MERGE_FREQUENCY_MINUTES",
           "DATASTREAM_TABLE_SOURCE_TYPE")


def dms_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_") and k not in CLEARED}
    env.update({k: str(v) for k, v in extra.items()})
    return env


_ACCEPTS: Dict[str, str] = {}


def require_dms_source(tmp_dir: Path) -> None:
    """Fails (never skips) when the sluice binary has no DMS source yet: the
    integrator merges the source and these tests before CI runs them."""
    if SLUICE in _ACCEPTS:
        if _ACCEPTS[SLUICE]:
            pytest.fail(_ACCEPTS[SLUICE])
        return
    root = tmp_dir / "probe"
    (root / "src").mkdir(parents=True, exist_ok=True)
    cfg = root / "probe.toml"
    cfg.write_text(f'[source]\nkind = "dms"\nformat = "parquet"\npath = "{root / "src"}"\n'
                   f'[source.dms]\ntimestamp_column = "dmsTimestamp"\n'
                   f'[sink]\npath = "{root / "sink"}"\n')
    if not Path(SLUICE).exists():
        _ACCEPTS[SLUICE] = f"sluice binary not found at {SLUICE} (set SLUICE_BIN)"
    else:
        proc = subprocess.run([SLUICE, "run", "--config", str(cfg), "--once"], env=dms_env(),
                              capture_output=True, text=True, timeout=60)
        msg = ""
        if proc.returncode != 0:
            msg = (f"{SLUICE} does not accept source.kind = \"dms\" (exit {proc.returncode}): "
                   f"{(proc.stderr or proc.stdout).strip()[-500:]}\n"
                   "These tests need the DMS source of issue 14 (branch dmssrc) merged with them.")
        _ACCEPTS[SLUICE] = msg
    if _ACCEPTS[SLUICE]:
        pytest.fail(_ACCEPTS[SLUICE])


class Scenario:
    def __init__(self, tmp_path: Path, **opts):
        self.dir = tmp_path / "gen"
        self.sink = tmp_path / "sink"
        opts.setdefault("rows_per_table", 30)
        opts.setdefault("transactions", 80)
        opts.setdefault("seed", 14)
        self.g = generate(Options(out=str(self.dir), sink=str(self.sink), **opts))
        self.root = Path(data_root(self.g.options))
        self.config = self.dir / "sluice.toml"

    def model(self):
        return model.read_tree(str(self.config))

    def run_once(self, check: bool = True, timeout: float = 300, **env) -> subprocess.CompletedProcess:
        proc = subprocess.run([SLUICE, "run", "--config", str(self.config), "--once"],
                              env=dms_env(**env), capture_output=True, text=True, timeout=timeout)
        if check:
            assert proc.returncode == 0, (
                f"sluice run --once exited {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}"
                f"\n--- stderr\n{proc.stderr[-4000:]}")
        return proc

    def table_path(self, qualified: str, suffix: str = "") -> Path:
        schema, name = qualified.split(".", 1)
        return self.sink / schema / (name + suffix)

    def columns(self, qualified: str) -> List[str]:
        t = next(t for t in self.g.tables if t.qualified == qualified)
        return [c for c, _ in t.columns] + ([t.added[0]] if t.added else [])

    def keys(self, qualified: str) -> List[str]:
        return next(t for t in self.g.tables if t.qualified == qualified).keys


# --------------------------------------------------------------------------
# checks


OP_OF = {"I": {"insert"}, "U": {"update"}, "D": {"delete"}, "load": {"snapshot", "insert"}}


def check_log(sc: Scenario, rows_by_table: Dict[str, List["model.Row"]], inserts_only: bool = False,
              settings: "model.Settings" = None):
    """Counts, duplicates and ops; with `settings` also every log row's values
    against the DMS row its `_cdc_origin` ("<file>#<row>") names: the data
    columns (a NoSup cell is NULL and listed in `_cdc_unchanged`), and
    `_cdc_ts` (the timestamp column; full load: cdc_start_date when set)."""
    for q, rows in rows_by_table.items():
        path = sc.table_path(q, "_log")
        assert table_exists(path), f"{q}: no log table at {path}"
        log = read_table(path)
        keys = sc.keys(q)
        # a key change (before image != key) is logged as a delete of the
        # old key and an update of the new one, from the same DMS row
        moves = sum(1 for r in rows if r.op == "U" and r.before_key is not None
                    and r.before_key != model.key_of(r, keys) and not inserts_only)
        assert len(log) == len(rows) + moves, (
            f"{q}: log has {len(log)} rows, the DMS files {len(rows)} (+{moves} key changes)")
        origins = collections.Counter((r["_cdc_origin"], r["_cdc_op"]) for r in log)
        dupes = [o for o, n in origins.items() if n > 1]
        assert not dupes, f"{q}: rows logged twice: {dupes[:5]}"
        want = collections.Counter()
        for r in rows:
            want[r.op] += 1
        want["D"] += moves
        got = collections.Counter(r["_cdc_op"] for r in log)
        loads = want.pop("load", 0)
        if inserts_only:
            want = collections.Counter({"I": sum(want.values())})
        assert got.get("update", 0) == want.get("U", 0), (q, got, want)
        assert got.get("delete", 0) == want.get("D", 0), (q, got, want)
        assert got.get("snapshot", 0) + got.get("insert", 0) == loads + want.get("I", 0), (q, got, want)
        if settings is not None:
            check_log_values(sc, q, log, rows, settings)


def check_log_values(sc: Scenario, q: str, log: List[dict], rows: List["model.Row"],
                     settings: "model.Settings"):
    by_origin = {(r.file, r.index): r for r in rows}
    keys = sc.keys(q)
    bad = []
    for lr in log:
        f, _, i = lr["_cdc_origin"].rpartition("#")
        r = by_origin.get((f, int(i)))
        if r is None:
            bad.append(f"log row from {lr['_cdc_origin']!r}: no such DMS row")
            continue
        if not model.same(model.start_time(settings, r), lr["_cdc_ts"]):
            bad.append(f"{lr['_cdc_origin']}: _cdc_ts {lr['_cdc_ts']} != {model.start_time(settings, r)}")
        if lr["_cdc_op"] == "delete" and r.op == "U":  # the old key of a key change
            if tuple(repr(model.norm(lr[k], like=b)) for k, b in zip(keys, r.before_key)) != \
                    tuple(repr(model.norm(b)) for b in r.before_key):
                bad.append(f"{lr['_cdc_origin']}: key change deletes {[lr[k] for k in keys]}, "
                           f"before image {r.before_key}")
            continue
        unchanged = set(lr.get("_cdc_unchanged") or [])
        for c in sc.columns(q):
            exp = r.image.get(c)
            if exp is model.NOSUP:
                if lr.get(c) is not None or ("_cdc_unchanged" in lr and c not in unchanged):
                    bad.append(f"{lr['_cdc_origin']}: NoSup {c} logged as {lr.get(c)!r}, "
                               f"_cdc_unchanged {sorted(unchanged)}")
                continue
            if not model.same(exp, lr.get(c)):
                bad.append(f"{lr['_cdc_origin']}: {c} = {lr.get(c)!r}, file has {exp!r}")
        if len(bad) > 20:
            break
    assert not bad, f"{q}: {len(bad)}+ log values differ:\n  " + "\n  ".join(bad[:20])


def _key(values, keys, like=None):
    out = []
    for i, k in enumerate(keys):
        v = values[k] if isinstance(values, dict) else values[i]
        out.append(repr(model.norm(v, like=(like[i] if like else None))))
    return tuple(out)


def check_merged(sc: Scenario, expected: Dict[str, Dict[tuple, dict]]):
    for q, state in expected.items():
        compare_rows(sc, q, cat_table(sc.table_path(q)), state)


def compare_rows(sc: Scenario, q: str, rows: List[dict], state: Dict[tuple, dict]):
    """`rows` (read back) hold exactly the model's `state` of table `q`: one
    row per key, every data column equal."""
    if True:
        keys = sc.keys(q)
        like = next(iter(state)) if state else None  # key parts: never NULL
        got = {}
        dupes = []
        for r in rows:
            k = _key(r, keys, like)
            if k in got:
                dupes.append(k)
            got[k] = r
        want = {_key(k, keys): v for k, v in state.items()}
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        assert not dupes and not missing and not extra, (
            f"{q}: merged keys differ from the model: {len(dupes)} duplicated {dupes[:3]}, "
            f"{len(missing)} missing {missing[:3]}, {len(extra)} unexpected {extra[:3]} "
            f"(merged {len(rows)}, model {len(want)})")
        bad = []
        for k, row in want.items():
            for c in sc.columns(q):
                exp = row.get(c)
                act = got[k].get(c)
                if c not in got[k] and exp is not None:
                    bad.append(f"{k}: column {c} missing")
                elif not model.same(exp, act):
                    bad.append(f"{k}: {c} = {act!r}, model {exp!r}")
        assert not bad, f"{q}: {len(bad)} merged values differ:\n  " + "\n  ".join(bad[:20])


def check_history(sc: Scenario, expected: Dict[str, List[dict]]):
    for q, versions in expected.items():
        path = sc.table_path(q, "_history")
        assert table_exists(path), f"{q}: no history table at {path}"
        rows = cat_table(path)
        cols = sc.columns(q)

        def sig(v, like=None):
            vals = [repr(model.norm(v.get(c), like=(like.get(c) if like else None))) for c in cols]
            return tuple(vals) + (repr(model.norm(v["__START_AT"])), repr(model.norm(v["__END_AT"])))

        want = collections.Counter(sig(v) for v in versions)
        like = {}
        for v in versions:  # a non-NULL expected value of each column types the read-back
            for c in cols:
                if like.get(c) is None and v.get(c) is not None:
                    like[c] = v[c]
        got = collections.Counter(sig(r, like) for r in rows)
        missing = want - got
        extra = got - want
        assert not missing and not extra, (
            f"{q}: history differs from the model ({sum(got.values())} rows, model "
            f"{sum(want.values())}): missing {list(missing)[:3]}, unexpected {list(extra)[:3]}")


def read_dead_letters(sink: Path, qualified: str) -> List[dict]:
    p = Path(sink) / "_dead_letters" / qualified
    return read_table(p) if table_exists(p) else []


def dump(obj) -> str:
    return json.dumps(obj, default=str)[:2000]


def log_commits(sc: "Scenario", tables) -> int:
    """Log-table commits so far, over `tables`."""
    return sum(len(list((sc.table_path(q, "_log") / "_delta_log").glob("*.json")))
               for q in tables if (sc.table_path(q, "_log") / "_delta_log").is_dir())


def kill_runs(sc: "Scenario", tables, env: dict, rng, log_path: Path, kills_wanted: int,
              max_commits_between: int, drained_at: int = 0, seconds: float = 120):
    """Starts `sluice run` again and again, each run SIGKILLed at a random
    instant: after a random number (1..max_commits_between) of new log
    commits, so kills land all along the stream however fast the machine, or
    at a random time, so they land during start-up and between commits too,
    whichever comes first. Stops after `kills_wanted` kills, or once
    `drained_at` (> 0) log commits are there. Returns (kills, runs, log
    commits after each run)."""
    kills, runs, progress = 0, 0, []
    deadline = time.monotonic() + seconds
    window = 4.0  # widened after a run that committed nothing (a loaded machine)
    with open(log_path, "w") as log:
        while kills < kills_wanted and time.monotonic() < deadline:
            before = log_commits(sc, tables)
            if drained_at and before >= drained_at:
                break
            proc = subprocess.Popen([SLUICE, "run", "--config", str(sc.config)], env=env,
                                    stdout=log, stderr=subprocess.STDOUT)
            runs += 1
            after_commits = rng.randint(1, max_commits_between)
            # the first runs wait out the settle interval of the fresh files
            kill_at = time.monotonic() + rng.uniform(0.05, window)
            while proc.poll() is None and time.monotonic() < kill_at:
                if log_commits(sc, tables) - before >= after_commits:
                    time.sleep(rng.uniform(0.0, 0.03))
                    break
                time.sleep(0.01)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait()
            assert proc.returncode in (-signal.SIGKILL, 0), f"run exited {proc.returncode}"
            progress.append(log_commits(sc, tables))
            window = 4.0 if progress[-1] > before else min(window * 1.5, 20.0)
    return kills, runs, progress

