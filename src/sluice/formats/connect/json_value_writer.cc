#include "sluice/formats/connect/json_value_writer.h"

#include <arrow/builder.h>
#include <arrow/type.h>
#include <arrow/util/decimal.h>

#include <algorithm>
#include <vector>

#include "sluice/formats/avro/decimal_bytes.h"
#include "sluice/formats/json/number_text.h"
#include "sluice/formats/json/pinned.h"
#include "sluice/formats/json/timestamp_text.h"

namespace sluice::formats::connect {

namespace od = json::od;

namespace {

// Decimals of more bytes than this are refused (a 10 KB unscaled value is
// not a database number; it would only cost quadratic time to print).
constexpr size_t kMaxDecimalBytes = 1024;

Status Refuse(const std::string& path, const std::string& what) {
  return json::ContentError(path + ": " + what);
}

// A content error from a shared converter, prefixed with the value's path.
Status AtPath(const std::string& path, Status st) {
  if (st.ok() || !st.IsTypeError()) return st;
  return Status::TypeError(path, ": ", st.message());
}

class Writer : public JsonValueWriter {
 public:
  Writer(const ConnectSchema& schema, arrow::ArrayBuilder* builder, std::string path)
      : optional_(schema.optional), builder_(builder), path_(std::move(path)) {}

  Status Check(od::value v) const final { return Convert(v, false); }
  Status Append(od::value v) final { return Convert(v, true); }
  Status AppendNull() final { return builder_->AppendNull(); }

  bool optional() const { return optional_; }

  /// Converts `v`; appends it when `write`.
  virtual Status Convert(od::value v, bool write) const = 0;

 protected:
  /// True when `v` is null (appended when `write`); an error for a required
  /// value.
  Result<bool> Null(od::value& v, bool write) const {
    ARROW_ASSIGN_OR_RAISE(auto type, json::TypeOf(v));
    if (type != od::json_type::null) return false;
    if (!optional_) return Refuse(path_, "null for a required value");
    if (write) ARROW_RETURN_NOT_OK(builder_->AppendNull());
    return true;
  }

  /// True when `v` is a value of JSON type `type` to convert; false when it
  /// is null (appended when `write`); an error naming `expected` for any
  /// other type (the value is still checked to be well-formed JSON).
  Result<bool> Present(od::value& v, bool write, od::json_type type, const char* expected) const {
    ARROW_ASSIGN_OR_RAISE(bool null, Null(v, write));
    if (null) return false;
    ARROW_ASSIGN_OR_RAISE(auto kind, json::TypeOf(v));
    if (kind != type) {
      ARROW_RETURN_NOT_OK(json::ValidateValue(v));
      return Refuse(path_, std::string("expected ") + expected);
    }
    return true;
  }

  Result<std::string_view> String(od::value& v) const {
    ARROW_ASSIGN_OR_RAISE(auto type, json::TypeOf(v));
    if (type != od::json_type::string) {
      ARROW_RETURN_NOT_OK(json::ValidateValue(v));
      return Refuse(path_, "expected a string");
    }
    std::string_view s;
    SLUICE_SJ(v.get_string().get(s));
    return s;
  }

  Result<int64_t> Integer(od::value& v) const {
    ARROW_ASSIGN_OR_RAISE(auto type, json::TypeOf(v));
    if (type != od::json_type::number) {
      ARROW_RETURN_NOT_OK(json::ValidateValue(v));
      return Refuse(path_, "expected an integer");
    }
    ARROW_ASSIGN_OR_RAISE(auto token, json::NumberToken(v));
    json::NumberText n;
    int64_t out = 0;
    if (!json::ScanNumber(token, &n) ||
        !json::ToInteger(n, std::numeric_limits<int64_t>::min(),
                         std::numeric_limits<int64_t>::max(), &out)) {
      return Refuse(path_, "expected an integer, got " + std::string(token));
    }
    return out;
  }

