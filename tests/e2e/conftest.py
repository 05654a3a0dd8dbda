"""Fixtures and helpers of the end-to-end Datastream suite.

Everything runs the real ``sluice`` binary (``$SLUICE_BIN``, default
build/sluice) on a bucket layout written by tools/datastream_gen, with an
*empty* config file: the connector's environment variables alone configure
the job. Tables are read back with delta-rs (python ``deltalake``), an
independent reader.

* ``gen(out, **options)``: runs the generator, returns its ``_summary.json``.
* ``sluice_env(src, sink, **extra)``: the environment of a run.
* ``run_once(...)`` / ``start(...)``: ``sluice run --once`` or a background run.
* ``Expected``: the generator's manifest, per table.
* ``read_log`` / ``read_dead_letters``: a table as a list of dicts.
* ``compare_log_to_manifest``: the checks every ingestion test shares
  (exactly once, values, ``_cdc_op``, ``_cdc_seq`` order).
* ``read_merged`` / ``compare_merged_to_reference``: the merged
  (latest-state) table, read with ``sluice cat`` (it applies deletion
  vectors, which the installed delta-rs cannot read), against
  ``reference.replay()``.
"""
from __future__ import annotations

import collections
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Dict, Iterable, List, Optional

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
GEN_DIR = REPO / "tools" / "datastream_gen"
GENERATOR = GEN_DIR / "generate.py"
SLUICE = os.environ.get("SLUICE_BIN", str(REPO / "build" / "sluice"))

sys.path.insert(0, str(GEN_DIR))
import reference  # noqa: E402

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


# --------------------------------------------------------------------------
# generator


def gen(out: Path, **options) -> dict:
    """Runs tools/datastream_gen/generate.py --out OUT --key value ...
    (``late_files=2`` → ``--late-files 2``; ``emit_late_only=True`` → flag)."""
    cmd = [sys.executable, str(GENERATOR), "--out", str(out), "--quiet"]
    for k, v in options.items():
        flag = "--" + k.replace("_", "-")
        if v is True:
            cmd.append(flag)
        elif v is not False and v is not None:
            cmd += [flag, str(v)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"generator failed: {cmd}\n{proc.stderr}"
    with open(out / "_expected" / "_summary.json") as fh:
        return json.load(fh)


class Expected:
    """The manifest of one generated bucket, grouped per table."""

    def __init__(self, out: Path, formats_root: Optional[Path] = None):
        self.out = Path(out)
        with open(self.out / "_expected" / "_summary.json") as fh:
            self.summary = json.load(fh)
        self.tables = {t["object"]: t for t in self.summary["tables"]}
        self.events: Dict[str, List[dict]] = collections.defaultdict(list)
        for ev in reference.load_manifest(str(self.out)):
            self.events[ev["object"]].append(ev)
        self.files = []
        with open(self.out / "_expected" / "_files.jsonl") as fh:
            self.files = [json.loads(line) for line in fh if line.strip()]

    def kinds(self, obj: str) -> Dict[str, str]:
        return {c["name"]: c["kind"] for c in self.tables[obj]["columns"]}

    def log_path(self, sink: Path, obj: str) -> Path:
        t = self.tables[obj]
        db = t.get("database") or t.get("schema")
        return Path(sink) / db / (t["table"] + "_log")

    def qualified(self, obj: str) -> str:
        t = self.tables[obj]
        return f"{t.get('database') or t.get('schema')}.{t['table']}"

    def files_of(self, obj: str) -> List[dict]:
        return [f for f in self.files if f["object"] == obj]


# --------------------------------------------------------------------------
# running sluice


def sluice_env(src: Path, sink: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SLUICE_") and k not in (
               "SOURCE_PATH", "DELTA_TABLE_PATH", "READ_FORMAT", "FILE_READ_CONCURRENCY",
               "NAME", "DELTA_SCHEMA_EVOLUTION_STRATEGY", "BUCKET", "CHECKPOINT_DIR",
               "DELTA_TABLE_NAME_PREFIX", "GENERATE_LOG_TABLE")}
    env.update({"SOURCE_PATH": str(src), "DELTA_TABLE_PATH": str(sink)})
    env.update({k: str(v) for k, v in extra.items()})
    return env


@pytest.fixture
def empty_config(tmp_path) -> Path:
    p = tmp_path / "empty.toml"
    p.write_text("")
    return p


def run_once(config: Path, env: dict, timeout: float = 180) -> subprocess.CompletedProcess:
    proc = subprocess.run([SLUICE, "run", "--config", str(config), "--once"], env=env,
                          capture_output=True, text=True, timeout=timeout)
    return proc


def run_once_ok(config: Path, env: dict, timeout: float = 180) -> subprocess.CompletedProcess:
    proc = run_once(config, env, timeout)
    assert proc.returncode == 0, (f"sluice run --once exited {proc.returncode}\n"
                                  f"--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}")
    return proc


