#include "sluice/delta/stats.h"

#include <arrow/array.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>
#include <arrow/util/checked_cast.h>
#include <arrow/util/decimal.h>
#include <arrow/util/float16.h>
#include <arrow/util/utf8.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

#include "sluice/delta/civil_time.h"

namespace sluice::delta {

namespace {

using arrow::internal::checked_cast;

// How a leaf's min/max are tracked and rendered.
enum class StatKind { kNone, kSigned, kUnsigned, kFloat, kDecimal, kDate, kTimestamp, kString };

// One column of the stats tree: a struct (children) or a leaf.
struct Column {
  std::string name;
  bool is_struct = false;
  bool indexed = false;
  std::vector<Column> children;

  // Leaf type information.
  StatKind kind = StatKind::kNone;
  bool float32 = false;  // render as float, not double
  bool date64 = false;   // kDate values are milliseconds
  int32_t decimal_scale = 0;
  int64_t ticks_per_second = 1;  // kTimestamp
  bool utc = false;              // kTimestamp with a time zone

  // Accumulated state.
  int64_t null_count = 0;
  bool has_minmax = false;
  bool saw_nan = false;
  int64_t min_i = 0, max_i = 0;
  uint64_t min_u = 0, max_u = 0;
  double min_f = 0, max_f = 0;
  arrow::Decimal256 min_d, max_d;
  std::string min_s, max_s;
};

StatKind KindOf(const arrow::DataType& type, Column* c) {
  using arrow::Type;
  switch (type.id()) {
    case Type::INT8:
    case Type::INT16:
    case Type::INT32:
    case Type::INT64:
      return StatKind::kSigned;
    case Type::UINT8:
    case Type::UINT16:
    case Type::UINT32:
    case Type::UINT64:
      return StatKind::kUnsigned;
    case Type::HALF_FLOAT:
    case Type::FLOAT:
      c->float32 = true;
      return StatKind::kFloat;
    case Type::DOUBLE:
      return StatKind::kFloat;
    case Type::DECIMAL32:
    case Type::DECIMAL64:
    case Type::DECIMAL128:
    case Type::DECIMAL256:
      c->decimal_scale = checked_cast<const arrow::DecimalType&>(type).scale();
      return StatKind::kDecimal;
    case Type::DATE32:
      return StatKind::kDate;
    case Type::DATE64:
      c->date64 = true;
      return StatKind::kDate;
    case Type::TIMESTAMP: {
      const auto& ts = checked_cast<const arrow::TimestampType&>(type);
      c->ticks_per_second = TicksPerSecond(ts.unit());
      c->utc = !ts.timezone().empty();
      return StatKind::kTimestamp;
    }
    case Type::STRING:
    case Type::LARGE_STRING:
    case Type::STRING_VIEW:
      return StatKind::kString;
    default:
      return StatKind::kNone;
  }
}

// Builds the stats tree for a field; `budget` is the number of leaves that
// may still be indexed (negative = unlimited).
Column BuildColumn(const arrow::Field& field, int64_t* budget) {
  Column c;
  c.name = field.name();
  const auto& type = *field.type();
  if (type.id() == arrow::Type::STRUCT) {
    c.is_struct = true;
    for (const auto& child : type.fields()) {
      c.children.push_back(BuildColumn(*child, budget));
      c.indexed = c.indexed || c.children.back().indexed;
    }
    return c;
  }
  if (*budget == 0) return c;
  if (*budget > 0) --*budget;
  c.indexed = true;
  const arrow::DataType* value_type = &type;
  if (type.id() == arrow::Type::DICTIONARY) {
    value_type = checked_cast<const arrow::DictionaryType&>(type).value_type().get();
  }
  c.kind = KindOf(*value_type, &c);
  return c;
}

// Calls fn(i) for every valid position of `a` that is selected (sel may be
// null: all positions).
template <typename Fn>
void ForEachValid(const arrow::Array& a, const std::vector<uint8_t>* sel, Fn&& fn) {
  const int64_t n = a.length();
  const bool all_valid = a.null_count() == 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!all_valid && a.IsNull(i)) continue;
    if (sel != nullptr && !(*sel)[static_cast<size_t>(i)]) continue;
    fn(i);
  }
}

template <typename T>
void Accumulate(const T& v, bool* has, T* min, T* max) {
  if (!*has) {
    *min = v;
    *max = v;
    *has = true;
    return;
  }
  if (v < *min) *min = v;
  if (*max < v) *max = v;
}

