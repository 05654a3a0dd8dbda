#include "sluice/sources/datastream/event_columns.h"

#include <arrow/api.h>
#include <arrow/util/value_parsing.h>

#include <cctype>
#include <charconv>

#include "sluice/core/arrow_util.h"
#include "sluice/formats/avro/json_fallback.h"
#include "sluice/sources/datastream/position_parsers.h"

namespace sluice::sources::datastream {

namespace {

std::optional<int64_t> ParseDecimalI64(std::string_view s) {
  bool negative = !s.empty() && s.front() == '-';
  if (negative) s.remove_prefix(1);
  auto v = ParseDecimalU64(s);
  if (!v) return std::nullopt;
  if (negative) {
    if (*v > uint64_t{1} << 63) return std::nullopt;
    return static_cast<int64_t>(0 - *v);
  }
  if (*v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<int64_t>(*v);
}

std::optional<int64_t> ParseTimestampText(std::string_view s) {
  // One parser for every row: the ISO-8601 parser accepts both the "T" and the
  // space separator, fractions and a "Z" / offset suffix.
  static const std::shared_ptr<arrow::TimestampParser> parser =
      arrow::TimestampParser::MakeISO8601();
  int64_t out = 0;
  bool zone = false;
  if (!(*parser)(s.data(), s.size(), arrow::TimeUnit::MICRO, &out, &zone)) return std::nullopt;
  return out;
}

}  // namespace

EventColumn::EventColumn(std::shared_ptr<arrow::Array> array) : array_(std::move(array)) {}

bool EventColumn::IsNull(int64_t i) const { return !array_ || array_->IsNull(i); }

std::optional<std::string_view> EventColumn::String(int64_t i) const {
  if (IsNull(i)) return std::nullopt;
  return BinaryLikeView(*array_, i);
}

std::optional<int64_t> EventColumn::Int64(int64_t i) const {
  if (IsNull(i)) return std::nullopt;
  switch (array_->type_id()) {
    case arrow::Type::INT8:
      return static_cast<const arrow::Int8Array&>(*array_).Value(i);
    case arrow::Type::INT16:
      return static_cast<const arrow::Int16Array&>(*array_).Value(i);
    case arrow::Type::INT32:
      return static_cast<const arrow::Int32Array&>(*array_).Value(i);
    case arrow::Type::INT64:
      return static_cast<const arrow::Int64Array&>(*array_).Value(i);
    case arrow::Type::UINT8:
      return static_cast<const arrow::UInt8Array&>(*array_).Value(i);
    case arrow::Type::UINT16:
      return static_cast<const arrow::UInt16Array&>(*array_).Value(i);
    case arrow::Type::UINT32:
      return static_cast<const arrow::UInt32Array&>(*array_).Value(i);
    case arrow::Type::UINT64: {
      uint64_t v = static_cast<const arrow::UInt64Array&>(*array_).Value(i);
      if (v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
      return static_cast<int64_t>(v);
    }
    default:
      break;
  }
  auto text = String(i);
  if (!text) return std::nullopt;
  return ParseDecimalI64(*text);
}

std::optional<uint64_t> EventColumn::UInt64(int64_t i) const {
  if (!IsNull(i) && array_->type_id() == arrow::Type::UINT64) {
    return static_cast<const arrow::UInt64Array&>(*array_).Value(i);
  }
  if (auto text = String(i)) return ParseDecimalU64(*text);
  auto v = Int64(i);
  if (!v || *v < 0) return std::nullopt;
  return static_cast<uint64_t>(*v);
}

std::optional<bool> EventColumn::Bool(int64_t i) const {
  if (IsNull(i)) return std::nullopt;
  if (array_->type_id() == arrow::Type::BOOL) {
    return static_cast<const arrow::BooleanArray&>(*array_).Value(i);
  }
  if (auto text = String(i)) {
    if (*text == "true" || *text == "TRUE" || *text == "True") return true;
    if (*text == "false" || *text == "FALSE" || *text == "False") return false;
    return std::nullopt;
  }
  if (auto v = Int64(i)) return *v != 0;
  return std::nullopt;
}

std::optional<int64_t> EventColumn::TimestampMicros(int64_t i) const {
  if (IsNull(i)) return std::nullopt;
  if (array_->type_id() == arrow::Type::TIMESTAMP) {
    int64_t v = static_cast<const arrow::TimestampArray&>(*array_).Value(i);
    switch (static_cast<const arrow::TimestampType&>(*array_->type()).unit()) {
      case arrow::TimeUnit::SECOND:
        return v * 1000000;
      case arrow::TimeUnit::MILLI:
        return v * 1000;
      case arrow::TimeUnit::MICRO:
        return v;
      case arrow::TimeUnit::NANO:
        return v / 1000;
    }
  }
  if (auto text = String(i)) {
    // Numeric text is epoch millis, like the integer columns below.
    if (auto ms = ParseDecimalI64(*text)) return *ms * 1000;
    return ParseTimestampText(*text);
  }
  if (auto ms = Int64(i)) return *ms * 1000;
  return std::nullopt;
}

std::vector<std::string> EventColumn::StringList(int64_t i) const {
  std::vector<std::string> out;
  if (IsNull(i)) return out;
  auto t = array_->type_id();
  if (t != arrow::Type::LIST && t != arrow::Type::LARGE_LIST) return out;
  std::shared_ptr<arrow::Array> values;
  int64_t begin = 0, end = 0;
  if (t == arrow::Type::LIST) {
    const auto& list = static_cast<const arrow::ListArray&>(*array_);
    values = list.values();
    begin = list.value_offset(i);
    end = begin + list.value_length(i);
  } else {
    const auto& list = static_cast<const arrow::LargeListArray&>(*array_);
    values = list.values();
    begin = list.value_offset(i);
    end = begin + list.value_length(i);
  }
  EventColumn items(values);
  for (int64_t k = begin; k < end; ++k) {
    if (auto s = items.String(k)) out.emplace_back(*s);
  }
  return out;
}

EventColumn EventColumns::Meta(std::string_view name) const {
  for (size_t k = 0; k < metadata_fields.size(); ++k) {
    if (metadata_fields[k]->name() == name) return metadata[k];
  }
  return EventColumn();
}

int EventColumns::PayloadIndex(std::string_view name) const {
  int found = -1;
  for (size_t k = 0; k < payload_fields.size(); ++k) {
    if (payload_fields[k]->name() == name) return static_cast<int>(k);
  }
  auto lower_eq = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t j = 0; j < a.size(); ++j) {
      if (std::tolower(static_cast<unsigned char>(a[j])) !=
          std::tolower(static_cast<unsigned char>(b[j])))
        return false;
    }
    return true;
  };
  for (size_t k = 0; k < payload_fields.size(); ++k) {
    if (lower_eq(payload_fields[k]->name(), name)) {
      if (found >= 0) return -1;  // ambiguous: "Id" and "ID" both exist
      found = static_cast<int>(k);
    }
  }
  return found;
}

Result<EventColumns> EventColumns::Bind(const arrow::RecordBatch& events) {
  EventColumns c;
  auto top = [&](const char* name) {
    auto col = events.GetColumnByName(name);
    return col ? EventColumn(col) : EventColumn();
  };
  c.uuid = top("uuid");
  c.read_timestamp = top("read_timestamp");
  c.source_timestamp = top("source_timestamp");
  c.object = top("object");
  c.read_method = top("read_method");
  c.stream_name = top("stream_name");
  c.schema_key = top("schema_key");
  c.sort_keys = top("sort_keys");

  // Children of a struct do not carry the struct's validity; Flatten folds
  // it in, so a null source_metadata / payload reads as all-null fields.
  auto flatten = [](const std::shared_ptr<arrow::Array>& col, const char* name,
                    std::vector<std::shared_ptr<arrow::Field>>* fields,
                    std::vector<std::shared_ptr<arrow::Array>>* arrays) -> Status {
    if (col->type_id() != arrow::Type::STRUCT) {
      return Status::TypeError("Datastream column '", name, "' is ", col->type()->ToString(),
                               ", expected a struct");
    }
    const auto& st = static_cast<const arrow::StructArray&>(*col);
    ARROW_ASSIGN_OR_RAISE(*arrays, st.Flatten());
    *fields = st.struct_type()->fields();
    return Status::OK();
  };
  if (auto meta = events.GetColumnByName("source_metadata")) {
    std::vector<std::shared_ptr<arrow::Array>> arrays;
    ARROW_RETURN_NOT_OK(flatten(meta, "source_metadata", &c.metadata_fields, &arrays));
    for (auto& a : arrays) c.metadata.emplace_back(std::move(a));
  }
  auto payload = events.GetColumnByName("payload");
  if (!payload) return Status::Invalid("Datastream events have no 'payload' column");
  ARROW_RETURN_NOT_OK(flatten(payload, "payload", &c.payload_fields, &c.payload));
  return c;
}

std::optional<std::string> SortKeyElement(const EventColumn& sort_keys, int64_t i, int index) {
  if (sort_keys.IsNull(i) || sort_keys.array()->type_id() != arrow::Type::LIST) return std::nullopt;
  const auto& list = static_cast<const arrow::ListArray&>(*sort_keys.array());
  if (index < 0 || index >= list.value_length(i)) return std::nullopt;
  int64_t k = list.value_offset(i) + index;
  auto values = list.values();
  std::vector<EventColumn> members;
  if (values->type_id() == arrow::Type::STRUCT) {
    auto flat = static_cast<const arrow::StructArray&>(*values).Flatten();
    if (!flat.ok()) return std::nullopt;
    for (auto& m : *flat) members.emplace_back(m);
  } else {
    members.emplace_back(values);
  }
  for (const auto& m : members) {
    if (m.IsNull(k)) continue;
    if (auto s = m.String(k)) return std::string(*s);
    if (auto n = m.Int64(k)) return std::to_string(*n);
    return std::nullopt;
  }
  return std::nullopt;
}

SortKeysJson::SortKeysJson(const EventColumn& sort_keys) : sort_keys_(sort_keys) {
  const auto& arr = sort_keys.array();
  if (!arr || arr->type_id() != arrow::Type::LIST) return;
  auto values = static_cast<const arrow::ListArray&>(*arr).values();
  // A union element decoded as struct<string, long>: the one member set.
  if (values->type_id() == arrow::Type::STRUCT) {
    auto flat = static_cast<const arrow::StructArray&>(*values).Flatten();
    if (flat.ok()) {
      for (auto& m : *flat) members_.emplace_back(m);
    }
  } else {
    members_.emplace_back(values);
  }
}

bool SortKeysJson::Format(int64_t i, std::string& out) const {
  out.clear();
  if (sort_keys_.IsNull(i)) return false;
  const auto& arr = sort_keys_.array();
  if (arr->type_id() != arrow::Type::LIST) {
    // Not a list (an unexpected encoding): keep its text form rather than lose it.
    auto scalar = arr->GetScalar(i);
    if (!scalar.ok()) return false;
    out = (*scalar)->ToString();
    return true;
  }
  const auto& list = static_cast<const arrow::ListArray&>(*arr);
  out += '[';
  int64_t begin = list.value_offset(i), end = begin + list.value_length(i);
  for (int64_t k = begin; k < end; ++k) {
    if (k > begin) out += ',';
    bool written = false;
    for (const auto& m : members_) {
      if (m.IsNull(k)) continue;
      auto t = m.array()->type_id();
      if (auto s = m.String(k)) {
        formats::avro::AppendJsonString(*s, /*latin1=*/false, &out);
        written = true;
      } else if (arrow::is_integer(t)) {
        if (auto n = m.Int64(k)) {
          char buf[24];
          auto r = std::to_chars(buf, buf + sizeof(buf), *n);
          out.append(buf, r.ptr);
          written = true;
        }
      } else if (auto scalar = m.array()->GetScalar(k); scalar.ok()) {
        formats::avro::AppendJsonString((*scalar)->ToString(), /*latin1=*/false, &out);
        written = true;
      }
      break;
    }
    if (!written) out += "null";
  }
  out += ']';
  return true;
}

}  // namespace sluice::sources::datastream
