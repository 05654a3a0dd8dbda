#include "sluice/merge/table_create.h"

#include <arrow/api.h>

#include <chrono>
#include <cstdio>

#include "sluice/core/clock.h"
#include "sluice/core/uuid.h"
#include "sluice/delta/schema.h"
#include "sluice/delta/table_features.h"

namespace sluice::merge {

Result<std::unique_ptr<delta::Transaction>> CreateTableTransaction(
    const io::TableLocation& location, const arrow::Schema& schema, bool deletion_vectors,
    const std::string& operation, const std::map<std::string, std::string>& configuration) {
  delta::Metadata metadata;
  metadata.configuration = configuration;
  metadata.id = NewUuidV4();
  ARROW_ASSIGN_OR_RAISE(metadata.schema_string, delta::SchemaToDeltaJson(schema));
  if (deletion_vectors) metadata.configuration["delta.enableDeletionVectors"] = "true";
  metadata.created_time = WallClockMs();
  delta::Protocol protocol =
      delta::ProtocolForNewTable(deletion_vectors, delta::SchemaUsesTimestampNtz(schema));
  return std::make_unique<delta::Transaction>(location.log, std::move(protocol),
                                              std::move(metadata), operation);
}

}  // namespace sluice::merge
