#include "sluice/formats/debezium/avro_record_reader.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>
#include <arrow/util/decimal.h>
#include <arrow/util/utf8.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "sluice/formats/avro/binary_cursor.h"
#include "sluice/formats/avro/decimal_bytes.h"
#include "sluice/formats/connect/avro_connect_schema.h"
#include "sluice/formats/connect/json_value_writer.h"
#include "sluice/formats/debezium/record_run_builder.h"
#include "sluice/formats/json/timestamp_text.h"

namespace sluice::formats::debezium {

using avro::BinaryCursor;
using connect::AvroLayout;
using connect::AvroLayoutPtr;
using connect::ConnectSchema;
using connect::ConnectSchemaPtr;
using connect::ConnectType;
using connect::LogicalType;
using Kind = AvroLayout::Kind;

namespace {

// Decimals of more bytes than this are refused, as in the JSON reader.
constexpr size_t kMaxDecimalBytes = 1024;
constexpr int64_t kDayMicros = int64_t{86400} * 1000 * 1000;

// One Connect value read from Avro binary into an Arrow builder. Read() with
// write=false only checks (the cursor still advances), so a record is
// checked whole before any of it is appended.
class Writer {
 public:
  Writer(const ConnectSchema& s, AvroLayoutPtr layout, arrow::ArrayBuilder* b, std::string path)
      : layout_(std::move(layout)), optional_(s.optional), builder_(b), path_(std::move(path)) {}
  virtual ~Writer() = default;

  Status Read(BinaryCursor& in, bool write) {
    if (layout_->union_branches > 0) {
      int64_t branch = 0;
      ARROW_RETURN_NOT_OK(At(in.ReadLong(&branch)));
      if (branch < 0 || branch >= layout_->union_branches) {
        return At(in.Error("union branch ", branch, " of ", layout_->union_branches));
      }
      if (branch == layout_->null_branch) {
        if (refuse_null_) return Refuse("null where a value is required");
        return write ? builder_->AppendNull() : Status::OK();
      }
    }
    return ReadValue(in, write);
  }

  void refuse_null() { refuse_null_ = true; }

 protected:
  virtual Status ReadValue(BinaryCursor& in, bool write) = 0;

  // A cursor error (or any Invalid), prefixed with this value's path.
  Status At(Status st) const {
    if (st.ok()) return st;
    return Refuse(st.message());
  }
  Status Refuse(const std::string& what) const {
    return Status::Invalid(path_.empty() ? "value" : path_, ": ", what);
  }

  AvroLayoutPtr layout_;
  bool optional_;
  bool refuse_null_ = false;
  arrow::ArrayBuilder* builder_;
  std::string path_;
};

// Avro int / long into an integer, date, time or timestamp column: the raw
// value times `factor`, range checked (times within a day).
class IntegerWriter final : public Writer {
 public:
  IntegerWriter(const ConnectSchema& s, AvroLayoutPtr l, arrow::ArrayBuilder* b, std::string path,
                int64_t factor, int64_t min, int64_t max)
      : Writer(s, std::move(l), b, std::move(path)), factor_(factor), min_(min), max_(max) {}

  Status ReadValue(BinaryCursor& in, bool write) override {
    int64_t raw = 0;
    if (layout_->kind == Kind::kInt) {
      int32_t v = 0;
      ARROW_RETURN_NOT_OK(At(in.ReadInt(&v)));
      raw = v;
    } else {
      ARROW_RETURN_NOT_OK(At(in.ReadLong(&raw)));
    }
    int64_t v = 0;
    if (__builtin_mul_overflow(raw, factor_, &v)) {
      return Refuse("value " + std::to_string(raw) + " overflows");
    }
    if (v < min_ || v > max_) return Refuse("value " + std::to_string(raw) + " out of range");
    if (!write) return Status::OK();
    switch (builder_->type()->id()) {
      case arrow::Type::INT8:
        return static_cast<arrow::Int8Builder*>(builder_)->Append(static_cast<int8_t>(v));
      case arrow::Type::INT16:
        return static_cast<arrow::Int16Builder*>(builder_)->Append(static_cast<int16_t>(v));
      case arrow::Type::INT32:
        return static_cast<arrow::Int32Builder*>(builder_)->Append(static_cast<int32_t>(v));
      case arrow::Type::DATE32:
        return static_cast<arrow::Date32Builder*>(builder_)->Append(static_cast<int32_t>(v));
      case arrow::Type::TIME64:
        return static_cast<arrow::Time64Builder*>(builder_)->Append(v);
      case arrow::Type::TIMESTAMP:
        return static_cast<arrow::TimestampBuilder*>(builder_)->Append(v);
      default:
        return static_cast<arrow::Int64Builder*>(builder_)->Append(v);
    }
  }

