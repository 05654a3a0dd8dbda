"""Each emulator really enforces conditional creates: without that, the
commit tests below would prove nothing about Sluice's PutIfAbsent."""
from conftest import unique


def test_second_conditional_create_is_refused(store):
    key = unique("probe") + "/00000000000000000000.json"
    first = store.conditional_create(store.bucket, key, b"first")
    assert first in (200, 201), f"{store.kind}: first conditional create answered {first}"
    second = store.conditional_create(store.bucket, key, b"second")
    # S3 and GCS: 412 Precondition Failed; Azure: 409 BlobAlreadyExists.
    expected = 409 if store.kind == "azure" else 412
    assert second == expected, f"{store.kind}: second conditional create answered {second}"
    assert store.read(store.bucket, key) == b"first"
    # GCS: the JSON-API upload with ifGenerationMatch=0 is the request
    # Sluice sends (rust/sluice_objstore/src/gcs_json.rs); fake-gcs-server
    # does not serve the XML API's PUT that object_store would use.

