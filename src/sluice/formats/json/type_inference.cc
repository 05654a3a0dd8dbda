#include "sluice/formats/json/type_inference.h"

#include <arrow/type.h>

#include <algorithm>

#include "sluice/formats/json/number_text.h"
#include "sluice/formats/json/pinned.h"

namespace sluice::formats::json {

namespace {

JsonKind KindOf(od::json_type t) {
  switch (t) {
    case od::json_type::boolean:
      return JsonKind::kBool;
    case od::json_type::number:
      return JsonKind::kNumber;
    case od::json_type::string:
      return JsonKind::kString;
    case od::json_type::object:
      return JsonKind::kObject;
    case od::json_type::array:
      return JsonKind::kArray;
    case od::json_type::null:
      break;
  }
  return JsonKind::kNull;
}

// Content errors name the column ("payload.d.amount: cannot convert ...").
// Inside an event the message carries the path so far after a leading '@';
// the event level (event_schema.cc) adds the top key and drops the '@'.
Status InField(const Status& st, std::string_view name) {
  if (st.ok() || IsSyntaxError(st)) return st;
  const std::string& m = st.message();
  if (!m.empty() && m[0] == '@') return st.WithMessage("@", name, ".", m.substr(1));
  return st.WithMessage("@", name, ": ", m);
}

}  // namespace

void InferredType::BecomeMixed() {
  kind_ = JsonKind::kMixed;
  fields_.clear();
  index_.clear();
  element_.reset();
}

void InferredType::ObserveNumber(std::string_view token) {
  NumberText n;
  ScanNumber(token, &n);  // already validated by NumberToken
  if (n.is_integer()) {
    int64_t unused;
    if (!IntegerToInt64(n, &unused)) int_overflow_ = true;
  } else {
    fractional_ = true;
  }
  const DecimalShape s = ShapeOf(n);
  int_digits_ = std::max(int_digits_, s.int_digits);
  scale_ = std::max(scale_, s.scale);
}

Status InferredType::Observe(od::value v, int depth) {
  ARROW_ASSIGN_OR_RAISE(od::json_type t, TypeOf(v));
  JsonKind k = KindOf(t);
  if (k == JsonKind::kNull) return Status::OK();
  if ((k == JsonKind::kObject || k == JsonKind::kArray) && depth >= kMaxNesting) {
    k = JsonKind::kMixed;
  }
  if (kind_ == JsonKind::kNull) {
    kind_ = k;
  } else if (kind_ != k) {
    BecomeMixed();
  }
  switch (kind_) {
    case JsonKind::kMixed:
      return ValidateValue(v);
    case JsonKind::kBool: {
      bool b;
      SLUICE_SJ(v.get_bool().get(b));
      return Status::OK();
    }
    case JsonKind::kString: {
      std::string_view s;
      SLUICE_SJ(v.get_string().get(s));
      return Status::OK();
    }
    case JsonKind::kNumber: {
      ARROW_ASSIGN_OR_RAISE(std::string_view token, NumberToken(v));
      ObserveNumber(token);
      return Status::OK();
    }
    case JsonKind::kObject: {
      od::object obj;
      SLUICE_SJ(v.get_object().get(obj));
      return ObserveObject(obj, depth, nullptr);
    }
    case JsonKind::kArray: {
      od::array arr;
      SLUICE_SJ(v.get_array().get(arr));
      if (!element_) element_ = std::make_unique<InferredType>();
      for (auto item : arr) {
        od::value element;
        SLUICE_SJ(std::move(item).get(element));
        ARROW_RETURN_NOT_OK(element_->Observe(element, depth + 1));
      }
      return Status::OK();
    }
    case JsonKind::kNull:
      break;
  }
  return Status::OK();
}

Status InferredType::ObserveObject(od::object obj, int depth, const PinnedTypes* pinned) {
  kind_ = JsonKind::kObject;
  const uint64_t visit = ++visits_;
  next_guess_ = 0;
  for (auto item : obj) {
    od::field field;
    SLUICE_SJ(std::move(item).get(field));
    std::string_view key;
    SLUICE_SJ(field.unescaped_key().get(key));
    int64_t i = FindField(fields_, index_, key, &next_guess_);
    if (i < 0) {
      Field f;
      f.name = std::string(key);
      if (pinned) {
        auto it = pinned->find(f.name);
        if (it != pinned->end()) f.pinned = it->second;
      }
      if (!f.pinned) f.type = std::make_unique<InferredType>();
      i = static_cast<int64_t>(fields_.size());
      index_.emplace(f.name, fields_.size());
      fields_.push_back(std::move(f));
      next_guess_ = fields_.size();
    }
    Field& f = fields_[static_cast<size_t>(i)];
    if (f.seen == visit) return ContentError("@" + f.name + ": duplicate key");
    f.seen = visit;
    Status st = f.pinned ? ConvertPinned(field.value(), *f.pinned, nullptr)
                         : f.type->Observe(field.value(), depth + 1);
    ARROW_RETURN_NOT_OK(InField(st, f.name));
  }
  return Status::OK();
}

void InferredType::AddMissingPinned(const PinnedTypes& pinned) {
  if (kind_ == JsonKind::kNull) kind_ = JsonKind::kObject;
  for (const auto& [name, type] : pinned) {
    if (index_.count(name)) continue;
    Field f;
    f.name = name;
    f.pinned = type;
    index_.emplace(name, fields_.size());
    fields_.push_back(std::move(f));
  }
}

std::shared_ptr<arrow::DataType> InferredType::ToArrow() const {
  switch (kind_) {
    case JsonKind::kBool:
      return arrow::boolean();
    case JsonKind::kNumber: {
      if (!fractional_ && !int_overflow_) return arrow::int64();
      const int32_t precision = int_digits_ + scale_;
      if (precision > 38) return arrow::float64();
      if (!fractional_) return arrow::decimal128(38, 0);
      return arrow::decimal128(std::max(precision, 1), scale_);
    }
    case JsonKind::kObject:
      return ToArrowStruct();
    case JsonKind::kArray:
      return arrow::list(arrow::field("item", element_->ToArrow(), true));
    case JsonKind::kNull:
      // Nothing but nulls: the type is unknown, and saying so (rather than
      // guessing utf8) lets the table take the type later files show.
      return arrow::null();
    case JsonKind::kString:
    case JsonKind::kMixed:
      break;
  }
  return arrow::utf8();
}

std::shared_ptr<arrow::DataType> InferredType::ToArrowStruct() const {
  arrow::FieldVector out;
  out.reserve(fields_.size());
  for (const auto& f : fields_) {
    out.push_back(arrow::field(f.name, f.pinned ? f.pinned : f.type->ToArrow(), true));
  }
  return arrow::struct_(std::move(out));
}

}  // namespace sluice::formats::json
