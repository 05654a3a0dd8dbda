#!/usr/bin/env python3
"""A large DMS full-load Parquet file for the peak-memory measurement
(docs/BENCHMARKS.md, "Peak memory of a large source file"):

    bench/large_dms_file.py DIR [--rows 1500000]
    /usr/bin/time -v build/sluice run --config DIR/sluice.toml --once

writes DIR/bucket/public/big/LOAD00000001.parquet (a string timestamp, an
int64 id, a 400-character hex payload that does not compress; row groups of
100,000 rows, snappy; ~410 bytes a row) and DIR/sluice.toml (log table only,
sink DIR/sink)."""
import argparse
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--rows", type=int, default=1_500_000)
    args = ap.parse_args()
    root = Path(args.dir).resolve()
    folder = root / "bucket" / "public" / "big"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "LOAD00000001.parquet"
    rng = np.random.default_rng(7)
    schema = pa.schema([("DMS_TIMESTAMP", pa.string()), ("id", pa.int64()),
                        ("payload", pa.string())])
    step = 100_000
    with pq.ParquetWriter(path, schema, compression="snappy") as w:
        for off in range(0, args.rows, step):
            n = min(step, args.rows - off)
            raw = rng.integers(0, 2**63, size=(n, 25), dtype=np.int64)
            w.write_table(pa.table({
                "DMS_TIMESTAMP": pa.array(["2026-01-01 00:00:00.000000"] * n),
                "id": pa.array(np.arange(off, off + n, dtype=np.int64)),
                "payload": pa.array([r.tobytes().hex() for r in raw]),
            }, schema=schema), row_group_size=step)
    (root / "sluice.toml").write_text(
        f'[source]\nkind = "dms"\nformat = "parquet"\npath = "{root / "bucket"}"\n\n'
        f'[source.dms]\ntimestamp_column = "DMS_TIMESTAMP"\n\n[sink]\npath = "{root / "sink"}"\n')
    print(f"{path}: {os.path.getsize(path) / 1e6:.1f} MB; config {root / 'sluice.toml'}")


if __name__ == "__main__":
    main()
