"""The subset of Confluent's Schema Registry REST API that Sluice uses, for
tests (neither Confluent's registry nor Karapace nor a runnable Apicurio is
obtainable here). Written from Confluent's public API description:

    POST /subjects/{subject}/versions        register -> {"id", "guid"}
    POST /subjects/{subject}                 look a schema up under a subject
    GET  /subjects                           subject names
    GET  /subjects/{subject}/versions        version numbers
    GET  /subjects/{subject}/versions/{v}    v = number or "latest"
    GET  /schemas/ids/{id}                   {"schema", "schemaType"?, "references"?}
    GET  /schemas/guids/{guid}               same, by the schema's GUID
    GET  /schemas/ids/{id}/subjects          subjects using the id

Rules kept from the real registry: ids are global and the same schema text
(whitespace aside) with the same type and references gets the same id under
every subject; registering it again under a subject returns the existing id;
`schemaType` defaults to AVRO and is omitted from answers for AVRO; an Avro
schema that does not parse is refused with 422 / 42201; references name a
(subject, version) that must exist (42201 otherwise). Errors carry
{"error_code", "message"}: 40401 subject not found, 40402 version not found,
40403 schema not found, 42201 invalid schema, 42202 invalid version.
Basic auth when a user is configured: 401 without the right credentials.

For fault tests: `fail_next(n, status)` answers the next n requests with an
error status, `requests` records every (method, path) served, and the server
can be stopped and started again on the same port.

    python tests/kafka/schema_registry.py [--port N] [--user name:password]
"""
from __future__ import annotations

import argparse
import base64
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional, Tuple
from urllib.parse import unquote, urlsplit

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
SCHEMA_TYPES = ("AVRO", "JSON", "PROTOBUF")


