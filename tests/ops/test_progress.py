"""`sluice compact` and `sluice vacuum` show progress on stderr: plain lines
when stderr is not a terminal, one line redrawn in place with rate and ETA on
a terminal (a pseudo-terminal here); stdout keeps the command's result."""
import os
import pty
import subprocess

from sluice_run import SLUICE


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