template <typename ArrayType>
void UpdateSigned(Column* c, const arrow::Array& a, const std::vector<uint8_t>* sel) {
  const auto* values = checked_cast<const ArrayType&>(a).raw_values();
  ForEachValid(a, sel, [&](int64_t i) {
    Accumulate(static_cast<int64_t>(values[i]), &c->has_minmax, &c->min_i, &c->max_i);
  });
}

template <typename ArrayType>
void UpdateUnsigned(Column* c, const arrow::Array& a, const std::vector<uint8_t>* sel) {
  const auto* values = checked_cast<const ArrayType&>(a).raw_values();
  ForEachValid(a, sel, [&](int64_t i) {
    Accumulate(static_cast<uint64_t>(values[i]), &c->has_minmax, &c->min_u, &c->max_u);
  });
}

template <typename Get>
void UpdateFloat(Column* c, const arrow::Array& a, const std::vector<uint8_t>* sel, Get get) {
  ForEachValid(a, sel, [&](int64_t i) {
    double v = get(i);
    if (std::isnan(v)) {
      c->saw_nan = true;
      return;
    }
    Accumulate(v, &c->has_minmax, &c->min_f, &c->max_f);
  });
}

template <typename ArrayType, typename DecimalType>
void UpdateDecimal(Column* c, const arrow::Array& a, const std::vector<uint8_t>* sel) {
  const auto& arr = checked_cast<const ArrayType&>(a);
  ForEachValid(a, sel, [&](int64_t i) {
    arrow::Decimal256 v(DecimalType(arr.GetValue(i)));
    Accumulate(v, &c->has_minmax, &c->min_d, &c->max_d);
  });
}

// The first 8 bytes of `s`, zero padded, as a big-endian number: when two
// strings' prefixes differ, the strings compare the same way.
uint64_t Prefix8(std::string_view s) {
  uint64_t v = 0;
  if (!s.empty()) std::memcpy(&v, s.data(), std::min<size_t>(s.size(), 8));
  return __builtin_bswap64(v);
}

template <typename ArrayType>
void UpdateString(Column* c, const arrow::Array& a, const std::vector<uint8_t>* sel) {
  const auto& arr = checked_cast<const ArrayType&>(a);
  bool has = false;
  std::string_view lo, hi;
  uint64_t plo = 0, phi = 0;
  // Most values lie strictly between the running min and max by their first
  // bytes; only the others are compared in full.
  ForEachValid(a, sel, [&](int64_t i) {
    std::string_view v = arr.GetView(i);
    const uint64_t p = Prefix8(v);
    if (!has) {
      lo = hi = v;
      plo = phi = p;
      has = true;
      return;
    }
    if (p > plo && p < phi) return;
    if (p < plo || (p == plo && v < lo)) {
      lo = v;
      plo = p;
    }
    if (p > phi || (p == phi && hi < v)) {
      hi = v;
      phi = p;
    }
  });
  if (!has) return;
  if (!c->has_minmax) {
    c->min_s.assign(lo);
    c->max_s.assign(hi);
    c->has_minmax = true;
    return;
  }
  if (lo < std::string_view(c->min_s)) c->min_s.assign(lo);
  if (std::string_view(c->max_s) < hi) c->max_s.assign(hi);
}