 private:
  int64_t factor_, min_, max_;
};

template <typename Builder, typename T>
class FloatWriter final : public Writer {
 public:
  using Writer::Writer;
  Status ReadValue(BinaryCursor& in, bool write) override {
    T v{};
    if constexpr (sizeof(T) == 4) {
      ARROW_RETURN_NOT_OK(At(in.ReadFloat(&v)));
    } else {
      ARROW_RETURN_NOT_OK(At(in.ReadDouble(&v)));
    }
    return write ? static_cast<Builder*>(builder_)->Append(v) : Status::OK();
  }
};

class BoolWriter final : public Writer {
 public:
  using Writer::Writer;
  Status ReadValue(BinaryCursor& in, bool write) override {
    bool v = false;
    ARROW_RETURN_NOT_OK(At(in.ReadBool(&v)));
    return write ? static_cast<arrow::BooleanBuilder*>(builder_)->Append(v) : Status::OK();
  }
};

// Avro string or enum into utf8; or a ZonedTimestamp string into
// timestamp(us, UTC).
class StringWriter final : public Writer {
 public:
  StringWriter(const ConnectSchema& s, AvroLayoutPtr l, arrow::ArrayBuilder* b, std::string path)
      : Writer(s, std::move(l), b, std::move(path)),
        zoned_(s.logical == LogicalType::kZonedTimestamp) {}

  Status ReadValue(BinaryCursor& in, bool write) override {
    std::string_view text;
    if (layout_->kind == Kind::kEnum) {
      int32_t index = 0;
      ARROW_RETURN_NOT_OK(At(in.ReadInt(&index)));
      if (index < 0 || static_cast<size_t>(index) >= layout_->symbols.size()) {
        return Refuse("enum index " + std::to_string(index) + " of " +
                      std::to_string(layout_->symbols.size()) + " symbols");
      }
      text = layout_->symbols[static_cast<size_t>(index)];
    } else {
      ARROW_RETURN_NOT_OK(At(in.ReadBytes(&text)));
      ARROW_RETURN_NOT_OK(At(in.CheckUtf8(text)));
    }
    if (zoned_) {
      json::TimePoint tp;
      int64_t us = 0;
      if (!json::ParseTimePoint(text, &tp) || !json::TimePointToUnits(tp, 1000000, &us)) {
        return Refuse("not an ISO-8601 timestamp: '" + std::string(text.substr(0, 64)) + "'");
      }
      return write ? static_cast<arrow::TimestampBuilder*>(builder_)->Append(us) : Status::OK();
    }
    return write ? static_cast<arrow::StringBuilder*>(builder_)->Append(text) : Status::OK();
  }

 private:
  bool zoned_;
};

// Avro bytes or fixed: the bytes (Connect bytes), or a Connect Decimal's
// unscaled big-endian two's complement value.
class BytesWriter final : public Writer {
 public:
  BytesWriter(const ConnectSchema& s, AvroLayoutPtr l, arrow::ArrayBuilder* b, std::string path)
      : Writer(s, std::move(l), b, std::move(path)),
        decimal_(s.logical == LogicalType::kDecimal),
        scale_(s.scale) {}

