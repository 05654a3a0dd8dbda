"""What the embedded server refuses: missing tokens, paths outside its routes,
huge heads, slow clients, other methods, absolute-form targets."""
import json
import time


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:80]
    return int(answer[9:12])


def test_token_required_on_data_routes(demo_factory):
    server = demo_factory("--token", "t0ken-for-tests")
    for path in ("/metrics", "/api/status", "/readyz"):
        status, headers, _ = server.get(path)
        assert status == 401, path
        assert headers["WWW-Authenticate"].startswith("Bearer")
        assert server.get(path, token="wrong")[0] == 401
        assert server.get(path, token="t0ken-for-tests")[0] in (200, 503)
    assert server.get("/metrics?token=t0ken-for-tests")[0] == 401
    # The page shell and liveness carry no data.
    assert server.get("/")[0] == 200
    assert server.get("/healthz")[0] == 200
    doc = json.loads(server.get("/api/status", token="t0ken-for-tests")[2])
    assert len(doc["tables"]) == 3


def test_nothing_outside_the_routes(demo):
    for path in ("/etc/passwd", "/metrics/", "/index.html", "/api", "/api/status/x",
                 "/favicon.ico"):
        assert demo.get(path)[0] == 404, path
    for target in (b"/../../../../etc/passwd", b"/%2e%2e/%2e%2e/etc/passwd", b"/api/../metrics",
                   b"/..%2fetc%2fpasswd", b"http://127.0.0.1/metrics", b"*",
                   b"//etc/passwd/.."):
        answer = demo.raw(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status_of(answer) == 400, target
        assert b"root:" not in answer
    answer = demo.raw(b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
    assert status_of(answer) == 405


def test_huge_header_is_431(demo):
    answer = demo.raw(b"GET /metrics HTTP/1.1\r\nHost: x\r\nCookie: " + b"c" * 64 * 1024 +
                      b"\r\n\r\n")
    assert status_of(answer) == 431


def test_slow_client_times_out_and_others_are_served(demo_factory):
    server = demo_factory("--request-timeout-ms", "1000")
    import socket
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as slow:
        slow.sendall(b"GET /metrics HTTP/1.1\r\nHo")
        # Meanwhile the server answers everyone else.
        assert server.get("/healthz")[0] == 200
        start = time.monotonic()
        answer = b""
        while chunk := slow.recv(4096):
            answer += chunk
        assert status_of(answer) == 408
        assert time.monotonic() - start < 5


def test_many_connections_do_not_stop_the_server(demo_factory):
    import socket
    server = demo_factory("--request-timeout-ms", "1000")
    # 40 clients that connect and say nothing: 32 (the limit) hold a slot
    # until the 1 s request timeout, the other 8 are answered 503 at once.
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(40)]
    try:
        time.sleep(0.2)
        start = time.monotonic()
        answer = server.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5)
        assert status_of(answer) == 503
        assert time.monotonic() - start < 0.5
    finally:
        for s in idle:
            s.close()
    time.sleep(1.5)
    assert server.get("/healthz")[0] == 200
