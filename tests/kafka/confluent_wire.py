"""Confluent's wire framing, for producing test messages (the C++ reader is
src/sluice/formats/confluent/):

* magic byte 0, the schema id as 4 bytes big-endian, then the payload;
* magic byte 1, the schema's 16-byte GUID, then the payload;
* or the payload alone, with the id or GUID in a `__key_schema_id` /
  `__value_schema_id` header (magic byte + id/GUID bytes as the header value).
"""
from __future__ import annotations

import io
import json
import struct
import uuid
from typing import Any, Union

MAGIC_ID = 0
MAGIC_GUID = 1


def frame_id(schema_id: int, payload: bytes) -> bytes:
    return struct.pack(">bI", MAGIC_ID, schema_id) + payload


def frame_guid(guid: Union[str, uuid.UUID], payload: bytes) -> bytes:
    return bytes([MAGIC_GUID]) + uuid.UUID(str(guid)).bytes + payload


def header_id(schema_id: int) -> bytes:
    return struct.pack(">bI", MAGIC_ID, schema_id)


def header_guid(guid: Union[str, uuid.UUID]) -> bytes:
    return bytes([MAGIC_GUID]) + uuid.UUID(str(guid)).bytes


def avro_encode(schema: Union[str, dict], record: Any) -> bytes:
    """The Avro binary encoding of `record` (no container, no framing)."""
    import fastavro

    parsed = fastavro.parse_schema(json.loads(schema) if isinstance(schema, str) else schema)
    out = io.BytesIO()
    fastavro.schemaless_writer(out, parsed, record)
    return out.getvalue()