  Status ReadValue(BinaryCursor& in, bool write) override {
    std::string_view bytes;
    if (layout_->kind == Kind::kFixed) {
      const uint8_t* p = nullptr;
      ARROW_RETURN_NOT_OK(At(in.ReadFixed(layout_->fixed_size, &p)));
      bytes = std::string_view(reinterpret_cast<const char*>(p),
                               static_cast<size_t>(layout_->fixed_size));
    } else {
      ARROW_RETURN_NOT_OK(At(in.ReadBytes(&bytes)));
    }
    if (!decimal_) {
      return write ? static_cast<arrow::BinaryBuilder*>(builder_)->Append(bytes) : Status::OK();
    }
    if (bytes.size() > kMaxDecimalBytes) {
      return Refuse("a decimal of " + std::to_string(bytes.size()) + " bytes");
    }
    if (builder_->type()->id() == arrow::Type::STRING) {
      if (!write) return Status::OK();
      return static_cast<arrow::StringBuilder*>(builder_)->Append(
          connect::DecimalText(bytes, scale_));
    }
    const auto& dec = static_cast<const arrow::Decimal128Type&>(*builder_->type());
    const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
    auto len = static_cast<int64_t>(bytes.size());
    avro::TrimSignExtension(&data, &len, 16);
    if (len > 16) {
      return Refuse("decimal beyond 128 bits: " + connect::DecimalText(bytes, scale_));
    }
    arrow::Decimal128 value(0);
    if (len > 0) {
      auto parsed = arrow::Decimal128::FromBigEndian(data, static_cast<int32_t>(len));
      if (!parsed.ok()) return Refuse(parsed.status().message());
      value = *parsed;
    }
    if (!value.FitsInPrecision(dec.precision())) {
      return Refuse("decimal " + connect::DecimalText(bytes, scale_) + " exceeds precision " +
                    std::to_string(dec.precision()));
    }
    return write ? static_cast<arrow::Decimal128Builder*>(builder_)->Append(value) : Status::OK();
  }

 private:
  bool decimal_;
  int32_t scale_;
};

// io.debezium.data.VariableScaleDecimal: a record {scale int, value bytes}
// (either order) into exact decimal text.
class VariableScaleWriter final : public Writer {
 public:
  VariableScaleWriter(const ConnectSchema& s, AvroLayoutPtr l, arrow::ArrayBuilder* b,
                      std::string path, bool scale_first)
      : Writer(s, std::move(l), b, std::move(path)), scale_first_(scale_first) {}

  Status ReadValue(BinaryCursor& in, bool write) override {
    int32_t scale = 0;
    std::string_view bytes;
    for (int part = 0; part < 2; ++part) {
      if ((part == 0) == scale_first_) {
        ARROW_RETURN_NOT_OK(At(in.ReadInt(&scale)));
      } else {
        ARROW_RETURN_NOT_OK(At(in.ReadBytes(&bytes)));
      }
    }
    if (scale < 0 || scale > 1000 || bytes.size() > kMaxDecimalBytes) {
      return Refuse("a decimal of scale " + std::to_string(scale) + " and " +
                    std::to_string(bytes.size()) + " bytes");
    }
    if (!write) return Status::OK();
    return static_cast<arrow::StringBuilder*>(builder_)->Append(connect::DecimalText(bytes, scale));
  }

 private:
  bool scale_first_;
};

class StructWriter final : public Writer {
 public:
  using Writer::Writer;
  void Add(std::unique_ptr<Writer> w) { children_.push_back(std::move(w)); }

  Status ReadValue(BinaryCursor& in, bool write) override {
    if (write) ARROW_RETURN_NOT_OK(static_cast<arrow::StructBuilder*>(builder_)->Append());
    for (auto& child : children_) ARROW_RETURN_NOT_OK(child->Read(in, write));
    return Status::OK();
  }

 private:
  std::vector<std::unique_ptr<Writer>> children_;
};

class ArrayWriter final : public Writer {
 public:
  ArrayWriter(const ConnectSchema& s, AvroLayoutPtr l, arrow::ArrayBuilder* b, std::string path,
              std::unique_ptr<Writer> items)
      : Writer(s, std::move(l), b, std::move(path)), items_(std::move(items)) {}

  Status ReadValue(BinaryCursor& in, bool write) override {
    if (write) ARROW_RETURN_NOT_OK(static_cast<arrow::ListBuilder*>(builder_)->Append());
    const int64_t item_bytes = layout_->children[0]->min_bytes;
    while (true) {
      int64_t count = 0;
      ARROW_RETURN_NOT_OK(At(in.ReadBlockCount(item_bytes, &count)));
      if (count == 0) return Status::OK();
      for (int64_t i = 0; i < count; ++i) ARROW_RETURN_NOT_OK(items_->Read(in, write));
    }
  }

