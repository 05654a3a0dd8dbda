#include "sluice/formats/json/event_schema.h"

#include <arrow/builder.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>

#include <limits>

#include "sluice/formats/json/number_text.h"
#include "sluice/formats/json/timestamp_text.h"

namespace sluice::formats::json {

namespace {

enum Slot : int {
  kUuid,
  kReadTs,
  kSourceTs,
  kObject,
  kReadMethod,
  kStreamName,
  kSchemaKey,
  kSortKeys,
  kSourceMetadata,
  kPayload,
  kNumSlots
};

constexpr const char* kNames[kNumSlots] = {
    "uuid",        "read_timestamp", "source_timestamp", "object",          "read_method",
    "stream_name", "schema_key",     "sort_keys",        "source_metadata", "payload"};

int SlotOf(std::string_view key) {
  for (int i = 0; i < kNumSlots; ++i) {
    if (key == kNames[i]) return i;
  }
  return -1;
}

std::shared_ptr<arrow::DataType> SortKeyType() {
  return arrow::struct_(
      {arrow::field("string", arrow::utf8(), true), arrow::field("long", arrow::int64(), true)});
}

// See InField in type_inference.cc for the '@' path convention.
Status Prefixed(const Status& st, const char* name) {
  if (st.ok() || IsSyntaxError(st)) return st;
  const std::string& m = st.message();
  if (!m.empty() && m[0] == '@') return st.WithMessage(name, ".", m.substr(1));
  return st.WithMessage(name, ": ", m);
}

class TimestampWriter : public ColumnWriter {
 public:
  explicit TimestampWriter(arrow::ArrayBuilder* b) : b_(static_cast<arrow::TimestampBuilder*>(b)) {}
  Status Append(od::value v) override {
    int64_t us;
    bool is_null;
    ARROW_RETURN_NOT_OK(EventTimestampMicros(v, &us, &is_null));
    return is_null ? b_->AppendNull() : b_->Append(us);
  }
  Status AppendNull() override { return b_->AppendNull(); }

 private:
  arrow::TimestampBuilder* b_;
};

// sort_keys: each element becomes {string} or {long}; see the header.
class SortKeysWriter : public ColumnWriter {
 public:
  explicit SortKeysWriter(arrow::ArrayBuilder* b)
      : list_(static_cast<arrow::ListBuilder*>(b)),
        item_(static_cast<arrow::StructBuilder*>(list_->value_builder())),
        str_(static_cast<arrow::StringBuilder*>(item_->field_builder(0))),
        long_(static_cast<arrow::Int64Builder*>(item_->field_builder(1))) {}

  Status Append(od::value v) override {
    ARROW_ASSIGN_OR_RAISE(od::json_type t, TypeOf(v));
    if (t == od::json_type::null) return list_->AppendNull();
    od::array arr;
    SLUICE_SJ(v.get_array().get(arr));
    ARROW_RETURN_NOT_OK(list_->Append());
    for (auto item : arr) {
      od::value e;
      SLUICE_SJ(std::move(item).get(e));
      ARROW_RETURN_NOT_OK(AppendKey(e));
    }
    return Status::OK();
  }
  Status AppendNull() override { return list_->AppendNull(); }

 private:
  Status AppendKey(od::value e) {
    ARROW_ASSIGN_OR_RAISE(od::json_type t, TypeOf(e));
    if (t == od::json_type::null) return item_->AppendNull();
    ARROW_RETURN_NOT_OK(item_->Append());
    if (t == od::json_type::string) {
      std::string_view s;
      SLUICE_SJ(e.get_string().get(s));
      ARROW_RETURN_NOT_OK(str_->Append(s));
      return long_->AppendNull();
    }
    if (t == od::json_type::number) {
      ARROW_ASSIGN_OR_RAISE(std::string_view token, NumberToken(e));
      NumberText n;
      int64_t x;
      if (ScanNumber(token, &n) && n.is_integer() && IntegerToInt64(n, &x)) {
        ARROW_RETURN_NOT_OK(str_->AppendNull());
        return long_->Append(x);
      }
      ARROW_RETURN_NOT_OK(str_->Append(token));
      return long_->AppendNull();
    }
    scratch_.clear();
    ARROW_RETURN_NOT_OK(AppendJsonText(e, t, &scratch_));
    ARROW_RETURN_NOT_OK(str_->Append(scratch_));
    return long_->AppendNull();
  }

