#include "sluice/sources/datastream/table_identity.h"

#include <arrow/api.h>

namespace sluice::sources::datastream {

namespace {

std::string StringAt(const std::shared_ptr<arrow::Array>& array, int64_t row) {
  if (!array || array->IsNull(row)) return "";
  if (array->type_id() == arrow::Type::STRING) {
    return std::static_pointer_cast<arrow::StringArray>(array)->GetString(row);
  }
  if (array->type_id() == arrow::Type::LARGE_STRING) {
    return std::static_pointer_cast<arrow::LargeStringArray>(array)->GetString(row);
  }
  return "";
}

}  // namespace

TableIdentity IdentifyTable(const arrow::RecordBatch* events, const std::string& folder) {
  if (events != nullptr) {
    auto meta = events->GetColumnByName("source_metadata");
    if (meta && meta->type_id() == arrow::Type::STRUCT) {
      auto st = std::static_pointer_cast<arrow::StructArray>(meta);
      for (int64_t row = 0; row < st->length(); ++row) {
        std::string table = StringAt(st->GetFieldByName("table"), row);
        if (table.empty()) continue;
        std::string db = StringAt(st->GetFieldByName("database"), row);
        if (db.empty()) db = StringAt(st->GetFieldByName("schema"), row);
        if (db.empty()) db = "default";
        return {db, table};
      }
    }
  }
  auto us = folder.find('_');
  if (us == std::string::npos || us == 0 || us + 1 == folder.size()) return {"default", folder};
  return {folder.substr(0, us), folder.substr(us + 1)};
}

}  // namespace sluice::sources::datastream
