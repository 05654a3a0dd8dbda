// The pieces of a compiled Avro decoder: one small object per schema node,
// each reading one value from a BinaryCursor and appending it to the Arrow
// builder it is bound to. The tree is built once per writer schema
// (decoder.cc) and reused for every record; no value ever passes through a
// generic intermediate object. Leaves live in value_decoders.cc, records,
// arrays, maps, unions and the JSON fallback in nested_decoders.cc.
#pragma once

#include <arrow/type_fwd.h>

#include <memory>
#include <string>
#include <vector>

#include "sluice/formats/avro/arrow_mapping.h"
#include "sluice/formats/avro/avro_schema.h"
#include "sluice/formats/avro/binary_cursor.h"

namespace sluice::formats::avro {

class ValueDecoder {
 public:
  virtual ~ValueDecoder() = default;

  /// \brief Reads one value and appends it (REQUIRES: Bind was called).
  virtual Status Decode(BinaryCursor& in) = 0;

  /// \brief Points this decoder, and its children, at `builder`, which must
  /// have been made from type() by arrow::MakeBuilder.
  virtual void Bind(arrow::ArrayBuilder* builder) = 0;

  const std::shared_ptr<arrow::DataType>& type() const { return type_; }
  bool nullable() const { return nullable_; }
  /// The least number of bytes one value occupies (0 for null, empty records).
  int64_t min_bytes() const { return min_bytes_; }

 protected:
  std::shared_ptr<arrow::DataType> type_;
  bool nullable_ = false;
  int64_t min_bytes_ = 1;
};

using DecoderPtr = std::unique_ptr<ValueDecoder>;

/// A named child of a record or union-struct decoder.
struct ChildDecoder {
  std::string name;
  DecoderPtr decoder;
};

/// \brief Primitives and logical types (everything without children).
Result<DecoderPtr> MakeLeafDecoder(const AvroNode* node, const AvroArrowOptions& opts);

/// \brief Record -> struct.
DecoderPtr MakeRecordDecoder(std::vector<ChildDecoder> fields);

/// \brief array -> list, map -> map<utf8, T>.
DecoderPtr MakeArrayDecoder(DecoderPtr items);
DecoderPtr MakeMapDecoder(DecoderPtr values, bool validate_utf8);

/// \brief A union read as one branch or null: `null_index` is the null
/// branch (-1 when there is none), `value_index` the other.
DecoderPtr MakeOptionDecoder(int64_t null_index, int64_t value_index, DecoderPtr value);

/// \brief Any other union: a struct with one child per member; members[i]
/// is nullptr for the null branch.
DecoderPtr MakeUnionStructDecoder(std::vector<ChildDecoder> members);

/// \brief The value rendered as JSON text (json_fallback.h), as utf8.
DecoderPtr MakeJsonFallbackDecoder(const AvroNode* node, bool validate_utf8);

}  // namespace sluice::formats::avro