def start(config: Path, env: dict, once: bool = False, stdout=None) -> subprocess.Popen:
    args = [SLUICE, "run", "--config", str(config)] + (["--once"] if once else [])
    return subprocess.Popen(args, env=env, stdout=stdout or subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def stop(proc: subprocess.Popen, timeout: float = 30) -> str:
    """SIGTERM (finish the current batch and stop), then the output."""
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError(f"sluice did not stop within {timeout}s after SIGTERM\n{(out or '')[-4000:]}")
    return out or ""


def wait_until(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# --------------------------------------------------------------------------
# reading tables


def read_table(path: Path) -> List[dict]:
    from deltalake import DeltaTable
    return DeltaTable(str(path)).to_pyarrow_table().to_pylist()


def table_exists(path: Path) -> bool:
    return (Path(path) / "_delta_log").is_dir() and any((Path(path) / "_delta_log").glob("*.json"))


def cat_table(path: Path) -> List[dict]:
    """Every live row of a Delta table, via ``sluice cat`` (deletion vectors
    applied) and pyarrow."""
    import tempfile
    import pyarrow.parquet as pq
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rows.parquet"
        proc = subprocess.run([SLUICE, "cat", str(path), "--out", str(out)],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"sluice cat {path} failed:\n{proc.stderr[-2000:]}"
        return pq.read_table(out).to_pylist()


def merged_path(sink: Path, expected: "Expected", obj: str) -> Path:
    t = expected.tables[obj]
    return Path(sink) / (t.get("database") or t.get("schema")) / t["table"]


def read_merged(sink: Path, expected: "Expected", obj: str) -> List[dict]:
    return cat_table(merged_path(sink, expected, obj))


def compare_merged_to_reference(rows: List[dict], expected: "Expected", obj: str,
                                events: Optional[List[dict]] = None) -> None:
    """The merged table holds exactly reference.replay()'s latest state: one
    row per live key, every payload column equal (columns added later read
    NULL for rows last written before the change), deleted keys absent."""
    events = expected.events[obj] if events is None else events
    kinds = expected.kinds(obj)
    state = reference.replay(events).get(obj, {})
    keycols = events[0]["primary_keys"] if events else []

    def norm(values):
        return tuple(str(v) for v in values)

    want = {norm(p[c] for c in keycols): p for p in state.values()}
    got: Dict[tuple, dict] = {}
    dupes = []
    for r in rows:
        k = norm(r[c] for c in keycols)
        if k in got:
            dupes.append(k)
        got[k] = r
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    assert not dupes and not missing and not extra, (
        f"{obj}: merged table keys differ from the reference: {len(dupes)} duplicated "
        f"(e.g. {dupes[:3]}), {len(missing)} missing (e.g. {missing[:3]}), {len(extra)} "
        f"unexpected (e.g. {extra[:3]}); merged rows {len(rows)}, reference {len(want)}")
    bad = []
    for k, p in want.items():
        r = got[k]
        for col, kind in kinds.items():
            exp = p.get(col)
            if col not in r:
                if exp is not None:
                    bad.append(f"{k}: column {col} missing from the merged table")
                continue
            if not value_matches(kind, exp, r[col]):
                bad.append(f"{k}: {col} ({kind}) = {r[col]!r}, reference {exp!r}")
        if len(bad) > 20:
            break
    assert not bad, f"{obj}: {len(bad)}+ merged value mismatches:\n  " + "\n  ".join(bad[:20])
    for col in ("_cdc_op", "_cdc_origin", "_cdc_ingested_at", "_cdc_source"):
        assert not rows or col not in rows[0], f"{obj}: merged table has {col}"


def model_history(expected: "Expected", obj: str, track=None) -> Dict[tuple, List[dict]]:
    """The reference model's SCD2 versions of a table's events, per key (its
    values as strings), in order: each the row image (manifest encoding)
    with __START_AT and __END_AT in microseconds (None while open).
    Sequences are the events' ranks in reference order (the model only
    compares them)."""
    sys.path.insert(0, str(REPO / "tests" / "merge_reference"))
    import model  # noqa: E402
    events = []
    for rank, ev in enumerate(reference.sorted_events(expected.events[obj])):
        op = "delete" if ev["change_type"] in reference.DELETE_TYPES else "update"
        events.append({"op": op, "key": reference.key_of(ev), "seq": rank.to_bytes(8, "big"),
                       "ts": ev["source_timestamp_ms"] * 1000, "row": dict(ev["payload"])})
    return {tuple(str(k) for k in key): fold.versions
            for key, fold in model.history_folds(events, track).items()}


def read_log(sink: Path, expected: Expected, obj: str) -> List[dict]:
    return read_table(expected.log_path(sink, obj))


def dead_letter_path(sink: Path, qualified: str) -> Path:
    return Path(sink) / "_dead_letters" / qualified


def read_dead_letters(sink: Path, qualified: str) -> List[dict]:
    p = dead_letter_path(sink, qualified)
    return read_table(p) if table_exists(p) else []


def delta_txns(path: Path) -> Dict[str, int]:
    """appId -> version of the latest txn of each app, from the JSON log."""
    txns = {}
    for f in sorted((Path(path) / "_delta_log").glob("*.json")):
        for line in f.read_text().splitlines():
            if not line.strip():
                continue
            a = json.loads(line)
            if "txn" in a:
                txns[a["txn"]["appId"]] = a["txn"]["version"]
    return txns


def latest_version(path: Path) -> int:
    """The newest commit version of a Delta table."""
    return max(int(f.stem) for f in (Path(path) / "_delta_log").glob("*.json"))


def last_data_version(path: Path) -> int:
    """The newest version that added rows (dataChange adds): the log version a
    caught-up merged table records."""
    best = -1
    for f in (Path(path) / "_delta_log").glob("*.json"):
        for ln in f.read_text().splitlines():
            if ln.strip() and '"add"' in ln:
                a = json.loads(ln)
                if "add" in a and a["add"].get("dataChange", True):
                    best = max(best, int(f.stem))
    return best


def commits_with_data(path: Path) -> int:
    """Commits of the pipeline's batches: all but maintenance commits (a
    compaction's adds and removes all have dataChange=false)."""
    n = 0
    for f in (Path(path) / "_delta_log").glob("*.json"):
        actions = [json.loads(ln) for ln in f.read_text().splitlines() if ln.strip()]
        files = [a.get("add") or a.get("remove") for a in actions if "add" in a or "remove" in a]
        if files and not any(x.get("dataChange", True) for x in files):
            continue
        n += 1
    return n


# --------------------------------------------------------------------------
# value comparison


def _parse_text_time(v: str):
    """JSON input keeps timestamps and dates as text (Sluice never guesses
    types from strings, docs/json-types.md); read them for comparison."""
    text = v.strip().replace(" ", "T", 1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    if len(text) == 10:
        return dt.date.fromisoformat(text)
    return dt.datetime.fromisoformat(text)


def _us(v) -> int:
    if isinstance(v, str):
        v = _parse_text_time(v)
    if isinstance(v, dt.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=dt.timezone.utc)
        d = v - EPOCH
        return (d.days * 86400 + d.seconds) * 1_000_000 + d.microseconds
    if isinstance(v, dt.date):
        return (v - dt.date(1970, 1, 1)).days * 86_400_000_000
    raise TypeError(f"not a timestamp: {v!r}")


def _days(v) -> int:
    if isinstance(v, str):
        v = _parse_text_time(v)
    if isinstance(v, dt.datetime):
        return _us(v) // 86_400_000_000
    if isinstance(v, dt.date):
        return (v - dt.date(1970, 1, 1)).days
    raise TypeError(f"not a date: {v!r}")


def value_matches(kind: str, expected, actual) -> bool:
    """Is the log table value `actual` the manifest value `expected` (in the
    manifest encoding documented in tools/datastream_gen/README.md)?"""
    if expected is None or actual is None:
        return expected is None and actual is None
    if kind in ("decimal", "ubigint"):
        # exact: Decimal("0.10") == Decimal("0.1"), but no float detour
        return isinstance(actual, (Decimal, int, str)) and Decimal(str(actual)) == Decimal(expected)
    if kind in ("int", "bigint", "tinybool"):
        return not isinstance(actual, (float, bool)) and int(actual) == expected
    if kind in ("datetime", "mdate"):
        return _us(actual) == expected
    if kind == "pdate":
        return _days(actual) == expected
    if kind == "json":
        return json.loads(actual) == json.loads(expected)
    if kind == "bool":
        return bool(actual) == expected and isinstance(actual, (bool, int))
    if kind == "double":
        return float(actual) == float(expected)
    return actual == expected


def seq_order_violations(rows: List[dict], events: List[dict]) -> List[str]:
    """`_cdc_seq` order must be the true order: sort the log rows by _cdc_seq
    and the manifest by reference.order_key; the uuid sequences must agree.
    Backfill events have no order among themselves (a snapshot), so the
    backfill prefix is compared as a set; everything after it exactly."""
    by_seq = [r["_cdc_source"]["uuid"] for r in sorted(rows, key=lambda r: r["_cdc_seq"])]
    truth = reference.sorted_events(events)
    n_bf = sum(1 for e in truth if reference.is_backfill(e))
    problems = []
    if set(by_seq[:n_bf]) != {e["uuid"] for e in truth[:n_bf]}:
        problems.append("backfill events do not all sort before every CDC event")
    want = [e["uuid"] for e in truth[n_bf:]]
    got = by_seq[n_bf:]
    for i, (a, b) in enumerate(zip(got, want)):
        if a != b:
            problems.append(f"_cdc_seq order differs from the true order at CDC event #{i}: "
                            f"log has {a}, manifest has {b} "
                            f"(manifest order_key {reference.order_key(truth[n_bf + i])})")
            break
    return problems


def compare_log_to_manifest(rows: List[dict], expected: Expected, obj: str,
                            events: Optional[List[dict]] = None, check_values: bool = True,
                            check_order: bool = True) -> None:
    """Exactly once (multiset of uuids), then values, ops and order."""
    events = expected.events[obj] if events is None else events
    kinds = expected.kinds(obj)
    got = collections.Counter(r["_cdc_source"]["uuid"] for r in rows)
    want = collections.Counter(e["uuid"] for e in events)
    dupes = {u: n for u, n in got.items() if n > 1}
    missing = [u for u in want if u not in got]
    extra = [u for u in got if u not in want]
    assert not dupes and not missing and not extra, (
        f"{obj}: not exactly once: {len(dupes)} duplicated (e.g. {list(dupes.items())[:3]}), "
        f"{len(missing)} missing (e.g. {missing[:3]}), {len(extra)} unexpected (e.g. {extra[:3]}); "
        f"log rows {len(rows)}, manifest events {len(events)}")
    if check_values:
        by_uuid = {e["uuid"]: e for e in events}
        bad = []
        for r in rows:
            e = by_uuid[r["_cdc_source"]["uuid"]]
            if r["_cdc_op"] != e["cdc_op"]:
                bad.append(f"{e['uuid']}: _cdc_op {r['_cdc_op']!r} != {e['cdc_op']!r}")
            if _us(r["_cdc_ts"]) != e["source_timestamp_ms"] * 1000:
                bad.append(f"{e['uuid']}: _cdc_ts {r['_cdc_ts']} != {e['source_timestamp_ms']} ms")
            src = r["_cdc_source"]
            if src.get("change_type") != e["change_type"]:
                bad.append(f"{e['uuid']}: change_type {src.get('change_type')!r} != {e['change_type']!r}")
            if e["flavour"] == "mysql" and "cdc" in e["read_method"]:
                if src.get("log_file") != e["log_file"] or src.get("log_position") != e["log_position"]:
                    bad.append(f"{e['uuid']}: binlog {src.get('log_file')}:{src.get('log_position')}"
                               f" != {e['log_file']}:{e['log_position']}")
            if e["flavour"] == "postgresql" and "cdc" in e["read_method"] and src.get("lsn") != e["lsn"]:
                bad.append(f"{e['uuid']}: lsn {src.get('lsn')!r} != {e['lsn']!r}")
            for col, kind in kinds.items():
                if col in e["payload"]:
                    exp = e["payload"][col]
                else:
                    exp = None  # a column added later reads NULL for older events
                if col not in r:
                    if exp is not None:
                        bad.append(f"{e['uuid']}: column {col} missing from the log table")
                    continue
                if not value_matches(kind, exp, r[col]):
                    bad.append(f"{e['uuid']} ({e['change_type']}): {col} ({kind}) = {r[col]!r}, "
                               f"manifest {exp!r}")
            if len(bad) > 20:
                break
        assert not bad, f"{obj}: {len(bad)}+ value mismatches:\n  " + "\n  ".join(bad[:20])
    if check_order:
        problems = seq_order_violations(rows, events)
        assert not problems, f"{obj}: " + "; ".join(problems)


# --------------------------------------------------------------------------
# progress lines

PROGRESS = re.compile(r"^\[sluice\] (?P<table>\S+)_log v(?P<version>\d+): (?P<files>\d+) files?, "
                      r"(?P<rows>\d+) rows(?P<rest>.*)$")


def progress_lines(stdout: str) -> List[dict]:
    out = []
    for line in stdout.splitlines():
        m = PROGRESS.match(line.strip())
        if m:
            d = m.groupdict()
            lag = re.search(r"lag ([^\s;,]+)", d["rest"])
            d["lag_s"] = parse_lag(lag.group(1)) if lag else None
            out.append(d)
    return out


def parse_lag(text: str) -> int:
    """"42s", "3m05s", "5h07m", "690d04h" -> seconds (the coarsest units
    printed have the precision of their last field)."""
    m = re.fullmatch(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text)
    assert m and text, f"unparseable lag {text!r}"
    d, h, mi, s = (int(x) if x else 0 for x in m.groups())
    return d * 86400 + h * 3600 + mi * 60 + s


def flatten(xs: Iterable[Iterable]) -> list:
    return [x for xs_ in xs for x in xs_]
