#include "sluice/formats/json/column_writer.h"

#include <arrow/builder.h>
#include <arrow/type.h>

#include "sluice/formats/json/number_text.h"
#include "sluice/formats/json/pinned.h"

namespace sluice::formats::json {

namespace {

Status Mismatch(od::json_type t, const arrow::DataType& type) {
  return Status::UnknownError("JSON decoder: pass 2 met JSON type ", static_cast<int>(t), " in a ",
                              type.ToString(), " column that pass 1 did not see");
}

// Shared shape of the leaf writers: null handling, then one typed append.
template <typename Builder>
class Leaf : public ColumnWriter {
 public:
  explicit Leaf(arrow::ArrayBuilder* b) : b_(static_cast<Builder*>(b)) {}
  Status Append(od::value v) override {
    ARROW_ASSIGN_OR_RAISE(od::json_type t, TypeOf(v));
    if (t == od::json_type::null) return b_->AppendNull();
    return AppendValue(v, t);
  }
  Status AppendNull() override { return b_->AppendNull(); }

 protected:
  virtual Status AppendValue(od::value v, od::json_type t) = 0;
  Builder* b_;
};

class BoolWriter : public Leaf<arrow::BooleanBuilder> {
  using Leaf::Leaf;
  Status AppendValue(od::value v, od::json_type t) override {
    if (t != od::json_type::boolean) return Mismatch(t, *b_->type());
    bool x;
    SLUICE_SJ(v.get_bool().get(x));
    return b_->Append(x);
  }
};

// A column no event gave a value: every entry is null.
class NullWriter : public Leaf<arrow::NullBuilder> {
  using Leaf::Leaf;
  Status AppendValue(od::value, od::json_type t) override { return Mismatch(t, *b_->type()); }
};

class StringWriter : public Leaf<arrow::StringBuilder> {
  using Leaf::Leaf;
  Status AppendValue(od::value v, od::json_type t) override {
    if (t != od::json_type::string) return Mismatch(t, *b_->type());
    std::string_view s;
    SLUICE_SJ(v.get_string().get(s));
    return b_->Append(s);
  }
};

// Mixed columns, and the event's string fields when they are not strings.
class TextWriter : public Leaf<arrow::StringBuilder> {
 public:
  TextWriter(arrow::ArrayBuilder* b, bool strings_as_json)
      : Leaf(b), strings_as_json_(strings_as_json) {}

 private:
  Status AppendValue(od::value v, od::json_type t) override {
    if (t == od::json_type::string && !strings_as_json_) {
      std::string_view s;
      SLUICE_SJ(v.get_string().get(s));
      return b_->Append(s);
    }
    scratch_.clear();
    ARROW_RETURN_NOT_OK(AppendJsonText(v, t, &scratch_));
    return b_->Append(scratch_);
  }
  bool strings_as_json_;
  std::string scratch_;
};

class Int64Writer : public Leaf<arrow::Int64Builder> {
  using Leaf::Leaf;
  Status AppendValue(od::value v, od::json_type t) override {
    if (t != od::json_type::number) return Mismatch(t, *b_->type());
    int64_t x;
    SLUICE_SJ(v.get_int64().get(x));  // pass 1 saw a plain integer in range
    return b_->Append(x);
  }
};

class DecimalWriter : public Leaf<arrow::Decimal128Builder> {
 public:
  explicit DecimalWriter(arrow::ArrayBuilder* b)
      : Leaf(b),
        precision_(static_cast<const arrow::Decimal128Type&>(*b->type()).precision()),
        scale_(static_cast<const arrow::Decimal128Type&>(*b->type()).scale()) {}

 private:
  Status AppendValue(od::value v, od::json_type t) override {
    if (t != od::json_type::number) return Mismatch(t, *b_->type());
    ARROW_ASSIGN_OR_RAISE(std::string_view token, NumberToken(v));
    NumberText n;
    arrow::Decimal128 d;
    if (!ScanNumber(token, &n) || !ToDecimal128(n, precision_, scale_, &d)) {
      return Status::UnknownError("JSON decoder: ", token, " does not fit ",
                                  b_->type()->ToString());
    }
    return b_->Append(d);
  }
  int32_t precision_, scale_;
};

class DoubleWriter : public Leaf<arrow::DoubleBuilder> {
  using Leaf::Leaf;
  Status AppendValue(od::value v, od::json_type t) override {
    if (t != od::json_type::number) return Mismatch(t, *b_->type());
    ARROW_ASSIGN_OR_RAISE(std::string_view token, NumberToken(v));
    return b_->Append(ToDouble(token));
  }
};

class ListWriter : public ColumnWriter {
 public:
  ListWriter(arrow::ListBuilder* b, std::unique_ptr<ColumnWriter> items)
      : b_(b), items_(std::move(items)) {}
  Status Append(od::value v) override {
    ARROW_ASSIGN_OR_RAISE(od::json_type t, TypeOf(v));
    if (t == od::json_type::null) return b_->AppendNull();
    if (t != od::json_type::array) return Mismatch(t, *b_->type());
    od::array arr;
    SLUICE_SJ(v.get_array().get(arr));
    ARROW_RETURN_NOT_OK(b_->Append());
    for (auto item : arr) {
      od::value element;
      SLUICE_SJ(std::move(item).get(element));
      ARROW_RETURN_NOT_OK(items_->Append(element));
    }
    return Status::OK();
  }
  Status AppendNull() override { return b_->AppendNull(); }

