"""What `sluice run --http` counts in bytes and files, checked against what is
on disk: bytes written (every Delta table a source table owns: data files,
deletion vectors, commits, checkpoints) against the tables' own logs; the
backlog gauge against the files not yet ingested."""
import json
import os
import shutil
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from sluice_run import SluiceRun, env_for, gen, log_path, count_rows, wait_until

TABLES = ["public.accounts", "shop.orders"]


def samples(text: str) -> dict:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def per_table(smp: dict, name: str) -> dict:
    return {dict(labels)["table"]: v for (n, labels), v in smp.items()
            if n == name and "table" in dict(labels)}


def scrape(run: SluiceRun) -> dict:
    code, text = run.get("/metrics")
    assert code == 200, text
    return samples(text)


def delta_tables(sink: Path) -> list:
    """Every Delta table under the sink but the event log (the run's own,
    written for no source table)."""
    events = sink / "_sluice" / "events"
    return sorted(d.parent for d in sink.rglob("_delta_log")
                  if d.is_dir() and d.parent != events)


def written_on_disk(table: Path) -> dict:
    """What the table's log says was written: the distinct data files its
    add actions name (their sizes as the log records them), the deletion-
    vector files they reference, and the log's own files."""
    adds, dv_files = {}, set()
    log = table / "_delta_log"
    commits = sorted(log.glob("*.json"))
    for commit in commits:
        for line in commit.read_text().splitlines():
            action = json.loads(line)
            if "add" in action:
                add = action["add"]
                adds.setdefault(add["path"], add["size"])
                dv = add.get("deletionVector")
                if dv and dv["storageType"] == "u":
                    dv_files.add((add["path"], dv["pathOrInlineDv"]))
    # Deletion-vector files by name (the log names them in Z85): the table's
    # own, not those of tables nested in it (side tables under _sluice/).
    nested = [d.parent for d in table.rglob("_delta_log") if d.parent != table]
    dvs = [p for p in table.rglob("deletion_vector_*.bin")
           if not any(n in p.parents for n in nested)]
    return {
        "adds": sum(adds.values()),
        "dvs": sum(p.stat().st_size for p in dvs),
        "dv_refs": len(dv_files),
        "commits": sum(c.stat().st_size for c in commits),
        "checkpoints": sum(c.stat().st_size for c in log.glob("*.checkpoint*.parquet")),
    }


def test_bytes_written_equal_what_the_delta_logs_added(tmp_path):
    src, sink = tmp_path / "src", tmp_path / "sink"
    gen(src, tables=2, rows_per_table=60, changes_per_table=300, seed=11, late_files=0)
    env = env_for(src, sink, SLUICE_PIPELINE_MERGE_INTERVAL="0s",
                  SLUICE_SOURCE_MAX_FILES_PER_BATCH="1")
    run = SluiceRun(tmp_path, env)
    try:
        last = {}

        def settled():
            smp = scrape(run)
            now = (per_table(smp, "sluice_bytes_written_total"),
                   per_table(smp, "sluice_events_ingested_total"),
                   per_table(smp, "sluice_rows_merged_total"))
            done = (sorted(now[0]) == TABLES and now == last.get("v")
                    and all(v == 0 for v in per_table(smp, "sluice_backlog").values())
                    and all(count_rows(log_path(sink, t)) == now[1][t] for t in TABLES))
            last["v"] = now
            return smp if done else None

        smp = wait_until(settled, 180, "the run to ingest and merge every file", interval=1.5)
        counted = per_table(smp, "sluice_bytes_written_total")
        disk = {str(t.relative_to(sink)): written_on_disk(t) for t in delta_tables(sink)}
        # nothing moved while the tables were read
        assert per_table(scrape(run), "sluice_bytes_written_total") == counted
    finally:
        assert run.stop() == 0, run.output()[-3000:]

    total = sum(counted.values())
    adds = sum(d["adds"] for d in disk.values())
    dvs = sum(d["dvs"] for d in disk.values())
    log_files = sum(d["commits"] + d["checkpoints"] for d in disk.values())
    summary = json.dumps({"counted": counted, "tables": disk}, indent=1)
    # The run wrote merged tables with deletion vectors and checkpoints:
    # every kind of write is in the figure.
    assert any(d["dv_refs"] for d in disk.values()), summary
    assert any(d["checkpoints"] for d in disk.values()), summary
    # Every data file and deletion vector the logs added, plus the commits
    # and checkpoints that added them: nothing more, nothing less.
    assert adds + dvs <= total <= adds + dvs + log_files, summary
    assert total == adds + dvs + log_files, summary
    # Each table's figure covers at least its log table's data files.
    for t in TABLES:
        db, name = t.split(".")
        log = disk[f"{db}/{name}_log"]
        assert counted[t] >= log["adds"] + log["commits"], (t, summary)


def rows_by_origin_file(table: Path) -> dict:
    """{file: log rows} of a log table, by the file its rows came from
    (_cdc_origin is "<file>#<offset>")."""
    from deltalake import DeltaTable
    out = {}
    for origin in DeltaTable(str(table)).to_pyarrow_table().column("_cdc_origin").to_pylist():
        f = origin.split("#")[0]
        out[f] = out.get(f, 0) + 1
    return out


