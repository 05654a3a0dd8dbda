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


def test_gcs_xml_conditional_create_is_refused(gcs):
    """object_store's GCS client uses the XML API's
    x-goog-if-generation-match header, not the JSON upload parameter."""
    key = unique("probe-xml") + "/0.json"
    assert gcs.conditional_create_xml(gcs.bucket, key, b"first") == 200
    assert gcs.conditional_create_xml(gcs.bucket, key, b"second") == 412
    assert gcs.read(gcs.bucket, key) == b"first"
