"""What the peers need to read the DMS variant's files (bench/dms_workload.py):
the files in the order a DMS task writes them (full load, then CDC by name),
the types of the CSV cells, and the sequence DLT's APPLY CHANGES and the
snapshot generator order a key's changes by.

Sequence (`_seq`, decimal(38,0)): 0 for a full-load row (its change
sequence is empty), else the DMS change sequence (`AR_H_CHANGE_SEQ`: commit
time then change number, a number of 35 digits). So the full load comes
before CDC and CDC rows come in commit order, whatever order their files
arrive in. A row whose Op is D deletes.
"""
from __future__ import annotations

import glob
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import dms_workload as workload  # noqa: E402

FORMATS = {"dms-parquet": "parquet", "dms-csv": "csv"}
SEQ_PRECISION = 38


def input_files(source: str, fmt: str) -> list:
    """Full-load files, then CDC files, each in name order."""
    ext = FORMATS[fmt]
    files = glob.glob(os.path.join(source, workload.SCHEMA, workload.TABLE, f"*.{ext}"))
    if not files:
        raise SystemExit(f"no .{ext} files under {source}/{workload.SCHEMA}/{workload.TABLE}/")
    return sorted(files, key=lambda p: (not os.path.basename(p).startswith("LOAD"), p))


def table_dir(source: str) -> str:
    return os.path.join(source, workload.SCHEMA, workload.TABLE)


def read_arrow(paths: list, fmt: str):
    """The rows of `paths` as one pyarrow table with the workload's types
    (CSV cells cast as Sluice's `columns` cast them)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq
    schema = workload.arrow_schema()
    if FORMATS[fmt] == "parquet":
        return pa.concat_tables([pq.read_table(p, schema=schema) for p in paths])
    # timestamps without a zone are UTC: parse them naive, then say so
    naive = pa.schema([pa.field(f.name, pa.timestamp("us")) if pa.types.is_timestamp(f.type)
                       else f for f in schema])
    opts = pacsv.ConvertOptions(column_types=naive, null_values=["NULL"],
                                strings_can_be_null=True, quoted_strings_can_be_null=False)
    parts = [pacsv.read_csv(p, convert_options=opts) for p in paths]
    return pa.concat_tables(parts).cast(schema)


def with_sequence(table, seq: str, deleted: str):
    """`table` plus the sequence and the delete flag."""
    import pyarrow as pa
    import pyarrow.compute as pc
    dec = pa.decimal128(SEQ_PRECISION, 0)
    cs = pc.cast(table.column(workload.CHANGE_SEQ_COLUMN), dec)
    return (table.append_column(seq, pc.fill_null(cs, pa.scalar(0, dec)))
            .append_column(deleted, pc.fill_null(pc.equal(table.column("Op"), "D"), False)))


def spark_ddl() -> str:
    """The workload's columns as a Spark schema (DDL)."""
    spark = {"long": "BIGINT", "integer": "INT", "string": "STRING", "double": "DOUBLE",
             "timestamp": "TIMESTAMP"}
    cols = [("Op", "STRING"), (workload.TIMESTAMP_COLUMN, "STRING")]
    cols += [(n, spark.get(t, t.upper())) for n, t in workload.CSV_TYPES.items()]
    cols += [(workload.CHANGE_SEQ_COLUMN, "STRING")]
    return ", ".join(f"`{n}` {t}" for n, t in cols)
