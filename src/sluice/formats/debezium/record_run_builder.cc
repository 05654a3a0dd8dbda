#include "sluice/formats/debezium/record_run_builder.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/record_batch.h>

#include <utility>

namespace sluice::formats::debezium {

Result<std::unique_ptr<RecordRunBuilder>> RecordRunBuilder::Make(
    connect::ConnectSchemaPtr schema, const std::shared_ptr<arrow::DataType>& type, bool inferred) {
  auto rb = std::unique_ptr<RecordRunBuilder>(new RecordRunBuilder());
  rb->run_.schema = std::move(schema);
  rb->run_.inferred = inferred;
  ARROW_ASSIGN_OR_RAISE(rb->builder_, arrow::MakeBuilder(type));
  return rb;
}

RecordRunBuilder::~RecordRunBuilder() = default;

Result<std::optional<std::string>> RecordRunBuilder::Add(int64_t index,
                                                         const std::function<Status()>& check,
                                                         const std::function<Status()>& append) {
  Status st = check();
  if (!st.ok()) {
    if (st.IsInvalid() || st.IsTypeError()) return std::optional<std::string>(st.message());
    return st;
  }
  ARROW_RETURN_NOT_OK(append());
  run_.messages.push_back(index);
  return std::optional<std::string>();
}

Status RecordRunBuilder::FinishInto(DecodedRecords* out) {
  if (run_.messages.empty()) return Status::OK();
  std::shared_ptr<arrow::Array> array;
  ARROW_RETURN_NOT_OK(builder_->Finish(&array));
  ARROW_ASSIGN_OR_RAISE(run_.batch, arrow::RecordBatch::FromStructArray(array));
  out->runs.push_back(std::move(run_));
  return Status::OK();
}

bool RecordUndecodable(const std::optional<std::string_view>& value, int64_t index,
                       size_t max_message_bytes, DecodedRecords* out) {
  if (!value) {
    out->tombstones.push_back(index);
    return true;
  }
  if (value->size() > max_message_bytes) {
    out->bad.push_back(
        {index, "message of " + std::to_string(value->size()) + " bytes exceeds the limit"});
    return true;
  }
  return false;
}

}  // namespace sluice::formats::debezium