  bool optional_;
  arrow::ArrayBuilder* builder_;
  std::string path_;
};

// Types whose JSON form the pinned-type converter already reads exactly:
// integers, floats, booleans, strings, date32 (days), timestamps given in
// their own unit, ISO-8601 timestamps with an offset, decimals as numbers.
class PinnedWriter final : public Writer {
 public:
  PinnedWriter(const ConnectSchema& s, arrow::ArrayBuilder* b, std::string path)
      : Writer(s, b, std::move(path)), type_(b->type()) {}

  Status Convert(od::value v, bool write) const override {
    ARROW_ASSIGN_OR_RAISE(bool null, Null(v, write));
    if (null) return Status::OK();
    return AtPath(path_, json::ConvertPinned(v, *type_, write ? builder_ : nullptr));
  }

 private:
  std::shared_ptr<arrow::DataType> type_;
};

// Whole numbers in a smaller unit: ms -> us (Time, Timestamp), or already in
// the column's unit (MicroTime, NanoTime). Times must lie within a day.
template <typename Builder>
class ScaledWriter final : public Writer {
 public:
  ScaledWriter(const ConnectSchema& s, arrow::ArrayBuilder* b, std::string path, int64_t factor,
               int64_t day)
      : Writer(s, b, std::move(path)), factor_(factor), day_(day) {}

  Status Convert(od::value v, bool write) const override {
    ARROW_ASSIGN_OR_RAISE(bool null, Null(v, write));
    if (null) return Status::OK();
    ARROW_ASSIGN_OR_RAISE(int64_t raw, Integer(v));
    int64_t scaled = 0;
    if (__builtin_mul_overflow(raw, factor_, &scaled)) {
      return Refuse(path_, "value " + std::to_string(raw) + " overflows");
    }
    if (day_ > 0 && (scaled < 0 || scaled >= day_)) {
      return Refuse(path_, "time of day " + std::to_string(raw) + " out of range");
    }
    if (!write) return Status::OK();
    return static_cast<Builder*>(builder_)->Append(scaled);
  }

 private:
  int64_t factor_;
  int64_t day_;  // units in a day for times; 0 for timestamps
};

class BytesWriter final : public Writer {
 public:
  using Writer::Writer;
  Status Convert(od::value v, bool write) const override {
    ARROW_ASSIGN_OR_RAISE(bool null, Null(v, write));
    if (null) return Status::OK();
    ARROW_ASSIGN_OR_RAISE(auto text, String(v));
    std::string bytes;
    if (!DecodeBase64(text, &bytes)) return Refuse(path_, "bytes that are not base64");
    if (!write) return Status::OK();
    return static_cast<arrow::BinaryBuilder*>(builder_)->Append(bytes);
  }
};

// org.apache.kafka.connect.data.Decimal: base64 of the unscaled value
// (decimal.format=BASE64, the default) or a JSON number (NUMERIC); into
// decimal128, or into utf8 text when the precision is above 38.
class DecimalWriter final : public Writer {
 public:
  DecimalWriter(const ConnectSchema& s, arrow::ArrayBuilder* b, std::string path)
      : Writer(s, b, std::move(path)), type_(b->type()), scale_(s.scale) {}

