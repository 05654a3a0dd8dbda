// The canonical change schema (DESIGN.md §3), shared by every source
// (Datastream, DMS, Debezium). A decoded change batch is
//
//   <source table columns...>, _cdc_op, _cdc_seq, _cdc_ts, _cdc_ingested_at,
//   _cdc_origin, _cdc_source
//
// _cdc_op is dictionary<int32, utf8> over a fixed dictionary whose index is the
// CdcOp value, so every batch of every source shares one dictionary and the
// log table's Parquet files carry the same five strings.
//
// Nullability: _cdc_op, _cdc_seq, _cdc_ingested_at and _cdc_origin are never
// null (a row without a usable sequence is a dead letter, not a change).
// _cdc_ts is nullable because some sources (Kafka without a source commit
// time) may not know it; Datastream always sets it. _cdc_source's layout is
// source specific (each source documents it) and only lives in the log table.
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "sluice/core/status.h"

namespace sluice {

/// The operation of one change. The numeric value is the dictionary index.
enum class CdcOp : int32_t {
  kSnapshot = 0,  // row read by a backfill / full load, not a log event
  kInsert = 1,
  kUpdate = 2,
  kDelete = 3,
  kTruncate = 4,
};

inline constexpr std::string_view kOpColumn = "_cdc_op";
inline constexpr std::string_view kSeqColumn = "_cdc_seq";
inline constexpr std::string_view kTsColumn = "_cdc_ts";
inline constexpr std::string_view kIngestedAtColumn = "_cdc_ingested_at";
inline constexpr std::string_view kOriginColumn = "_cdc_origin";
inline constexpr std::string_view kSourceColumn = "_cdc_source";

/// "snapshot", "insert", "update", "delete", "truncate".
std::string_view CdcOpName(CdcOp op);

/// dictionary<int32, utf8>.
std::shared_ptr<arrow::DataType> CdcOpType();

/// The fixed dictionary: the five names in CdcOp order.
std::shared_ptr<arrow::Array> CdcOpDictionary();

/// A _cdc_op column for `ops` (never null).
Result<std::shared_ptr<arrow::Array>> MakeCdcOpArray(const std::vector<CdcOp>& ops);

/// timestamp(us, "UTC"): the type of _cdc_ts and _cdc_ingested_at.
std::shared_ptr<arrow::DataType> CdcTimestampType();

/// The canonical fields in order, _cdc_source typed as `source_type` (a struct).
std::vector<std::shared_ptr<arrow::Field>> CanonicalFields(
    std::shared_ptr<arrow::DataType> source_type);

/// True for the names above (and any other "_cdc_"-prefixed name reserved for
/// Sluice, which a source table column may not use).
bool IsReservedColumnName(std::string_view name);

}  // namespace sluice