class ApiError(Exception):
    def __init__(self, status: int, code: int, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class Schema:
    id: int
    guid: str
    schema: str
    schema_type: str
    references: List[dict]

    def key(self) -> Tuple[str, str, str]:
        return (self.schema_type, _canonical(self.schema, self.schema_type),
                json.dumps(self.references, sort_keys=True))

    def body(self) -> dict:
        out: dict = {"schema": self.schema}
        if self.schema_type != "AVRO":
            out["schemaType"] = self.schema_type
        if self.references:
            out["references"] = self.references
        return out


@dataclass
class Registry:
    """The registry's state; thread-safe."""

    schemas: Dict[int, Schema] = field(default_factory=dict)
    by_guid: Dict[str, int] = field(default_factory=dict)
    subjects: Dict[str, List[int]] = field(default_factory=dict)  # version i+1 -> id
    lock: threading.Lock = field(default_factory=threading.Lock)

    def register(self, subject: str, text: str, schema_type: str,
                 references: List[dict]) -> Schema:
        with self.lock:
            named = self._resolve_references(references)
            _validate(text, schema_type, named)
            probe = Schema(0, "", text, schema_type, references)
            existing = next((s for s in self.schemas.values() if s.key() == probe.key()), None)
            if existing is None:
                existing = Schema(len(self.schemas) + 1, str(uuid.uuid4()), text, schema_type,
                                  references)
                self.schemas[existing.id] = existing
                self.by_guid[existing.guid] = existing.id
            versions = self.subjects.setdefault(subject, [])
            if existing.id not in versions:
                versions.append(existing.id)
            return existing

    def add_raw(self, schema_id: int, text: str, schema_type: str = "AVRO",
                guid: Optional[str] = None) -> Schema:
        """Stores a schema under a chosen id without checks (tests of what a
        client does with ids it did not register)."""
        with self.lock:
            s = Schema(schema_id, guid or str(uuid.uuid4()), text, schema_type, [])
            self.schemas[schema_id] = s
            self.by_guid[s.guid] = schema_id
            return s

    def version(self, subject: str, version: str) -> Tuple[int, Schema]:
        versions = self.subjects.get(subject)
        if not versions:
            raise ApiError(404, 40401, f"Subject '{subject}' not found.")
        if version in ("latest", "-1"):
            n = len(versions)
        else:
            if not re.fullmatch(r"[0-9]+", version) or int(version) == 0:
                raise ApiError(422, 42202, f"The specified version '{version}' is not a valid "
                               "version id. Allowed values are between [1, 2^31-1] and the "
                               "string \"latest\"")
            n = int(version)
        if n > len(versions):
            raise ApiError(404, 40402, f"Version {version} not found.")
        return n, self.schemas[versions[n - 1]]

    def _resolve_references(self, references: List[dict]) -> Dict[str, str]:
        named: Dict[str, str] = {}
        for ref in references:
            if not isinstance(ref, dict) or not {"name", "subject", "version"} <= ref.keys():
                raise ApiError(422, 42201, f"Invalid schema reference {ref!r}")
            try:
                _, s = self.version(str(ref["subject"]), str(ref["version"]))
            except ApiError as e:
                raise ApiError(422, 42201, f"Invalid schema reference {ref['name']}: "
                               f"{e.message}") from None
            named[str(ref["name"])] = s.schema
        return named


def _canonical(text: str, schema_type: str) -> str:
    if schema_type in ("AVRO", "JSON"):
        try:
            return json.dumps(json.loads(text), separators=(",", ":"))
        except ValueError:
            return text
    return text


def _validate(text: str, schema_type: str, named: Dict[str, str]) -> None:
    if schema_type not in SCHEMA_TYPES:
        raise ApiError(422, 42201, f"Invalid schema type {schema_type}")
    if schema_type == "PROTOBUF":
        return
    try:
        parsed = json.loads(text)
    except ValueError as e:
        raise ApiError(422, 42201, f"Invalid schema: {e}") from None
    if schema_type != "AVRO":
        return
    try:
        import fastavro

        known: dict = {}
        for ref_text in named.values():
            fastavro.parse_schema(json.loads(ref_text), named_schemas=known)
        fastavro.parse_schema(parsed, named_schemas=known)
    except ImportError:
        pass
    except Exception as e:  # noqa: BLE001 - fastavro raises several types
        raise ApiError(422, 42201, f"Invalid schema {text[:200]}: {e}") from None


class SchemaRegistryServer:
    """The registry on 127.0.0.1, served from a thread."""

    def __init__(self, port: int = 0, user: Optional[str] = None,
                 registry: Optional[Registry] = None):
        self.registry = registry or Registry()
        self.user = user  # "name:password" or None
        self.requests: List[Tuple[str, str]] = []
        self._fail: List[int] = []
        self._port = port
        self._httpd: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def fail_next(self, count: int, status: int = 500) -> None:
        """Answers the next `count` requests with `status` (50001 body)."""
        self._fail.extend([status] * count)

    def start(self) -> "SchemaRegistryServer":
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._httpd.daemon_threads = True
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        name="schema-registry", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> "SchemaRegistryServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    owner: SchemaRegistryServer
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_PUT(self):
        self._serve("PUT")

    def do_DELETE(self):
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.owner.requests.append((method, path))
        try:
            if self.owner._fail:
                status = self.owner._fail.pop(0)
                raise ApiError(status, 50001, "Error in the backend data store (injected)")
            self._authorize()
            status, answer = self._route(method, path, body)
        except ApiError as e:
            status, answer = e.status, {"error_code": e.code, "message": e.message}
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="SchemaRegistry"')
        self.end_headers()
        self.wfile.write(data)

    def _authorize(self) -> None:
        if not self.owner.user:
            return
        want = "Basic " + base64.b64encode(self.owner.user.encode()).decode()
        if self.headers.get("Authorization") != want:
            raise ApiError(401, 401, "Unauthorized")

    def _route(self, method: str, path: str, body: bytes):
        reg = self.owner.registry
        parts = [unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []
        if method == "GET" and parts == ["subjects"]:
            return 200, sorted(reg.subjects)
        if len(parts) >= 3 and parts[:2] == ["schemas", "ids"] and method == "GET":
            s = self._by_id(parts[2])
            if len(parts) == 3:
                return 200, s.body()
            if parts[3:] == ["subjects"]:
                return 200, sorted(n for n, ids in reg.subjects.items() if s.id in ids)
        if len(parts) == 3 and parts[:2] == ["schemas", "guids"] and method == "GET":
            schema_id = reg.by_guid.get(parts[2].lower())
            if schema_id is None:
                raise ApiError(404, 40403, f"Schema {parts[2]} not found")
            return 200, reg.schemas[schema_id].body()
        if len(parts) >= 2 and parts[0] == "subjects":
            subject = parts[1]
            if len(parts) == 2 and method == "POST":
                return 200, self._lookup(subject, body)
            if len(parts) == 3 and parts[2] == "versions":
                if method == "POST":
                    text, schema_type, refs = self._schema_body(body)
                    s = reg.register(subject, text, schema_type, refs)
                    return 200, {"id": s.id, "guid": s.guid}
                if method == "GET":
                    if subject not in reg.subjects:
                        raise ApiError(404, 40401, f"Subject '{subject}' not found.")
                    return 200, list(range(1, len(reg.subjects[subject]) + 1))
            if len(parts) == 4 and parts[2] == "versions" and method == "GET":
                n, s = reg.version(subject, parts[3])
                out = {"subject": subject, "version": n, "id": s.id, "guid": s.guid}
                out.update(s.body())
                return 200, out
        raise ApiError(404, 404, "HTTP 404 Not Found")

    def _by_id(self, text: str) -> Schema:
        if not re.fullmatch(r"-?[0-9]+", text):
            raise ApiError(404, 40403, f"Schema {text} not found")
        s = self.owner.registry.schemas.get(int(text))
        if s is None:
            raise ApiError(404, 40403, f"Schema {text} not found")
        return s

    @staticmethod
    def _schema_body(body: bytes):
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            raise ApiError(422, 42201, "Invalid schema: the request body is not JSON") from None
        if not isinstance(req, dict) or not isinstance(req.get("schema"), str):
            raise ApiError(422, 42201, "Invalid schema: no \"schema\" string")
        schema_type = req.get("schemaType") or "AVRO"
        refs = req.get("references") or []
        if not isinstance(refs, list):
            raise ApiError(422, 42201, "Invalid schema: \"references\" is not a list")
        return req["schema"], str(schema_type).upper(), refs

    def _lookup(self, subject: str, body: bytes) -> dict:
        reg = self.owner.registry
        text, schema_type, refs = self._schema_body(body)
        if subject not in reg.subjects:
            raise ApiError(404, 40401, f"Subject '{subject}' not found.")
        probe = Schema(0, "", text, schema_type, refs).key()
        for n, schema_id in enumerate(reg.subjects[subject], start=1):
            s = reg.schemas[schema_id]
            if s.key() == probe:
                out = {"subject": subject, "version": n, "id": s.id, "guid": s.guid}
                out.update(s.body())
                return out
        raise ApiError(404, 40403, "Schema not found")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--user", help="name:password for basic auth")
    args = ap.parse_args()
    server = SchemaRegistryServer(args.port, args.user).start()
    print(f"schema registry on {server.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
