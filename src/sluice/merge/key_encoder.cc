#include "sluice/merge/key_encoder.h"

#include <arrow/api.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <set>

namespace sluice::merge {

namespace {

constexpr uint64_t kSignBit = uint64_t{1} << 63;

// Writes `v` big endian at `out`.
inline void PutU64(char* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}
inline void PutU32(char* out, uint32_t v) {
  for (int i = 3; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

inline uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

inline uint64_t Mix(uint64_t h) {  // the splitmix64 / murmur3 finalizer
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

// Fixed encoded width of a column type; 0 for variable-length types.
int FixedWidth(const arrow::DataType& type) {
  if (IntegerKeyTag(type) != 0) return 9;
  switch (type.id()) {
    case arrow::Type::BOOL:
      return 2;
    case arrow::Type::DATE32:
      return 5;
    case arrow::Type::TIMESTAMP:
      return 10;
    case arrow::Type::DECIMAL128:
      return 18;
    case arrow::Type::FLOAT:
    case arrow::Type::DOUBLE:
      return 9;
    default:
      return 0;
  }
}

// Signed integer value of row `i` of an integer-family array, widened.
template <typename ArrayT>
void WriteSigned(const arrow::Array& array, const std::vector<int64_t>& cursor, char* base,
                 const int32_t* invalid) {
  const auto& a = static_cast<const ArrayT&>(array);
  for (int64_t i = 0; i < a.length(); ++i) {
    if (invalid[i] >= 0) continue;
    char* out = base + cursor[i];
    out[0] = 'i';
    PutU64(out + 1, static_cast<uint64_t>(static_cast<int64_t>(a.Value(i))) ^ kSignBit);
  }
}

// The 'f' encoding of a floating-point value: keys compare by value with
// -0.0 == 0.0 and every NaN equal to every other (Spark's MERGE normalizes
// join keys the same way), so both zeros, and all NaN payloads, map to one
// bit pattern; then the IEEE order trick (negative: all bits flipped;
// positive: sign bit flipped) makes memcmp order value order.
inline uint64_t FloatKeyBits(double v) {
  if (v == 0.0) v = 0.0;  // -0.0 == 0.0 is true: both become +0.0
  uint64_t bits = std::isnan(v) ? 0x7ff8000000000000ULL : std::bit_cast<uint64_t>(v);
  return (bits & kSignBit) ? ~bits : bits ^ kSignBit;
}

template <typename ArrayT>
void WriteFloat(const arrow::Array& array, const std::vector<int64_t>& cursor, char* base,
                const int32_t* invalid) {
  const auto& a = static_cast<const ArrayT&>(array);
  for (int64_t i = 0; i < a.length(); ++i) {
    if (invalid[i] >= 0) continue;
    char* out = base + cursor[i];
    out[0] = 'f';
    // A float widens to the double of the same value, exactly.
    PutU64(out + 1, FloatKeyBits(static_cast<double>(a.Value(i))));
  }
}

template <typename ArrayT>
void WriteBytes(const arrow::Array& array, char tag, const std::vector<int64_t>& cursor, char* base,
                const int32_t* invalid) {
  const auto& a = static_cast<const ArrayT&>(array);
  for (int64_t i = 0; i < a.length(); ++i) {
    if (invalid[i] >= 0) continue;
    std::string_view v = a.GetView(i);
    char* out = base + cursor[i];
    out[0] = tag;
    PutU32(out + 1, static_cast<uint32_t>(v.size()));
    if (!v.empty()) std::memcpy(out + 5, v.data(), v.size());
  }
}

// Adds the encoded width of each valid row of a column to `len`.
void AddWidths(const arrow::Array& array, std::vector<int64_t>& len) {
  int width = FixedWidth(*array.type());
  int64_t n = array.length();
  if (width > 0) {
    for (int64_t i = 0; i < n; ++i) len[i] += width;
    return;
  }
  auto add_var = [&](const auto& a) {
    for (int64_t i = 0; i < n; ++i) len[i] += 5 + static_cast<int64_t>(a.GetView(i).size());
  };
  switch (array.type_id()) {
    case arrow::Type::STRING:
      add_var(static_cast<const arrow::StringArray&>(array));
      break;
    case arrow::Type::LARGE_STRING:
      add_var(static_cast<const arrow::LargeStringArray&>(array));
      break;
    case arrow::Type::BINARY:
      add_var(static_cast<const arrow::BinaryArray&>(array));
      break;
    case arrow::Type::LARGE_BINARY:
      add_var(static_cast<const arrow::LargeBinaryArray&>(array));
      break;
    default:
      break;  // unreachable: Make() rejected the type
  }
}

// Writes one column's part of every valid row at cursor[i], then advances it.
void WriteColumn(const arrow::Array& array, std::vector<int64_t>& cursor, char* base,
                 const int32_t* invalid) {
  int64_t n = array.length();
  switch (array.type_id()) {
    case arrow::Type::INT8:
      WriteSigned<arrow::Int8Array>(array, cursor, base, invalid);
      break;
    case arrow::Type::INT16:
      WriteSigned<arrow::Int16Array>(array, cursor, base, invalid);
      break;
    case arrow::Type::INT32:
      WriteSigned<arrow::Int32Array>(array, cursor, base, invalid);
      break;
    case arrow::Type::INT64:
      WriteSigned<arrow::Int64Array>(array, cursor, base, invalid);
      break;
    case arrow::Type::UINT8:
      WriteSigned<arrow::UInt8Array>(array, cursor, base, invalid);
      break;
    case arrow::Type::UINT16:
      WriteSigned<arrow::UInt16Array>(array, cursor, base, invalid);
      break;
    case arrow::Type::UINT32:
      WriteSigned<arrow::UInt32Array>(array, cursor, base, invalid);
      break;
    case arrow::Type::UINT64: {
      const auto& a = static_cast<const arrow::UInt64Array&>(array);
      for (int64_t i = 0; i < n; ++i) {
        if (invalid[i] >= 0) continue;
        base[cursor[i]] = 'u';
        PutU64(base + cursor[i] + 1, a.Value(i));
      }
      break;
    }
    case arrow::Type::BOOL: {
      const auto& a = static_cast<const arrow::BooleanArray&>(array);
      for (int64_t i = 0; i < n; ++i) {
        if (invalid[i] >= 0) continue;
        base[cursor[i]] = 'b';
        base[cursor[i] + 1] = a.Value(i) ? 1 : 0;
      }
      break;
    }
    case arrow::Type::DATE32: {
      const auto& a = static_cast<const arrow::Date32Array&>(array);
      for (int64_t i = 0; i < n; ++i) {
        if (invalid[i] >= 0) continue;
        base[cursor[i]] = 'd';
        PutU32(base + cursor[i] + 1, static_cast<uint32_t>(a.Value(i)) ^ (uint32_t{1} << 31));
      }
      break;
    }
    case arrow::Type::TIMESTAMP: {
      const auto& a = static_cast<const arrow::TimestampArray&>(array);
      auto unit = static_cast<char>(static_cast<const arrow::TimestampType&>(*a.type()).unit());
      for (int64_t i = 0; i < n; ++i) {
        if (invalid[i] >= 0) continue;
        base[cursor[i]] = 't';
        base[cursor[i] + 1] = unit;
        PutU64(base + cursor[i] + 2, static_cast<uint64_t>(a.Value(i)) ^ kSignBit);
      }
      break;
    }
    case arrow::Type::DECIMAL128: {
      const auto& a = static_cast<const arrow::Decimal128Array&>(array);
      auto scale = static_cast<char>(static_cast<const arrow::Decimal128Type&>(*a.type()).scale());
      for (int64_t i = 0; i < n; ++i) {
        if (invalid[i] >= 0) continue;
        arrow::Decimal128 v(a.GetValue(i));
        char* out = base + cursor[i];
        out[0] = 'n';
        out[1] = scale;
        PutU64(out + 2, static_cast<uint64_t>(v.high_bits()) ^ kSignBit);
        PutU64(out + 10, v.low_bits());
      }
      break;
    }
    case arrow::Type::FLOAT:
      WriteFloat<arrow::FloatArray>(array, cursor, base, invalid);
      break;
    case arrow::Type::DOUBLE:
      WriteFloat<arrow::DoubleArray>(array, cursor, base, invalid);
      break;
    case arrow::Type::STRING:
      WriteBytes<arrow::StringArray>(array, 's', cursor, base, invalid);
      break;
    case arrow::Type::LARGE_STRING:
      WriteBytes<arrow::LargeStringArray>(array, 's', cursor, base, invalid);
      break;
    case arrow::Type::BINARY:
      WriteBytes<arrow::BinaryArray>(array, 'y', cursor, base, invalid);
      break;
    case arrow::Type::LARGE_BINARY:
      WriteBytes<arrow::LargeBinaryArray>(array, 'y', cursor, base, invalid);
      break;
    default:
      break;  // unreachable: Make() rejected the type
  }
  // Advance the cursors past this column.
  int width = FixedWidth(*array.type());
  for (int64_t i = 0; i < n; ++i) {
    if (invalid[i] >= 0) continue;
    if (width > 0) {
      cursor[i] += width;
    } else {
      uint32_t len = 0;
      for (int b = 1; b <= 4; ++b) len = (len << 8) | static_cast<uint8_t>(base[cursor[i] + b]);
      cursor[i] += 5 + len;
    }
  }
}

}  // namespace

uint64_t HashKey(std::string_view bytes) {
  // A simple word-at-a-time multiply-rotate hash: keys are short, so the
  // loop runs once or twice and the finalizer does the avalanching.
  uint64_t h = 0x9e3779b97f4a7c15ULL ^ (bytes.size() * 0x87c37b91114253d5ULL);
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    h ^= Mix(Load64(bytes.data() + i));
    h = std::rotl(h, 27) * 0x4cf5ad432745937fULL + 0x52dce729;
  }
  uint64_t tail = 0;
  for (size_t j = 0; i + j < bytes.size(); ++j) {
    tail |= uint64_t{static_cast<uint8_t>(bytes[i + j])} << (8 * j);
  }
  h ^= Mix(tail + 1);
  return Mix(h);
}

std::string EncodedKeys::InvalidReason(int64_t row) const {
  int32_t c = invalid_column_[row];
  if (c < 0) return "";
  return "primary key column '" + (*key_names_)[c] + "' is null";
}

bool IsSupportedKeyType(const arrow::DataType& type) {
  switch (type.id()) {
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::BINARY:
    case arrow::Type::LARGE_BINARY:
      return true;
    default:
      return FixedWidth(type) > 0;
  }
}

Result<KeyEncoder> KeyEncoder::Make(const arrow::Schema& schema,
                                    const std::vector<std::string>& key_columns) {
  if (key_columns.empty()) return Status::Invalid("a merge needs at least one primary key column");
  KeyEncoder encoder;
  std::set<std::string> seen;
  for (const auto& name : key_columns) {
    if (!seen.insert(name).second) {
      return Status::Invalid("primary key column '", name, "' is listed twice");
    }
    auto field = schema.GetFieldByName(name);
    if (!field) return Status::Invalid("primary key column '", name, "' is not in the schema");
    if (!IsSupportedKeyType(*field->type())) {
      return Status::Invalid("primary key column '", name, "' has type ", field->type()->ToString(),
                             ", which cannot be a merge key");
    }
    encoder.types_.push_back(field->type());
  }
  encoder.names_ = std::make_shared<const std::vector<std::string>>(key_columns);
  return encoder;
}

Result<EncodedKeys> KeyEncoder::Encode(const arrow::RecordBatch& batch) const {
  std::vector<std::shared_ptr<arrow::Array>> columns;
  for (size_t k = 0; k < names_->size(); ++k) {
    auto column = batch.GetColumnByName((*names_)[k]);
    if (!column) return Status::Invalid("primary key column '", (*names_)[k], "' is missing");
    columns.push_back(std::move(column));
  }
  return EncodeColumns(columns, batch.num_rows());
}

Result<EncodedKeys> KeyEncoder::EncodeColumns(
    const std::vector<std::shared_ptr<arrow::Array>>& columns, int64_t num_rows) const {
  if (columns.size() != names_->size()) {
    return Status::Invalid("expected ", names_->size(), " key columns, got ", columns.size());
  }
  for (size_t k = 0; k < columns.size(); ++k) {
    if (columns[k]->length() != num_rows || !IsSupportedKeyType(*columns[k]->type())) {
      return Status::Invalid("key column '", (*names_)[k], "' has type ",
                             columns[k]->type()->ToString(), " and ", columns[k]->length(),
                             " rows; expected a key type and ", num_rows, " rows");
    }
  }
  EncodedKeys out;
  out.key_names_ = names_;
  auto n = static_cast<size_t>(num_rows);
  out.invalid_column_.assign(n, -1);
  // Pass 1: nulls make a row invalid (its key stays empty).
  for (size_t k = 0; k < columns.size(); ++k) {
    if (columns[k]->null_count() == 0) continue;
    for (int64_t i = 0; i < num_rows; ++i) {
      if (out.invalid_column_[i] < 0 && columns[k]->IsNull(i)) {
        out.invalid_column_[i] = static_cast<int32_t>(k);
        ++out.num_invalid_;
      }
    }
  }
  // Pass 2: widths, then offsets.
  std::vector<int64_t> len(n, 0);
  for (const auto& c : columns) AddWidths(*c, len);
  out.offsets_.resize(n + 1);
  for (size_t i = 0; i < n; ++i) {
    out.offsets_[i + 1] = out.offsets_[i] + (out.invalid_column_[i] < 0 ? len[i] : 0);
  }
  // Pass 3: column at a time, each row writing at its own cursor.
  out.data_.resize(static_cast<size_t>(out.offsets_[n]));
  std::vector<int64_t> cursor(out.offsets_.begin(), out.offsets_.end() - 1);
  for (const auto& c : columns) {
    WriteColumn(*c, cursor, out.data_.data(), out.invalid_column_.data());
  }
  out.hashes_.resize(n);
  for (size_t i = 0; i < n; ++i) out.hashes_[i] = HashKey(out.key(static_cast<int64_t>(i)));
  return out;
}

char IntegerKeyTag(const arrow::DataType& type) {
  switch (type.id()) {
    case arrow::Type::INT8:
    case arrow::Type::INT16:
    case arrow::Type::INT32:
    case arrow::Type::INT64:
    case arrow::Type::UINT8:
    case arrow::Type::UINT16:
    case arrow::Type::UINT32:
      return 'i';
    case arrow::Type::UINT64:
      return 'u';
    default:
      return 0;
  }
}

}  // namespace sluice::merge
