"""`sluice run --http` on a real Datastream pipeline: /metrics (parsed with the
official Prometheus client) agrees with the tables the run wrote, /readyz
flips when a table stops on a refused schema change, and the token is
enforced."""
import shutil
import subprocess

from prometheus_client.parser import text_string_to_metric_families

from sluice_run import (SLUICE, SluiceRun, count_rows, dead_letter_path, env_for, gen, log_path,
                        wait_until)

TOKEN = "s3cret-token-for-tests"
TABLES = ["public.accounts", "shop.orders"]


def samples(text: str) -> dict:
    """{(sample name, frozenset(labels)): value}"""
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(smp: dict, name: str, **labels) -> float:
    return smp[(name, frozenset(labels.items()))]


def scrape(run: SluiceRun) -> dict:
    code, text = run.get("/metrics")
    assert code == 200, text
    return samples(text)


def test_metrics_equal_table_contents(tmp_path):
    src, sink = tmp_path / "src", tmp_path / "sink"
    files = gen(src, tables=2, rows_per_table=40, changes_per_table=150, seed=5, late_files=0,
                format="json")
    # two lines that are not JSON in a CDC file: they become dead letters
    victim = max((f for f in files if f["object"] == "shop_orders" and "cdc" in f["read_method"]),
                 key=lambda f: f["events"])
    lines = (src / victim["path"]).read_text().splitlines(keepends=True)
    lines[1:1] = ["{not json at all\n", "[1, 2\n"]
    (src / victim["path"]).write_text("".join(lines))

    # A checkpoint every second commit: the background writer has work.
    run = SluiceRun(tmp_path, env_for(src, sink, READ_FORMAT="json",
                                      SLUICE_SINK_CHECKPOINT_INTERVAL=2), "--http-token", TOKEN)
    try:
        # all files ingested: the log tables hold what the counters say, and
        # nothing moves any more
        last = {}

        def settled():
            smp = scrape(run)
            now = {t: (value(smp, "sluice_events_ingested_total", table=t),
                       value(smp, "sluice_dead_letters_total", table=t)) for t in TABLES
                   if ("sluice_events_ingested_total", frozenset({"table": t}.items())) in smp}
            done = (len(now) == len(TABLES) and now == last.get("v")
                    and all(value(smp, "sluice_backlog", table=t) == 0 for t in TABLES)
                    and all(count_rows(log_path(sink, t)) == now[t][0] for t in TABLES))
            last["v"] = now
            return smp if done else None

        smp = wait_until(settled, 120, "the run to ingest every file", interval=1.0)
        for t in TABLES:
            log_rows = count_rows(log_path(sink, t))
            dead_rows = count_rows(dead_letter_path(sink, t))
            assert log_rows > 0
            assert value(smp, "sluice_events_ingested_total", table=t) == log_rows, t
            assert value(smp, "sluice_dead_letters_total", table=t) == dead_rows, t
            assert value(smp, "sluice_commits_total", table=t, delta_table="log") >= 1
            assert value(smp, "sluice_table_stopped", table=t) == 0
            assert value(smp, "sluice_source_lag_seconds", table=t) > 0
            assert value(smp, "sluice_batch_duration_seconds_count", table=t) >= 1
            # every byte of the table's folder was read once
            folder = src / t.replace(".", "_")
            size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
            assert value(smp, "sluice_source_bytes_read_total", table=t) == size, t
        assert count_rows(dead_letter_path(sink, "shop.orders")) > 0, "the damaged file left no dead letter"
        assert value(smp, "process_resident_memory_bytes") > 0

        # the background checkpoint writer: what it wrote is in the tables'
        # logs, nothing failed, nothing is left waiting once the run is idle
        def checkpoints_done():
            smp = scrape(run)
            done = (value(smp, "sluice_checkpoints_total", result="written") >= 1
                    and value(smp, "sluice_checkpoints_waiting") == 0)
            return smp if done else None

        smp = wait_until(checkpoints_done, 60, "the checkpoint writer to settle", interval=0.5)
        written = value(smp, "sluice_checkpoints_total", result="written")
        assert value(smp, "sluice_checkpoints_total", result="failed") == 0
        assert written <= len(list(sink.rglob("_delta_log/*.checkpoint.parquet")))

        # the status document tells the same
        status = run.status()
        by_name = {t["name"]: t for t in status["tables"]}
        assert sorted(by_name) == TABLES
        for t in TABLES:
            assert by_name[t]["events_ingested"] == count_rows(log_path(sink, t))
            assert by_name[t]["dead_letters"]["count"] == count_rows(dead_letter_path(sink, t))
            assert by_name[t]["state"] == "running"
        # the newest dead letters carry their reason and where they came from
        newest = by_name["shop.orders"]["dead_letters"]["newest"]
        assert newest and all(d["reason"] for d in newest), newest
        assert all(d["origin"].split("#")[0] in victim["path"] for d in newest), newest
        assert status["ready"] is True
        assert run.get("/readyz")[0] == 200

        # the token: the data routes refuse requests without it or with a wrong one
        for path in ("/metrics", "/api/status", "/readyz"):
            assert run.get(path, token=None)[0] == 401, path
            assert run.get(path, token="wrong")[0] == 401, path
        assert run.get("/healthz", token=None) == (200, "ok\n") or run.get("/healthz", token=None)[0] == 200
        assert run.get("/../etc/passwd", token=None)[0] in (400, 404)
    finally:
        assert run.stop() == 0, run.output()[-3000:]


