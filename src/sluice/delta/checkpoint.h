// Classic (V1 spec) Delta checkpoints: the reconciled table state as one
// Parquet file with one row per action, each action kind a struct column
// (PROTOCOL.md "Checkpoints", "Checkpoint Schema"), and the
// `_delta_log/_last_checkpoint` pointer that lets readers skip listing
// (last_checkpoint.h, included here so this stays the one entry point).
//
// Implemented in checkpoint_schema.cc (the schema), checkpoint_writer.cc and
// checkpoint_reader.cc.
#pragma once

#include <arrow/buffer.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/delta/actions.h"
#include "sluice/delta/last_checkpoint.h"

namespace sluice::delta {

/// \brief Serializes a checkpoint: exactly one Protocol and one Metadata, plus
/// any Txn, Add, Remove and domainMetadata OtherActions. Rows are written in
/// the order protocol, metaData, domainMetadata, txns, adds, removes (stable
/// within a kind) so that readers that stop early find protocol and metadata
/// first. The columns are txn, add, remove, metaData, protocol, domainMetadata
/// with Spark's field names and types; snappy-compressed.
///
/// Errors (Invalid): commitInfo or cdc actions (checkpoints must not keep
/// them), a missing or repeated protocol/metaData, an OtherAction kind other
/// than domainMetadata (checkpointMetadata/sidecar: NotImplemented, those are
/// V2 checkpoints).
Result<std::shared_ptr<arrow::Buffer>> WriteCheckpointParquet(const std::vector<Action>& actions);

/// \brief Reads a classic checkpoint or one part of a multi-part checkpoint
/// written by Sluice, Spark or delta-rs, returning its actions in row order.
/// Reads only the columns Sluice models; unknown columns and fields
/// (stats_parsed, partitionValues_parsed, commitInfo, cdc, ...) are ignored.
/// A domainMetadata row becomes OtherAction{"domainMetadata", json}.
/// A file with checkpointMetadata or sidecar rows is a V2 checkpoint:
/// NotImplemented. `where` (the file name) prefixes every error.
Result<std::vector<Action>> ReadCheckpointParquet(
    const std::shared_ptr<arrow::Buffer>& parquet_bytes, const std::string& where);

}  // namespace sluice::delta
