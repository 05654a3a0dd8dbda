#!/usr/bin/env python3
"""The listing cost of `sluice run`'s discovery on a large bucket
(docs/BENCHMARKS.md, "Listing a large bucket"; issue 13).

A Datastream source bucket of TABLES table folders x FILES files each (by
default 1,000 x 1,000 = a million objects) on the S3 emulator (moto, run in
this process), laid out as Datastream writes it: `<table>/yyyy/mm/dd/hh/mm/`
with one file every `--minutes` minutes of stream time, so each folder holds
about a week. bench/listing_bench (the discovery half of `sluice run`: the
same configuration, Discover() and every stream's Pending() per poll) is
caught up with listings alone (no file is read), then polled:

  idle          a poll when nothing is new;
  one new file  a poll after one new file landed in one table;
  restart       the first poll after a restart (it also does the late-file
                check, which lists every folder whole; `sluice run` repeats
                that check every source.late_check_interval, 10 min).

For each, the S3 requests (counted at the emulator's HTTP server, by kind)
and the wall time. The objects are put straight into moto's backend (a
million HTTP PUTs would take an hour), and moto's own listing, which sorts
the whole bucket on every request and renders a few thousand keys a
second, is replaced by answers from a sorted index
with S3's semantics (prefix, delimiter, start-after, continuation), so the
wall times measure Sluice and HTTP, not an O(bucket) emulator.

    bench/listing_bench.py [--tables 1000] [--files 1000] [--polls 5] [--json OUT]
"""
from __future__ import annotations

import argparse
import bisect
import collections
import copy
import datetime as dt
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH_BIN = Path(os.environ.get("LISTING_BENCH_BIN", REPO / "build" / "bench" / "listing_bench"))
BUCKET = "stream-bench"
PREFIX = "datastream"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Counter:
    """S3 requests by kind, counted as the emulator's WSGI app sees them."""

    def __init__(self, latency_ms: float = 0):
        self.lock = threading.Lock()
        self.counts = collections.Counter()
        self.latency = latency_ms / 1000.0  # added to each request: a network round trip

    def wrap(self, app):
        def counted(environ, start_response):
            query = environ.get("QUERY_STRING", "")
            method = environ["REQUEST_METHOD"]
            if method == "GET" and ("list-type=2" in query or "prefix=" in query
                                    or "delimiter=" in query):
                kind = "LIST"
            else:
                kind = method
            with self.lock:
                self.counts[kind] += 1
            if self.latency:
                time.sleep(self.latency)  # releases the GIL: concurrent requests overlap
            return app(environ, start_response)

        return counted

    def take(self) -> dict:
        with self.lock:
            out = dict(self.counts)
            self.counts.clear()
        return out