  Status Convert(od::value v, bool write) const override {
    ARROW_ASSIGN_OR_RAISE(bool null, Null(v, write));
    if (null) return Status::OK();
    ARROW_ASSIGN_OR_RAISE(auto kind, json::TypeOf(v));
    if (kind == od::json_type::number) {
      if (type_->id() == arrow::Type::STRING) {
        ARROW_ASSIGN_OR_RAISE(auto token, json::NumberToken(v));
        if (!write) return Status::OK();
        return static_cast<arrow::StringBuilder*>(builder_)->Append(token);
      }
      return AtPath(path_, json::ConvertPinned(v, *type_, write ? builder_ : nullptr));
    }
    ARROW_ASSIGN_OR_RAISE(auto text, String(v));
    std::string bytes;
    if (!DecodeBase64(text, &bytes)) {
      return Refuse(path_, "a decimal that is neither a number nor base64");
    }
    if (bytes.size() > kMaxDecimalBytes) {
      return Refuse(path_, "a decimal of " + std::to_string(bytes.size()) + " bytes");
    }
    if (type_->id() == arrow::Type::STRING) {
      if (!write) return Status::OK();
      return static_cast<arrow::StringBuilder*>(builder_)->Append(DecimalText(bytes, scale_));
    }
    const auto& dec = static_cast<const arrow::Decimal128Type&>(*type_);
    const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
    auto len = static_cast<int64_t>(bytes.size());
    avro::TrimSignExtension(&data, &len, 16);
    arrow::Decimal128 value(0);
    if (len > 16) return Refuse(path_, "decimal beyond 128 bits: " + DecimalText(bytes, scale_));
    if (len > 0) {
      auto parsed = arrow::Decimal128::FromBigEndian(data, static_cast<int32_t>(len));
      if (!parsed.ok()) return Refuse(path_, parsed.status().message());
      value = *parsed;
    }
    if (!value.FitsInPrecision(dec.precision())) {
      return Refuse(path_, "decimal " + DecimalText(bytes, scale_) + " exceeds precision " +
                               std::to_string(dec.precision()));
    }
    if (!write) return Status::OK();
    return static_cast<arrow::Decimal128Builder*>(builder_)->Append(value);
  }

 private:
  std::shared_ptr<arrow::DataType> type_;
  int32_t scale_;
};

// io.debezium.data.VariableScaleDecimal: {"scale": s, "value": base64}, as
// exact decimal text (each row may have its own scale).
class VariableScaleWriter final : public Writer {
 public:
  using Writer::Writer;
  Status Convert(od::value v, bool write) const override {
    ARROW_ASSIGN_OR_RAISE(bool present,
                          Present(v, write, od::json_type::object, "{\"scale\", \"value\"}"));
    if (!present) return Status::OK();
    od::object obj;
    SLUICE_SJ(v.get_object().get(obj));
    bool has_scale = false, has_value = false;
    int64_t scale = 0;
    std::string bytes;
    for (auto item : obj) {
      od::field field;
      SLUICE_SJ(std::move(item).get(field));
      std::string_view key;
      SLUICE_SJ(field.unescaped_key().get(key));
      od::value value = field.value();
      if (key == "scale") {
        ARROW_ASSIGN_OR_RAISE(scale, Integer(value));
        has_scale = true;
      } else if (key == "value") {
        ARROW_ASSIGN_OR_RAISE(auto text, String(value));
        if (!DecodeBase64(text, &bytes)) return Refuse(path_, "value that is not base64");
        has_value = true;
      } else {
        ARROW_RETURN_NOT_OK(json::ValidateValue(value));
      }
    }
    if (!has_scale || !has_value) return Refuse(path_, "expected {\"scale\", \"value\"}");
    if (scale < 0 || scale > 1000 || bytes.size() > kMaxDecimalBytes) {
      return Refuse(path_, "a decimal of scale " + std::to_string(scale) + " and " +
                               std::to_string(bytes.size()) + " bytes");
    }
    if (!write) return Status::OK();
    return static_cast<arrow::StringBuilder*>(builder_)->Append(
        DecimalText(bytes, static_cast<int32_t>(scale)));
  }
};

// Which fields of a struct a value has set: a word for up to 64 fields (no
// allocation for every struct of every message), else a vector.
class FieldsSeen {
 public:
  explicit FieldsSeen(size_t n) {
    if (n > 64) many_.assign(n, false);
  }
  bool Test(size_t i) const { return many_.empty() ? (few_ >> i) & 1 : many_[i]; }
  void Set(size_t i) {
    if (many_.empty()) {
      few_ |= uint64_t{1} << i;
    } else {
      many_[i] = true;
    }
  }

 private:
  uint64_t few_ = 0;
  std::vector<bool> many_;
};

class StructWriter final : public Writer {
 public:
  StructWriter(const ConnectSchema& s, arrow::ArrayBuilder* b, std::string path)
      : Writer(s, b, std::move(path)) {}

  void Add(std::string name, std::unique_ptr<Writer> w) {
    names_.push_back(std::move(name));
    children_.push_back(std::move(w));
  }

