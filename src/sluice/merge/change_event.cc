#include "sluice/merge/change_event.h"

#include <arrow/api.h>

namespace sluice::merge {

namespace {

MergeOp OpFromName(std::string_view name) {
  if (name == "insert" || name == "update" || name == "snapshot") return MergeOp::kUpsert;
  if (name == "delete") return MergeOp::kDelete;
  if (name == "truncate") return MergeOp::kTruncate;
  return MergeOp::kInvalid;
}

}  // namespace

std::string_view MergeOpName(MergeOp op) {
  switch (op) {
    case MergeOp::kUpsert:
      return "upsert";
    case MergeOp::kDelete:
      return "delete";
    case MergeOp::kTruncate:
      return "truncate";
    case MergeOp::kInvalid:
      return "invalid";
  }
  return "invalid";
}

Result<std::vector<MergeOp>> ReadOps(const arrow::RecordBatch& batch) {
  auto column = batch.GetColumnByName(std::string(kOpColumn));
  if (!column) return Status::Invalid("change batch has no ", kOpColumn, " column");
  std::vector<MergeOp> ops(static_cast<size_t>(batch.num_rows()), MergeOp::kInvalid);
  if (column->type_id() == arrow::Type::STRING) {
    const auto& names = static_cast<const arrow::StringArray&>(*column);
    for (int64_t i = 0; i < names.length(); ++i) {
      if (names.IsValid(i)) ops[i] = OpFromName(names.GetView(i));
    }
    return ops;
  }
  if (column->type_id() != arrow::Type::DICTIONARY) {
    return Status::Invalid(kOpColumn, " has type ", column->type()->ToString(),
                           "; expected dictionary<int32, utf8> or utf8");
  }
  const auto& dict_array = static_cast<const arrow::DictionaryArray&>(*column);
  if (dict_array.dictionary()->type_id() != arrow::Type::STRING) {
    return Status::Invalid(kOpColumn, " dictionary has type ",
                           dict_array.dictionary()->type()->ToString(), "; expected utf8");
  }
  // Map each dictionary entry once, then each row by its index.
  const auto& dict = static_cast<const arrow::StringArray&>(*dict_array.dictionary());
  std::vector<MergeOp> by_index(static_cast<size_t>(dict.length()), MergeOp::kInvalid);
  for (int64_t d = 0; d < dict.length(); ++d) {
    if (dict.IsValid(d)) by_index[d] = OpFromName(dict.GetView(d));
  }
  for (int64_t i = 0; i < dict_array.length(); ++i) {
    if (dict_array.IsNull(i)) continue;
    int64_t d = dict_array.GetValueIndex(i);
    if (d >= 0 && d < dict.length()) ops[i] = by_index[d];
  }
  return ops;
}

Result<std::shared_ptr<arrow::BinaryArray>> ReadSeqs(const arrow::RecordBatch& batch) {
  auto column = batch.GetColumnByName(std::string(kSeqColumn));
  if (!column) return Status::Invalid("change batch has no ", kSeqColumn, " column");
  if (column->type_id() != arrow::Type::BINARY) {
    return Status::Invalid(kSeqColumn, " has type ", column->type()->ToString(),
                           "; expected binary");
  }
  return std::static_pointer_cast<arrow::BinaryArray>(column);
}

}  // namespace sluice::merge