 private:
  std::unique_ptr<Writer> items_;
};

// An Avro map (string keys) or AvroConverter's array of {key, value}
// records, into map<K, V>.
class MapWriter final : public Writer {
 public:
  MapWriter(const ConnectSchema& s, AvroLayoutPtr l, arrow::ArrayBuilder* b, std::string path,
            std::unique_ptr<Writer> keys, std::unique_ptr<Writer> values)
      : Writer(s, std::move(l), b, std::move(path)),
        keys_(std::move(keys)),
        values_(std::move(values)) {
    keys_->refuse_null();
  }

  Status ReadValue(BinaryCursor& in, bool write) override {
    if (write) ARROW_RETURN_NOT_OK(static_cast<arrow::MapBuilder*>(builder_)->Append());
    const bool entries = layout_->kind == Kind::kMapEntries;
    const int64_t item_bytes =
        entries ? layout_->children[0]->min_bytes + layout_->children[1]->min_bytes
                : 1 + layout_->children[0]->min_bytes;
    while (true) {
      int64_t count = 0;
      ARROW_RETURN_NOT_OK(At(in.ReadBlockCount(item_bytes, &count)));
      if (count == 0) return Status::OK();
      for (int64_t i = 0; i < count; ++i) {
        if (entries && !layout_->key_first) {
          ARROW_RETURN_NOT_OK(values_->Read(in, write));
          ARROW_RETURN_NOT_OK(keys_->Read(in, write));
        } else {
          ARROW_RETURN_NOT_OK(keys_->Read(in, write));
          ARROW_RETURN_NOT_OK(values_->Read(in, write));
        }
      }
    }
  }

