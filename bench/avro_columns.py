"""Chosen fields of an Avro object container file as Arrow arrays, for
bench/dms_workload.py: decoded with numpy many rows at a time where the file
allows it, else record by record with fastavro.

    n, columns, fast = read_columns(path, ["read_timestamp", "payload.id", ...])

A field is named by its path of record field names. Values come undecoded
as the Avro binary encoding has them: a decimal is its bytes, a timestamp
its integer (``int`` -> int32, ``long`` -> int64, ``string`` -> string,
``bytes`` -> binary, ``double``/``float``, ``boolean``); a ``["null", T]``
union gives a nullable T.

Why not fastavro alone: it builds a Python dict per record and an object
per value, ~40 µs of CPU per record of bench/gen.py's schema on the bench
machine (the numpy decoder: ~6 µs), which was most of the cost of
converting the workload once the rest worked a column at a time. The binary encoding has no row
offsets, so a block's rows cannot be cut apart without decoding them in
turn; the numpy decoder therefore guesses where each row starts and proves
it. The guess: every row begins with the bytes rows 0 and 1 share at their
start (gen.py's rows begin with a uuid whose first 28 characters are the
file's), found with bytes.find. The proof: all rows are decoded field by
field in lockstep (one numpy operation per field for the whole block, each
row from its own cursor), and each row must end exactly where the next one
starts and the last one where the block ends, the block's row count being
the number of starts. By induction from row 0 (which starts at the block
start) every start is then a true one. A guess that fails (rows without a
common start, a match inside a value, a codec or type the decoder does not
handle) sends the file to fastavro, so the result never depends on the
guess.

Avro 1.11 specification, "Binary Encoding" and "Object Container Files".
"""

from __future__ import annotations

import contextlib
import zlib

import numpy as np
import pyarrow as pa

MAGIC = b"Obj\x01"
SYNC_SIZE = 16
# bytes rows must share at their start to be found by search
_MIN_ANCHOR, _MAX_ANCHOR = 8, 32
_RAW_TYPES = {"int": pa.int32(), "long": pa.int64(), "string": pa.string(),
              "bytes": pa.binary(), "double": pa.float64(), "float": pa.float32(),
              "boolean": pa.bool_()}
# fastavro's logical types left undecoded, to match the numpy decoder
_RAW_LOGICAL = ("bytes-decimal", "long-timestamp-millis", "long-timestamp-micros")


class NotFast(Exception):
    """The file (or a guess about it) needs the record-at-a-time reader."""


# ----------------------------------------------------------------------------
# Schema
# ----------------------------------------------------------------------------
def _kind(t):
    """The type name of an Avro schema node (a union is "union")."""
    if isinstance(t, list):
        return "union"
    if isinstance(t, dict):
        k = t["type"]
        return _kind(k) if isinstance(k, (dict, list)) else k
    return t


def _leaf(schema, path: tuple):
    """The Avro type at `path`, with a ["null", T] union's T, and whether
    it is nullable."""
    t = schema
    for name in path:
        while isinstance(t, dict) and isinstance(t["type"], (dict, list)):
            t = t["type"]
        if _kind(t) != "record":
            raise KeyError(f"{'.'.join(path)}: not a path of records")
        t = next(f["type"] for f in t["fields"] if f["name"] == name)
    nullable = False
    if isinstance(t, list):
        rest = [b for b in t if b != "null"]
        if len(rest) != 1:
            raise KeyError(f"{'.'.join(path)}: a union other than [null, T]")
        nullable, t = len(rest) < len(t), rest[0]
    return t, nullable


def raw_type(schema, path: tuple) -> pa.DataType:
    """The Arrow type read_columns() gives the field at `path`."""
    t, _nullable = _leaf(schema, path)
    kind = _kind(t)
    if kind not in _RAW_TYPES:
        raise KeyError(f"{'.'.join(path)}: {kind} is not a primitive type")
    return _RAW_TYPES[kind]


# ----------------------------------------------------------------------------
# Container
# ----------------------------------------------------------------------------
def _varint(data: bytes, pos: int):
    """One zig-zag varint at `pos` (headers and block heads)."""
    shift = value = 0
    while True:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return (value >> 1) ^ -(value & 1), pos
        shift += 7


