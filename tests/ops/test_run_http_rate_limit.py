"""The request budget of `sluice run --http` (per client address, 429 with
Retry-After beyond it, counted in /metrics) and the server thread's CPU
priority (named sluice-http, nice 19). On loopback every client is
127.0.0.1; Linux routes all of 127/8 to lo, so 127.0.0.2 is a second peer."""
import re
import socket
import subprocess
import time
from pathlib import Path

from sluice_run import SLUICE, SluiceRun, env_for

OTHER_PEER = "127.0.0.2"


def start(tmp_path, *args) -> SluiceRun:
    src, sink = tmp_path / "src", tmp_path / "sink"
    src.mkdir(exist_ok=True)
    return SluiceRun(tmp_path, env_for(src, sink), *args)


def get(run: SluiceRun, path: str, source: str = "127.0.0.1") -> tuple:
    """(status, headers as a lowercase dict, body) of one GET on a fresh
    connection from address `source`."""
    port = int(run.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0)) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0][9:12]), headers, body.decode()


def refused_total(run: SluiceRun) -> float:
    code, _, body = get(run, "/metrics", source=OTHER_PEER)
    assert code == 200, body
    m = re.search(r'^sluice_http_requests_refused_total\{reason="rate"\} (\S+)$', body, re.M)
    assert m, body
    return float(m.group(1))


def test_a_flood_from_one_peer_is_refused_while_another_peer_is_served(tmp_path):
    run = start(tmp_path)  # the default budget: 20/s, bursts of 40
    try:
        began = time.monotonic()
        answers = [get(run, "/metrics") for _ in range(150)]
        elapsed = time.monotonic() - began
        codes = [a[0] for a in answers]
        served, refused = codes.count(200), codes.count(429)
        assert served + refused == len(codes), codes
        # the burst, plus what refilled while the loop ran (20/s)
        assert 40 <= served <= 40 + 20 * elapsed + 1, (elapsed, codes)
        assert refused > 0, elapsed
        for code, headers, body in answers:
            if code == 429:
                assert int(headers["retry-after"]) >= 1, headers
                assert "sluice_" not in body  # refused before rendering
        # another client address keeps its own budget: probes and scrapes pass
        for path in ("/healthz", "/readyz", "/metrics", "/api/status"):
            code, _, body = get(run, path, source=OTHER_PEER)
            assert code == 200, (path, body)
        assert refused_total(run) == refused
    finally:
        assert run.stop() == 0, run.output()[-3000:]


def test_the_flag_sets_or_lifts_the_budget(tmp_path):
    run = start(tmp_path, "--http-max-requests-per-second", "0")
    try:
        assert all(get(run, "/healthz")[0] == 200 for _ in range(200))
        assert refused_total(run) == 0
    finally:
        assert run.stop() == 0, run.output()[-3000:]
    run = start(tmp_path, "--http-max-requests-per-second", "0.5")  # bursts of 1
    try:
        assert get(run, "/healthz")[0] == 200
        code, headers, _ = get(run, "/healthz")
        assert code == 429 and 1 <= int(headers["retry-after"]) <= 2, headers
    finally:
        assert run.stop() == 0, run.output()[-3000:]


def test_the_server_thread_runs_at_the_lowest_priority(tmp_path):
    run = start(tmp_path)
    try:
        assert get(run, "/healthz")[0] == 200  # the thread has named itself by now
        tasks = {}
        for task in Path(f"/proc/{run.proc.pid}/task").iterdir():
            comm = (task / "comm").read_text().strip()
            # stat: "tid (comm) state ...": fields after the comm, 1-based
            # from field 3; nice is field 19, policy field 41
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            tasks.setdefault(comm, []).append((int(fields[19 - 3]), int(fields[41 - 3])))
        assert tasks.get("sluice-http") == [(19, 0)], tasks  # nice 19, SCHED_OTHER
        others = [v for k, vs in tasks.items() if k != "sluice-http" for v in vs]
        assert others and all(v == (0, 0) for v in others), tasks  # ingestion untouched
    finally:
        assert run.stop() == 0, run.output()[-3000:]


def test_help_names_the_flag():
    out = subprocess.run([SLUICE, "run", "--help"], capture_output=True, text=True).stdout
    assert "--http-max-requests-per-second" in out, out
