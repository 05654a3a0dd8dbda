// Schema-compiled decoder: a writer schema is compiled once into a tree of
// ValueDecoders (value_decoders.h) bound to Arrow builders; records then flow
// from the binary encoding straight into those builders. The Arrow types
// follow arrow_mapping.h.
#pragma once

#include <arrow/array/builder_base.h>
#include <arrow/type_fwd.h>

#include <memory>
#include <vector>

#include "sluice/formats/avro/arrow_mapping.h"
#include "sluice/formats/avro/avro_schema.h"
#include "sluice/formats/avro/binary_cursor.h"
#include "sluice/formats/avro/value_decoders.h"

namespace sluice::formats::avro {

/// \brief Arrow schema a writer schema maps to (same rules as the decoder).
Result<std::shared_ptr<arrow::Schema>> ArrowSchemaFor(const AvroSchema& schema,
                                                      const AvroArrowOptions& opts);

/// \brief Decodes whole records into RecordBatch columns. Not thread-safe;
/// one per reader.
class BatchDecoder {
 public:
  /// \brief Compiles `schema` (which must outlive the decoder). Fails when
  /// the schema expands to more than kMaxDecoders nodes.
  static Result<std::unique_ptr<BatchDecoder>> Make(std::shared_ptr<const AvroSchema> schema,
                                                    const AvroArrowOptions& opts);

  const std::shared_ptr<arrow::Schema>& schema() const { return arrow_schema_; }

  /// \brief Appends one row per record: `count` records read from `in`.
  /// On error the builders may hold a partial row; rows() still counts only
  /// the complete ones, and Flush() drops the rest.
  Status DecodeRecords(BinaryCursor& in, int64_t count);

  /// Complete rows held by the builders.
  int64_t rows() const { return rows_; }

  /// \brief The first min(keep_rows, rows()) rows as a batch (all complete
  /// rows when keep_rows < 0); the builders are then empty. Must be called
  /// after DecodeRecords fails, before decoding more.
  Result<std::shared_ptr<arrow::RecordBatch>> Flush(int64_t keep_rows = -1);

  /// The least bytes a record occupies (0 when it can be empty).
  int64_t record_min_bytes() const { return record_min_bytes_; }

  static constexpr int64_t kMaxDecoders = 100000;

 private:
  BatchDecoder() = default;

  std::shared_ptr<const AvroSchema> avro_schema_;
  std::shared_ptr<arrow::Schema> arrow_schema_;
  std::vector<DecoderPtr> columns_;
  std::vector<std::unique_ptr<arrow::ArrayBuilder>> builders_;
  int64_t rows_ = 0;
  bool dirty_ = false;
  int64_t record_min_bytes_ = 0;
};

}  // namespace sluice::formats::avro