class IndexedListing:
    """ListObjectsV2 of the bench's bucket answered from a sorted index of
    its keys, with S3's semantics (prefix, delimiter, start-after,
    continuation, max-keys) and S3's XML, in front of moto: moto sorts every
    key of the bucket per request and renders ~5,000 keys a second through
    its generic serializer, which made a 1,000 x 1,000 bucket take an hour to
    list. Other requests go to moto."""

    def __init__(self, bucket: str):
        self.names: list[str] = []
        self.bucket = bucket

    def load(self, backend) -> None:
        self.names = sorted(backend.get_bucket(self.bucket).keys.keys())

    def add(self, name: str) -> None:
        bisect.insort(self.names, name)

    def page(self, prefix: str, delimiter: str, after: str, max_keys: int):
        """(keys, common prefixes, next token or None)."""
        names = self.names
        i = bisect.bisect_left(names, prefix)
        if after and after >= prefix:
            i = max(i, bisect.bisect_right(names, after))
        keys, commons, last = [], [], None
        while i < len(names):
            name = names[i]
            if not name.startswith(prefix):
                break
            if len(keys) + len(commons) == max_keys:
                return keys, commons, last
            rest = name[len(prefix):]
            if delimiter and delimiter in rest:
                common = prefix + rest.split(delimiter, 1)[0] + delimiter
                commons.append(common)
                last = common
                # past every key under the common prefix
                i = bisect.bisect_left(names, common[:-1] + chr(ord(delimiter) + 1))
                continue
            keys.append(name)
            last = name
            i += 1
        return keys, commons, None

    def wrap(self, app):
        from urllib.parse import parse_qs
        from xml.sax.saxutils import escape

        def listing(environ, start_response):
            query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
            path = environ.get("PATH_INFO", "").strip("/")
            if (environ["REQUEST_METHOD"] != "GET" or path != self.bucket
                    or query.get("list-type") != ["2"]):
                return app(environ, start_response)
            one = lambda k: query.get(k, [""])[0]
            prefix, delimiter = one("prefix"), one("delimiter")
            after = one("continuation-token") or one("start-after")
            max_keys = int(one("max-keys") or 1000)
            keys, commons, token = self.page(prefix, delimiter, after, max_keys)
            out = ['<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult '
                   'xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
                   f"<Name>{self.bucket}</Name><Prefix>{escape(prefix)}</Prefix>",
                   f"<KeyCount>{len(keys) + len(commons)}</KeyCount>",
                   f"<MaxKeys>{max_keys}</MaxKeys>"]
            if delimiter:
                out.append(f"<Delimiter>{escape(delimiter)}</Delimiter>")
            out.append(f"<IsTruncated>{'true' if token else 'false'}</IsTruncated>")
            if one("continuation-token"):
                out.append(f"<ContinuationToken>{escape(one('continuation-token'))}"
                           "</ContinuationToken>")
            if token:
                out.append(f"<NextContinuationToken>{escape(token)}</NextContinuationToken>")
            for k in keys:
                out.append(f"<Contents><Key>{escape(k)}</Key>"
                           "<LastModified>2026-01-01T00:00:00.000Z</LastModified>"
                           "<ETag>&quot;0f343b0931126a20f133d67c2b018a3b&quot;</ETag>"
                           "<Size>4096</Size><StorageClass>STANDARD</StorageClass></Contents>")
            for c in commons:
                out.append(f"<CommonPrefixes><Prefix>{escape(c)}</Prefix></CommonPrefixes>")
            out.append("</ListBucketResult>")
            body = "".join(out).encode()
            start_response("200 OK", [("Content-Type", "application/xml"),
                                      ("Content-Length", str(len(body)))])
            return [body]

        return listing


def start_moto(counter: Counter, index: IndexedListing):
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import (DomainDispatcherApplication, MotoRequestHandler,
                                               create_backend_app)
    from werkzeug.serving import make_server

    class QuietHandler(MotoRequestHandler):
        def log_request(self, *args, **kwargs):
            pass

    class Server(ThreadedMotoServer):
        def _server_entry(self):
            app = counter.wrap(index.wrap(DomainDispatcherApplication(create_backend_app)))
            self._server = make_server(self._ip_address, self._port, app, True,
                                       request_handler=QuietHandler)
            self._server_ready_event.set()
            self._server.serve_forever()

    port = free_port()
    server = Server("127.0.0.1", port, verbose=False)
    server.start()
    return server, f"http://127.0.0.1:{port}"


def table_name(t: int) -> str:
    return f"inventory_t{t:04d}"


def file_key(t: int, when: dt.datetime, n: int) -> str:
    return (f"{PREFIX}/{table_name(t)}/{when:%Y/%m/%d/%H/%M}/"
            f"{n:08x}8d7c1e2a4b6f0c9d3e5a7b1c2d4e6f80_mysql-cdc-binlog_-1234567_{n}.avro")