  arrow::ListBuilder* list_;
  arrow::StructBuilder* item_;
  arrow::StringBuilder* str_;
  arrow::Int64Builder* long_;
  std::string scratch_;
};

}  // namespace

Status EventTimestampMicros(od::value v, int64_t* micros, bool* is_null) {
  *is_null = false;
  ARROW_ASSIGN_OR_RAISE(od::json_type t, TypeOf(v));
  if (t == od::json_type::null) {
    *is_null = true;
    return Status::OK();
  }
  if (t == od::json_type::string) {
    std::string_view s;
    SLUICE_SJ(v.get_string().get(s));
    TimePoint tp;
    if (ParseTimePoint(s, &tp) && TimePointToUnits(tp, 1000000, micros)) return Status::OK();
    return ContentError("not a timestamp: \"" + std::string(s.substr(0, 64)) + "\"");
  }
  if (t == od::json_type::number) {
    ARROW_ASSIGN_OR_RAISE(std::string_view token, NumberToken(v));
    NumberText n;
    ScanNumber(token, &n);
    n.exponent += 3;  // epoch milliseconds -> microseconds, exactly
    n.has_exponent = true;
    if (ToInteger(n, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(),
                  micros)) {
      return Status::OK();
    }
    return ContentError("not a timestamp in epoch milliseconds: " + std::string(token));
  }
  ARROW_RETURN_NOT_OK(ValidateValue(v));
  return ContentError("a timestamp must be a string or a number");
}

Status EventSchema::Observe(od::object event) {
  uint32_t seen = 0;
  for (auto item : event) {
    od::field field;
    SLUICE_SJ(std::move(item).get(field));
    std::string_view key;
    SLUICE_SJ(field.unescaped_key().get(key));
    const int slot = SlotOf(key);
    if (slot < 0) {
      ARROW_RETURN_NOT_OK(ValidateValue(field.value()));
      continue;
    }
    if (seen & (1u << slot))
      return ContentError(std::string("duplicate key \"") + kNames[slot] + "\"");
    seen |= 1u << slot;
    od::value v = field.value();
    switch (slot) {
      case kReadTs:
      case kSourceTs: {
        int64_t us;
        bool is_null;
        ARROW_RETURN_NOT_OK(Prefixed(EventTimestampMicros(v, &us, &is_null), kNames[slot]));
        break;
      }
      case kSortKeys: {
        ARROW_ASSIGN_OR_RAISE(od::json_type t, TypeOf(v));
        if (t == od::json_type::null) break;
        if (t != od::json_type::array) {
          ARROW_RETURN_NOT_OK(ValidateValue(v));
          return ContentError("sort_keys: not an array");
        }
        ARROW_RETURN_NOT_OK(ValidateValue(v));
        break;
      }
      case kSourceMetadata:
      case kPayload: {
        ARROW_ASSIGN_OR_RAISE(od::json_type t, TypeOf(v));
        if (t == od::json_type::null) break;
        if (t != od::json_type::object) {
          ARROW_RETURN_NOT_OK(ValidateValue(v));
          return ContentError(std::string(kNames[slot]) + ": not an object");
        }
        od::object obj;
        SLUICE_SJ(v.get_object().get(obj));
        InferredType& target = slot == kPayload ? payload_ : source_metadata_;
        ARROW_RETURN_NOT_OK(Prefixed(
            target.ObserveObject(obj, 1, slot == kPayload ? &pinned_ : nullptr), kNames[slot]));
        break;
      }
      default:
        ARROW_RETURN_NOT_OK(ValidateValue(v));
        break;
    }
  }
  return Status::OK();
}

std::shared_ptr<arrow::Schema> EventSchema::Finish() {
  payload_.AddMissingPinned(pinned_);
  const auto ts = arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
  arrow::FieldVector f;
  for (int i = 0; i < kNumSlots; ++i) {
    std::shared_ptr<arrow::DataType> t = arrow::utf8();
    if (i == kReadTs || i == kSourceTs) t = ts;
    if (i == kSortKeys) t = arrow::list(arrow::field("item", SortKeyType(), true));
    if (i == kSourceMetadata) t = source_metadata_.ToArrowStruct();
    if (i == kPayload) t = payload_.ToArrowStruct();
    f.push_back(arrow::field(kNames[i], t, true));
  }
  return arrow::schema(std::move(f));
}

Result<std::unique_ptr<EventBuilder>> EventBuilder::Make(
    const EventSchema& schema, std::shared_ptr<arrow::Schema> arrow_schema,
    arrow::MemoryPool* pool) {
  std::unique_ptr<EventBuilder> out(new EventBuilder());
  out->schema_ = std::move(arrow_schema);
  std::unique_ptr<arrow::ArrayBuilder> root;
  ARROW_RETURN_NOT_OK(arrow::MakeBuilder(pool, arrow::struct_(out->schema_->fields()), &root));
  out->root_.reset(static_cast<arrow::StructBuilder*>(root.release()));
  auto* rb = out->root_.get();
  out->writer_ = std::make_unique<StructWriter>(rb, /*ignore_unknown=*/true);
  for (int i = 0; i < kNumSlots; ++i) {
    arrow::ArrayBuilder* child = rb->field_builder(i);
    std::unique_ptr<ColumnWriter> w;
    if (i == kReadTs || i == kSourceTs) {
      w = std::make_unique<TimestampWriter>(child);
    } else if (i == kSortKeys) {
      w = std::make_unique<SortKeysWriter>(child);
    } else if (i == kSourceMetadata || i == kPayload) {
      const InferredType& t = i == kPayload ? schema.payload() : schema.source_metadata();
      ARROW_ASSIGN_OR_RAISE(auto sw,
                            MakeStructWriter(t, static_cast<arrow::StructBuilder*>(child)));
      w = std::move(sw);
    } else {
      w = MakeTextWriter(child);
    }
    out->writer_->AddField(kNames[i], std::move(w));
  }
  return out;
}

EventBuilder::~EventBuilder() = default;

Status EventBuilder::Append(od::object event) {
  ARROW_RETURN_NOT_OK(writer_->AppendObject(event));
  ++length_;
  return Status::OK();
}

Result<std::shared_ptr<arrow::RecordBatch>> EventBuilder::Flush() {
  std::shared_ptr<arrow::Array> out;
  ARROW_RETURN_NOT_OK(root_->Finish(&out));
  const auto& s = static_cast<const arrow::StructArray&>(*out);
  arrow::ArrayVector columns;
  for (int i = 0; i < s.num_fields(); ++i) columns.push_back(s.field(i));
  const int64_t n = length_;
  length_ = 0;
  return arrow::RecordBatch::Make(schema_, n, std::move(columns));
}

}  // namespace sluice::formats::json
