"""Debezium messages from JsonConverter (schemas enabled) re-encoded as
Confluent's AvroConverter would have written them: the Connect schema mapped
to an Avro schema (AvroData.fromConnectSchema's mapping, from Confluent's
public documentation and the schemas it is known to produce), registered in
the test registry (schema_registry.py) under the topic's subject
(TopicNameStrategy: `<topic>-value` / `<topic>-key`), the payload written as
Avro binary and framed with the registry's id (confluent_wire.py). So the
Avro scenario carries exactly the changes the running connector produced.

Mapping (Connect -> Avro):
    int8 / int16            int with "connect.type": "int8" / "int16"
    int32, int64            int, long
    float, double           float, double
    boolean, string, bytes  the same
    Decimal                 bytes, logicalType decimal, precision (from
                            connect.decimal.precision, else 64), scale
    Date / Time / Timestamp int date / int time-millis / long timestamp-millis
    struct                  record named after the Connect name (namespace =
                            its dotted prefix; unnamed:
                            io.confluent.connect.avro.ConnectDefault<n>); a
                            name seen before is a reference to it
    array                   array
    map, string keys        map
    map, other keys         array of record io.confluent.connect.avro.MapEntry
                            {key, value}
    optional                union [null, T] (default null), or [T, null] when
                            the field has a non-null default
    name / version /        "connect.name" / "connect.version" /
    parameters / doc /      "connect.parameters" / "connect.doc" /
    default                 "connect.default" (primitives here) and the
                            field's "default"

    python tests/kafka/avro_reencode.py EVENT.json   # prints the Avro schema
"""
from __future__ import annotations

import base64
import copy
import decimal
import io
import json
import math
import sys
from typing import Any, Dict, Optional, Union

import confluent_wire

DECIMAL = "org.apache.kafka.connect.data.Decimal"
DATE = "org.apache.kafka.connect.data.Date"
TIME = "org.apache.kafka.connect.data.Time"
TIMESTAMP = "org.apache.kafka.connect.data.Timestamp"
NAMESPACE = "io.confluent.connect.avro"
PRIMITIVES = {"int32": "int", "int64": "long", "float": "float", "double": "double",
              "boolean": "boolean", "string": "string", "bytes": "bytes"}


class _SchemaMapper:
    def __init__(self) -> None:
        self.names: Dict[str, dict] = {}
        self.defaults = 0

    def optional(self, s: dict, default: Any = None) -> Any:
        base = self.base(s)
        if not s.get("optional"):
            return base
        return ["null", base] if default is None else [base, "null"]

    def base(self, s: dict) -> Any:
        t = s["type"]
        name = s.get("name")
        if t in ("int8", "int16"):
            out: Any = {"type": "int", "connect.type": t}
        elif t == "struct":
            full = name
            if not full:
                self.defaults += 1
                full = f"{NAMESPACE}.ConnectDefault" + ("" if self.defaults == 1 else
                                                        str(self.defaults))
            if full in self.names:
                return full  # a named type is defined once, then referenced
            ns, _, simple = full.rpartition(".")
            out = {"type": "record", "name": simple}
            if ns:
                out["namespace"] = ns
            self.names[full] = out
            fields = []
            for f in s["fields"]:
                field = {"name": f["field"],
                         "type": self.optional(f, f.get("default"))}
                if "default" in f:
                    field["default"] = f["default"]
                elif f.get("optional"):
                    field["default"] = None
                fields.append(field)
            out["fields"] = fields
        elif t == "array":
            out = {"type": "array", "items": self.optional(s["items"])}
        elif t == "map":
            keys, values = s["keys"], s["values"]
            if keys["type"] == "string" and not keys.get("optional") and not keys.get("name"):
                out = {"type": "map", "values": self.optional(values)}
            else:
                entry = f"{NAMESPACE}.MapEntry"
                if entry in self.names:
                    items: Any = entry
                else:
                    items = {"type": "record", "name": "MapEntry", "namespace": NAMESPACE,
                             "fields": [{"name": "key", "type": self.optional(keys)},
                                        {"name": "value", "type": self.optional(values)}]}
                    self.names[entry] = items
                out = {"type": "array", "items": items}
        else:
            out = {"type": PRIMITIVES[t]}
            params = s.get("parameters") or {}
            if name == DECIMAL:
                out["logicalType"] = "decimal"
                out["precision"] = int(params.get("connect.decimal.precision", 64))
                out["scale"] = int(params.get("scale", 0))
            elif name == DATE:
                out["logicalType"] = "date"
            elif name == TIME:
                out["logicalType"] = "time-millis"
            elif name == TIMESTAMP:
                out["logicalType"] = "timestamp-millis"
        if "version" in s:
            out["connect.version"] = s["version"]
        if "doc" in s:
            out["connect.doc"] = s["doc"]
        if s.get("parameters"):
            out["connect.parameters"] = dict(s["parameters"])
        if s.get("default") is not None and t not in ("struct", "bytes", "array", "map"):
            out["connect.default"] = s["default"]
        if name:
            out["connect.name"] = name
        if list(out) == ["type"] and isinstance(out["type"], str):
            return out["type"]  # Avro prints a primitive without properties by its name
        return out


