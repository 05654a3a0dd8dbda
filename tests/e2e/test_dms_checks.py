"""The DMS end-to-end checks (dms_support.py) can fail: tables written here
from the reference model itself (with delta-rs, read back with `sluice cat`)
pass them, and each kind of damage a broken source could do fails them: a
wrong value, a resurrected key, a duplicated log row, a missing history
version. Needs only `sluice cat`, not the DMS source."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from dms_support import Scenario, check_history, check_log, check_merged, model


def _column(values):
    vals = [v for v in values]
    try:
        arr = pa.array(vals)
        if pa.types.is_null(arr.type) or pa.types.is_unsigned_integer(arr.type) \
                or pa.types.is_time(arr.type):
            raise pa.ArrowInvalid("keep as text")
        if pa.types.is_timestamp(arr.type):
            arr = arr.cast(pa.timestamp("us", tz="UTC"))
        return arr
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([None if v is None else (v.hex() if isinstance(v, bytes) else str(v))
                         for v in vals], type=pa.string())


def _write(path, rows, columns):
    data = {c: _column([r.get(c) for r in rows]) for c in columns}
    write_deltalake(str(path), pa.table(data), mode="overwrite")


def _fake_sluice(sc, settings, rows, merged, history, damage=None):
    for q, rs in rows.items():
        cols = sc.columns(q)
        log = []
        for r in rs:
            image = {c: r.image.get(c) if r.image.get(c) is not model.NOSUP else None for c in cols}
            origin = f"{r.file}#{r.index}"
            if r.op == "U" and r.before_key not in (None, model.key_of(r, sc.keys(q))):
                log.append({**image, "_cdc_op": "delete", "_cdc_origin": origin})  # the move
            log.append({**image, "_cdc_origin": origin, "_cdc_op": {
                "load": "snapshot", "I": "insert", "U": "update", "D": "delete"}[r.op]})
        m = [dict(v) for v in merged[q].values()]
        h = [dict(v) for v in history[q]]
        if damage and damage[0] == q:
            log, m, h = damage[1](log, m, h)
        _write(sc.table_path(q, "_log"), log, cols + ["_cdc_op", "_cdc_origin"])
        _write(sc.table_path(q), m, cols)
        _write(sc.table_path(q, "_history"), h, cols + ["__START_AT", "__END_AT"])


def _dup_log(log, m, h):
    return log + log[-1:], m, h


def _wrong_value(log, m, h):
    m = [dict(r) for r in m]
    m[0]["customer"] = (m[0]["customer"] or "") + "!"
    return log, m, h


def _resurrect(log, m, h):
    ghost = dict(m[0])
    ghost["id"] = 987654
    return log, m + [ghost], h


def _drop_version(log, m, h):
    return log, m, h[1:]


def _null_for_value(log, m, h):
    m = [dict(r) for r in m]
    r = next(r for r in m if r.get("amount") is not None)
    r["amount"] = None
    return log, m, h


@pytest.mark.parametrize("damage", [None, _dup_log, _wrong_value, _resurrect, _drop_version,
                                    _null_for_value])
def test_checks_pass_on_the_model_and_fail_on_damage(tmp_path, damage):
    sc = Scenario(tmp_path, format="parquet", before_image_prefix="BI_", rows_per_table=12,
                  transactions=30)
    settings, rows = sc.model()
    merged, history = model.merged(settings, rows), model.history(settings, rows)
    _fake_sluice(sc, settings, rows, merged, history,
                 damage=("sales.orders", damage) if damage else None)

    def run():
        check_log(sc, rows)
        check_merged(sc, merged)
        check_history(sc, history)

    if damage is None:
        run()
    else:
        with pytest.raises(AssertionError):
            run()