 private:
  arrow::ListBuilder* b_;
  std::unique_ptr<ColumnWriter> items_;
};

class PinnedWriter : public ColumnWriter {
 public:
  PinnedWriter(std::shared_ptr<arrow::DataType> type, arrow::ArrayBuilder* b)
      : type_(std::move(type)), b_(b) {}
  Status Append(od::value v) override { return ConvertPinned(v, *type_, b_); }
  Status AppendNull() override { return b_->AppendNull(); }

 private:
  std::shared_ptr<arrow::DataType> type_;
  arrow::ArrayBuilder* b_;
};

}  // namespace

StructWriter::StructWriter(arrow::StructBuilder* builder, bool ignore_unknown)
    : builder_(builder), ignore_unknown_(ignore_unknown) {}

void StructWriter::AddField(std::string name, std::unique_ptr<ColumnWriter> writer) {
  index_.emplace(name, fields_.size());
  fields_.push_back(Slot{std::move(name), std::move(writer), 0});
}

Status StructWriter::Append(od::value v) {
  ARROW_ASSIGN_OR_RAISE(od::json_type t, TypeOf(v));
  if (t == od::json_type::null) return AppendNull();
  if (t != od::json_type::object) return Mismatch(t, *builder_->type());
  od::object obj;
  SLUICE_SJ(v.get_object().get(obj));
  return AppendObject(obj);
}

Status StructWriter::AppendNull() { return builder_->AppendNull(); }

Status StructWriter::AppendObject(od::object obj) {
  ARROW_RETURN_NOT_OK(builder_->Append());
  const uint64_t visit = ++visits_;
  next_guess_ = 0;
  for (auto item : obj) {
    od::field field;
    SLUICE_SJ(std::move(item).get(field));
    std::string_view key;
    SLUICE_SJ(field.unescaped_key().get(key));
    const int64_t i = FindField(fields_, index_, key, &next_guess_);
    if (i < 0) {
      if (ignore_unknown_) continue;  // On-Demand skips the unread value
      return Status::UnknownError("JSON decoder: pass 2 met key \"", key,
                                  "\" that pass 1 did not see");
    }
    Slot& slot = fields_[static_cast<size_t>(i)];
    if (slot.seen == visit) {
      return Status::UnknownError("JSON decoder: duplicate key \"", slot.name, "\" in pass 2");
    }
    slot.seen = visit;
    ARROW_RETURN_NOT_OK(slot.writer->Append(field.value()));
  }
  for (auto& slot : fields_) {
    if (slot.seen != visit) ARROW_RETURN_NOT_OK(slot.writer->AppendNull());
  }
  return Status::OK();
}

std::unique_ptr<ColumnWriter> MakePinnedWriter(std::shared_ptr<arrow::DataType> type,
                                               arrow::ArrayBuilder* builder) {
  return std::make_unique<PinnedWriter>(std::move(type), builder);
}

std::unique_ptr<ColumnWriter> MakeTextWriter(arrow::ArrayBuilder* builder) {
  return std::make_unique<TextWriter>(builder, /*strings_as_json=*/false);
}

Result<std::unique_ptr<StructWriter>> MakeStructWriter(const InferredType& type,
                                                       arrow::StructBuilder* builder) {
  auto out = std::make_unique<StructWriter>(builder, /*ignore_unknown=*/false);
  const auto& fields = type.fields();
  for (size_t i = 0; i < fields.size(); ++i) {
    arrow::ArrayBuilder* child = builder->field_builder(static_cast<int>(i));
    std::unique_ptr<ColumnWriter> w;
    if (fields[i].pinned) {
      w = MakePinnedWriter(fields[i].pinned, child);
    } else {
      ARROW_ASSIGN_OR_RAISE(w, MakeColumnWriter(*fields[i].type, child));
    }
    out->AddField(fields[i].name, std::move(w));
  }
  return out;
}

Result<std::unique_ptr<ColumnWriter>> MakeColumnWriter(const InferredType& type,
                                                       arrow::ArrayBuilder* builder) {
  switch (type.kind()) {
    case JsonKind::kBool:
      return std::make_unique<BoolWriter>(builder);
    case JsonKind::kNumber:
      switch (builder->type()->id()) {
        case arrow::Type::INT64:
          return std::make_unique<Int64Writer>(builder);
        case arrow::Type::DECIMAL128:
          return std::make_unique<DecimalWriter>(builder);
        default:
          return std::make_unique<DoubleWriter>(builder);
      }
    case JsonKind::kNull:
      if (builder->type()->id() == arrow::Type::NA) return std::make_unique<NullWriter>(builder);
      return std::make_unique<StringWriter>(builder);
    case JsonKind::kString:
      return std::make_unique<StringWriter>(builder);
    case JsonKind::kMixed:
      return std::make_unique<TextWriter>(builder, /*strings_as_json=*/true);
    case JsonKind::kArray: {
      auto* list = static_cast<arrow::ListBuilder*>(builder);
      ARROW_ASSIGN_OR_RAISE(auto items, MakeColumnWriter(*type.element(), list->value_builder()));
      return std::make_unique<ListWriter>(list, std::move(items));
    }
    case JsonKind::kObject: {
      ARROW_ASSIGN_OR_RAISE(auto w,
                            MakeStructWriter(type, static_cast<arrow::StructBuilder*>(builder)));
      return std::unique_ptr<ColumnWriter>(std::move(w));
    }
  }
  return Status::UnknownError("JSON decoder: unknown inferred kind");
}

}  // namespace sluice::formats::json