 private:
  std::unique_ptr<Writer> keys_;
  std::unique_ptr<Writer> values_;
};

// The key layout of an Avro map: a plain string.
AvroLayoutPtr MapKeyLayout() {
  static const AvroLayoutPtr kKey = [] {
    auto l = std::make_shared<AvroLayout>();
    l->kind = Kind::kString;
    l->min_bytes = 1;
    return AvroLayoutPtr(l);
  }();
  return kKey;
}

Status Mismatch(const std::string& path, const ConnectSchema& s) {
  return Status::Invalid(path, ": Avro layout does not fit Connect type ",
                         connect::ConnectTypeName(s.type));
}

Result<std::unique_ptr<Writer>> MakeWriter(const ConnectSchemaPtr& schema,
                                           const AvroLayoutPtr& layout,
                                           arrow::ArrayBuilder* builder, std::string path) {
  const ConnectSchema& s = *schema;
  const Kind kind = layout->kind;
  const bool integral = kind == Kind::kInt || kind == Kind::kLong;
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  auto integer = [&](int64_t factor, int64_t min, int64_t max) -> Result<std::unique_ptr<Writer>> {
    if (!integral) return Mismatch(path, s);
    return std::make_unique<IntegerWriter>(s, layout, builder, std::move(path), factor, min, max);
  };
  switch (s.logical) {
    case LogicalType::kDate:
      return integer(1, INT32_MIN, INT32_MAX);
    case LogicalType::kTimeMillis:
      return integer(1000, 0, kDayMicros - 1);
    case LogicalType::kTimeMicros:
      return integer(1, 0, kDayMicros - 1);
    case LogicalType::kTimeNanos:
      return integer(1, 0, kDayMicros * 1000 - 1);
    case LogicalType::kTimestampMillis:
    case LogicalType::kTimestampMillisUtc:
      return integer(1000, kMin, kMax);
    case LogicalType::kTimestampMicros:
    case LogicalType::kTimestampNanos:
      return integer(1, kMin, kMax);
    case LogicalType::kZonedTimestamp:
      if (kind != Kind::kString && kind != Kind::kEnum) return Mismatch(path, s);
      return std::make_unique<StringWriter>(s, layout, builder, std::move(path));
    case LogicalType::kDecimal:
      if (kind != Kind::kBytes && kind != Kind::kFixed) return Mismatch(path, s);
      return std::make_unique<BytesWriter>(s, layout, builder, std::move(path));
    case LogicalType::kVariableScaleDecimal: {
      if (kind != Kind::kRecord || s.fields.size() != 2 || layout->children.size() != 2) {
        return Status::Invalid(path, ": VariableScaleDecimal other than {scale, value}");
      }
      const bool scale_first = s.fields[0].name == "scale";
      const auto& scale = *layout->children[scale_first ? 0 : 1];
      const auto& value = *layout->children[scale_first ? 1 : 0];
      if (scale.kind != Kind::kInt || scale.union_branches != 0 || value.kind != Kind::kBytes ||
          value.union_branches != 0) {
        return Status::Invalid(path, ": VariableScaleDecimal other than {scale int, value bytes}");
      }
      return std::make_unique<VariableScaleWriter>(s, layout, builder, std::move(path),
                                                   scale_first);
    }
    case LogicalType::kNone:
      break;
  }
  switch (s.type) {
    case ConnectType::kInt8:
      return integer(1, INT8_MIN, INT8_MAX);
    case ConnectType::kInt16:
      return integer(1, INT16_MIN, INT16_MAX);
    case ConnectType::kInt32:
      return integer(1, INT32_MIN, INT32_MAX);
    case ConnectType::kInt64:
      return integer(1, kMin, kMax);
    case ConnectType::kFloat32:
      if (kind != Kind::kFloat) return Mismatch(path, s);
      return std::make_unique<FloatWriter<arrow::FloatBuilder, float>>(s, layout, builder,
                                                                       std::move(path));
    case ConnectType::kFloat64:
      if (kind != Kind::kDouble) return Mismatch(path, s);
      return std::make_unique<FloatWriter<arrow::DoubleBuilder, double>>(s, layout, builder,
                                                                         std::move(path));
    case ConnectType::kBoolean:
      if (kind != Kind::kBoolean) return Mismatch(path, s);
      return std::make_unique<BoolWriter>(s, layout, builder, std::move(path));
    case ConnectType::kString:
      if (kind != Kind::kString && kind != Kind::kEnum) return Mismatch(path, s);
      return std::make_unique<StringWriter>(s, layout, builder, std::move(path));
    case ConnectType::kBytes:
      if (kind != Kind::kBytes && kind != Kind::kFixed) return Mismatch(path, s);
      return std::make_unique<BytesWriter>(s, layout, builder, std::move(path));
    case ConnectType::kStruct: {
      if (kind != Kind::kRecord || layout->children.size() != s.fields.size()) {
        return Mismatch(path, s);
      }
      auto w = std::make_unique<StructWriter>(s, layout, builder, path);
      auto* sb = static_cast<arrow::StructBuilder*>(builder);
      for (size_t i = 0; i < s.fields.size(); ++i) {
        ARROW_ASSIGN_OR_RAISE(auto child, MakeWriter(s.fields[i].schema, layout->children[i],
                                                     sb->field_builder(static_cast<int>(i)),
                                                     path.empty() ? s.fields[i].name
                                                                  : path + "." + s.fields[i].name));
        w->Add(std::move(child));
      }
      return w;
    }
    case ConnectType::kArray: {
      if (kind != Kind::kArray) return Mismatch(path, s);
      auto* lb = static_cast<arrow::ListBuilder*>(builder);
      ARROW_ASSIGN_OR_RAISE(
          auto items, MakeWriter(s.items, layout->children[0], lb->value_builder(), path + "[]"));
      return std::make_unique<ArrayWriter>(s, layout, builder, std::move(path), std::move(items));
    }
    case ConnectType::kMap: {
      auto* mb = static_cast<arrow::MapBuilder*>(builder);
      AvroLayoutPtr key_layout, value_layout;
      if (kind == Kind::kMap) {
        key_layout = MapKeyLayout();
        value_layout = layout->children[0];
      } else if (kind == Kind::kMapEntries) {
        key_layout = layout->children[0];
        value_layout = layout->children[1];
      } else {
        return Mismatch(path, s);
      }
      ARROW_ASSIGN_OR_RAISE(auto keys,
                            MakeWriter(s.keys, key_layout, mb->key_builder(), path + "{key}"));
      ARROW_ASSIGN_OR_RAISE(
          auto values, MakeWriter(s.values, value_layout, mb->item_builder(), path + "{value}"));
      return std::make_unique<MapWriter>(s, layout, builder, std::move(path), std::move(keys),
                                         std::move(values));
    }
  }
  return Mismatch(path, s);
}

}  // namespace

struct AvroRecordReader::Compiled {
  ConnectSchemaPtr schema;
  AvroLayoutPtr layout;
  std::shared_ptr<arrow::DataType> type;
  Status error;  ///< why the schema cannot be used (then schema is null)
};

namespace {

// One run of Avro payloads: the shared run of rows, and the writer of the
// run's layout into its builder.
class AvroRun {
 public:
  static Result<std::unique_ptr<AvroRun>> Make(ConnectSchemaPtr schema, const AvroLayoutPtr& layout,
                                               const std::shared_ptr<arrow::DataType>& type) {
    auto run = std::unique_ptr<AvroRun>(new AvroRun());
    ARROW_ASSIGN_OR_RAISE(run->rows_, RecordRunBuilder::Make(std::move(schema), type, false));
    ARROW_ASSIGN_OR_RAISE(run->writer_,
                          MakeWriter(run->rows_->schema(), layout, run->rows_->builder(), ""));
    // A null record is a tombstone only when it is the whole payload.
    run->writer_->refuse_null();
    return run;
  }

