// The classic checkpoint's Parquet schema (PROTOCOL.md "Checkpoint
// Schema"): one nullable struct column per action kind, field names and types
// as Spark writes them. The writer (checkpoint_writer.cc) builds exactly
// this; the reader (checkpoint_reader.cc) accepts it and the physical
// variants other writers produce.
#pragma once

#include <arrow/type_fwd.h>

#include <memory>

namespace sluice::delta {

/// Columns txn, add, remove, metaData, protocol, domainMetadata.
std::shared_ptr<arrow::Schema> CheckpointSchema();

}  // namespace sluice::delta
