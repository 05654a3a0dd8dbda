#!/usr/bin/env python3
"""A large Datastream Avro file for the peak-memory measurement of parts
(docs/BENCHMARKS.md, "Peak memory of a large source file"):

    bench/large_datastream_file.py DIR [--rows 1500000]
    /usr/bin/time -v build/sluice run --config DIR/sluice.toml --once

writes DIR/bucket/shop_big/2026/01/01/00/00/big.avro: MySQL backfill events without primary keys (log table only)
of the Datastream envelope (schema as in the real files under
shared/fixtures/datastream/avro), payload an int64 key and a 400-character
hex string that does not compress, 64 KB blocks, no codec (~500 bytes an
event) and DIR/sluice.toml (log table only, sink DIR/sink)."""
import argparse
import os
from pathlib import Path

import fastavro

SCHEMA = {
    "type": "record", "name": "big", "fields": [
        {"name": "uuid", "type": "string"},
        {"name": "read_timestamp", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "source_timestamp", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "object", "type": "string"},
        {"name": "read_method", "type": "string"},
        {"name": "stream_name", "type": "string"},
        {"name": "schema_key", "type": "string"},
        {"name": "sort_keys", "type": {"type": "array", "items": ["string", "long"]}},
        {"name": "source_metadata", "type": {"type": "record", "name": "source_metadata", "fields": [
            {"name": "table", "type": "string"},
            {"name": "database", "type": "string"},
            {"name": "primary_keys", "type": {"type": "array", "items": "string"}},
            {"name": "log_file", "type": ["null", "string"]},
            {"name": "log_position", "type": ["null", "long"]},
            {"name": "change_type", "type": ["null", "string"]},
            {"name": "is_deleted", "type": ["null", "boolean"]}]}},
        {"name": "payload", "type": {"type": "record", "name": "payload", "fields": [
            {"name": "id", "type": ["null", "long"]},
            {"name": "note", "type": ["null", "string"]}]}},
    ]}


def events(rows: int):
    rnd = os.urandom
    t0 = 1767225600000  # 2026-01-01T00:00Z
    meta = {"table": "big", "database": "shop", "primary_keys": [], "log_file": None,
            "log_position": None, "change_type": "INSERT", "is_deleted": False}
    for i in range(rows):
        yield {"uuid": f"00000000-0000-0000-0000-{i:012d}", "read_timestamp": t0,
               "source_timestamp": t0, "object": "shop_big", "read_method": "mysql-backfill-fulldump",
               "stream_name": "projects/1/locations/us-central1/streams/bench",
               "schema_key": "0" * 40, "sort_keys": [t0, "", 0], "source_metadata": meta,
               "payload": {"id": i, "note": rnd(200).hex()}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--rows", type=int, default=1_500_000)
    args = ap.parse_args()
    root = Path(args.dir).resolve()
    folder = root / "bucket" / "shop_big" / "2026" / "01" / "01" / "00" / "00"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "big.avro"
    with open(path, "wb") as f:
        fastavro.writer(f, fastavro.parse_schema(SCHEMA), events(args.rows), codec="null",
                        sync_interval=64 * 1024)
    (root / "sluice.toml").write_text(
        f'[source]\npath = "{root / "bucket"}"\nformat = "avro"\n\n[sink]\npath = "{root / "sink"}"\n')
    print(f"{path}: {path.stat().st_size / 1e6:.1f} MB; config {root / 'sluice.toml'}")


if __name__ == "__main__":
    main()
