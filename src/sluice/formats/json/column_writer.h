// Pass 2 of the JSON decoder: values go straight from simdjson into Arrow
// builders. A ColumnWriter is compiled from an InferredType (or a pinned
// type) once per decode call and bound to the matching builder of an Arrow
// builder tree made by arrow::MakeBuilder for the inferred type; it does not
// own the builder.
//
// Input was validated by pass 1, so an error here means pass 1 and pass 2
// disagree (a bug); the reader reports it as an error, not a bad record.
#pragma once

#include <arrow/type_fwd.h>

#include <memory>
#include <string>
#include <vector>

#include "sluice/formats/json/type_inference.h"

namespace sluice::formats::json {

class ColumnWriter {
 public:
  virtual ~ColumnWriter() = default;
  /// Appends one value (JSON null -> null).
  virtual Status Append(od::value v) = 0;
  /// Appends a null (the key was absent).
  virtual Status AppendNull() = 0;
};

/// \brief A writer for `type` (the node's Arrow type is builder->type()).
Result<std::unique_ptr<ColumnWriter>> MakeColumnWriter(const InferredType& type,
                                                       arrow::ArrayBuilder* builder);

/// \brief A writer converting to a pinned type (pinned.h).
std::unique_ptr<ColumnWriter> MakePinnedWriter(std::shared_ptr<arrow::DataType> type,
                                               arrow::ArrayBuilder* builder);

/// \brief utf8 column that keeps strings as they are and any other value as
/// its JSON text (used for the event's fixed string fields).
std::unique_ptr<ColumnWriter> MakeTextWriter(arrow::ArrayBuilder* builder);

/// \brief Writes an object's fields through per-field writers, appending
/// null for fields the object lacks. With ignore_unknown, keys without a
/// writer are skipped; otherwise they are an error.
class StructWriter : public ColumnWriter {
 public:
  StructWriter(arrow::StructBuilder* builder, bool ignore_unknown);
  void AddField(std::string name, std::unique_ptr<ColumnWriter> writer);

  Status Append(od::value v) override;
  Status AppendNull() override;
  /// Appends a non-null struct from an object.
  Status AppendObject(od::object obj);

 private:
  struct Slot {
    std::string name;
    std::unique_ptr<ColumnWriter> writer;
    uint64_t seen = 0;
  };
  arrow::StructBuilder* builder_;
  bool ignore_unknown_;
  std::vector<Slot> fields_;
  NameIndex index_;
  uint64_t visits_ = 0;
  size_t next_guess_ = 0;
};

/// \brief Writers for the fields of an object node (pinned ones included),
/// bound to the children of `builder` (a StructBuilder of ToArrowStruct()).
Result<std::unique_ptr<StructWriter>> MakeStructWriter(const InferredType& type,
                                                       arrow::StructBuilder* builder);

}  // namespace sluice::formats::json