// Min/max over the valid, selected values of a non-dictionary array.
void UpdateMinMax(Column* c, const arrow::Array& a, const std::vector<uint8_t>* sel) {
  using arrow::Type;
  switch (a.type_id()) {
    case Type::INT8:
      return UpdateSigned<arrow::Int8Array>(c, a, sel);
    case Type::INT16:
      return UpdateSigned<arrow::Int16Array>(c, a, sel);
    case Type::INT32:
      return UpdateSigned<arrow::Int32Array>(c, a, sel);
    case Type::INT64:
      return UpdateSigned<arrow::Int64Array>(c, a, sel);
    case Type::DATE32:
      return UpdateSigned<arrow::Date32Array>(c, a, sel);
    case Type::DATE64:
      return UpdateSigned<arrow::Date64Array>(c, a, sel);
    case Type::TIMESTAMP:
      return UpdateSigned<arrow::TimestampArray>(c, a, sel);
    case Type::UINT8:
      return UpdateUnsigned<arrow::UInt8Array>(c, a, sel);
    case Type::UINT16:
      return UpdateUnsigned<arrow::UInt16Array>(c, a, sel);
    case Type::UINT32:
      return UpdateUnsigned<arrow::UInt32Array>(c, a, sel);
    case Type::UINT64:
      return UpdateUnsigned<arrow::UInt64Array>(c, a, sel);
    case Type::HALF_FLOAT: {
      const auto* v = checked_cast<const arrow::HalfFloatArray&>(a).raw_values();
      return UpdateFloat(c, a, sel, [v](int64_t i) {
        return static_cast<double>(arrow::util::Float16::FromBits(v[i]).ToFloat());
      });
    }
    case Type::FLOAT: {
      const auto* v = checked_cast<const arrow::FloatArray&>(a).raw_values();
      return UpdateFloat(c, a, sel, [v](int64_t i) { return static_cast<double>(v[i]); });
    }
    case Type::DOUBLE: {
      const auto* v = checked_cast<const arrow::DoubleArray&>(a).raw_values();
      return UpdateFloat(c, a, sel, [v](int64_t i) { return v[i]; });
    }
    case Type::DECIMAL32:
      return UpdateDecimal<arrow::Decimal32Array, arrow::Decimal32>(c, a, sel);
    case Type::DECIMAL64:
      return UpdateDecimal<arrow::Decimal64Array, arrow::Decimal64>(c, a, sel);
    case Type::DECIMAL128:
      return UpdateDecimal<arrow::Decimal128Array, arrow::Decimal128>(c, a, sel);
    case Type::DECIMAL256:
      return UpdateDecimal<arrow::Decimal256Array, arrow::Decimal256>(c, a, sel);
    case Type::STRING:
      return UpdateString<arrow::StringArray>(c, a, sel);
    case Type::LARGE_STRING:
      return UpdateString<arrow::LargeStringArray>(c, a, sel);
    case Type::STRING_VIEW:
      return UpdateString<arrow::StringViewArray>(c, a, sel);
    default:
      return;
  }
}

Status UpdateColumn(Column* c, const arrow::Array& a) {
  if (c->is_struct) {
    const auto& s = checked_cast<const arrow::StructArray&>(a);
    for (size_t j = 0; j < c->children.size(); ++j) {
      if (!c->children[j].indexed) continue;
      // The flattened child carries the struct's nulls too.
      ARROW_ASSIGN_OR_RAISE(auto child, s.GetFlattenedField(static_cast<int>(j)));
      ARROW_RETURN_NOT_OK(UpdateColumn(&c->children[j], *child));
    }
    return Status::OK();
  }
  if (a.type_id() != arrow::Type::DICTIONARY) {
    c->null_count += a.null_count();
    if (c->kind != StatKind::kNone) UpdateMinMax(c, a, nullptr);
    return Status::OK();
  }
  // Dictionary: a row is null if its index or its dictionary entry is null;
  // min/max range over the dictionary entries actually referenced.
  const auto& dict_array = checked_cast<const arrow::DictionaryArray&>(a);
  const auto& dict = *dict_array.dictionary();
  const auto& indices = *dict_array.indices();
  std::vector<uint8_t> used(static_cast<size_t>(dict.length()), 0);
  for (int64_t i = 0; i < a.length(); ++i) {
    if (indices.IsNull(i)) {
      ++c->null_count;
      continue;
    }
    int64_t idx = dict_array.GetValueIndex(i);
    if (idx < 0 || idx >= dict.length()) {
      return Status::Invalid("stats: dictionary index ", idx, " out of range in column '", c->name,
                             "'");
    }
    if (dict.IsNull(idx)) {
      ++c->null_count;
    } else {
      used[static_cast<size_t>(idx)] = 1;
    }
  }
  if (c->kind != StatKind::kNone) UpdateMinMax(c, dict, &used);
  return Status::OK();
}

