"""A wrong credential and a missing bucket each give one clear error that
names the bucket, the operation and what was tried."""
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import AZURITE_KEY, azure_connection_string, sluice, unique


def one_clear_error(proc, bucket: str) -> str:
    assert proc.returncode != 0
    err = proc.stderr
    assert f"{bucket}" in err, err
    assert "tried" in err, err
    # One error, not a cascade or a crash dump.
    assert "Aborted" not in err and "terminate called" not in err, err
    return err


def test_missing_bucket(store, tmp_path):
    bucket = unique("nosuchbucket")
    uri = store.uri("t", bucket=bucket)
    proc = sluice(store, "inspect", uri, check=False)
    err = one_clear_error(proc, bucket)
    assert "does not exist" in err, err
    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": [1, 2]}), src)
    proc = sluice(store, "write", uri, "--input", str(src), check=False)
    one_clear_error(proc, bucket)


def test_wrong_credential_s3(s3, tmp_path):
    env = s3.run_env(AWS_SECRET_ACCESS_KEY="not-the-secret")
    proc = sluice(s3, "inspect", s3.uri("t"), env=env, check=False)
    err = one_clear_error(proc, s3.bucket)
    assert "AWS_ACCESS_KEY_ID" in err, err


def test_wrong_credential_azure(azure, tmp_path):
    import base64

    wrong_key = base64.b64encode(b"not the account key".ljust(64, b"!")).decode()
    env = azure.run_env(AZURE_STORAGE_CONNECTION_STRING=azure_connection_string(
        azure.endpoint, wrong_key))
    assert wrong_key != AZURITE_KEY
    proc = sluice(azure, "inspect", azure.uri("t"), env=env, check=False)
    err = one_clear_error(proc, azure.bucket)
    assert "account key" in err, err