def test_bytes_read_of_a_multi_table_stream_split_by_rows(tmp_path):
    """DMS CDC_TXN files hold rows of every table: each file's bytes are
    read once and split between its tables by their rows, so the tables'
    figures add up to the bytes of the bucket."""
    import subprocess
    import sys
    from sluice_run import ROOT
    out = tmp_path / "gen"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools/dms_gen/generate.py"), "--out", str(out),
         "--sink", str(tmp_path / "sink"), "--format", "csv", "--preserve-transactions",
         "--before-image-prefix", "BI_", "--no-added-column", "--rows-per-table", "30",
         "--transactions", "80", "--seed", "14"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    bucket = out / "bucket"
    tables = ["inv.items", "public.accounts", "sales.orders"]
    cdc = sorted((bucket / "cdc").glob("CDC_TXN-*.csv"))
    assert len(cdc) > 3
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_") and k not in (
        "SOURCE_PATH", "DELTA_TABLE_PATH", "READ_FORMAT", "DELTA_SCHEMA_EVOLUTION_STRATEGY")}
    run = SluiceRun(tmp_path, env, config=out / "sluice.toml")
    try:
        last = {}

        def settled():
            smp = scrape(run)
            now = per_table(smp, "sluice_source_bytes_read_total")
            done = sorted(now) == tables and now == last.get("v") and all(now.values())
            last["v"] = now
            return now if done else None

        counted = wait_until(settled, 120, "the run to read every file", interval=1.5)
    finally:
        assert run.stop() == 0, run.output()[-3000:]
    # What each table got from each CDC_TXN file (a key change is two
    # change rows), the rule the split follows.
    sink = tmp_path / "sink"
    expected = {t: sum(p.stat().st_size for p in (bucket / t.replace(".", "/")).iterdir())
                for t in tables}
    got = {t: rows_by_origin_file(log_path(sink, t)) for t in tables}
    assert not (sink / "_dead_letters").exists()
    for f in cdc:
        name = f"cdc/{f.name}"
        total = sum(got[t].get(name, 0) for t in tables)
        assert total > 0, name
        for t in tables:
            expected[t] += f.stat().st_size * got[t].get(name, 0) // total
    every_byte = sum(p.stat().st_size for p in bucket.rglob("*") if p.is_file())
    assert sum(counted.values()) == every_byte, (counted, every_byte)
    for t in tables:
        # the rounding remainder (under a byte per table and file) goes to
        # each file's largest table
        assert expected[t] <= counted[t] <= expected[t] + len(cdc) * len(tables), (t, counted,
                                                                                  expected)


def test_backlog_is_the_files_listed_and_not_yet_taken(tmp_path):
    """Files that have landed but are not ready (still settling) or wait for
    a later batch are the backlog, exactly; it drops to 0 once they are in."""
    src, sink = tmp_path / "src", tmp_path / "sink"
    files = gen(src, tables=2, rows_per_table=30, changes_per_table=120, seed=4, late_files=0)
    orders = sorted((f for f in files if f["object"] == "shop_orders"), key=lambda f: f["path"])
    held_back = orders[-5:]
    held = tmp_path / "held"
    for f in held_back:
        (held / f["path"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(src / f["path"], held / f["path"])
    # A file is taken once its modification (or inode change) time is this
    # old: long enough to see the five files wait.
    env = env_for(src, sink, SLUICE_SOURCE_SETTLE_INTERVAL="8s",
                  SLUICE_SOURCE_MAX_FILES_PER_BATCH="1", SLUICE_SOURCE_POLL_INTERVAL="200ms")
    run = SluiceRun(tmp_path, env)
    try:
        def backlog():
            return per_table(scrape(run), "sluice_backlog")

        def first_files_in():
            b = backlog()
            return (sorted(b) == ["public.accounts", "shop.orders"] and not any(b.values())
                    and count_rows(log_path(sink, "shop.orders")) > 0)

        wait_until(first_files_in, 120, "the first files to be in")
        before = count_rows(log_path(sink, "shop.orders"))
        # five files land; they settle for 8 s
        for f in held_back:
            (src / f["path"]).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(held / f["path"], src / f["path"])
        seen = []

        def watch():
            v = backlog()["shop.orders"]
            if not seen or seen[-1] != v:
                seen.append(v)
            return v

        wait_until(lambda: watch() == 5, 20, "a backlog of 5 files", interval=0.05)
        assert backlog()["public.accounts"] == 0
        status = {t["name"]: t for t in run.status()["tables"]}
        assert status["shop.orders"]["backlog"] == 5, status["shop.orders"]
        assert count_rows(log_path(sink, "shop.orders")) == before
        # settled: taken one per batch, the backlog counts down to 0
        wait_until(lambda: watch() == 0, 60, "the backlog to drain", interval=0.05)
        assert seen[seen.index(5):] == sorted(seen[seen.index(5):], reverse=True), seen
        assert set(seen) <= {0, 1, 2, 3, 4, 5}, seen
        assert count_rows(log_path(sink, "shop.orders")) > before
    finally:
        assert run.stop() == 0, run.output()[-3000:]
