"""`sluice compact`, `vacuum`, `replay`, `snapshot` and a first backfill in
`sluice run` show progress on stderr: plain lines when stderr is not a
terminal, one line redrawn in place with rate and ETA on a terminal (a
pseudo-terminal here); stdout keeps the command's result."""
import datetime as dt
import os
import pty
import re
import subprocess

from sluice_run import SLUICE, env_for, gen, log_path


def make_small_files(tmp_path, n=8):
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = tmp_path / "t"
    for i in range(n):
        f = tmp_path / f"in{i}.parquet"
        pq.write_table(pa.table({"id": list(range(i * 1000, (i + 1) * 1000)),
                                 "v": [f"row {j}" for j in range(1000)]}), f)
        proc = subprocess.run([SLUICE, "write", str(table), "--input", str(f)],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
    return table


def test_plain_progress_lines_when_not_a_terminal(tmp_path):
    table = make_small_files(tmp_path)
    proc = subprocess.run([SLUICE, "compact", str(table)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "compacted at version" in proc.stdout
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith(f"compact {table}")]
    assert lines and "(100%)" in lines[-1] and "done in" in lines[-1], proc.stderr
    assert "\r" not in proc.stderr and "\033[" not in proc.stderr

    proc = subprocess.run([SLUICE, "vacuum", str(table), "--retention", "0s"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    done = [ln for ln in proc.stderr.splitlines() if ln.startswith(f"vacuum {table}")]
    assert done and "8 files of 8 files (100%)" in done[-1], proc.stderr


def test_redrawn_line_with_rate_on_a_terminal(tmp_path):
    table = make_small_files(tmp_path)
    master, slave = pty.openpty()
    env = dict(os.environ, TERM="xterm")
    proc = subprocess.Popen([SLUICE, "compact", str(table)], stdout=subprocess.PIPE, stderr=slave,
                            env=env)
    os.close(slave)
    out = proc.communicate(timeout=120)[0].decode()
    err = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        err += chunk
    os.close(master)
    assert proc.returncode == 0 and "compacted at version" in out
    text = err.decode()
    assert "\r\x1b[K" in text and "/s" in text and "(100%)" in text, repr(text)


# --- replay, snapshot and a first backfill ---

LINE = re.compile(r"^(?P<what>[^:]+): (?P<done>\d+) files of (?P<total>\d+) files \((?P<pct>\d+)%\), "
                  r"[\d.]+ files/s(, ETA \S+|, done in \S+)?$")


def ingest(tmp_path, files_per_batch=1, **gen_opts):
    """A Datastream folder run --once into a sink; (src, sink, run)."""
    src, sink = tmp_path / "src", tmp_path / "sink"
    gen(src, **gen_opts)
    config = tmp_path / "empty.toml"
    config.write_text("")
    env = env_for(src, sink, SLUICE_SOURCE_MAX_FILES_PER_BATCH=str(files_per_batch),
                  SLUICE_SOURCE_SETTLE_INTERVAL="0s")
    proc = subprocess.run([SLUICE, "run", "--config", str(config), "--once"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return src, sink, proc


def progress_lines(stderr: str, what: str) -> list:
    lines = [LINE.match(ln) for ln in stderr.splitlines() if ln.startswith(what + ":")]
    assert lines and all(lines), stderr[-3000:]
    return lines


def test_first_backfill_shows_progress(tmp_path):
    """A stream that starts with many files waiting: a "backfill" line on
    stderr (plain, not a terminal) that ends at 100 % with the time taken;
    stdout keeps its commit lines."""
    src, sink, proc = ingest(tmp_path, tables=1, rows_per_table=40, changes_per_table=300,
                             seed=3, late_files=0, files_per_minute=4)
    files = [p for p in (src / "shop_orders").rglob("*") if p.is_file()]
    assert len(files) >= 8
    lines = progress_lines(proc.stderr, "backfill")
    last = lines[-1]
    assert int(last["done"]) == int(last["total"]) == len(files), (proc.stderr, len(files))
    assert last["pct"] == "100" and "done in" in last.group(0)
    assert "\r" not in proc.stderr and "\033[" not in proc.stderr
    assert "_log v" in proc.stdout  # the commit lines stay on stdout

    # a later run with nothing (or little) waiting shows no backfill
    proc = subprocess.run([SLUICE, "run", "--config", str(tmp_path / "empty.toml"), "--once"],
                          env=env_for(src, sink), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "backfill" not in proc.stderr, proc.stderr


def test_replay_shows_progress(tmp_path):
    src, sink, _ = ingest(tmp_path, tables=1, rows_per_table=30, changes_per_table=200, seed=8,
                          late_files=0)
    log = log_path(sink, "shop.orders")
    n_files = len(__import__("deltalake").DeltaTable(str(log)).file_uris())
    out = tmp_path / "replayed"
    proc = subprocess.run([SLUICE, "replay", "--log-table", str(log), "--as-of", "now", "--out",
                           str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("replayed "), proc.stdout
    last = progress_lines(proc.stderr, f"replay {log}")[-1]
    assert int(last["done"]) == int(last["total"]) == n_files and "done in" in last.group(0)

    # on a terminal: one line redrawn in place, with a rate
    out2 = tmp_path / "replayed2"
    text = run_on_pty([SLUICE, "replay", "--log-table", str(log), "--as-of", "now", "--out",
                       str(out2)])
    assert "\r\x1b[K" in text and "files/s" in text and "(100%)" in text, repr(text)


def test_snapshot_shows_progress(tmp_path):
    src, sink, _ = ingest(tmp_path, tables=1, rows_per_table=30, changes_per_table=200, seed=9,
                          late_files=0)
    n_files = len(__import__("deltalake").DeltaTable(str(log_path(sink, "shop.orders"))).file_uris())
    today = dt.datetime.now(dt.timezone.utc).date()
    proc = subprocess.run([SLUICE, "snapshot", "--config", str(tmp_path / "empty.toml"), "--table",
                           "shop.orders", "--date", str(today)], env=env_for(src, sink),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "snapshot of shop.orders" in proc.stdout and "[sluice] snapshot:" in proc.stdout
    last = progress_lines(proc.stderr, f"snapshot shop.orders {today}")[-1]
    assert int(last["done"]) == int(last["total"]) == n_files and "done in" in last.group(0)


def run_on_pty(cmd, env=None) -> str:
    """stderr of `cmd` written to a pseudo-terminal."""
    master, slave = pty.openpty()
    env = dict(env or os.environ, TERM="xterm")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    proc.communicate(timeout=300)
    err = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        err += chunk
    os.close(master)
    assert proc.returncode == 0, err[-2000:]
    return err.decode()
