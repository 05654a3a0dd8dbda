#include "sluice/core/change_schema.h"

#include <arrow/api.h>

namespace sluice {

namespace {
constexpr std::string_view kOpNames[] = {"snapshot", "insert", "update", "delete", "truncate"};
}  // namespace

std::string_view CdcOpName(CdcOp op) {
  auto i = static_cast<size_t>(op);
  return i < std::size(kOpNames) ? kOpNames[i] : std::string_view("unknown");
}

std::shared_ptr<arrow::DataType> CdcOpType() {
  return arrow::dictionary(arrow::int32(), arrow::utf8());
}

std::shared_ptr<arrow::Array> CdcOpDictionary() {
  // Built once: every _cdc_op array shares this dictionary, so concatenating
  // batches never needs a dictionary unification.
  static const std::shared_ptr<arrow::Array> dict = [] {
    arrow::StringBuilder b;
    for (auto name : kOpNames) (void)b.Append(name.data(), static_cast<int32_t>(name.size()));
    std::shared_ptr<arrow::Array> out;
    (void)b.Finish(&out);
    return out;
  }();
  return dict;
}

Result<std::shared_ptr<arrow::Array>> MakeCdcOpArray(const std::vector<CdcOp>& ops) {
  arrow::Int32Builder indices;
  ARROW_RETURN_NOT_OK(indices.Reserve(static_cast<int64_t>(ops.size())));
  for (CdcOp op : ops) indices.UnsafeAppend(static_cast<int32_t>(op));
  ARROW_ASSIGN_OR_RAISE(auto idx, indices.Finish());
  return arrow::DictionaryArray::FromArrays(CdcOpType(), idx, CdcOpDictionary());
}

std::shared_ptr<arrow::DataType> CdcTimestampType() {
  return arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
}

std::vector<std::shared_ptr<arrow::Field>> CanonicalFields(
    std::shared_ptr<arrow::DataType> source_type) {
  return {
      arrow::field(std::string(kOpColumn), CdcOpType(), /*nullable=*/false),
      arrow::field(std::string(kSeqColumn), arrow::binary(), /*nullable=*/false),
      arrow::field(std::string(kTsColumn), CdcTimestampType(), /*nullable=*/true),
      arrow::field(std::string(kIngestedAtColumn), CdcTimestampType(), /*nullable=*/false),
      arrow::field(std::string(kOriginColumn), arrow::utf8(), /*nullable=*/false),
      arrow::field(std::string(kSourceColumn), std::move(source_type), /*nullable=*/true),
  };
}

bool IsReservedColumnName(std::string_view name) { return name.starts_with("_cdc_"); }

}  // namespace sluice
