// Pass 1 of the JSON decoder: the Arrow type of every column, inferred from
// all events of a decode call so that a file has one schema. The rules (also
// in docs/json-types.md):
//
//   JSON values seen in a column          Arrow type
//   ----------------------------          ----------
//   only null / never present             null (type unknown; the pipeline adds
//                                         the column once a file gives it a type)
//   true / false                          bool
//   integers that all fit int64           int64
//   integers, some beyond int64           decimal128(38,0)
//   numbers with a fraction or exponent   decimal128(p,s): s = the most
//   (mixed with integers or not)          fraction digits written, p = s +
//                                         the most integer digits; from the
//                                         TEXT, so 12345.67 stays exact
//   ...when p would exceed 38             float64 (nearest value)
//   strings                               utf8 (never guessed as timestamps
//                                         or numbers: pin the type instead)
//   objects                               struct: fields in first-seen
//                                         order, missing fields null
//   arrays                                list<element type by these rules>
//   more than one of the kinds above      utf8 holding each value's JSON
//   (e.g. 5 and "a", or {} and [])        text ("a" keeps its quotes)
//   objects / arrays deeper than          utf8 JSON text
//   kMaxNesting
//
// null mixes with everything without changing the type. Types do not depend
// on row order (the merge is commutative); only struct field order does.
// Every value is validated while it is observed, so pass 2 cannot meet a
// syntax error.
#pragma once

#include <arrow/type_fwd.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sluice/formats/json/json_value.h"

namespace sluice::formats::json {

using PinnedTypes = std::map<std::string, std::shared_ptr<arrow::DataType>>;

enum class JsonKind : uint8_t { kNull, kBool, kNumber, kString, kObject, kArray, kMixed };

/// Hash for string-keyed maps looked up by string_view without a copy.
struct NameHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using NameIndex = std::unordered_map<std::string, size_t, NameHash, std::equal_to<>>;

class InferredType {
 public:
  struct Field {
    std::string name;
    std::unique_ptr<InferredType> type;       // null for a pinned field
    std::shared_ptr<arrow::DataType> pinned;  // set for a pinned field
    uint64_t seen = 0;                        // last object visit holding it
  };

  /// \brief Folds one value in, validating it. Errors per json_value.h.
  Status Observe(od::value v, int depth);

  /// \brief Folds in an object's fields (the node becomes an object). Keys
  /// of `pinned` (may be null) are converted, not inferred.
  Status ObserveObject(od::object obj, int depth, const PinnedTypes* pinned);

  /// \brief Adds pinned fields that no event carried, in name order, so the
  /// schema holds every pinned column.
  void AddMissingPinned(const PinnedTypes& pinned);

  JsonKind kind() const { return kind_; }
  const std::vector<Field>& fields() const { return fields_; }
  const InferredType* element() const { return element_.get(); }

  /// The Arrow type by the rules above.
  std::shared_ptr<arrow::DataType> ToArrow() const;
  /// The struct of fields() (an object node, or the empty struct if null).
  std::shared_ptr<arrow::DataType> ToArrowStruct() const;

 private:
  void BecomeMixed();
  void ObserveNumber(std::string_view token);

  JsonKind kind_ = JsonKind::kNull;
  // Numbers.
  bool fractional_ = false;    // a fraction or exponent was seen
  bool int_overflow_ = false;  // an integer beyond int64 was seen
  int32_t int_digits_ = 0;
  int32_t scale_ = 0;
  // Objects.
  std::vector<Field> fields_;
  NameIndex index_;
  uint64_t visits_ = 0;
  size_t next_guess_ = 0;  // events repeat key order: try the next field first
  // Arrays.
  std::unique_ptr<InferredType> element_;
};

/// \brief Index of `key` in `fields`, trying `*guess` first; -1 if absent.
/// Updates *guess to the following position.
template <typename FieldVec>
inline int64_t FindField(const FieldVec& fields, const NameIndex& index, std::string_view key,
                         size_t* guess) {
  size_t i = *guess;
  if (i >= fields.size() || fields[i].name != key) {
    auto it = index.find(key);
    if (it == index.end()) return -1;
    i = it->second;
  }
  *guess = i + 1;
  return static_cast<int64_t>(i);
}

}  // namespace sluice::formats::json
