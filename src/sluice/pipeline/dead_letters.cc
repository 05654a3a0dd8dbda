#include "sluice/pipeline/dead_letters.h"

#include <arrow/api.h>

#include "sluice/delta/table_writer.h"

namespace sluice::pipeline {

DeadLetterWriter::DeadLetterWriter(std::string source_table, std::string sink_path,
                                   delta::DataWriteOptions data,
                                   delta::CheckpointQueue* checkpoint_queue)
    : source_table_(std::move(source_table)),
      table_path_(io::JoinPath(io::JoinPath(sink_path, "_dead_letters"), source_table_)),
      data_(std::move(data)),
      checkpoint_queue_(checkpoint_queue) {}

void DeadLetterWriter::Add(DeadLetter letter) {
  if (letter.raw.size() > kMaxRawBytes) {
    letter.reason += " (raw bytes truncated from " + std::to_string(letter.raw.size()) + ")";
    letter.raw.resize(kMaxRawBytes);
  }
  letters_.push_back(std::move(letter));
}

Status DeadLetterWriter::Flush(const std::string& app_id, int64_t version, int64_t ingested_at_us) {
  if (letters_.empty()) return Status::OK();
  ARROW_ASSIGN_OR_RAISE(auto location, io::OpenTableLocation(table_path_));
  ARROW_ASSIGN_OR_RAISE(auto snapshot, delta::LoadIfExists(location));
  if (snapshot) {
    auto done = snapshot->TxnVersion(app_id);
    if (done && *done >= version) {  // a retried batch: already written
      letters_.clear();
      return Status::OK();
    }
  }
  arrow::StringBuilder table, file, reason;
  arrow::Int64Builder offset;
  arrow::BinaryBuilder raw;
  arrow::TimestampBuilder at(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"),
                             arrow::default_memory_pool());
  for (const auto& l : letters_) {
    ARROW_RETURN_NOT_OK(table.Append(source_table_));
    ARROW_RETURN_NOT_OK(file.Append(l.file));
    ARROW_RETURN_NOT_OK(offset.Append(l.offset));
    ARROW_RETURN_NOT_OK(reason.Append(l.reason));
    ARROW_RETURN_NOT_OK(raw.Append(l.raw));
    ARROW_RETURN_NOT_OK(at.Append(ingested_at_us));
  }
  auto schema =
      arrow::schema({arrow::field("source_table", arrow::utf8()),
                     arrow::field("file", arrow::utf8()), arrow::field("offset", arrow::int64()),
                     arrow::field("reason", arrow::utf8()), arrow::field("raw", arrow::binary()),
                     arrow::field("ingested_at", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"))});
  std::vector<std::shared_ptr<arrow::Array>> cols(6);
  ARROW_RETURN_NOT_OK(table.Finish(&cols[0]));
  ARROW_RETURN_NOT_OK(file.Finish(&cols[1]));
  ARROW_RETURN_NOT_OK(offset.Finish(&cols[2]));
  ARROW_RETURN_NOT_OK(reason.Finish(&cols[3]));
  ARROW_RETURN_NOT_OK(raw.Finish(&cols[4]));
  ARROW_RETURN_NOT_OK(at.Finish(&cols[5]));
  delta::TableWriteOptions options;
  options.deletion_vectors = false;
  options.txn = delta::Txn{app_id, version, {}};
  options.data = data_;
  options.commit.checkpoint_queue = checkpoint_queue_;
  ARROW_RETURN_NOT_OK(
      delta::WriteTable(location, arrow::Table::Make(schema, cols), options).status());
  letters_.clear();
  return Status::OK();
}

}  // namespace sluice::pipeline
