"""Sluice's table commands on each store: commits through the conditional
create, data files through Arrow's filesystem, read back by delta-rs (and by
DuckDB when its extensions are installed)."""
import json
import os
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import sluice, unique


def rows(start: int, n: int) -> pa.Table:
    return pa.table({
        "id": pa.array(range(start, start + n), pa.int64()),
        "name": pa.array([f"name-{i}" for i in range(start, start + n)]),
        "amount": pa.array([i * 0.5 for i in range(start, start + n)]),
    })


def write_input(tmp_path, table: pa.Table, name: str):
    path = tmp_path / name
    pq.write_table(table, path)
    return str(path)


def read_delta_rs(store, uri: str) -> pa.Table:
    from deltalake import DeltaTable

    return DeltaTable(uri, storage_options=store.storage_options).to_pyarrow_table()


def read_duckdb(store, uri: str):
    """The table through DuckDB's delta extension, with the httpfs (S3) or
    azure extension, all loaded from their PyPI packages by path (DuckDB never
    downloads here). None for GCS: DuckDB reaches GCS only through its
    S3-compatible HMAC endpoint, which fake-gcs-server does not serve."""
    if store.kind == "gcs":
        return None
    import duckdb
    import duckdb_extension_azure
    import duckdb_extension_delta
    import duckdb_extension_httpfs

    def ext(module, name):
        return os.path.join(os.path.dirname(module.__file__), "extensions",
                            "v" + duckdb.__version__, name + ".duckdb_extension")

    con = duckdb.connect(config={"autoinstall_known_extensions": False,
                                 "autoload_known_extensions": False})
    if store.kind == "s3":
        con.execute(f"LOAD '{ext(duckdb_extension_httpfs, 'httpfs')}'")
        host = store.endpoint.split("://", 1)[1]
        con.execute(f"""CREATE SECRET (TYPE s3, KEY_ID '{store.env["AWS_ACCESS_KEY_ID"]}',
            SECRET '{store.env["AWS_SECRET_ACCESS_KEY"]}', REGION 'us-east-1',
            ENDPOINT '{host}', URL_STYLE 'path', USE_SSL false)""")
    else:
        # The delta extension's Azure client finds the emulator through
        # AZURITE_BLOB_STORAGE_URL, not the connection string's endpoint.
        os.environ["AZURITE_BLOB_STORAGE_URL"] = store.endpoint
        con.execute(f"LOAD '{ext(duckdb_extension_azure, 'azure')}'")
        con.execute(f"""CREATE SECRET (TYPE azure,
            CONNECTION_STRING '{store.env["AZURE_STORAGE_CONNECTION_STRING"]}')""")
    con.execute(f"LOAD '{ext(duckdb_extension_delta, 'delta')}'")
    return con.execute(f"SELECT * FROM delta_scan('{uri}')").fetch_arrow_table()


def test_write_inspect_cat_checkpoint_compact_vacuum(store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # anything written locally by mistake lands here
    uri = store.uri(unique("tables") + "/orders")
    batches = [rows(i * 100, 100) for i in range(4)]
    for i, b in enumerate(batches):
        # No deletion vectors: the installed delta-rs cannot read them.
        sluice(store, "write", uri, "--input", write_input(tmp_path, b, f"in{i}.parquet"),
               "--no-deletion-vectors")
    expected = pa.concat_tables(batches).sort_by("id")

    info = json.loads(sluice(store, "inspect", uri, "--json").stdout)
    assert info["version"] == 3, info
    out = tmp_path / "cat.parquet"
    sluice(store, "cat", uri, "--out", str(out))
    assert pq.read_table(out).sort_by("id").equals(expected)

    got = read_delta_rs(store, uri).select(expected.column_names).sort_by("id")
    assert got.equals(expected), f"delta-rs read differs on {store.kind}"
    duck = read_duckdb(store, uri)
    if duck is not None:
        duck = duck.select(expected.column_names).sort_by("id")
        assert duck.to_pylist() == expected.to_pylist(), f"DuckDB read differs on {store.kind}"

    sluice(store, "checkpoint", uri)
    compacted = sluice(store, "compact", uri, "--min-small-files", "2").stdout
    assert "compacted at version" in compacted, compacted
    sluice(store, "cat", uri, "--out", str(out))
    assert pq.read_table(out).sort_by("id").equals(expected)
    info = json.loads(sluice(store, "inspect", uri, "--json").stdout)
    assert info["version"] >= 4, info
    vacuumed = sluice(store, "vacuum", uri, "--retention", "0s").stdout
    # The four small files the compaction replaced are gone from the bucket.
    assert re.search(r"deleted 4 file\(s\)", vacuumed), vacuumed
    again = sluice(store, "vacuum", uri, "--retention", "0s").stdout
    assert re.search(r"deleted 0 file\(s\)", again), again
    sluice(store, "cat", uri, "--out", str(out))
    assert pq.read_table(out).sort_by("id").equals(expected)
    got = read_delta_rs(store, uri).select(expected.column_names).sort_by("id")
    assert got.equals(expected), f"delta-rs read after compact+vacuum differs on {store.kind}"
    # Nothing leaked onto the local disk instead of the bucket.
    assert not any(p.is_dir() for p in tmp_path.iterdir()), list(tmp_path.iterdir())


def test_time_travel_after_overwrite(store, tmp_path):
    uri = store.uri(unique("tt") + "/t")
    sluice(store, "write", uri, "--input", write_input(tmp_path, rows(0, 10), "a.parquet"))
    sluice(store, "write", uri, "--input", write_input(tmp_path, rows(100, 5), "b.parquet"),
           "--mode", "overwrite")
    out = tmp_path / "v0.parquet"
    sluice(store, "cat", uri, "--version", "0", "--out", str(out))
    assert pq.read_table(out).num_rows == 10
    sluice(store, "cat", uri, "--out", str(out))
    assert sorted(pq.read_table(out)["id"].to_pylist()) == list(range(100, 105))


def test_table_at_bucket_root(store, tmp_path):
    bucket = unique("root")
    store.make_bucket(bucket)
    uri = f"{store.scheme}://{bucket}"
    sluice(store, "write", uri, "--input", write_input(tmp_path, rows(0, 7), "a.parquet"))
    sluice(store, "write", uri, "--input", write_input(tmp_path, rows(7, 3), "b.parquet"))
    info = json.loads(sluice(store, "inspect", uri, "--json").stdout)
    assert info["version"] == 1, info
    out = tmp_path / "out.parquet"
    sluice(store, "cat", uri, "--out", str(out))
    assert sorted(pq.read_table(out)["id"].to_pylist()) == list(range(10))