def test_readyz_flips_when_a_table_stops(tmp_path):
    src, sink = tmp_path / "src", tmp_path / "sink"
    files = gen(src, tables=2, rows_per_table=30, changes_per_table=80, seed=9, late_files=0)
    # the schema-version-2 files are held back; only shop_orders' arrive later
    held = tmp_path / "held"
    v2 = [f for f in files if f["schema_version"] == 2]
    later = [f for f in v2 if f["object"] == "shop_orders"]
    assert later, "the generator wrote no schema change"
    for f in v2:
        (held / f["path"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(src / f["path"], held / f["path"])

    run = SluiceRun(tmp_path, env_for(src, sink, DELTA_SCHEMA_EVOLUTION_STRATEGY="none"))
    try:
        wait_until(lambda: len(run.status()["tables"]) == 2 and run.get("/readyz")[0] == 200
                   and all(t["events_ingested"] > 0 for t in run.status()["tables"]),
                   120, "both tables ingesting")
        code, body = run.get("/readyz")
        assert code == 200 and body.startswith("ready"), body
        for f in later:
            shutil.move(held / f["path"], src / f["path"])
        wait_until(lambda: run.get("/readyz")[0] == 503, 120, "/readyz to say not ready")
        code, body = run.get("/readyz")
        assert "shop.orders" in body and "public.accounts" not in body, body
        smp = scrape(run)
        assert value(smp, "sluice_table_stopped", table="shop.orders") == 1
        assert value(smp, "sluice_table_stopped", table="public.accounts") == 0
        status = {t["name"]: t for t in run.status()["tables"]}
        assert status["shop.orders"]["state"] == "stopped"
        assert "schema" in status["shop.orders"]["state_reason"], status["shop.orders"]
        assert status["public.accounts"]["state"] != "stopped"
        refused = [c for c in status["shop.orders"]["schema_changes"] if not c["applied"]]
        assert refused, status["shop.orders"]["schema_changes"]
    finally:
        run.stop()


def test_non_loopback_address_needs_a_token(tmp_path):
    src, sink = tmp_path / "src", tmp_path / "sink"
    src.mkdir()
    config = tmp_path / "empty.toml"
    config.write_text("")
    proc = subprocess.run([SLUICE, "run", "--config", str(config), "--once", "--http", "0.0.0.0:0"],
                          env=env_for(src, sink), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "--http-token" in proc.stderr and "--http-insecure" in proc.stderr, proc.stderr
