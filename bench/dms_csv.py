"""An Arrow table as the CSV text an AWS DMS task writes (bench/dms_workload.py),
built a column at a time with pyarrow.compute.

Why not pyarrow.csv.write_csv (pyarrow 22): it quotes every string value
(quoting_style "needed" decides by type, not by content; quoting_header only
governs the header), its "none" style refuses values holding a quote or a
comma, it writes a null as an empty cell with no option for another text,
and it writes timestamps with a "Z" and integral doubles without ".0".
DMS puts quotes only where RFC 4180 needs them and writes NULL (its
CsvNullValue, unquoted) for a null, so each column is rendered to text here
and the rows are joined in Arrow.

The text is byte for byte what the row-by-row writer (csv.writer,
QUOTE_MINIMAL, "\\n" line ends, ``NULL`` for None, ``str()`` of each value)
wrote for the benchmark's workload, with one deliberate difference: a value
holding a carriage return is quoted here (RFC 4180), where Python's writer
with a "\\n" line terminator left it bare; the generator never writes one.

Rendering per type (what ``str()`` gives, which the readers parse):

* string: as is, in double quotes with ``"`` doubled when it holds
  ``,``, ``"``, CR or LF;
* integers, decimal(p,s): Arrow's cast to string (``123.45``, ``0.00``);
* double: Arrow's shortest round-trip digits, ``.0`` added to an integral
  value as Python does; outside 1e-4 <= |x| < 1e10 Arrow switches between
  plain and exponent notation at other points than Python, so those (rare)
  values go through ``repr``;
* timestamp: ``yyyy-MM-dd HH:mm:ss.ffffff`` in UTC, no zone.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NULL = "NULL"
# rows rendered at once: bounds the text array (int32 offsets) and memory
_SLICE_ROWS = 32_768
_NEEDS_QUOTES = r'[,"\r\n]'


def quote(text: str) -> str:
    """One header cell, quoted as a value would be."""
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _strings(col: pa.Array) -> pa.Array:
    needs = pc.match_substring_regex(col, _NEEDS_QUOTES)
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(col, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, col)


def _doubles(col: pa.Array) -> pa.Array:
    text = col.cast(pa.string())
    integral = pc.match_substring_regex(text, r"^-?[0-9]+$")
    text = pc.if_else(integral, pc.binary_join_element_wise(text, ".0", ""), text)
    mag = pc.abs(col)
    odd = pc.and_(pc.and_(pc.is_finite(col), pc.not_equal(col, 0.0)),
                  pc.or_(pc.less(mag, 1e-4), pc.greater_equal(mag, 1e10)))
    idx = np.flatnonzero(pc.fill_null(odd, False).to_numpy(zero_copy_only=False))
    if len(idx) == 0:
        return text
    # the few values Arrow writes in the other notation: Python's repr
    fixed = text.to_pylist()
    values = col.take(pa.array(idx)).to_pylist()
    for i, v in zip(idx.tolist(), values):
        fixed[i] = repr(v)
    return pa.array(fixed, pa.string())


def cell_text(col: pa.Array) -> pa.Array:
    """The CSV cells of one column; nulls stay null (written as NULL)."""
    t = col.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return _strings(col)
    if pa.types.is_floating(t):
        return _doubles(col)
    if pa.types.is_timestamp(t):
        # tz-aware values are UTC instants: drop the zone, keep the wall time
        naive = col.cast(pa.timestamp(t.unit)) if t.tz else col
        return naive.cast(pa.timestamp("us")).cast(pa.string())
    if pa.types.is_integer(t) or pa.types.is_decimal(t):
        return col.cast(pa.string())
    raise TypeError(f"no DMS CSV rendering for {t}")


def write(table: pa.Table, path: str) -> int:
    """Writes `table` as DMS CSV (header, "\\n" line ends) to `path`;
    returns the bytes written."""
    header = (",".join(quote(n) for n in table.column_names) + "\n").encode("utf-8")
    written = 0
    with open(path, "wb") as fh:
        written += fh.write(header)
        for start in range(0, table.num_rows, _SLICE_ROWS):
            part = table.slice(start, _SLICE_ROWS)
            cells = [cell_text(c.combine_chunks()) for c in part.columns]
            rows = pc.binary_join_element_wise(*cells, ",", null_handling="replace",
                                               null_replacement=NULL)
            lines = pc.binary_join_element_wise(rows, "", "\n")
            # the values buffer of the joined lines is the text of the slice
            offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32,
                                    count=len(lines) + 1, offset=lines.offset * 4)
            data = lines.buffers()[2]
            written += fh.write(memoryview(data)[offsets[0]:offsets[-1]])
    return written