// JSON string literal for (assumed valid UTF-8) text.
void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (char ch : s) {
    auto u = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      case '\b':
        *out += "\\b";
        break;
      case '\f':
        *out += "\\f";
        break;
      default:
        if (u < 0x20) {
          static const char* kHex = "0123456789abcdef";
          *out += "\\u00";
          out->push_back(kHex[u >> 4]);
          out->push_back(kHex[u & 0xF]);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

// Byte length of the UTF-8 sequence starting with `lead`.
size_t Utf8SequenceLength(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xF0) return 4;
  if (lead >= 0xE0) return 3;
  return 2;
}

// Byte offset after the first `n` code points of valid UTF-8 `s` (or size).
size_t PrefixBytes(std::string_view s, int64_t n) {
  size_t pos = 0;
  for (int64_t k = 0; k < n && pos < s.size(); ++k) {
    pos += Utf8SequenceLength(static_cast<unsigned char>(s[pos]));
  }
  return pos < s.size() ? pos : s.size();
}

constexpr std::string_view kMaxCodePoint = "\xF4\x8F\xBF\xBF";  // U+10FFFF

std::optional<std::string> TruncateMin(const std::string& s, int32_t prefix) {
  if (prefix <= 0 || !arrow::util::ValidateUTF8(s)) return std::nullopt;
  return s.substr(0, PrefixBytes(s, prefix));
}

// See the header: cut after `prefix` code points and add a tie-breaker that
// keeps the result > the original in UTF-8 byte order.
std::optional<std::string> TruncateMax(const std::string& s, int32_t prefix) {
  if (!arrow::util::ValidateUTF8(s)) return std::nullopt;
  size_t pos = PrefixBytes(s, prefix);
  if (pos >= s.size()) return s;
  if (prefix <= 0) return std::nullopt;
  const int64_t limit = 2 * static_cast<int64_t>(prefix);
  for (int64_t count = prefix; count <= limit; ++count) {
    if (pos >= s.size()) return s;
    std::string_view rest(s.data() + pos, s.size() - pos);
    if (rest.starts_with(kMaxCodePoint)) {
      pos += kMaxCodePoint.size();
      continue;
    }
    std::string out = s.substr(0, pos);
    if (static_cast<unsigned char>(s[pos]) < 0x7F) {
      out.push_back('\x7F');
    } else {
      out += kMaxCodePoint;
    }
    return out;
  }
  return std::nullopt;
}

std::string FormatDouble(double v, bool float32) {
  char buf[64];
  auto res = float32 ? std::to_chars(buf, buf + sizeof(buf), static_cast<float>(v))
                     : std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, res.ptr);
}

std::optional<std::string> FormatTimestampMillis(int64_t ms, bool utc) {
  constexpr int64_t kMsPerDay = 86400000;
  int64_t days = FloorDiv(ms, kMsPerDay);
  int64_t ms_of_day = ms - days * kMsPerDay;
  auto date = FormatDate(days);
  if (!date.ok()) return std::nullopt;
  std::string out = *date + "T" + FormatTimeOfDay(ms_of_day * 1000000, 3);
  if (utc) out += 'Z';
  return out;
}

// Converts `v` ticks to milliseconds, rounding down (min) or up (max).
std::optional<int64_t> TicksToMillis(int64_t v, int64_t ticks_per_second, bool round_up) {
  if (ticks_per_second < 1000) {  // seconds
    if (v > std::numeric_limits<int64_t>::max() / 1000 ||
        v < std::numeric_limits<int64_t>::min() / 1000) {
      return std::nullopt;
    }
    return v * 1000;
  }
  int64_t d = ticks_per_second / 1000;
  int64_t q = FloorDiv(v, d);
  if (round_up && q * d != v) ++q;
  return q;
}

// The JSON text of a leaf's min (is_max=false) or max, if it has one.
std::optional<std::string> BoundText(const Column& c, bool is_max, const StatsOptions& options) {
  if (!c.has_minmax) return std::nullopt;
  switch (c.kind) {
    case StatKind::kNone:
      return std::nullopt;
    case StatKind::kSigned:
      return std::to_string(is_max ? c.max_i : c.min_i);
    case StatKind::kUnsigned:
      return std::to_string(is_max ? c.max_u : c.min_u);
    case StatKind::kFloat: {
      double v = is_max ? c.max_f : c.min_f;
      if (c.saw_nan || !std::isfinite(v)) return std::nullopt;
      return FormatDouble(v, c.float32);
    }
    case StatKind::kDecimal:
      return (is_max ? c.max_d : c.min_d).ToString(c.decimal_scale);
    case StatKind::kDate: {
      int64_t v = is_max ? c.max_i : c.min_i;
      if (c.date64) {
        constexpr int64_t kMsPerDay = 86400000;
        int64_t days = FloorDiv(v, kMsPerDay);
        if (is_max && days * kMsPerDay != v) ++days;
        v = days;
      }
      auto text = FormatDate(v);
      if (!text.ok()) return std::nullopt;
      std::string out;
      AppendJsonString(*text, &out);
      return out;
    }
    case StatKind::kTimestamp: {
      auto ms = TicksToMillis(is_max ? c.max_i : c.min_i, c.ticks_per_second, is_max);
      if (!ms) return std::nullopt;
      auto text = FormatTimestampMillis(*ms, c.utc);
      if (!text) return std::nullopt;
      std::string out;
      AppendJsonString(*text, &out);
      return out;
    }
    case StatKind::kString: {
      auto text = is_max ? TruncateMax(c.max_s, options.string_prefix_length)
                         : TruncateMin(c.min_s, options.string_prefix_length);
      if (!text) return std::nullopt;
      std::string out;
      AppendJsonString(*text, &out);
      return out;
    }
  }
  return std::nullopt;
}

