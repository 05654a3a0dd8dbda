"""Runs a command and measures it: wall time, the peak RSS of its whole
process tree (sampled from /proc every 50 ms, so Spark's JVM, a grandchild,
counts), and each stdout line with the time it arrived. run() waits for the
command; Watch measures one that runs alongside the caller until stop()."""
from __future__ import annotations

import os
import signal
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


class Watch:
    """Starts `cmd` and measures it in the background as run() does (stdout
    lines, tree RSS sampled every `interval` seconds, each process's VmHWM, CPU
    time), for a process that runs alongside the caller: a continuous `sluice
    run` fed by the table-size sweep. `echo(line)` is called for each stdout
    line (from a reader thread)."""

    def __init__(self, cmd, env=None, cwd=None, echo=None, interval: float = 0.05):
        self.res = Result()
        self.res.load_before = loadavg()
        self._echo = echo
        self._interval = interval
        self._peak = 0
        self._hwm = 0  # the largest single process's own peak (VmHWM), seen by the kernel
        self._ticks: dict = {}
        self._done = threading.Event()
        self._err_chunks = []
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self._threads = [threading.Thread(target=f, daemon=True)
                         for f in (self._sample, self._read_stdout, self._read_stderr)]
        for t in self._threads:
            t.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _sample(self):
        while not self._done.is_set():
            self.sample()
            self._done.wait(self._interval)

    def sample(self) -> int:
        """Samples the tree now; returns its RSS in bytes."""
        pids = tree(self.proc.pid)
        rss = sum(_rss_kb(pid) for pid in pids)
        self._peak = max(self._peak, rss)
        self._hwm = max([self._hwm] + [_status_kb(pid, "VmHWM:") for pid in pids])
        for pid in pids:
            t = _cpu_ticks(pid)
            if t >= 0:
                self._ticks[pid] = max(self._ticks.get(pid, 0), t)
        return rss * 1024

    def peak_rss_bytes(self) -> int:
        """The peak so far: sampled tree RSS or any process's VmHWM."""
        return max(self._peak, self._hwm) * 1024

    def _read_stdout(self):
        for line in self.proc.stdout:
            self.res.lines.append((time.perf_counter() - self.t0, line.rstrip("\n")))
            if self._echo:
                self._echo(line.rstrip("\n"))

    def _read_stderr(self):
        self._err_chunks.append(self.proc.stderr.read())

    def running(self) -> bool:
        """Without reaping it (wait() still gets its resource usage)."""
        try:
            return os.waitid(os.P_PID, self.proc.pid,
                             os.WEXITED | os.WNOHANG | os.WNOWAIT) is None
        except ChildProcessError:
            return False

    def stop(self, sig=signal.SIGTERM) -> Result:
        """Asks the process to stop (SIGTERM: `sluice run` finishes its batch)
        and waits for it."""
        if self.running():
            self.proc.send_signal(sig)
        return self.wait()

    def wait(self) -> Result:
        """Waits for the process to end; returns the measurements."""
        res = self.res
        self._threads[1].join()
        _pid, status, usage = os.wait4(self.proc.pid, 0)
        res.seconds = time.perf_counter() - self.t0
        self._done.set()
        for t in self._threads:
            t.join()
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        res.returncode = self.proc.returncode
        res.stderr = "".join(self._err_chunks)
        # Not wait4's ru_maxrss: Linux carries the parent's high-water mark over
        # fork + exec into it, so a large driver would inflate every child.
        res.peak_rss_bytes = self.peak_rss_bytes()
        # wait4 counts the child and the descendants it waited for; the samples
        # also see descendants it did not wait for (Spark's JVM).
        sampled = sum(self._ticks.values()) / _TICK
        res.cpu_seconds = max(usage.ru_utime + usage.ru_stime, sampled)
        res.load_after = loadavg()
        return res


def run(cmd, env=None, cwd=None, echo=None) -> Result:
    """Runs `cmd` to completion. `echo(line)` is called for each stdout line."""
    return Watch(cmd, env=env, cwd=cwd, echo=echo).wait()


def loadavg() -> float:
    """The 1-minute load average: the machine is shared, so every run
    records how busy it was."""
    with open("/proc/loadavg") as fh:
        return float(fh.read().split()[0])
