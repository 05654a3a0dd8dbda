"""Runs a command and measures it: wall time, the peak RSS of its whole
process tree (sampled from /proc every 50 ms, so Spark's JVM, a grandchild,
counts), and each stdout line with the time it arrived."""
from __future__ import annotations

import os
import subprocess
import threading
import time


def _children() -> dict:
    kids: dict = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(name))
    return kids


def _status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _rss_kb(pid: int) -> int:
    return _status_kb(pid, "VmRSS:")


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
    except OSError:
        return -1
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def tree(root: int) -> list:
    kids = _children()
    out, stack = [], [root]
    while stack:
        pid = stack.pop()
        out.append(pid)
        stack.extend(kids.get(pid, []))
    return out


def tree_rss_kb(root: int) -> int:
    return sum(_rss_kb(pid) for pid in tree(root))


class Result:
    def __init__(self):
        self.lines = []  # (seconds since start, text)
        self.returncode = None
        self.seconds = 0.0
        self.peak_rss_bytes = 0
        self.stderr = ""
        self.cpu_seconds = 0.0  # user + system of the whole tree


def run(cmd, env=None, cwd=None, echo=None) -> Result:
    """Runs `cmd` to completion. `echo(line)` is called for each stdout line."""
    res = Result()
    res.load_before = loadavg()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, bufsize=1)
    peak = [0]
    hwm = [0]  # the largest single process's own peak (VmHWM), seen by the kernel
    done = threading.Event()

    ticks: dict = {}

    def sample():
        while not done.is_set():
            pids = tree(proc.pid)
            peak[0] = max(peak[0], sum(_rss_kb(pid) for pid in pids))
            hwm[0] = max([hwm[0]] + [_status_kb(pid, "VmHWM:") for pid in pids])
            for pid in pids:
                t = _cpu_ticks(pid)
                if t >= 0:
                    ticks[pid] = max(ticks.get(pid, 0), t)
            done.wait(0.05)

    err_chunks = []
    sampler = threading.Thread(target=sample, daemon=True)
    reader = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()), daemon=True)
    sampler.start()
    reader.start()
    for line in proc.stdout:
        res.lines.append((time.perf_counter() - t0, line.rstrip("\n")))
        if echo:
            echo(line.rstrip("\n"))
    _pid, status, usage = os.wait4(proc.pid, 0)
    res.seconds = time.perf_counter() - t0
    done.set()
    sampler.join()
    reader.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    res.returncode = proc.returncode
    res.stderr = "".join(err_chunks)
    # Not wait4's ru_maxrss: Linux carries the parent's high-water mark over
    # fork + exec into it, so a large driver would inflate every child.
    res.peak_rss_bytes = max(peak[0], hwm[0]) * 1024
    # wait4 counts the child and the descendants it waited for; the samples
    # also see descendants it did not wait for (Spark's JVM).
    sampled = sum(ticks.values()) / _TICK
    res.cpu_seconds = max(usage.ru_utime + usage.ru_stime, sampled)
    res.load_after = loadavg()
    return res


def loadavg() -> float:
    """The 1-minute load average: the machine is shared, so every run
    records how busy it was."""
    with open("/proc/loadavg") as fh:
        return float(fh.read().split()[0])