enum class Section { kMin, kMax, kNullCount };

// Writes the members of one stats object ("name":value,...) for `columns`;
// returns whether anything was written. Empty nested objects are omitted
// from minValues/maxValues.
bool WriteMembers(const std::vector<Column>& columns, Section section, const StatsOptions& options,
                  std::string* out) {
  bool wrote = false;
  for (const auto& c : columns) {
    if (!c.indexed) continue;
    std::string value;
    if (c.is_struct) {
      std::string inner;
      if (!WriteMembers(c.children, section, options, &inner) && section != Section::kNullCount) {
        continue;
      }
      value = "{" + inner + "}";
    } else if (section == Section::kNullCount) {
      value = std::to_string(c.null_count);
    } else {
      auto text = BoundText(c, section == Section::kMax, options);
      if (!text) continue;
      value = std::move(*text);
    }
    if (wrote) out->push_back(',');
    AppendJsonString(c.name, out);
    out->push_back(':');
    *out += value;
    wrote = true;
  }
  return wrote;
}

}  // namespace

struct StatsCollector::Impl {
  std::shared_ptr<arrow::Schema> schema;
  StatsOptions options;
  std::vector<Column> columns;
  int64_t num_records = 0;
};

StatsCollector::StatsCollector(std::shared_ptr<arrow::Schema> schema, StatsOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  int64_t budget = options.num_indexed_cols < 0 ? -1 : options.num_indexed_cols;
  for (const auto& f : schema->fields()) impl_->columns.push_back(BuildColumn(*f, &budget));
  impl_->schema = std::move(schema);
}

StatsCollector::~StatsCollector() = default;
StatsCollector::StatsCollector(StatsCollector&&) noexcept = default;
StatsCollector& StatsCollector::operator=(StatsCollector&&) noexcept = default;

Status StatsCollector::Update(const arrow::RecordBatch& batch) {
  const auto& schema = *impl_->schema;
  if (batch.num_columns() != schema.num_fields()) {
    return Status::Invalid("stats: batch has ", batch.num_columns(), " columns, schema has ",
                           schema.num_fields());
  }
  for (int i = 0; i < batch.num_columns(); ++i) {
    if (!batch.column(i)->type()->Equals(*schema.field(i)->type())) {
      return Status::TypeError("stats: column '", schema.field(i)->name(), "' has type ",
                               batch.column(i)->type()->ToString(), ", expected ",
                               schema.field(i)->type()->ToString());
    }
  }
  for (int i = 0; i < batch.num_columns(); ++i) {
    auto& c = impl_->columns[static_cast<size_t>(i)];
    if (!c.indexed) continue;
    ARROW_RETURN_NOT_OK(UpdateColumn(&c, *batch.column(i)));
  }
  impl_->num_records += batch.num_rows();
  return Status::OK();
}

std::string StatsCollector::ToJson() const {
  std::string out = "{\"numRecords\":" + std::to_string(impl_->num_records);
  const std::pair<const char*, Section> sections[] = {{",\"minValues\":{", Section::kMin},
                                                      {",\"maxValues\":{", Section::kMax},
                                                      {",\"nullCount\":{", Section::kNullCount}};
  for (const auto& [prefix, section] : sections) {
    out += prefix;
    WriteMembers(impl_->columns, section, impl_->options, &out);
    out += '}';
  }
  out += '}';
  return out;
}

int64_t StatsCollector::num_records() const { return impl_->num_records; }

Result<std::optional<int64_t>> NumRecordsFromStats(std::string_view stats_json) {
  auto json = nlohmann::json::parse(stats_json, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return Status::Invalid("add.stats is not a JSON object");
  }
  auto it = json.find("numRecords");
  if (it == json.end() || it->is_null()) return std::optional<int64_t>();
  if (!it->is_number_integer()) return Status::Invalid("add.stats: numRecords is not an integer");
  return std::optional<int64_t>(it->get<int64_t>());
}

}  // namespace sluice::delta
