#!/usr/bin/env python3
"""delta-rs peer: python `deltalake` doing the connector's job per batch of
N Avro files: decode (fastavro, the Avro reader of the Python stack), append
to the log table, then MERGE the batch's latest event per key into the
merged table (rule in common.py). delta-rs MERGE rewrites the touched files
(it does not write deletion vectors).

With `--format dms-parquet|dms-csv` the batches are of DMS files (bench/
dms_workload.py) read with pyarrow, in the order and with the sequence of
dms_input.py; the rest is the same.

    deltars_peer.py --source DIR --sink DIR --files-per-batch N [--format avro]

Prints `BENCH_RESULT {json}` with per-batch timings (decode, log, merge).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import dms_input  # noqa: E402

_TS = pa.timestamp("us", tz="UTC")


def _arrow_type(avro_type) -> pa.DataType:
    if isinstance(avro_type, dict):
        lt = avro_type.get("logicalType")
        if lt == "decimal":
            return pa.decimal128(avro_type["precision"], avro_type["scale"])
        if lt == "timestamp-micros":
            return _TS
        return _arrow_type(avro_type["type"])
    return {"long": pa.int64(), "int": pa.int32(), "string": pa.string(),
            "double": pa.float64(), "boolean": pa.bool_(), "bytes": pa.binary()}[avro_type]


def payload_type(avro_schema: dict) -> pa.StructType:
    payload = next(f for f in avro_schema["fields"] if f["name"] == "payload")["type"]
    fields = []
    for f in payload["fields"]:
        t = [x for x in f["type"] if x != "null"][0]
        fields.append(pa.field(f["name"], _arrow_type(t)))
    return pa.struct(fields)


def decode(paths: list, ptype_cache: dict) -> pa.Table:
    import fastavro
    recs = []
    for p in paths:
        with open(p, "rb") as fh:
            r = fastavro.reader(fh)
            if "ptype" not in ptype_cache:
                ptype_cache["ptype"] = payload_type(r.writer_schema)
            recs.extend(r)
    ptype = ptype_cache["ptype"]
    payload = pa.array([r["payload"] for r in recs], type=ptype)
    sm = [r["source_metadata"] for r in recs]
    log_file = [m["log_file"] or "" for m in sm]
    log_pos = np.array([m["log_position"] or 0 for m in sm], dtype=np.int64)
    file_no = np.array([int(f[-6:]) if f else 0 for f in log_file], dtype=np.int64)
    is_cdc = np.array(["cdc" in r["read_method"] for r in recs])
    seq = np.where(is_cdc, (file_no << 32) | log_pos, 0)
    deleted = np.array([bool(m["is_deleted"]) for m in sm])
    cols = {f.name: payload.field(i) for i, f in enumerate(ptype)}
    cols.update({
        "uuid": pa.array([r["uuid"] for r in recs]),
        "read_timestamp": pa.array([r["read_timestamp"] for r in recs], type=_TS),
        "source_timestamp": pa.array([r["source_timestamp"] for r in recs], type=_TS),
        "read_method": pa.array([r["read_method"] for r in recs]),
        "change_type": pa.array([m["change_type"] for m in sm]),
        "log_file": pa.array(log_file),
        "log_position": pa.array(log_pos),
        common.SEQ: pa.array(seq),
        common.DELETED: pa.array(deleted),
    })
    return pa.table(cols)


def decode_dms(paths: list, fmt: str, cache: dict) -> pa.Table:
    batch = dms_input.with_sequence(dms_input.read_arrow(paths, fmt), common.SEQ, common.DELETED)
    cache.setdefault("payload", dms_input.workload.PAYLOAD)
    return batch


def latest_per_key(batch: pa.Table, payload_names: list) -> pa.Table:
    """The batch's latest event per key (highest sequence)."""
    src = batch.select(payload_names + [common.SEQ, common.DELETED])
    order = pc.sort_indices(src, sort_keys=[(common.KEY, "ascending"), (common.SEQ, "descending")])
    src = src.take(order)
    keys = src.column(common.KEY).to_numpy()
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    return src.filter(pa.array(first))


def reclaim_unreferenced(table, path: str) -> int:
    """Deletes the merged table's data files that its latest version no
    longer references, outside the timed work, and returns their bytes.
    delta-rs MERGE rewrites every file it touches (it writes no deletion
    vectors), and the workload's updates touch nearly every file: at the
    full scale that is about 1 GB per batch, 100 GB over the run, more than
    the bench disk holds. The bench adds the bytes back to bytes_written."""
    live = {os.path.normpath(u.removeprefix("file://")) for u in table.file_uris()}
    freed = 0
    for dirpath, _dirs, names in os.walk(path):
        if "_delta_log" in dirpath:
            continue
        for name in names:
            full = os.path.normpath(os.path.join(dirpath, name))
            if name.endswith(".parquet") and full not in live:
                freed += os.path.getsize(full)
                os.remove(full)
    return freed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--sink", required=True)
    ap.add_argument("--files-per-batch", type=int, default=10)
    ap.add_argument("--format", choices=["avro", *dms_input.FORMATS], default="avro")
    opts = ap.parse_args(argv)
    from deltalake import DeltaTable, write_deltalake

    if opts.format == "avro":
        files = common.input_files(opts.source)
    else:
        files = dms_input.input_files(opts.source, opts.format)
    log_path = os.path.join(opts.sink, "bench", "orders_log")
    merged_path = os.path.join(opts.sink, "bench", "orders")
    timer = common.BatchTimer()
    cache: dict = {}
    merged = None
    reclaimed = 0
    for paths in common.batches(files, opts.files_per_batch):
        t = timer.start()
        if opts.format == "avro":
            batch = decode(paths, cache)
            cache.setdefault("payload", [f.name for f in cache["ptype"]])
        else:
            batch = decode_dms(paths, opts.format, cache)
        t_dec = time.perf_counter()
        write_deltalake(log_path, batch, mode="append")
        t_log = time.perf_counter()
        src = latest_per_key(batch, cache["payload"])
        if merged is None:
            target_schema = pa.schema([f for f in src.schema if f.name != common.DELETED])
            merged = DeltaTable.create(merged_path, schema=target_schema, mode="ignore")
        m = (merged.merge(src, predicate=f"t.{common.KEY} = s.{common.KEY}", source_alias="s",
                          target_alias="t")
             .when_matched_delete(predicate=f"s.{common.DELETED} AND s.{common.SEQ} > t.{common.SEQ}")
             .when_matched_update_all(predicate=f"NOT s.{common.DELETED} AND s.{common.SEQ} > t.{common.SEQ}",
                                      except_cols=[common.DELETED])
             .when_not_matched_insert_all(predicate=f"NOT s.{common.DELETED}",
                                          except_cols=[common.DELETED])
             .execute())
        t_merge = time.perf_counter()
        timer.done(t, files=len(paths), rows=batch.num_rows, changes=src.num_rows,
                   decode_ms=(t_dec - t) * 1000, log_ms=(t_log - t_dec) * 1000,
                   merge_ms=(t_merge - t_log) * 1000,
                   inserted=m.get("num_target_rows_inserted"),
                   updated=m.get("num_target_rows_updated"),
                   deleted=m.get("num_target_rows_deleted"))
        merged = DeltaTable(merged_path)
        t_reclaim = time.perf_counter()
        reclaimed += reclaim_unreferenced(merged, merged_path)
        timer.exclude(time.perf_counter() - t_reclaim)
    timer.report(engine="delta-rs", log_table=log_path, merged_table=merged_path,
                 bytes_reclaimed=reclaimed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