  Status Convert(od::value v, bool write) const override {
    ARROW_ASSIGN_OR_RAISE(bool present, Present(v, write, od::json_type::object, "an object"));
    if (!present) return Status::OK();
    od::object obj;
    SLUICE_SJ(v.get_object().get(obj));
    if (write) ARROW_RETURN_NOT_OK(static_cast<arrow::StructBuilder*>(builder_)->Append());
    FieldsSeen seen(children_.size());
    size_t guess = 0;  // fields usually come in schema order
    for (auto item : obj) {
      od::field field;
      SLUICE_SJ(std::move(item).get(field));
      std::string_view key;
      SLUICE_SJ(field.unescaped_key().get(key));
      size_t i = guess < names_.size() && names_[guess] == key ? guess : Find(key);
      if (i == names_.size()) {
        ARROW_RETURN_NOT_OK(json::ValidateValue(field.value()));
        return Refuse(path_, "field '" + std::string(key) + "' is not in the schema");
      }
      if (seen.Test(i)) return Refuse(path_, "field '" + std::string(key) + "' appears twice");
      seen.Set(i);
      guess = i + 1;
      ARROW_RETURN_NOT_OK(children_[i]->Convert(field.value(), write));
    }
    for (size_t i = 0; i < children_.size(); ++i) {
      if (seen.Test(i)) continue;
      if (!children_[i]->optional()) {
        return Refuse(path_, "required field '" + names_[i] + "' is missing");
      }
      if (write) ARROW_RETURN_NOT_OK(children_[i]->AppendNull());
    }
    return Status::OK();
  }

 private:
  size_t Find(std::string_view key) const {
    return static_cast<size_t>(std::find(names_.begin(), names_.end(), key) - names_.begin());
  }

  std::vector<std::string> names_;
  std::vector<std::unique_ptr<Writer>> children_;
};

class ArrayWriter final : public Writer {
 public:
  ArrayWriter(const ConnectSchema& s, arrow::ArrayBuilder* b, std::string path,
              std::unique_ptr<Writer> items)
      : Writer(s, b, std::move(path)), items_(std::move(items)) {}

  Status Convert(od::value v, bool write) const override {
    ARROW_ASSIGN_OR_RAISE(bool present, Present(v, write, od::json_type::array, "an array"));
    if (!present) return Status::OK();
    od::array arr;
    SLUICE_SJ(v.get_array().get(arr));
    if (write) ARROW_RETURN_NOT_OK(static_cast<arrow::ListBuilder*>(builder_)->Append());
    for (auto item : arr) {
      od::value element;
      SLUICE_SJ(std::move(item).get(element));
      ARROW_RETURN_NOT_OK(items_->Convert(element, write));
    }
    return Status::OK();
  }

 private:
  std::unique_ptr<Writer> items_;
};

// A map with string keys is a JSON object; any other key type is an array
// of [key, value] pairs (JsonConverter's two encodings).
class MapWriter final : public Writer {
 public:
  MapWriter(const ConnectSchema& s, arrow::ArrayBuilder* b, std::string path,
            std::unique_ptr<Writer> keys, std::unique_ptr<Writer> values)
      : Writer(s, b, std::move(path)),
        string_keys_(s.keys->type == ConnectType::kString && s.keys->logical == LogicalType::kNone),
        keys_(std::move(keys)),
        values_(std::move(values)) {}