def read_container(data: bytes):
    """(writer schema, [(row count, block bytes)]) of a container file."""
    import json
    if data[:4] != MAGIC:
        raise ValueError("not an Avro object container file")
    pos, meta = 4, {}
    while True:
        count, pos = _varint(data, pos)
        if count == 0:
            break
        if count < 0:
            count = -count
            _size, pos = _varint(data, pos)
        for _ in range(count):
            n, pos = _varint(data, pos)
            key = data[pos:pos + n].decode()
            pos += n
            n, pos = _varint(data, pos)
            meta[key] = data[pos:pos + n]
            pos += n
    sync = data[pos:pos + SYNC_SIZE]
    pos += SYNC_SIZE
    codec = meta.get("avro.codec", b"null").decode()
    if codec not in ("null", "deflate"):
        raise NotFast(f"codec {codec}")
    blocks = []
    while pos < len(data):
        count, pos = _varint(data, pos)
        size, pos = _varint(data, pos)
        raw = data[pos:pos + size]
        pos += size
        if data[pos:pos + SYNC_SIZE] != sync:
            raise ValueError("an Avro block without its sync marker")
        pos += SYNC_SIZE
        blocks.append((count, zlib.decompress(raw, -15) if codec == "deflate" else raw))
    return json.loads(meta["avro.schema"]), blocks


