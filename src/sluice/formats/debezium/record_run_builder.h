// The part of building DecodedRecords (decoded_records.h) that the Debezium
// record readers share, whatever the message format.
//
// RecordRunBuilder accumulates one run: consecutive messages decoded with one
// value schema, as rows of a struct builder of the schema's Arrow type, then
// a RecordRun (a record batch, one column per top-level field, and the input
// index of each row). Writing a message into builder() is the format's
// business (Avro binary, JSON); the run only fixes the protocol: a message
// is checked whole before any of it is appended, so a refused message leaves
// no half row. A refusal (Invalid or TypeError from the check) is a bad
// message's reason, never an error; any other failure is the reader's error.
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sluice/formats/connect/connect_schema.h"
#include "sluice/formats/debezium/decoded_records.h"

namespace sluice::formats::debezium {

class RecordRunBuilder {
 public:
  /// \brief A run of `schema` (a struct), its rows built as `type`
  /// (connect::ArrowTypeFor(*schema)); `inferred` as in RecordRun.
  static Result<std::unique_ptr<RecordRunBuilder>> Make(
      connect::ConnectSchemaPtr schema, const std::shared_ptr<arrow::DataType>& type,
      bool inferred);
  ~RecordRunBuilder();

  /// The struct builder the format's writer appends rows to (owned here).
  arrow::ArrayBuilder* builder() const { return builder_.get(); }
  const connect::ConnectSchemaPtr& schema() const { return run_.schema; }

  /// \brief Adds message `index`: `check` converts it without writing, then
  /// `append` writes what `check` accepted into builder(), exactly one row.
  /// Returns the reason when `check` refuses it (Invalid or TypeError): the
  /// message is bad and the run unchanged.
  Result<std::optional<std::string>> Add(int64_t index, const std::function<Status()>& check,
                                         const std::function<Status()>& append);

  /// Finishes the run into `out->runs`, unless it has no rows. Call once.
  Status FinishInto(DecodedRecords* out);

 private:
  RecordRunBuilder() = default;
  RecordRun run_;
  std::unique_ptr<arrow::ArrayBuilder> builder_;
};

/// \brief Records in `out` a message that has nothing to decode: a null value
/// (a tombstone), or one of more than `max_message_bytes` (bad). True when it
/// did; false leaves the message to the format.
bool RecordUndecodable(const std::optional<std::string_view>& value, int64_t index,
                       size_t max_message_bytes, DecodedRecords* out);

}  // namespace sluice::formats::debezium