def avro_schema(connect_schema: dict) -> Any:
    """The Avro schema AvroConverter writes for a JsonConverter schema."""
    return _SchemaMapper().optional(connect_schema)


def _bytes(value: Any) -> bytes:
    return base64.b64decode(value) if isinstance(value, str) else bytes(value)


def _unscaled(value: Any, scale: int) -> bytes:
    """A Decimal's value: base64 of the unscaled two's complement, or a
    number (decimal.format=NUMERIC)."""
    if isinstance(value, str):
        return base64.b64decode(value)
    unscaled = int(decimal.Decimal(str(value)).scaleb(scale))
    n = max(1, (unscaled.bit_length() + 8) // 8)
    return unscaled.to_bytes(n, "big", signed=True)


def avro_datum(s: dict, value: Any) -> Any:
    """The JsonConverter payload `value` of schema `s` as fastavro data for
    avro_schema(s) (with logical types written as their underlying type)."""
    if value is None:
        return None
    t = s["type"]
    if t == "struct":
        return {f["field"]: avro_datum(f, value.get(f["field"])) for f in s["fields"]}
    if t == "array":
        return [avro_datum(s["items"], v) for v in value]
    if t == "map":
        keys = s["keys"]
        pairs = value.items() if isinstance(value, dict) else value
        if keys["type"] == "string" and not keys.get("optional") and not keys.get("name"):
            return {k: avro_datum(s["values"], v) for k, v in pairs}
        return [{"key": avro_datum(keys, k), "value": avro_datum(s["values"], v)}
                for k, v in pairs]
    if t == "bytes":
        if s.get("name") == DECIMAL:
            return _unscaled(value, int((s.get("parameters") or {}).get("scale", 0)))
        return _bytes(value)
    if t in ("float", "double") and isinstance(value, str):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[value]
    return value


def _strip_logical(schema: Any) -> Any:
    """The schema without logicalType, so that fastavro writes the underlying
    values we give it (the binary encoding is the same)."""
    if isinstance(schema, list):
        return [_strip_logical(b) for b in schema]
    if isinstance(schema, dict):
        out = {k: _strip_logical(v) for k, v in schema.items() if k != "logicalType"}
        if "fields" in schema:
            out["fields"] = [dict(f, type=_strip_logical(f["type"])) for f in schema["fields"]]
        return out
    return schema


def encode(schema: Any, datum: Any) -> bytes:
    """Avro binary of `datum` (avro_datum's form) under `schema`."""
    import fastavro

    parsed = fastavro.parse_schema(_strip_logical(copy.deepcopy(schema)))
    out = io.BytesIO()
    fastavro.schemaless_writer(out, parsed, datum)
    return out.getvalue()


class Reencoder:
    """Re-encodes JsonConverter messages of a topic as AvroConverter's,
    registering schemas in `registry` (a schema_registry.Registry or
    SchemaRegistryServer)."""

    def __init__(self, registry: Any, framing: str = "id"):
        self.registry = getattr(registry, "registry", registry)
        self.framing = framing  # "id" (magic 0) or "guid" (magic 1)

    def register(self, subject: str, schema: Any) -> Any:
        return self.registry.register(subject, json.dumps(schema), "AVRO", [])

    def convert(self, message: Union[bytes, str, dict, None], topic: str,
                is_key: bool = False) -> Optional[bytes]:
        """The framed Avro message, or None for a tombstone (a null value or
        `"payload": null`)."""
        if message is None:
            return None
        doc = message if isinstance(message, dict) else json.loads(message)
        if doc is None:
            return None
        if not isinstance(doc, dict) or set(doc) != {"schema", "payload"}:
            raise ValueError("not a JsonConverter message with a schema")
        if doc["payload"] is None:
            return None
        if not isinstance(doc["schema"], dict):
            raise ValueError("not a JsonConverter message with a schema")
        schema = avro_schema(doc["schema"])
        registered = self.register(f"{topic}-{'key' if is_key else 'value'}", schema)
        payload = encode(schema, avro_datum(doc["schema"], doc["payload"]))
        if self.framing == "guid":
            return confluent_wire.frame_guid(registered.guid, payload)
        return confluent_wire.frame_id(registered.id, payload)


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        doc = json.load(f)
    json.dump(avro_schema(doc["schema"]), sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
