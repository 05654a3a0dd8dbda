#include "sluice/merge/table_create.h"

#include <arrow/api.h>

#include <chrono>
#include <cstdio>
#include <random>

#include "sluice/delta/schema.h"
#include "sluice/delta/table_features.h"

namespace sluice::merge {

std::string RandomUuid() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t hi = rng(), lo = rng();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 1
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(hi >> 32), static_cast<unsigned>((hi >> 16) & 0xffff),
                static_cast<unsigned>(hi & 0xffff), static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

Result<std::unique_ptr<delta::Transaction>> CreateTableTransaction(
    const io::TableLocation& location, const arrow::Schema& schema, bool deletion_vectors,
    const std::string& operation) {
  delta::Metadata metadata;
  metadata.id = RandomUuid();
  ARROW_ASSIGN_OR_RAISE(metadata.schema_string, delta::SchemaToDeltaJson(schema));
  if (deletion_vectors) metadata.configuration["delta.enableDeletionVectors"] = "true";
  metadata.created_time = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  delta::Protocol protocol =
      delta::ProtocolForNewTable(deletion_vectors, delta::SchemaUsesTimestampNtz(schema));
  return std::make_unique<delta::Transaction>(location.log, std::move(protocol),
                                              std::move(metadata), operation);
}

}  // namespace sluice::merge