  Status Convert(od::value v, bool write) const override {
    ARROW_ASSIGN_OR_RAISE(bool null, Null(v, write));
    if (null) return Status::OK();
    ARROW_ASSIGN_OR_RAISE(auto kind, json::TypeOf(v));
    auto* map = static_cast<arrow::MapBuilder*>(builder_);
    if (string_keys_ && kind == od::json_type::object) {
      od::object obj;
      SLUICE_SJ(v.get_object().get(obj));
      if (write) ARROW_RETURN_NOT_OK(map->Append());
      for (auto item : obj) {
        od::field field;
        SLUICE_SJ(std::move(item).get(field));
        std::string_view key;
        SLUICE_SJ(field.unescaped_key().get(key));
        if (write) {
          ARROW_RETURN_NOT_OK(static_cast<arrow::StringBuilder*>(map->key_builder())->Append(key));
        }
        ARROW_RETURN_NOT_OK(values_->Convert(field.value(), write));
      }
      return Status::OK();
    }
    if (kind != od::json_type::array) {
      ARROW_RETURN_NOT_OK(json::ValidateValue(v));
      return Refuse(path_, "expected a map (an object, or an array of [key, value])");
    }
    od::array pairs;
    SLUICE_SJ(v.get_array().get(pairs));
    if (write) ARROW_RETURN_NOT_OK(map->Append());
    for (auto item : pairs) {
      od::value pair_value;
      SLUICE_SJ(std::move(item).get(pair_value));
      ARROW_ASSIGN_OR_RAISE(auto pair_kind, json::TypeOf(pair_value));
      if (pair_kind != od::json_type::array) return Refuse(path_, "map entry is not [key, value]");
      od::array pair;
      SLUICE_SJ(pair_value.get_array().get(pair));
      int n = 0;
      for (auto part : pair) {
        od::value element;
        SLUICE_SJ(std::move(part).get(element));
        if (n == 0) {
          ARROW_ASSIGN_OR_RAISE(bool null_key, json::TypeOf(element).Map([](od::json_type t) {
            return t == od::json_type::null;
          }));
          if (null_key) return Refuse(path_, "map key is null");
          ARROW_RETURN_NOT_OK(keys_->Convert(element, write));
        } else if (n == 1) {
          ARROW_RETURN_NOT_OK(values_->Convert(element, write));
        } else {
          return Refuse(path_, "map entry is not [key, value]");
        }
        ++n;
      }
      if (n != 2) return Refuse(path_, "map entry is not [key, value]");
    }
    return Status::OK();
  }