def populate(backend, tables: int, files: int, minutes: int, start: dt.datetime) -> None:
    backend.create_bucket(BUCKET, "us-east-1")
    template = backend.put_object(BUCKET, "_template", b"x" * 4096)
    store = backend.get_bucket(BUCKET).keys
    for t in range(tables):
        for f in range(files):
            key = copy.copy(template)
            key.name = file_key(t, start + dt.timedelta(minutes=f * minutes), f)
            store[key.name] = key
    del store["_template"]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tables", type=int, default=1000)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--minutes", type=int, default=10, help="stream minutes between files")
    ap.add_argument("--polls", type=int, default=5, help="idle polls measured")
    ap.add_argument("--list-concurrency", type=int, default=16,
                    help="source.list_concurrency: table folders listed at once")
    ap.add_argument("--latency-ms", type=float, default=0,
                    help="added to each request, as a network round trip to S3 would be")
    ap.add_argument("--json", help="write the results here too")
    args = ap.parse_args()
    if not BENCH_BIN.exists():
        sys.exit(f"{BENCH_BIN} is missing: cmake --build build --target listing_bench")

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    counter = Counter(args.latency_ms)
    index = IndexedListing(BUCKET)
    server, endpoint = start_moto(counter, index)
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    start = dt.datetime(2026, 1, 1)
    t0 = time.monotonic()
    populate(backend, args.tables, args.files, args.minutes, start)
    index.load(backend)
    objects = len(index.names)
    print(f"[listing] {objects:,} objects in s3://{BUCKET}/{PREFIX} "
          f"({args.tables} tables x {args.files} files) in {time.monotonic() - t0:.1f}s",
          flush=True)

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "SLUICE_", "GOOGLE_", "AZURE_", "STORAGE_"))}
    env.update({
        "AWS_ENDPOINT_URL": endpoint, "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_EC2_METADATA_DISABLED": "true",
        "SOURCE_PATH": f"s3://{BUCKET}/{PREFIX}", "DELTA_TABLE_PATH": "/nonexistent",
        "SLUICE_SOURCE_MAX_FILES_PER_BATCH": str(args.files + 10),
        "SLUICE_SOURCE_LIST_CONCURRENCY": str(args.list_concurrency),
    })
    proc = subprocess.Popen([str(BENCH_BIN)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            env=env, text=True)

    def run(command: str) -> dict:
        counter.take()
        proc.stdin.write(command + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        if not line:
            raise SystemExit(f"listing_bench exited ({proc.wait()}) on '{command}'")
        out = json.loads(line)
        out["requests"] = counter.take()
        print(f"[listing] {command}: {json.dumps(out)}", flush=True)
        return out

    results = {"objects": objects, "tables": args.tables, "files_per_table": args.files,
               "stream_minutes_between_files": args.minutes, "machine": machine()}
    try:
        results["catchup"] = run("catchup")
        idle = [run("poll") for _ in range(args.polls)]
        assert all(p["units"] == 0 for p in idle), idle
        results["idle"] = idle
        # one new file in one table, a minute after that table's newest
        t = args.tables // 2
        name = file_key(t, start + dt.timedelta(minutes=args.files * args.minutes), args.files)
        backend.put_object(BUCKET, name, b"x" * 4096)
        index.add(name)
        results["one_new_file"] = run("poll")
        assert results["one_new_file"]["units"] == 1, results["one_new_file"]
        run("restart")
        results["restart"] = run("poll")
        assert results["restart"]["units"] == 0, results["restart"]
        results["idle_after_restart"] = run("poll")
        proc.stdin.write("quit\n")
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
        server.stop()

    def line(label, r):
        reqs = ", ".join(f"{v} {k}" for k, v in sorted(r["requests"].items())) or "none"
        print(f"  {label:<22} {r['ms'] / 1000:8.2f} s   requests: {reqs}")

    print(f"[listing] per poll, {args.tables} tables x {args.files} files ({objects:,} objects):")
    for i, r in enumerate(results["idle"]):
        line(f"idle poll {i + 1}", r)
    line("one new file", results["one_new_file"])
    line("restart (late check)", results["restart"])
    line("idle after restart", results["idle_after_restart"])
    print(f"  machine: {results['machine']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
