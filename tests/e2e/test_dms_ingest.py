"""DMS source end to end (issue 14): tools/dms_gen writes a DMS bucket in each
scenario, `sluice run --config <generated sluice.toml> --once` ingests it, and
the log, merged and history tables are compared value by value with the
independent reference model (tests/dms_reference/model.py) reading the same
files. See dms_support.py for the checks.
"""
from __future__ import annotations

import pytest

from dms_support import Scenario, check_history, check_log, check_merged, model, require_dms_source

SCENARIOS = {
    # Parquet: full load (hex counters, 2 segments), CDC with before images,
    # key changes, an added column, CDC files named out of transaction order
    "parquet": dict(format="parquet", before_image_prefix="BI_", out_of_order_files=2),
    # ordering by AR_H_CHANGE_SEQ (35 digits) instead of timestamps
    "parquet-change-seq": dict(format="parquet", change_sequence_column="AR_H_CHANGE_SEQ",
                               before_image_prefix="BI_", timestamp_ms=True),
    # CSV with a header, before images, CsvNoSupValue placeholders
    "csv-header": dict(format="csv", before_image_prefix="BI_", csv_no_sup="NOSUP"),
    # CSV without a header: names and types from [tables].columns; "" is NULL
    "csv-no-header": dict(format="csv", csv_header=False, added_column=False, csv_null="",
                          csv_delimiter="|"),
    "parquet-date-partitioned": dict(format="parquet", date_partition="YYYYMMDDHH",
                                     date_delimiter="SLASH"),
    "csv-date-partitioned": dict(format="csv", date_partition="DDMMYYYY", date_delimiter="DASH"),
    # PreserveTransactions: CDC_TXN-*.csv rows of every table under cdc/. No
    # added column: CDC_TXN rows have no header, and a row without the added
    # column but with a before image has as many fields as one with the
    # column and without it (the field count cannot tell them apart)
    "csv-cdc-txn": dict(format="csv", preserve_transactions=True, before_image_prefix="BI_",
                        added_column=False),
    "csv-gzip": dict(format="csv", gzip=True, include_op_for_full_load=True),
    "parquet-gzip": dict(format="parquet", gzip=True),
    "parquet-inserts-only": dict(format="parquet", cdc_inserts_only=True),
    # full-load rows stamped with the CDC start date (the snapshot generator's rule)
    "parquet-cdc-start-date": dict(format="parquet", cdc_start_date="2022-06-24"),
    "csv-inserts-only-op": dict(format="csv", cdc_inserts_only=True, include_op_for_full_load=True),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_dms_scenario_matches_reference_model(tmp_path, name):
    require_dms_source(tmp_path)
    sc = Scenario(tmp_path, **SCENARIOS[name])
    settings, rows = sc.model()
    sc.run_once()
    check_log(sc, rows, inserts_only=settings.cdc_inserts_only, settings=settings)
    check_merged(sc, model.merged(settings, rows))
    check_history(sc, model.history(settings, rows))
    # a second run finds nothing new and changes nothing (maintenance off:
    # an OPTIMIZE it may commit to a log table is not an ingestion)
    before = {q: sorted(p.name for p in (sc.table_path(q, "_log") / "_delta_log").glob("*.json"))
              for q in rows}
    sc.run_once(SLUICE_SINK_MAINTENANCE="false")
    after = {q: sorted(p.name for p in (sc.table_path(q, "_log") / "_delta_log").glob("*.json"))
             for q in rows}
    assert before == after, "a second --once committed to a log table"
    check_merged(sc, model.merged(settings, rows))


def test_dms_history_keeps_nosup_values(tmp_path):
    """History versions of rows whose CSV cells held CsvNoSupValue keep the
    stored value of those columns, as the merged table does."""
    require_dms_source(tmp_path)
    sc = Scenario(tmp_path, **SCENARIOS["csv-header"])
    settings, rows = sc.model()
    sc.run_once()
    check_history(sc, model.history(settings, rows))
