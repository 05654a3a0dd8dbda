"""The Schema Registry subset the tests serve (schema_registry.py) answers as
Confluent's API description says, so a client written against it works
against the real registry."""
from __future__ import annotations

import json

import pytest
import requests

CT = "application/vnd.schemaregistry.v1+json"
VALUE = json.dumps({"type": "record", "name": "Value", "namespace": "db.inv.customers",
                    "fields": [{"name": "id", "type": "int"}]})
VALUE2 = json.dumps({"type": "record", "name": "Value", "namespace": "db.inv.customers",
                     "fields": [{"name": "id", "type": "int"},
                                {"name": "email", "type": ["null", "string"],
                                 "default": None}]})


def register(base, subject, schema, auth=None, **extra):
    body = {"schema": schema, **extra}
    return requests.post(f"{base}/subjects/{subject}/versions", json=body, auth=auth,
                         headers={"Content-Type": CT}, timeout=5)


def test_register_and_fetch_by_id_and_guid(registry):
    r = register(registry.url, "db.inv.customers-value", VALUE)
    assert r.status_code == 200 and r.headers["Content-Type"] == CT
    sid, guid = r.json()["id"], r.json()["guid"]
    got = requests.get(f"{registry.url}/schemas/ids/{sid}", timeout=5)
    # AVRO is the default type and is not named in the answer.
    assert got.status_code == 200 and got.json() == {"schema": VALUE}
    by_guid = requests.get(f"{registry.url}/schemas/guids/{guid}", timeout=5)
    assert by_guid.status_code == 200 and by_guid.json() == {"schema": VALUE}


def test_ids_are_global_and_stable(registry):
    a = register(registry.url, "t1-value", VALUE).json()["id"]
    # The same schema again, with other whitespace, under another subject.
    b = register(registry.url, "t2-value", json.dumps(json.loads(VALUE), indent=2)).json()["id"]
    c = register(registry.url, "t1-value", VALUE2).json()["id"]
    assert a == b and c != a
    assert requests.get(f"{registry.url}/subjects/t1-value/versions", timeout=5).json() == [1, 2]
    latest = requests.get(f"{registry.url}/subjects/t1-value/versions/latest", timeout=5).json()
    assert latest["version"] == 2 and latest["id"] == c and latest["schema"] == VALUE2
    assert requests.get(f"{registry.url}/schemas/ids/{a}/subjects", timeout=5).json() == [
        "t1-value", "t2-value"]
    assert requests.get(f"{registry.url}/subjects", timeout=5).json() == ["t1-value", "t2-value"]


def test_unknown_ids_guids_subjects_and_versions(registry):
    register(registry.url, "s-value", VALUE)
    cases = [
        ("/schemas/ids/999", 404, 40403),
        ("/schemas/ids/abc", 404, 40403),
        ("/schemas/guids/00000000-0000-0000-0000-000000000000", 404, 40403),
        ("/subjects/nope/versions", 404, 40401),
        ("/subjects/s-value/versions/7", 404, 40402),
        ("/subjects/s-value/versions/zero", 422, 42202),
    ]
    for path, status, code in cases:
        r = requests.get(registry.url + path, timeout=5)
        assert (r.status_code, r.json()["error_code"]) == (status, code), path
        assert r.json()["message"]


def test_invalid_schemas_are_refused(registry):
    for schema in ['{"type": "record", "fields": []}', "not json", '{"type": "nosuch"}',
                   '{"type": "record", "name": "X", "fields": [{"name": "a"}]}']:
        r = register(registry.url, "bad-value", schema)
        assert r.status_code == 422 and r.json()["error_code"] == 42201, schema
    r = requests.post(f"{registry.url}/subjects/bad-value/versions", data=b"{", timeout=5)
    assert r.status_code == 422


def test_non_avro_types_are_named(registry):
    schema = '{"type": "object", "properties": {"id": {"type": "integer"}}}'
    sid = register(registry.url, "j-value", schema, schemaType="JSON").json()["id"]
    got = requests.get(f"{registry.url}/schemas/ids/{sid}", timeout=5).json()
    assert got == {"schema": schema, "schemaType": "JSON"}


def test_references_resolve_by_subject_and_version(registry):
    address = json.dumps({"type": "record", "name": "Address", "namespace": "shop",
                          "fields": [{"name": "city", "type": "string"}]})
    register(registry.url, "shop.Address", address)
    customer = json.dumps({"type": "record", "name": "Customer", "namespace": "shop",
                           "fields": [{"name": "home", "type": "shop.Address"}]})
    refs = [{"name": "shop.Address", "subject": "shop.Address", "version": 1}]
    r = register(registry.url, "customers-value", customer, references=refs)
    assert r.status_code == 200, r.text
    got = requests.get(f"{registry.url}/schemas/ids/{r.json()['id']}", timeout=5).json()
    assert got == {"schema": customer, "references": refs}
    # Without the reference the named type is unknown; a missing reference
    # is refused.
    assert register(registry.url, "c2-value", customer).status_code == 422
    bad = [{"name": "shop.Address", "subject": "shop.Address", "version": 9}]
    assert register(registry.url, "c3-value", customer, references=bad).status_code == 422


def test_lookup_under_a_subject(registry):
    sid = register(registry.url, "l-value", VALUE).json()["id"]
    r = requests.post(f"{registry.url}/subjects/l-value", json={"schema": VALUE}, timeout=5)
    assert r.status_code == 200 and r.json()["id"] == sid and r.json()["version"] == 1
    r = requests.post(f"{registry.url}/subjects/l-value", json={"schema": VALUE2}, timeout=5)
    assert r.status_code == 404 and r.json()["error_code"] == 40403


def test_basic_auth(registry_auth):
    base = registry_auth.url
    assert register(base, "a-value", VALUE).status_code == 401
    r = register(base, "a-value", VALUE, auth=("sluice", "wrong"))
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic")
    r = register(base, "a-value", VALUE, auth=("sluice", "s3cret"))
    assert r.status_code == 200
    sid = r.json()["id"]
    assert requests.get(f"{base}/schemas/ids/{sid}", timeout=5).status_code == 401
    assert requests.get(f"{base}/schemas/ids/{sid}", auth=("sluice", "s3cret"),
                        timeout=5).status_code == 200


def test_injected_failures_and_restart(registry):
    sid = register(registry.url, "f-value", VALUE).json()["id"]
    registry.fail_next(2, status=503)
    assert requests.get(f"{registry.url}/schemas/ids/{sid}", timeout=5).status_code == 503
    r = requests.get(f"{registry.url}/schemas/ids/{sid}", timeout=5)
    assert r.status_code == 503 and r.json()["error_code"] == 50001
    assert requests.get(f"{registry.url}/schemas/ids/{sid}", timeout=5).status_code == 200
    # Down, then back on the same port with the same schemas.
    port = registry.port
    registry.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{registry.url}/schemas/ids/{sid}", timeout=2)
    registry.start()
    assert registry.port == port
    assert requests.get(f"{registry.url}/schemas/ids/{sid}", timeout=5).json() == {
        "schema": VALUE}
    assert ("GET", f"/schemas/ids/{sid}") in registry.requests