  // A refused payload (trailing bytes too) is a bad message: its reason.
  Result<std::optional<std::string>> Add(std::string_view payload, int64_t index) {
    const auto* data = reinterpret_cast<const uint8_t*>(payload.data());
    const auto size = static_cast<int64_t>(payload.size());
    auto check = [&]() -> Status {
      BinaryCursor in(data, size, 0);
      ARROW_RETURN_NOT_OK(writer_->Read(in, false));
      if (!in.at_end()) {
        return Status::Invalid(in.remaining(), " bytes after the Avro record (of ", size, ")");
      }
      return Status::OK();
    };
    auto append = [&]() -> Status {
      BinaryCursor in(data, size, 0);
      return writer_->Read(in, true);
    };
    return rows_->Add(index, check, append);
  }

  Status FinishInto(DecodedRecords* out) { return rows_->FinishInto(out); }

 private:
  AvroRun() = default;
  std::unique_ptr<RecordRunBuilder> rows_;
  std::unique_ptr<Writer> writer_;
};

// True when the payload is the null branch of a root union (a tombstone).
bool RootIsNull(const AvroLayout& root, std::string_view payload) {
  if (root.union_branches == 0 || root.null_branch < 0) return false;
  BinaryCursor c(reinterpret_cast<const uint8_t*>(payload.data()),
                 static_cast<int64_t>(payload.size()), 0);
  int64_t branch = 0;
  return c.ReadLong(&branch).ok() && branch == root.null_branch && c.at_end();
}

}  // namespace

AvroRecordReader::AvroRecordReader(SchemaResolver resolver, AvroRecordOptions opts)
    : AvroRecordReader(
          WriterSchemaResolver([resolver = std::move(resolver)](
                                   const confluent::SchemaRef& ref) -> Result<WriterSchema> {
            if (!resolver) return Status::Invalid("no schema resolver");
            ARROW_ASSIGN_OR_RAISE(auto text, resolver(ref));
            return WriterSchema{std::move(text), {}};
          }),
          std::move(opts)) {}

AvroRecordReader::AvroRecordReader(WriterSchemaResolver resolver, AvroRecordOptions opts)
    : resolver_(std::move(resolver)), opts_(std::move(opts)) {
  arrow::util::InitializeUTF8();
}

AvroRecordReader::~AvroRecordReader() = default;

Result<std::shared_ptr<AvroRecordReader::Compiled>> AvroRecordReader::Resolve(
    const confluent::SchemaRef& ref) {
  auto it = by_ref_.find(ref);
  if (it != by_ref_.end()) return it->second;
  if (!resolver_) return Status::Invalid("no schema resolver");
  ARROW_ASSIGN_OR_RAISE(WriterSchema writer, resolver_(ref));
  // The cache key: the text, then each reference (length-prefixed).
  std::string text = writer.text;
  for (const auto& r : writer.references) {
    text += '\0' + std::to_string(r.size()) + ':' + r;
  }
  // Bounded: a stream has a handful of schemas; a flood of distinct ones
  // only costs recompiling.
  if (by_ref_.size() >= 1024) by_ref_.clear();
  auto same = by_text_.find(text);
  if (same != by_text_.end()) {
    by_ref_.emplace(ref, same->second);
    return same->second;
  }
  auto c = std::make_shared<Compiled>();
  auto converted = connect::AvroToConnectSchema(writer.text, writer.references);
  if (!converted.ok()) {
    c->error = converted.status();
  } else if (converted->schema->type != ConnectType::kStruct) {
    c->error = Status::Invalid("the value schema is a ",
                               connect::ConnectTypeName(converted->schema->type), ", not a record");
  } else {
    auto type = connect::ArrowTypeFor(*converted->schema, opts_.types);
    if (!type.ok()) {
      c->error = type.status();
    } else {
      // Compile a writer once to find layouts it refuses.
      auto trial = AvroRun::Make(converted->schema, converted->layout, *type);
      if (!trial.ok()) {
        c->error = trial.status();
      } else {
        c->schema = converted->schema;
        c->layout = converted->layout;
        c->type = *type;
      }
    }
  }
  if (by_text_.size() >= 1024) by_text_.clear();
  by_text_.emplace(std::move(text), c);
  by_ref_.emplace(ref, c);
  return c;
}

Result<DecodedRecords> AvroRecordReader::Decode(
    const std::vector<std::optional<std::string_view>>& values,
    const std::vector<std::vector<std::string_view>>& value_schema_headers) {
  if (!value_schema_headers.empty() && value_schema_headers.size() != values.size()) {
    return Status::Invalid("value_schema_headers has ", value_schema_headers.size(),
                           " entries for ", values.size(), " values");
  }
  static const std::vector<std::string_view> kNoHeaders;
  std::unordered_map<confluent::SchemaRef, std::string, confluent::SchemaRefHash> unknown;
  DecodedRecords out;
  std::unique_ptr<AvroRun> run;
  std::shared_ptr<Compiled> run_schema;
  auto flush = [&]() -> Status {
    if (run) ARROW_RETURN_NOT_OK(run->FinishInto(&out));
    run.reset();
    run_schema.reset();
    return Status::OK();
  };
  auto bad = [&](size_t i, std::string reason) {
    out.bad.push_back({static_cast<int64_t>(i), std::move(reason)});
  };

  for (size_t i = 0; i < values.size(); ++i) {
    if (RecordUndecodable(values[i], static_cast<int64_t>(i), opts_.max_message_bytes, &out)) {
      continue;
    }
    auto framed = confluent::Unframe(
        *values[i], value_schema_headers.empty() ? kNoHeaders : value_schema_headers[i]);
    if (!framed.ok()) {
      bad(i, framed.status().message());
      continue;
    }
    // An id the registry does not know is asked once per call (not across
    // calls: a schema registered later is found).
    auto unknown_it = unknown.find(framed->schema);
    if (unknown_it != unknown.end()) {
      bad(i, unknown_it->second);
      continue;
    }
    auto compiled = Resolve(framed->schema);
    if (!compiled.ok()) {
      if (!compiled.status().IsKeyError()) return compiled.status();
      std::string reason = framed->schema.ToString() +
                           " is unknown to the schema registry: " + compiled.status().message();
      unknown.emplace(framed->schema, reason);
      bad(i, std::move(reason));
      continue;
    }
    const auto& c = *compiled;
    if (!c->schema) {
      bad(i, framed->schema.ToString() + " is not usable: " + c->error.message());
      continue;
    }
    if (RootIsNull(*c->layout, framed->payload)) {
      out.tombstones.push_back(static_cast<int64_t>(i));
      continue;
    }
    if (!run || run_schema != c) {
      ARROW_RETURN_NOT_OK(flush());
      ARROW_ASSIGN_OR_RAISE(run, AvroRun::Make(c->schema, c->layout, c->type));
      run_schema = c;
    }
    ARROW_ASSIGN_OR_RAISE(auto refused, run->Add(framed->payload, static_cast<int64_t>(i)));
    if (refused) bad(i, framed->schema.ToString() + ": " + *refused);
  }
  ARROW_RETURN_NOT_OK(flush());
  return out;
}

}  // namespace sluice::formats::debezium
