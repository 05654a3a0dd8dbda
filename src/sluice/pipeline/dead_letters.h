// Dead letters: input that could not be turned into change rows (a corrupt
// Avro block, a JSON syntax error, a row without its primary key, …) is kept,
// with the reason and the raw bytes, in the Delta table
// `<sink>/_dead_letters/<table>`, committed with the same txn version as the
// batch it belongs to so a retried batch does not write it twice.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/delta/data_writer.h"
#include "sluice/delta/transaction.h"
#include "sluice/io/table_location.h"

namespace sluice::pipeline {

struct DeadLetter {
  std::string file;    ///< source file (or topic/partition@offset)
  int64_t offset = 0;  ///< byte offset in the file, or row index when no offset applies
  std::string reason;
  std::string raw;  ///< the undecodable bytes (capped, see kMaxRawBytes)
};

class DeadLetterWriter {
 public:
  static constexpr size_t kMaxRawBytes = 1 << 20;

  /// `checkpoint_queue` (not owned, may be null): where the table's
  /// checkpoints go (delta::CommitOptions::checkpoint_queue).
  DeadLetterWriter(std::string source_table, std::string sink_path,
                   delta::DataWriteOptions data = {},
                   delta::CheckpointQueue* checkpoint_queue = nullptr);

  void Add(DeadLetter letter);
  size_t size() const { return letters_.size(); }
  /// The rows collected so far (until Flush clears them).
  const std::vector<DeadLetter>& letters() const { return letters_; }

  /// Commits the collected rows with txn (app_id, version) unless that
  /// version is already in the table, then clears them.
  Status Flush(const std::string& app_id, int64_t version, int64_t ingested_at_us);

 private:
  std::string source_table_;
  std::string table_path_;
  delta::DataWriteOptions data_;
  delta::CheckpointQueue* checkpoint_queue_;
  std::vector<DeadLetter> letters_;
};

}  // namespace sluice::pipeline
