// Schema evolution of a target table when a batch arrives with a different
// schema (DESIGN.md §5):
//   merge     new columns are added (nullable); columns missing from the batch
//             stay and read NULL; safe widenings are applied (int→long,
//             float→double, int→decimal, decimal→a decimal holding both
//             (precision and scale up), date→timestamp, and the same rules
//             inside structs/lists); decimal or int meeting float/double
//             becomes double (the one widening that may round: it arises when
//             JSON input infers a floating-point column as decimal in one file);
//   overwrite the table schema becomes the batch's (columns the source dropped
//             disappear from the table schema; type changes must be castable);
//   none      any difference is an error.
// Anything else is an error naming the table, the column, the old and the
// new type.
#pragma once

#include <arrow/type_fwd.h>

#include <string>

#include "sluice/pipeline/config.h"

namespace sluice::pipeline {

/// The schema the table must have to take `batch`. Returns `current`
/// itself (same pointer) when nothing changes. A column that is NULL in
/// every row of the batch fits any type (its inferred type means nothing).
Result<std::shared_ptr<arrow::Schema>> EvolveSchema(const std::string& table,
                                                    const std::shared_ptr<arrow::Schema>& current,
                                                    const arrow::RecordBatch& batch,
                                                    SchemaEvolution strategy);

/// Reshapes `batch` to `target`: columns in target order, missing ones as
/// NULL, widened types cast. Errors name the table and column.
Result<std::shared_ptr<arrow::RecordBatch>> ConformBatch(
    const std::string& table, const std::shared_ptr<arrow::RecordBatch>& batch,
    const std::shared_ptr<arrow::Schema>& target);

/// Every field (recursively) made nullable: what log tables store, so that
/// later batches may carry NULLs anywhere.
std::shared_ptr<arrow::Schema> AllNullable(const std::shared_ptr<arrow::Schema>& schema);

/// The schema a new table gets from its first batch: all nullable, without
/// columns of unknown type (Arrow's null type, from all-NULL JSON columns),
/// which are added by EvolveSchema once a batch gives them a type.
std::shared_ptr<arrow::Schema> StorableSchema(const std::shared_ptr<arrow::Schema>& schema);

}  // namespace sluice::pipeline
