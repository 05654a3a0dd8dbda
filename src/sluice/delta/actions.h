// The actions of the Delta transaction log (PROTOCOL.md "Actions"), one struct
// each, and their JSON form (one action per line of a commit file). Fields the
// protocol marks optional are std::optional; unknown fields are ignored on
// read, as the protocol requires.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::delta {

/// Partition values as the protocol serializes them: a null value is absent
/// from nothing but is a JSON null, hence optional.
using PartitionValues = std::map<std::string, std::optional<std::string>>;

struct Protocol {
  int32_t min_reader_version = 1;
  int32_t min_writer_version = 2;
  /// Present only for reader version 3 / writer version 7.
  std::optional<std::vector<std::string>> reader_features;
  std::optional<std::vector<std::string>> writer_features;

  bool HasReaderFeature(const std::string& f) const;
  bool HasWriterFeature(const std::string& f) const;
  bool operator==(const Protocol&) const = default;
};

struct Format {
  std::string provider = "parquet";
  std::map<std::string, std::string> options;
  bool operator==(const Format&) const = default;
};

struct Metadata {
  std::string id;
  std::optional<std::string> name;
  std::optional<std::string> description;
  Format format;
  std::string schema_string;  ///< Delta schema JSON (see schema.h)
  std::vector<std::string> partition_columns;
  std::map<std::string, std::string> configuration;
  std::optional<int64_t> created_time;
  bool operator==(const Metadata&) const = default;
};

/// A deletion vector descriptor (PROTOCOL.md "Deletion Vectors").
struct DeletionVectorDescriptor {
  /// 'u': relative path encoded as <random prefix><z85 uuid>; 'p': absolute
  /// path; 'i': inline, pathOrInlineDv holds the z85-encoded bitmap.
  char storage_type = 'u';
  std::string path_or_inline_dv;
  std::optional<int32_t> offset;
  int32_t size_in_bytes = 0;
  int64_t cardinality = 0;

  /// Unique id of the DV within the table: storageType + pathOrInlineDv
  /// [+ '@' + offset]; used with the file path to deduplicate in log replay.
  std::string UniqueId() const;
  bool operator==(const DeletionVectorDescriptor&) const = default;
};

struct Add {
  std::string path;  ///< URL-encoded relative path, or absolute URI
  PartitionValues partition_values;
  int64_t size = 0;
  int64_t modification_time = 0;
  bool data_change = true;
  std::optional<std::string> stats;  ///< JSON text (stats.h)
  std::optional<std::map<std::string, std::string>> tags;
  std::optional<DeletionVectorDescriptor> deletion_vector;
  std::optional<int64_t> base_row_id;
  std::optional<int64_t> default_row_commit_version;
  std::optional<std::string> clustering_provider;
  bool operator==(const Add&) const = default;
};

struct Remove {
  std::string path;
  std::optional<int64_t> deletion_timestamp;
  bool data_change = true;
  std::optional<bool> extended_file_metadata;
  std::optional<PartitionValues> partition_values;
  std::optional<int64_t> size;
  std::optional<std::string> stats;
  std::optional<std::map<std::string, std::string>> tags;
  std::optional<DeletionVectorDescriptor> deletion_vector;
  std::optional<int64_t> base_row_id;
  std::optional<int64_t> default_row_commit_version;
  bool operator==(const Remove&) const = default;
};

/// SetTransaction: the progress of an application (a pipeline's source
/// position) committed atomically with its data.
struct Txn {
  std::string app_id;
  int64_t version = 0;
  std::optional<int64_t> last_updated;
  bool operator==(const Txn&) const = default;
};

/// commitInfo is free-form; we keep its JSON text.
struct CommitInfo {
  std::string json;  ///< a JSON object
  bool operator==(const CommitInfo&) const = default;
};

/// Actions this implementation does not interpret but must recognise
/// (cdc, domainMetadata, checkpointMetadata, sidecar): kept as raw JSON.
struct OtherAction {
  std::string kind;  ///< the top-level key, e.g. "cdc"
  std::string json;  ///< the value object
  bool operator==(const OtherAction&) const = default;
};

using Action = std::variant<Protocol, Metadata, Add, Remove, Txn, CommitInfo, OtherAction>;

/// The remove that retires `add` (same path, partition values, size, stats,
/// tags and deletion vector, as readers expect), timestamped `now_ms`.
Remove RemoveActionFor(const Add& add, int64_t now_ms);

/// One action as a single-line JSON object, e.g. {"add":{...}}.
std::string ActionToJson(const Action& action);
/// Parses one line of a commit file. Errors name what is malformed.
Result<Action> ActionFromJson(std::string_view line);

/// A commit file: actions joined by '\n' (with a trailing newline).
std::string CommitToJson(const std::vector<Action>& actions);
/// Parses a whole commit file; `where` names it in error messages.
Result<std::vector<Action>> CommitFromJson(std::string_view text, const std::string& where);

}  // namespace sluice::delta