 private:
  bool string_keys_;
  std::unique_ptr<Writer> keys_;
  std::unique_ptr<Writer> values_;
};

Result<std::unique_ptr<Writer>> Make(const ConnectSchemaPtr& schema, arrow::ArrayBuilder* builder,
                                     const ConnectArrowOptions& opts, std::string path) {
  const ConnectSchema& s = *schema;
  constexpr int64_t kDayMicros = int64_t{86400} * 1000 * 1000;
  switch (s.logical) {
    case LogicalType::kDecimal:
      return std::make_unique<DecimalWriter>(s, builder, std::move(path));
    case LogicalType::kVariableScaleDecimal:
      return std::make_unique<VariableScaleWriter>(s, builder, std::move(path));
    case LogicalType::kTimeMillis:
      return std::make_unique<ScaledWriter<arrow::Time64Builder>>(s, builder, std::move(path), 1000,
                                                                  kDayMicros);
    case LogicalType::kTimeMicros:
      return std::make_unique<ScaledWriter<arrow::Time64Builder>>(s, builder, std::move(path), 1,
                                                                  kDayMicros);
    case LogicalType::kTimeNanos:
      return std::make_unique<ScaledWriter<arrow::Time64Builder>>(s, builder, std::move(path), 1,
                                                                  kDayMicros * 1000);
    case LogicalType::kTimestampMillis:
    case LogicalType::kTimestampMillisUtc:
      return std::make_unique<ScaledWriter<arrow::TimestampBuilder>>(s, builder, std::move(path),
                                                                     1000, 0);
    case LogicalType::kTimestampMicros:
    case LogicalType::kTimestampNanos:
      return std::make_unique<ScaledWriter<arrow::TimestampBuilder>>(s, builder, std::move(path), 1,
                                                                     0);
    case LogicalType::kDate:
    case LogicalType::kZonedTimestamp:
      return std::make_unique<PinnedWriter>(s, builder, std::move(path));
    case LogicalType::kNone:
      break;
  }
  switch (s.type) {
    case ConnectType::kBytes:
      return std::make_unique<BytesWriter>(s, builder, std::move(path));
    case ConnectType::kStruct: {
      auto w = std::make_unique<StructWriter>(s, builder, path);
      auto* sb = static_cast<arrow::StructBuilder*>(builder);
      for (size_t i = 0; i < s.fields.size(); ++i) {
        ARROW_ASSIGN_OR_RAISE(auto child,
                              Make(s.fields[i].schema, sb->field_builder(static_cast<int>(i)), opts,
                                   path + "." + s.fields[i].name));
        w->Add(s.fields[i].name, std::move(child));
      }
      return w;
    }
    case ConnectType::kArray: {
      auto* lb = static_cast<arrow::ListBuilder*>(builder);
      ARROW_ASSIGN_OR_RAISE(auto items, Make(s.items, lb->value_builder(), opts, path + "[]"));
      return std::make_unique<ArrayWriter>(s, builder, std::move(path), std::move(items));
    }
    case ConnectType::kMap: {
      auto* mb = static_cast<arrow::MapBuilder*>(builder);
      ARROW_ASSIGN_OR_RAISE(auto keys, Make(s.keys, mb->key_builder(), opts, path + "{key}"));
      ARROW_ASSIGN_OR_RAISE(auto values,
                            Make(s.values, mb->item_builder(), opts, path + "{value}"));
      return std::make_unique<MapWriter>(s, builder, std::move(path), std::move(keys),
                                         std::move(values));
    }
    default:
      return std::make_unique<PinnedWriter>(s, builder, std::move(path));
  }
}

}  // namespace

Result<std::unique_ptr<JsonValueWriter>> MakeJsonValueWriter(const ConnectSchemaPtr& schema,
                                                             arrow::ArrayBuilder* builder,
                                                             const ConnectArrowOptions& opts,
                                                             std::string path) {
  ARROW_ASSIGN_OR_RAISE(auto type, ArrowTypeFor(*schema, opts));
  if (!builder->type()->Equals(*type)) {
    return Status::Invalid("builder of type ", builder->type()->ToString(), " for Connect ",
                           ConnectTypeName(schema->type), " (", type->ToString(), ")");
  }
  ARROW_ASSIGN_OR_RAISE(auto w, Make(schema, builder, opts, std::move(path)));
  return std::unique_ptr<JsonValueWriter>(std::move(w));
}

bool DecodeBase64(std::string_view text, std::string* out) {
  out->clear();
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return false;
  out->reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+') {
      v = 62;
    } else if (c == '/') {
      v = 63;
    } else {
      return false;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // Leftover bits must be zero padding.
  return (acc & ((1u << bits) - 1)) == 0;
}

std::string DecimalText(std::string_view big_endian, int32_t scale) {
  // Magnitude as base-256 digits, most significant first.
  std::vector<uint8_t> mag(big_endian.begin(), big_endian.end());
  const bool negative = !mag.empty() && (mag[0] & 0x80);
  if (negative) {  // two's complement negation
    for (auto& b : mag) b = static_cast<uint8_t>(~b);
    for (size_t i = mag.size(); i-- > 0;) {
      if (++mag[i] != 0) break;
    }
  }
  // Repeated division by 10^9 gives the decimal digits, least significant
  // chunk first.
  std::string digits;
  size_t start = 0;
  while (start < mag.size() && mag[start] == 0) ++start;
  while (start < mag.size()) {
    uint64_t rem = 0;
    for (size_t i = start; i < mag.size(); ++i) {
      const uint64_t cur = (rem << 8) | mag[i];
      mag[i] = static_cast<uint8_t>(cur / 1000000000u);
      rem = cur % 1000000000u;
    }
    while (start < mag.size() && mag[start] == 0) ++start;
    for (int k = 0; k < 9; ++k) {
      digits.push_back(static_cast<char>('0' + rem % 10));
      rem /= 10;
      if (start == mag.size() && rem == 0) break;
    }
  }
  if (digits.empty()) digits = "0";
  while (static_cast<int32_t>(digits.size()) <= scale) digits.push_back('0');
  std::reverse(digits.begin(), digits.end());
  if (scale > 0) digits.insert(digits.end() - scale, '.');
  return negative ? "-" + digits : digits;
}

}  // namespace sluice::formats::connect
