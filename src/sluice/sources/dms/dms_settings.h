// The [source.dms] keys (docs/configuration.md), parsed from the source's
// settings map (sources/source_registry.h: SourceOptions::settings holds
// them as text under their key names).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "sluice/core/status.h"
#include "sluice/sources/source_settings.h"

namespace sluice::sources::dms {

struct DmsSettings {
  bool parquet = true;                 ///< source.format
  std::string timestamp_column;        ///< TimestampColumnName ("" = none)
  std::string change_sequence_column;  ///< e.g. AR_H_CHANGE_SEQ ("" = none)
  bool csv_header = true;              ///< AddColumnName
  std::string csv_null = "NULL";       ///< CsvNullValue
  char csv_delimiter = ',';
  bool csv_rfc4180 = true;  ///< Rfc4180: quoted fields (false: quotes are plain bytes)
  std::optional<std::string> csv_no_sup_value;  ///< CsvNoSupValue ("" = none)
  bool include_op_for_full_load = false;
  bool cdc_inserts_only = false;
  std::string before_image_prefix = "BI_";
  /// Full-load rows' _cdc_ts, when set (UTC µs): the snapshot generator's
  /// rule of stamping them with the CDC start date.
  std::optional<int64_t> cdc_start_us;
  /// CdcPath of PreserveTransactions (a folder under the root holding
  /// CDC_TXN files; never taken for a schema folder).
  std::string cdc_path;
  /// Columns a file has beyond the configured `columns`: dropped, or every
  /// row of that file refused to the dead letters.
  bool refuse_extra_columns = false;
};

/// Parses the settings (missing keys keep their defaults). Errors name the
/// key ("source.dms.<key>") and the bad value.
Result<DmsSettings> ParseDmsSettings(const std::string& format,
                                     const std::map<std::string, std::string>& settings);

/// [source.dms]: the keys ParseDmsSettings knows, read under their bare
/// names (registered with the source).
const SourceSettingSection& DmsSettingSection();

}  // namespace sluice::sources::dms
