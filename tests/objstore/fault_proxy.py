"""A fault-injecting HTTP proxy for a whole pipeline run (test_pipeline_faults).

Forwards every request to the emulator and, drawn from a seeded random
generator, answers some of them with a fault instead:

* "503":  not forwarded, answered 503 SlowDown;
* "drop": not forwarded, the connection is closed without an answer;
* "lost": a write (PUT, POST, DELETE) is forwarded and done by the emulator,
          then the connection is closed without an answer, as when the
          answer is lost or the client times out after the write happened;
* "slow": forwarded, answered after a short delay.

Counts every fault it injected by kind (`injected`)."""
from __future__ import annotations

import collections
import http.server
import random
import socket
import socketserver
import threading
import time
from typing import Dict

import requests

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "proxy-connection"}
WRITES = {"PUT", "POST", "DELETE"}


class RandomFaultProxy:
    def __init__(self, upstream: str, rates: Dict[str, float], seed: int = 0,
                 slow_seconds: float = 0.3):
        self.upstream = upstream
        self.rates = dict(rates)
        self.enabled = True
        self.slow_seconds = slow_seconds
        self.random = random.Random(seed)
        self.injected: collections.Counter = collections.Counter()
        self.requests = 0
        self.lock = threading.Lock()
        self.session_local = threading.local()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                body = self._read_body()
                fault = proxy._draw(self.command)
                if fault == "503":
                    return self._reply(503, {"Content-Type": "application/xml"},
                                       b"<Error><Code>SlowDown</Code>"
                                       b"<Message>Please reduce your request rate.</Message>"
                                       b"</Error>")
                if fault == "drop":
                    return self._drop()
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in HOP_HEADERS and k.lower() != "content-length"}
                r = proxy._session().request(self.command, proxy.upstream + self.path,
                                             data=body or None, headers=headers,
                                             allow_redirects=False, timeout=60)
                if fault == "lost":
                    return self._drop()
                if fault == "slow":
                    time.sleep(proxy.slow_seconds)
                out = {k: v for k, v in r.headers.items()
                       if k.lower() not in HOP_HEADERS and k.lower() not in
                       ("content-length", "content-encoding")}
                self._reply(r.status_code, out, r.content if self.command != "HEAD" else b"",
                            head_length=r.headers.get("Content-Length"))

            def _read_body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    data = b""
                    while True:
                        size = int(self.rfile.readline().strip().split(b";")[0], 16)
                        if size == 0:
                            self.rfile.readline()
                            return data
                        data += self.rfile.read(size)
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _drop(self):
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

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

            def handle_error(self, request, client_address):
                pass  # a client killed mid-request (SIGKILL) is expected here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _session(self) -> requests.Session:
        s = getattr(self.session_local, "session", None)
        if s is None:
            s = self.session_local.session = requests.Session()
        return s

    def _draw(self, method: str):
        with self.lock:
            self.requests += 1
            if not self.enabled:
                return None
            x = self.random.random()
            for fault, rate in self.rates.items():
                if fault == "lost" and method not in WRITES:
                    continue
                if x < rate:
                    self.injected[fault] += 1
                    return fault
                x -= rate
            return None

    def close(self):
        self.server.shutdown()
        self.server.server_close()
