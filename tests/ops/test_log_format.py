"""`sluice run --log-format json`: every line of the run's output is one JSON
object with level, table, message and fields; the default stays human."""
import json
import shutil
import subprocess

from sluice_run import SLUICE, count_rows, env_for, gen, log_path


def test_json_log_lines(tmp_path):
    src, sink = tmp_path / "src", tmp_path / "sink"
    files = gen(src, tables=2, rows_per_table=30, changes_per_table=60, seed=4, late_files=0)
    for f in files:  # public_accounts never changes schema; shop_orders' change is refused
        if f["object"] == "public_accounts" and f["schema_version"] == 2:
            (src / f["path"]).unlink()
    config = tmp_path / "empty.toml"
    config.write_text("")
    cmd = [SLUICE, "run", "--config", str(config), "--once"]
    env = env_for(src, sink, DELTA_SCHEMA_EVOLUTION_STRATEGY="none")
    proc = subprocess.run(cmd + ["--log-format", "json"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 3, proc.stdout[-3000:] + proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]  # every line is JSON
    assert lines
    for obj in lines:
        assert set(obj) == {"time", "level", "table", "message", "fields"}, obj
        assert obj["level"] in ("info", "warn", "error")
    stopped = [o for o in lines if o["level"] == "error" and "STOPPED" in o["message"]]
    assert stopped and {o["table"] for o in stopped} == {"shop.orders"}, stopped
    # the log commits' rows, as fields, add up to the log table
    for name in ("public.accounts", "shop.orders"):
        commits = [o for o in lines if o["table"] == name and "log_version" in o["fields"]]
        assert sum(o["fields"]["rows"] for o in commits) == count_rows(log_path(sink, name)), name

    # the human format is the default
    shutil.rmtree(sink)
    human = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert human.stdout.startswith("[sluice] ") and "== Sluice summary" in human.stdout
