#!/usr/bin/env python3
"""Command line of tools/dms_gen (see README.md next to this file)."""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from dms_gen.generator import Options, generate  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Write realistic AWS DMS S3-target output.")
    d = Options(out="")
    p.add_argument("--out", required=True)
    p.add_argument("--sink", default="", help="sink path written into sluice.toml")
    p.add_argument("--format", choices=["parquet", "csv"], default=d.format)
    for name in ("seed", "rows_per_table", "transactions", "load_file_rows", "txns_per_file",
                 "out_of_order_files", "deletes_of_unknown_keys"):
        p.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(d, name))
    for name in ("timestamp_column", "change_sequence_column", "before_image_prefix", "csv_null",
                 "csv_delimiter", "csv_no_sup", "date_partition", "date_delimiter", "cdc_path",
                 "cdc_start_date"):
        p.add_argument("--" + name.replace("_", "-"), default=getattr(d, name))
    for name in ("no_csv_header", "include_op_for_full_load", "cdc_inserts_only",
                 "preserve_transactions", "gzip", "timestamp_ms", "no_added_column",
                 "no_pk_changes", "no_history"):
        p.add_argument("--" + name.replace("_", "-"), action="store_true")
    p.add_argument("--tables", default="", help="comma-separated schema.table subset")
    p.add_argument("--quiet", action="store_true")
    return p


def options_from(args) -> Options:
    return Options(
        out=args.out, sink=args.sink, format=args.format, seed=args.seed,
        rows_per_table=args.rows_per_table, transactions=args.transactions,
        load_file_rows=args.load_file_rows, txns_per_file=args.txns_per_file,
        out_of_order_files=args.out_of_order_files,
        deletes_of_unknown_keys=args.deletes_of_unknown_keys,
        timestamp_column=args.timestamp_column, change_sequence_column=args.change_sequence_column,
        before_image_prefix=args.before_image_prefix, csv_null=args.csv_null,
        csv_delimiter=args.csv_delimiter, csv_no_sup=args.csv_no_sup,
        date_partition=args.date_partition, date_delimiter=args.date_delimiter,
        cdc_path=args.cdc_path, cdc_start_date=args.cdc_start_date,
        csv_header=not args.no_csv_header, include_op_for_full_load=args.include_op_for_full_load,
        cdc_inserts_only=args.cdc_inserts_only, preserve_transactions=args.preserve_transactions,
        gzip=args.gzip, timestamp_ms=args.timestamp_ms, added_column=not args.no_added_column,
        pk_changes=not args.no_pk_changes, history=not args.no_history,
        tables=[t for t in args.tables.split(",") if t] or None)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    g = generate(options_from(args))
    if not args.quiet:
        print(f"{len(g.files)} files, {len(g.changes)} changes, tables "
              + ", ".join(f"{q}={len(s)} rows" for q, s in g.truth.items())
              + f"; config {os.path.join(args.out, 'sluice.toml')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
