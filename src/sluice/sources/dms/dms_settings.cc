#include "sluice/sources/dms/dms_settings.h"

#include "sluice/sources/dms/dms_names.h"

namespace sluice::sources::dms {

namespace {

Result<bool> Bool(const std::string& key, const std::string& v) {
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  return Status::Invalid("source.dms.", key, ": expected true or false, got '", v, "'");
}

}  // namespace

const SourceSettingSection& DmsSettingSection() {
  static const SourceSettingSection kSection = {
      "source.dms",
      "",
      {"timestamp_column", "change_sequence_column", "csv_header", "csv_null", "csv_delimiter",
       "csv_no_sup_value", "include_op_for_full_load", "cdc_inserts_only", "before_image_prefix",
       "cdc_start_date", "cdc_path", "csv_rfc4180", "extra_columns"},
      ""};
  return kSection;
}

Result<DmsSettings> ParseDmsSettings(const std::string& format,
                                     const std::map<std::string, std::string>& settings) {
  DmsSettings s;
  if (format != "parquet" && format != "csv") {
    return Status::Invalid("source.format \"", format, "\" is not a DMS format (csv | parquet)");
  }
  s.parquet = format == "parquet";
  for (const auto& [key, v] : settings) {
    if (key == "timestamp_column") {
      s.timestamp_column = v;
    } else if (key == "change_sequence_column") {
      s.change_sequence_column = v;
    } else if (key == "csv_header") {
      ARROW_ASSIGN_OR_RAISE(s.csv_header, Bool(key, v));
    } else if (key == "csv_null") {
      s.csv_null = v;
    } else if (key == "csv_delimiter") {
      std::string d = v == "\\t" ? "\t" : v;
      if (d.size() != 1 || d[0] == '"' || d[0] == '\n' || d[0] == '\r') {
        return Status::Invalid("source.dms.csv_delimiter: expected one character, got '", v, "'");
      }
      s.csv_delimiter = d[0];
    } else if (key == "csv_no_sup_value") {
      if (!v.empty()) s.csv_no_sup_value = v;
    } else if (key == "include_op_for_full_load") {
      ARROW_ASSIGN_OR_RAISE(s.include_op_for_full_load, Bool(key, v));
    } else if (key == "cdc_inserts_only") {
      ARROW_ASSIGN_OR_RAISE(s.cdc_inserts_only, Bool(key, v));
    } else if (key == "before_image_prefix") {
      s.before_image_prefix = v;
    } else if (key == "cdc_start_date") {
      if (v.empty()) continue;
      auto us = ParseDmsTimestamp(v);
      if (!us) {
        return Status::Invalid("source.dms.cdc_start_date: expected YYYY-MM-DD[ HH:MM:SS], got '",
                               v, "'");
      }
      s.cdc_start_us = *us;
    } else if (key == "csv_rfc4180") {
      ARROW_ASSIGN_OR_RAISE(s.csv_rfc4180, Bool(key, v));
    } else if (key == "extra_columns") {
      if (v != "drop" && v != "refuse") {
        return Status::Invalid("source.dms.extra_columns: expected drop or refuse, got '", v, "'");
      }
      s.refuse_extra_columns = v == "refuse";
    } else if (key == "cdc_path") {
      s.cdc_path = v;
      while (!s.cdc_path.empty() && s.cdc_path.back() == '/') s.cdc_path.pop_back();
    }
    // Other keys (other sources' settings) are not ours.
  }
  if (s.csv_no_sup_value && *s.csv_no_sup_value == s.csv_null) {
    return Status::Invalid("source.dms.csv_no_sup_value must differ from csv_null");
  }
  return s;
}

}  // namespace sluice::sources::dms