# ----------------------------------------------------------------------------
# Lockstep decoder: one cursor per row, one numpy step per field
# ----------------------------------------------------------------------------
class _Block:
    def __init__(self, raw: bytes, schema, wanted: set):
        self.size = len(raw)
        self.buf = np.frombuffer(raw + bytes(SYNC_SIZE), np.uint8)  # room for a 10-byte gather
        self.schema = schema
        self.wanted = wanted
        self.named = {}
        self._name(schema)
        self.out = {}  # path -> (kind, [pieces])

    def _name(self, t):
        """Registers the named types defined in `t` (a reference may come
        before any row takes the branch that defines the type)."""
        if isinstance(t, list):
            for b in t:
                self._name(b)
        elif isinstance(t, dict):
            kind = t["type"]
            if isinstance(kind, (dict, list)):
                self._name(kind)
                return
            if "name" in t and kind in ("record", "enum", "fixed"):
                self.named[t["name"]] = t
                if "namespace" in t:
                    self.named[f"{t['namespace']}.{t['name']}"] = t
            for f in t.get("fields", []):
                self._name(f["type"])
            for key in ("items", "values"):
                if key in t:
                    self._name(t[key])

    def varints(self, pos: np.ndarray):
        """The zig-zag varint at each cursor, and the cursors past it. Byte
        by byte over the rows whose varint goes on: branches and lengths are
        mostly one byte."""
        if len(pos) == 0:
            return np.zeros(0, np.int64), pos
        if pos.min() < 0 or pos.max() >= self.size:
            raise NotFast("a varint beyond the block")
        b = self.buf[pos]
        v = (b & 0x7F).astype(np.uint64)
        n = np.ones(len(pos), np.int64)
        idx = np.flatnonzero(b >= 0x80)
        shift = 7
        while len(idx):
            if shift > 63:
                raise NotFast("a varint longer than 10 bytes")
            b = self.buf[pos[idx] + n[idx]]  # within the padding: pos < size, n < 10
            v[idx] |= (b & 0x7F).astype(np.uint64) << np.uint64(shift)
            n[idx] += 1
            idx = idx[b >= 0x80]
            shift += 7
        end = pos + n
        if end.max() > self.size:
            raise NotFast("a varint beyond the block")
        return (v >> np.uint64(1)).astype(np.int64) ^ -(v & np.uint64(1)).astype(np.int64), end

    def fixed(self, pos: np.ndarray, width: int):
        end = pos + width
        if len(pos) and (pos.min() < 0 or end.max() > self.size):
            raise NotFast("a value beyond the block")
        return end

    def strings(self, pos: np.ndarray):
        """(starts, lengths, ends) of a string or bytes value at each cursor."""
        n, start = self.varints(pos)
        end = start + n
        if len(n) and (n.min() < 0 or end.max() > self.size):
            raise NotFast("a string beyond the block")
        return start, n, end

    def keep(self, path, kind, piece):
        have = self.out.setdefault(path, (kind, []))
        if have[0] != kind:
            raise NotFast(f"{'.'.join(path)}: a union of two types")
        have[1].append(piece)

    def decode(self, t, path: tuple, pos: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Moves the cursors `pos` of rows `rows` past one value of type `t`,
        keeping the values of wanted paths."""
        if isinstance(t, str) and t in self.named:
            t = self.named[t]
        if isinstance(t, list):
            branch, pos = self.varints(pos)
            if len(branch) and (branch.min() < 0 or branch.max() >= len(t)):
                raise NotFast("a union branch out of range")
            end = pos.copy()
            for b, bt in enumerate(t):
                sel = branch == b
                if sel.any():
                    end[sel] = self.decode(bt, path, pos[sel], rows[sel])
            return end
        if isinstance(t, dict) and isinstance(t["type"], (dict, list)):
            return self.decode(t["type"], path, pos, rows)
        kind = t["type"] if isinstance(t, dict) else t
        want = path in self.wanted
        if kind == "record":
            for f in t["fields"]:
                pos = self.decode(f["type"], path + (f["name"],), pos, rows)
            return pos
        if kind == "null":
            return pos
        if kind in ("int", "long", "enum"):
            v, end = self.varints(pos)
            if want:
                self.keep(path, kind, (rows, v))
            return end
        if kind in ("boolean", "float", "double", "fixed"):
            width = {"boolean": 1, "float": 4, "double": 8}.get(kind) or t["size"]
            end = self.fixed(pos, width)
            if want:
                raw = self.buf[pos[:, None] + np.arange(width)]
                self.keep(path, kind, (rows, raw))
            return end
        if kind in ("string", "bytes"):
            start, n, end = self.strings(pos)
            if want:
                self.keep(path, kind, (rows, start, n))
            return end
        if kind in ("array", "map"):
            if want:
                raise NotFast(f"{'.'.join(path)}: an array or map")
            return self.items(t, path, pos, rows)
        raise NotFast(f"type {kind}")

    def items(self, t, path, pos, rows):
        """Past the blocks of an array or map (not kept)."""
        final = pos.copy()
        idx = np.arange(len(pos))
        cur = pos
        while len(idx):
            count, cur = self.varints(cur)
            neg = count < 0
            if neg.any():  # a block with its byte size: skip the size, read the items
                count[neg] = -count[neg]
                _size, cur[neg] = self.varints(cur[neg])
            if count.max() > self.size:
                raise NotFast("an array longer than the block")
            done = count == 0
            final[idx[done]] = cur[done]
            idx, cur, count = idx[~done], cur[~done], count[~done]
            for j in range(int(count.max()) if len(count) else 0):
                sel = count > j
                at = cur[sel]
                if t["type"] == "map":  # the key, a string
                    at = self.strings(at)[2]
                cur[sel] = self.decode(t["values"] if t["type"] == "map" else t["items"], path,
                                       at, rows[idx[sel]])
        return final

    def starts(self, count: int) -> np.ndarray:
        """Where each of the block's `count` rows starts: the guess."""
        if count == 1:
            return np.zeros(1, np.int64)
        row1 = int(self.decode(self.schema, (), np.zeros(1, np.int64), np.zeros(1, np.int64))[0])
        self.out.clear()
        raw = self.buf[:self.size].tobytes()
        common = 0
        while (common < _MAX_ANCHOR and row1 + common < self.size
               and raw[common] == raw[row1 + common]):
            common += 1
        if common < _MIN_ANCHOR:
            raise NotFast("rows without a common start")
        anchor, found, p = raw[:common], [0], 0
        while len(found) <= count:
            p = raw.find(anchor, p + 1)
            if p < 0:
                break
            found.append(p)
        if len(found) != count:
            raise NotFast("the common start also inside values")
        return np.array(found, np.int64)

    def columns(self, count: int) -> dict:
        starts = self.starts(count)
        rows = np.arange(count)
        ends = self.decode(self.schema, (), starts, rows)
        # the proof: each row ends where the next starts, the last at the end
        if not (np.array_equal(ends[:-1], starts[1:]) and ends[-1] == self.size):
            raise NotFast("the guessed row starts do not chain")
        return {path: self.assemble(path, count) for path in self.wanted}

    def assemble(self, path, count: int):
        """The kept values of `path` as an Arrow array; None when every row
        was null."""
        if path not in self.out:
            return None
        kind, pieces = self.out[path]
        valid = np.zeros(count, bool)
        for piece in pieces:
            valid[piece[0]] = True
        mask = None if valid.all() else ~valid
        if kind in ("int", "long", "enum"):
            v = np.zeros(count, np.int64)
            for rows, values in pieces:
                v[rows] = values
            return pa.array(v, mask=mask)
        if kind in ("boolean", "float", "double"):
            width = {"boolean": 1, "float": 4, "double": 8}[kind]
            raw = np.zeros((count, width), np.uint8)
            for rows, values in pieces:
                raw[rows] = values
            flat = raw.reshape(-1)
            v = (flat.view("<f8") if kind == "double" else flat.view("<f4") if kind == "float"
                 else flat.astype(bool))
            return pa.array(v, mask=mask)
        if kind in ("string", "bytes"):
            start = np.zeros(count, np.int64)
            n = np.zeros(count, np.int64)
            for rows, s, ln in pieces:
                start[rows] = s
                n[rows] = ln
            offsets = np.zeros(count + 1, np.int64)
            np.cumsum(n, out=offsets[1:])
            if offsets[-1] >= 1 << 31:
                raise NotFast("a block of more than 2 GiB of strings")
            data = self.buf[np.repeat(start - offsets[:-1], n) + np.arange(offsets[-1])]
            validity = None if mask is None else pa.py_buffer(np.packbits(valid,
                                                                        bitorder="little"))
            arr = pa.Array.from_buffers(pa.string() if kind == "string" else pa.binary(), count,
                                        [validity, pa.py_buffer(offsets.astype(np.int32)),
                                         pa.py_buffer(data)], null_count=int(count - valid.sum()))
            arr.validate(full=True)  # UTF-8 of every string
            return arr
        raise NotFast(f"{'.'.join(path)}: {kind} values")


def _fast(data: bytes, paths: list):
    schema, blocks = read_container(data)
    wanted = {tuple(p.split(".")) for p in paths}
    types = {p: raw_type(schema, tuple(p.split("."))) for p in paths}
    parts = {p: [] for p in paths}
    total = 0
    for count, raw in blocks:
        if count == 0:
            continue
        cols = _Block(raw, schema, wanted).columns(count)
        for p in paths:
            col = cols[tuple(p.split("."))]
            parts[p].append(pa.nulls(count, types[p]) if col is None else col.cast(types[p]))
        total += count
    return total, {p: (pa.concat_arrays(parts[p]) if parts[p] else pa.array([], types[p]))
                   for p in paths}


@contextlib.contextmanager
def _raw_logical_types():
    from fastavro.read import LOGICAL_READERS  # the table fastavro's reader looks up
    saved = {k: LOGICAL_READERS.pop(k) for k in _RAW_LOGICAL if k in LOGICAL_READERS}
    try:
        yield
    finally:
        LOGICAL_READERS.update(saved)


def read_columns_fastavro(path: str, paths: list):
    """read_columns() record by record (the fallback, and the check)."""
    import io
    import json
    import operator

    import fastavro
    with open(path, "rb") as fh:
        data = fh.read()
    with _raw_logical_types():
        reader = fastavro.reader(io.BytesIO(data))
        records = list(reader)
    schema = json.loads(reader.metadata["avro.schema"])
    out = {}
    # fields of one record in one pass: the transposition runs in C
    groups = {}
    for p in paths:
        head, _, rest = p.partition(".")
        groups.setdefault(head, []).append((p, rest))
    for head, members in groups.items():
        tops = [r[head] for r in records]
        if len(members) == 1 and not members[0][1]:
            values = [tops]
        else:
            if any(not rest or "." in rest for _p, rest in members):
                raise KeyError(f"{head}: paths of one or two names")
            get = operator.itemgetter(*[rest for _p, rest in members])
            values = list(zip(*map(get, tops))) if len(members) > 1 else [list(map(get, tops))]
            if not records:
                values = [[] for _ in members]
        for (p, _rest), v in zip(members, values):
            out[p] = pa.array(v, raw_type(schema, tuple(p.split("."))))
    return len(records), out


def read_columns(path: str, paths: list, fast: bool = True):
    """(rows, {path: Arrow array}, whether the numpy decoder read it) of the
    fields `paths` of the Avro file `path`."""
    if fast:
        with open(path, "rb") as fh:
            data = fh.read()
        try:
            n, cols = _fast(data, paths)
            return n, cols, True
        except (NotFast, IndexError, OverflowError):
            pass
    n, cols = read_columns_fastavro(path, paths)
    return n, cols, False
