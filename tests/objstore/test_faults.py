"""Faults on the commit's conditional create, injected by a small proxy
between Sluice and the S3 emulator: a response lost after the PUT had
succeeded, 503s, and S3's 409 ConditionalRequestConflict. Each commit must
land exactly once and the writer must report success (a lost response is
recognised by reading the object back, a 409 is retried, never "taken")."""
import http.server
import socketserver
import threading

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests

from conftest import sluice, unique

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "proxy-connection"}


class FaultProxy:
    """Forwards to `upstream`; the first `count` conditional PUTs of a commit
    (If-None-Match: * on a _delta_log/*.json key) get `fault`:
    "lost" (forwarded, then answered 503 as if the answer was lost),
    "503" (not forwarded), "409" (not forwarded, ConditionalRequestConflict)."""

    def __init__(self, upstream: str, fault: str, count: int):
        self.upstream = upstream
        self.fault = fault
        self.remaining = count
        self.injected = 0
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    body = self._read_chunked()
                inject = None
                if (self.command == "PUT" and self.headers.get("If-None-Match") == "*"
                        and "/_delta_log/" in self.path and self.path.split("?")[0].endswith(".json")):
                    with proxy.lock:
                        if proxy.remaining > 0:
                            proxy.remaining -= 1
                            proxy.injected += 1
                            inject = proxy.fault
                if inject in ("503", "409"):
                    code = int(inject)
                    text = (b"<Error><Code>ConditionalRequestConflict</Code></Error>"
                            if code == 409 else b"<Error><Code>SlowDown</Code></Error>")
                    return self._reply(code, {"Content-Type": "application/xml"}, text)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in HOP_HEADERS and k.lower() != "content-length"}
                r = requests.request(self.command, proxy.upstream + self.path, data=body or None,
                                     headers=headers, allow_redirects=False, timeout=60)
                if inject == "lost":
                    return self._reply(503, {"Content-Type": "application/xml"},
                                       b"<Error><Code>ServiceUnavailable</Code></Error>")
                out = {k: v for k, v in r.headers.items()
                       if k.lower() not in HOP_HEADERS and k.lower() not in
                       ("content-length", "content-encoding")}
                self._reply(r.status_code, out, r.content if self.command != "HEAD" else b"",
                            head_length=r.headers.get("Content-Length"))

            def _read_chunked(self) -> bytes:
                data = b""
                while True:
                    size = int(self.rfile.readline().strip().split(b";")[0], 16)
                    if size == 0:
                        self.rfile.readline()
                        return data
                    data += self.rfile.read(size)
                    self.rfile.readline()

            def _reply(self, code, headers, body, head_length=None):
                self.send_response(code)
                for k, v in headers.items():
                    self.send_header(k, v)
                if self.command == "HEAD" and head_length is not None:
                    self.send_header("Content-Length", head_length)
                else:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("fault", ["lost", "503", "409"])
def test_commit_survives_fault(s3, tmp_path, fault):
    proxy = FaultProxy(s3.endpoint, fault, count=2)
    try:
        env = s3.run_env(AWS_ENDPOINT_URL=proxy.url)
        uri = s3.uri(unique(f"fault-{fault}") + "/t")
        for i in range(2):
            src = tmp_path / f"in{i}.parquet"
            pq.write_table(pa.table({"id": pa.array([i], pa.int64())}), src)
            sluice(s3, "write", uri, "--input", str(src), "--no-deletion-vectors", env=env)
        assert proxy.injected == 2, "the proxy did not see the conditional creates"
    finally:
        proxy.close()
    out = tmp_path / "out.parquet"
    sluice(s3, "cat", uri, "--out", str(out))
    assert sorted(pq.read_table(out)["id"].to_pylist()) == [0, 1]
    from deltalake import DeltaTable

    dt = DeltaTable(uri, storage_options=s3.storage_options)
    assert dt.version() == 1  # two commits, neither duplicated nor lost
