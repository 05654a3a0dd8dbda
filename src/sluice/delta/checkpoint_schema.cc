#include "sluice/delta/checkpoint_schema.h"

#include <arrow/type.h>

namespace sluice::delta {

namespace {

// ---------------------------------------------------------------------------
// The checkpoint schema (PROTOCOL.md "Checkpoint Schema"), field names and
// types as Spark writes them. Everything is nullable, as in Spark's files:
// a row carries exactly one non-null top-level struct.

std::shared_ptr<arrow::DataType> StringMapType() {
  // Spark/parquet name the repeated group "key_value"; values may be null
  // (partitionValues uses that for null partitions).
  return std::make_shared<arrow::MapType>(
      arrow::field("key_value",
                   arrow::struct_({arrow::field("key", arrow::utf8(), /*nullable=*/false),
                                   arrow::field("value", arrow::utf8())}),
                   /*nullable=*/false));
}

std::shared_ptr<arrow::DataType> StringListType() {
  return arrow::list(arrow::field("element", arrow::utf8()));
}

std::shared_ptr<arrow::DataType> DeletionVectorType() {
  return arrow::struct_({
      arrow::field("storageType", arrow::utf8()),
      arrow::field("pathOrInlineDv", arrow::utf8()),
      arrow::field("offset", arrow::int32()),
      arrow::field("sizeInBytes", arrow::int32()),
      arrow::field("cardinality", arrow::int64()),
  });
}

}  // namespace

std::shared_ptr<arrow::Schema> CheckpointSchema() {
  auto txn = arrow::struct_({
      arrow::field("appId", arrow::utf8()),
      arrow::field("version", arrow::int64()),
      arrow::field("lastUpdated", arrow::int64()),
  });
  auto add = arrow::struct_({
      arrow::field("path", arrow::utf8()),
      arrow::field("partitionValues", StringMapType()),
      arrow::field("size", arrow::int64()),
      arrow::field("modificationTime", arrow::int64()),
      arrow::field("dataChange", arrow::boolean()),
      arrow::field("tags", StringMapType()),
      arrow::field("deletionVector", DeletionVectorType()),
      arrow::field("baseRowId", arrow::int64()),
      arrow::field("defaultRowCommitVersion", arrow::int64()),
      arrow::field("clusteringProvider", arrow::utf8()),
      arrow::field("stats", arrow::utf8()),
  });
  // The protocol says checkpoint tombstones need no stats/tags; we still keep
  // them when the caller passes them (readers ignore extra fields) so that a
  // checkpoint round-trips exactly.
  auto remove = arrow::struct_({
      arrow::field("path", arrow::utf8()),
      arrow::field("deletionTimestamp", arrow::int64()),
      arrow::field("dataChange", arrow::boolean()),
      arrow::field("extendedFileMetadata", arrow::boolean()),
      arrow::field("partitionValues", StringMapType()),
      arrow::field("size", arrow::int64()),
      arrow::field("deletionVector", DeletionVectorType()),
      arrow::field("baseRowId", arrow::int64()),
      arrow::field("defaultRowCommitVersion", arrow::int64()),
      arrow::field("stats", arrow::utf8()),
      arrow::field("tags", StringMapType()),
  });
  auto metadata = arrow::struct_({
      arrow::field("id", arrow::utf8()),
      arrow::field("name", arrow::utf8()),
      arrow::field("description", arrow::utf8()),
      arrow::field("format", arrow::struct_({arrow::field("provider", arrow::utf8()),
                                             arrow::field("options", StringMapType())})),
      arrow::field("schemaString", arrow::utf8()),
      arrow::field("partitionColumns", StringListType()),
      arrow::field("configuration", StringMapType()),
      arrow::field("createdTime", arrow::int64()),
  });
  auto protocol = arrow::struct_({
      arrow::field("minReaderVersion", arrow::int32()),
      arrow::field("minWriterVersion", arrow::int32()),
      arrow::field("readerFeatures", StringListType()),
      arrow::field("writerFeatures", StringListType()),
  });
  auto domain_metadata = arrow::struct_({
      arrow::field("domain", arrow::utf8()),
      arrow::field("configuration", arrow::utf8()),
      arrow::field("removed", arrow::boolean()),
  });
  return arrow::schema({
      arrow::field("txn", txn),
      arrow::field("add", add),
      arrow::field("remove", remove),
      arrow::field("metaData", metadata),
      arrow::field("protocol", protocol),
      arrow::field("domainMetadata", domain_metadata),
  });
}

}  // namespace sluice::delta
