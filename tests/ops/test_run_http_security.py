"""Attacks on `sluice run --http` itself (the real binary and its pipeline,
not the server unit alone): paths outside the routes, huge heads and
request lines, slow clients holding connections, a non-loopback bind
without a token, requests without the token."""
import socket
import subprocess
import threading
import time

from sluice_run import SLUICE, SluiceRun, env_for

TOKEN = "t0ken-of-the-security-tests"


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:80]
    return int(answer[9:12])


def port_of(run: SluiceRun) -> int:
    return int(run.url.rsplit(":", 1)[1])


def raw(run: SluiceRun, data: bytes, timeout: float = 10.0) -> bytes:
    """Sends bytes as they are; everything until the server closes."""
    with socket.create_connection(("127.0.0.1", port_of(run)), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            out += chunk
        return out


def healthz_seconds(run: SluiceRun, timeout: float = 5.0):
    """(status, seconds) of one GET /healthz on a fresh connection."""
    start = time.monotonic()
    answer = raw(run, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", timeout=timeout)
    return (status_of(answer) if answer else 0), time.monotonic() - start


def start(tmp_path, *args, **kw) -> SluiceRun:
    src, sink = tmp_path / "src", tmp_path / "sink"
    src.mkdir(exist_ok=True)
    return SluiceRun(tmp_path, env_for(src, sink), *args, **kw)


def test_paths_outside_the_routes(tmp_path):
    run = start(tmp_path, "--http-token", TOKEN)
    auth = f"Authorization: Bearer {TOKEN}\r\n".encode()
    try:
        for target in (b"/../../../../etc/passwd", b"/%2e%2e/%2e%2e/etc/passwd",
                       b"/%2E%2E/%2E%2E/etc/passwd", b"/..%2fetc%2fpasswd", b"/api/../metrics",
                       b"/./metrics", b"/metrics/..", b"/%2e%2e%5c%2e%2e%5cetc%5cpasswd",
                       b"/..\\..\\etc\\passwd", b"/%00/etc/passwd", b"//etc/passwd/..",
                       b"http://127.0.0.1/metrics", b"*", b"etc/passwd"):
            answer = raw(run, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n")
            assert status_of(answer) in (400, 404), (target, answer[:200])
            assert b"root:" not in answer and b"sluice_" not in answer, target
        for path in ("/etc/passwd", "/metrics/", "/index.html", "/status_page.html", "/api",
                     "/%6detrics"):
            code, body = run.get(path)
            assert code == 404, (path, code, body[:200])
        assert run.get("/metrics")[0] == 200
    finally:
        assert run.stop() == 0, run.output()[-3000:]


def test_huge_heads_and_request_lines(tmp_path):
    run = start(tmp_path)
    try:
        answer = raw(run, b"GET /metrics HTTP/1.1\r\nHost: x\r\nCookie: " + b"c" * 64 * 1024 +
                     b"\r\n\r\n")
        assert status_of(answer) == 431, answer[:200]
        many = b"".join(b"X-%d: y\r\n" % i for i in range(500))
        assert status_of(raw(run, b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")) == 431
        answer = raw(run, b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status_of(answer) == 414, answer[:200]
        # no line end at all: refused once the limit is passed, not after a timeout
        start_t = time.monotonic()
        answer = raw(run, b"GET /" + b"a" * 20_000)
        assert status_of(answer) == 414 and time.monotonic() - start_t < 3, answer[:200]
        # a megabyte of garbage: an answer, and the server lives on
        answer = raw(run, bytes(range(256)) * 4096)
        assert status_of(answer) == 400, answer[:200]
        assert run.get("/healthz")[0] == 200
        assert run.proc.poll() is None
    finally:
        assert run.stop() == 0, run.output()[-3000:]


def test_slow_clients_do_not_starve_healthz(tmp_path):
    """Slowloris: 200 connections that trickle their heads a byte at a time
    and reconnect when dropped. Every /healthz of another client is answered
    200 within a second all along."""
    run = start(tmp_path)
    stop = threading.Event()
    opened = [0]

    def slow_client():
        while not stop.is_set():
            try:
                s = socket.create_connection(("127.0.0.1", port_of(run)), timeout=2)
            except OSError:
                time.sleep(0.05)
                continue
            opened[0] += 1
            try:
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
                while not stop.is_set():
                    s.sendall(b"X")
                    time.sleep(0.5)
            except OSError:
                pass
            finally:
                s.close()

    threads = [threading.Thread(target=slow_client, daemon=True) for _ in range(200)]
    try:
        for t in threads:
            t.start()
        time.sleep(1.0)
        slowest = 0.0
        deadline = time.monotonic() + 8  # beyond the server's request timeout (5 s)
        answers = []
        while time.monotonic() < deadline:
            code, secs = healthz_seconds(run)
            answers.append(code)
            slowest = max(slowest, secs)
            time.sleep(0.2)
        assert opened[0] >= 200
        assert answers and all(c == 200 for c in answers), answers
        assert slowest < 1.0, slowest
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=5)
        assert run.stop() == 0, run.output()[-3000:]


def test_non_loopback_bind_needs_a_token_or_insecure(tmp_path):
    src, sink = tmp_path / "src", tmp_path / "sink"
    src.mkdir()
    config = tmp_path / "empty.toml"
    config.write_text("")
    for address in ("0.0.0.0:0", "[::]:0", "0:0"):
        proc = subprocess.run([SLUICE, "run", "--config", str(config), "--once", "--http", address],
                              env=env_for(src, sink), capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2, (address, proc.stdout + proc.stderr)
        assert "--http-token" in proc.stderr and "--http-insecure" in proc.stderr, proc.stderr
    # loopback needs neither; a token or an explicit --http-insecure allow the rest
    for args in (["--http", "127.0.0.1:0"], ["--http", "0.0.0.0:0", "--http-token", TOKEN],
                 ["--http", "0.0.0.0:0", "--http-insecure"]):
        proc = subprocess.run([SLUICE, "run", "--config", str(config), "--once", *args],
                              env=env_for(src, sink), capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, (args, proc.stdout + proc.stderr)
        assert "serving http://" in proc.stdout, (args, proc.stdout)


def test_token_enforced(tmp_path):
    run = start(tmp_path, "--http-token", TOKEN)
    try:
        for path in ("/metrics", "/api/status", "/readyz"):
            assert run.get(path, token=None)[0] == 401, path
            assert run.get(path, token="wrong")[0] == 401, path
            assert run.get(path, token=TOKEN[:-1])[0] == 401, path
            assert run.get(path, token=TOKEN + "x")[0] == 401, path
            assert run.get(path, token=TOKEN.upper())[0] == 401, path
            assert run.get(path, token="")[0] == 401, path
            assert run.get(path)[0] in (200, 503), path
            # in the query, another scheme, or another header: refused
            assert run.get(path + "?token=" + TOKEN, token=None)[0] == 401, path
            for header in (f"Authorization: Basic {TOKEN}", f"Authorization: {TOKEN}",
                           f"X-Auth-Token: {TOKEN}", f"Authorization: Bearer{TOKEN}"):
                answer = raw(run, f"GET {path} HTTP/1.1\r\nHost: x\r\n{header}\r\n\r\n".encode())
                assert status_of(answer) == 401, (path, header, answer[:200])
                assert b"WWW-Authenticate: Bearer" in answer
        # two Authorization headers: the first one counts, never "any of them"
        answer = raw(run, (f"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n"
                           f"Authorization: Bearer {TOKEN}\r\n\r\n").encode())
        assert status_of(answer) in (400, 401), answer[:200]
        # liveness and the page shell carry no data and need no token
        assert run.get("/healthz", token=None)[0] == 200
        assert run.get("/", token=None)[0] == 200
    finally:
        assert run.stop() == 0, run.output()[-3000:]
