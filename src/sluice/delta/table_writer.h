// High-level writes on a table: create-or-append (and overwrite) of Arrow
// data as one commit, and row deletions by deletion vectors or by rewriting
// files. Built on data_writer.h, transaction.h and deletion_vector.h.
#pragma once

#include <map>
#include <optional>

#include "sluice/delta/data_writer.h"
#include "sluice/delta/deletion_bitmap.h"
#include "sluice/delta/transaction.h"
#include "sluice/io/table_location.h"

namespace sluice::delta {

struct TableWriteOptions {
  std::vector<std::string> partition_columns;        ///< used when creating
  bool deletion_vectors = true;                      ///< create with protocol 3/7 + DVs
  bool overwrite = false;                            ///< remove every existing file
  std::map<std::string, std::string> configuration;  ///< used when creating
  std::optional<Txn> txn;                            ///< progress to commit with the data
  /// The table as the writer last read it (null inside: it read no table).
  /// Unset: the latest snapshot. A writer whose commit depends on what it
  /// read (a txn it advances from a version it saw) must set it, so that a
  /// commit another writer made since is checked for conflicts (the same
  /// txn advanced) instead of being silently built upon.
  std::optional<std::shared_ptr<const Snapshot>> read_snapshot;
  /// More progress in the same commit (a position of several offsets).
  std::vector<Txn> more_txns;
  /// Extra members of commitInfo.operationParameters, as the text of JSON
  /// members without braces (`"units":["a","b"]`); empty: none.
  std::string operation_parameters;
  /// Let the data's schema replace the table's in the same commit (schema
  /// evolution; the caller decided the change is allowed).
  bool allow_schema_change = false;
  DataWriteOptions data;
  CommitOptions commit;
};

/// Loads the latest snapshot, or nullptr if `location` holds no table yet.
Result<std::shared_ptr<const Snapshot>> LoadIfExists(const io::TableLocation& location);

/// Appends (or overwrites with) `data` in one commit, creating the table from
/// the data's schema if it does not exist. The data's schema must equal the
/// table's (schema evolution is the pipeline's job).
Result<CommitResult> WriteTable(const io::TableLocation& location,
                                const std::shared_ptr<arrow::Table>& data,
                                const TableWriteOptions& options);

enum class DeleteMode {
  kDeletionVectors,        ///< DVs in a deletion_vector_<uuid>.bin file
  kInlineDeletionVectors,  ///< DVs inline in the log (z85), for small deletes
  kCopyOnWrite,            ///< rewrite the touched files
};

/// Deletes rows: for each file path (as in add.path) the row indexes (in the
/// file, before any existing DV) to delete. Commits one transaction on top
/// of `snapshot`. Returns the number of rows newly deleted.
Result<CommitResult> DeleteRows(const io::TableLocation& location,
                                std::shared_ptr<const Snapshot> snapshot,
                                const std::map<std::string, DeletionBitmap>& rows_by_file,
                                DeleteMode mode, const CommitOptions& commit = {});

}  // namespace sluice::delta
