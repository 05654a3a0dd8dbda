#include "sluice/sources/datastream/unified_types.h"

#include <arrow/api.h>
#include <arrow/compute/cast.h>
#include <arrow/util/bitmap_ops.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "sluice/sources/time_text.h"

namespace sluice::sources::datastream {

namespace {

using arrow::Type;
using ArrayPtr = std::shared_ptr<arrow::Array>;

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kMicrosPerDay = 86400 * kMicrosPerSecond;

// Why a record's value cannot be stored (storable_types.h: RowProblems).
constexpr const char* kMultiDimensionalArray =
    "holds a PostgreSQL array of two or more dimensions; the column is stored as a "
    "one-dimensional list";
constexpr const char* kArrayWithoutElements =
    "holds a multidimensionalArray value without nestedArray";
constexpr const char* kDatetimeOutOfRange = "holds a datetime beyond the int64 microsecond range";

// The Datastream records recognised by their two field names.
enum class Shape { kPlain, kTimestampTz, kTimeTz, kVarchar, kDatetime, kMultiArray };

bool IsTime(const arrow::DataType& t) { return t.id() == Type::TIME32 || t.id() == Type::TIME64; }
bool IsIntegerOrTime(const arrow::DataType& t) {
  return IsTime(t) || t.id() == Type::INT32 || t.id() == Type::INT64;
}

// Index of the field named `name`, or -1.
int FieldIndex(const arrow::DataType& t, std::string_view name) {
  for (int i = 0; i < t.num_fields(); ++i) {
    if (t.field(i)->name() == name) return i;
  }
  return -1;
}

Shape ShapeOf(const arrow::DataType& t) {
  if (t.id() != Type::STRUCT || t.num_fields() != 2) return Shape::kPlain;
  auto child = [&](std::string_view name) -> const arrow::DataType* {
    int i = FieldIndex(t, name);
    return i < 0 ? nullptr : t.field(i)->type().get();
  };
  if (auto ts = child("timestamp"), off = child("offset"); ts && off) {
    if ((ts->id() == Type::TIMESTAMP || ts->id() == Type::INT64) && IsIntegerOrTime(*off)) {
      return Shape::kTimestampTz;
    }
  }
  if (auto time = child("time"), off = child("offset"); time && off) {
    if ((IsTime(*time) || time->id() == Type::INT64) && IsIntegerOrTime(*off))
      return Shape::kTimeTz;
  }
  if (auto value = child("value"), length = child("length"); value && length) {
    if ((value->id() == Type::STRING || value->id() == Type::LARGE_STRING) &&
        arrow::is_integer(length->id())) {
      return Shape::kVarchar;
    }
  }
  if (auto date = child("date"), time = child("time"); date && time) {
    if (date->id() == Type::DATE32 && (IsTime(*time) || time->id() == Type::INT64)) {
      return Shape::kDatetime;
    }
  }
  if (auto nested = child("nestedArray"), element = child("elementValue"); nested && element) {
    if (nested->id() == Type::LIST) {
      const auto& item = *static_cast<const arrow::ListType&>(*nested).value_type();
      if (item.id() == Type::STRUCT && FieldIndex(item, "elementValue") >= 0 &&
          FieldIndex(item, "nestedArray") >= 0) {
        return Shape::kMultiArray;
      }
    }
  }
  return Shape::kPlain;
}

// "+HH:MM" (or "+HH:MM:SS") for an offset in microseconds.
void AppendOffset(int64_t micros, std::string* out) {
  out->push_back(micros < 0 ? '-' : '+');
  int64_t s = std::llabs(micros) / kMicrosPerSecond;
  char buf[32];
  int n =
      s % 60 == 0
          ? std::snprintf(buf, sizeof buf, "%02lld:%02lld", static_cast<long long>(s / 3600),
                          static_cast<long long>(s / 60 % 60))
          : std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                          static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  out->append(buf, static_cast<size_t>(n));
}

// Offset of a timeTz / timestampTz record in microseconds: time-millis
// decodes to time64(us); a bare int is milliseconds (Datastream's unit).
int64_t OffsetMicros(const arrow::Array& a, int64_t i) {
  int64_t per_second = 1000;
  int64_t v = TimeTicks(a, i, &per_second);
  return v * (kMicrosPerSecond / per_second);
}

// Datastream's records, each replaced by the one value it carries.
class RecordConversions : public StorableStructs {
 public:
  bool Recognises(const arrow::DataType& type) const override {
    return ShapeOf(type) != Shape::kPlain;
  }

  Result<ArrayPtr> Convert(const arrow::StructArray& s, const ConvertNested& convert,
                           RowProblems* problems) const override {
    switch (ShapeOf(*s.type())) {
      case Shape::kTimestampTz:
        return TimestampTz(s);
      case Shape::kTimeTz:
        return TimeTz(s);
      case Shape::kVarchar:
        return s.GetFlattenedField(FieldIndex(*s.type(), "value"));
      case Shape::kDatetime:
        return Datetime(s, problems);
      case Shape::kMultiArray:
        return MultiArray(s, convert, problems);
      case Shape::kPlain:
        break;
    }
    return Status::Invalid("not a Datastream record: ", s.type()->ToString());
  }

 private:
  // The `timestamp` field is the UTC instant: Datastream (and Google's own
  // Dataflow templates, which read it with Instant.ofEpochSecond and then
  // only re-express it "withZoneSameInstant") stores epoch microseconds of
  // the instant, and `offset` the zone the value was written in. So the
  // offset is not added or subtracted.
  Result<ArrayPtr> TimestampTz(const arrow::StructArray& s) const {
    ARROW_ASSIGN_OR_RAISE(auto ts, s.GetFlattenedField(FieldIndex(*s.type(), "timestamp")));
    auto unit = arrow::TimeUnit::MICRO;
    if (ts->type_id() == Type::TIMESTAMP) {
      unit = std::max(unit, static_cast<const arrow::TimestampType&>(*ts->type()).unit());
    } else {
      // Same buffers: the int64 is already epoch microseconds.
      auto data = ts->data()->Copy();
      data->type = arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
      ts = arrow::MakeArray(data);
    }
    auto target = arrow::timestamp(unit, "UTC");
    if (ts->type()->Equals(*target)) return ts;
    ARROW_ASSIGN_OR_RAISE(arrow::Datum cast, arrow::compute::Cast(ts, target));
    return cast.make_array();
  }

  Result<ArrayPtr> TimeTz(const arrow::StructArray& s) const {
    ARROW_ASSIGN_OR_RAISE(auto time, s.GetFlattenedField(FieldIndex(*s.type(), "time")));
    ARROW_ASSIGN_OR_RAISE(auto offset, s.GetFlattenedField(FieldIndex(*s.type(), "offset")));
    arrow::StringBuilder b;
    ARROW_RETURN_NOT_OK(b.Reserve(s.length()));
    std::string text;
    for (int64_t i = 0; i < s.length(); ++i) {
      if (time->IsNull(i) || offset->IsNull(i)) {
        ARROW_RETURN_NOT_OK(b.AppendNull());
        continue;
      }
      // A bare long time is microseconds, as time-micros would be.
      int64_t per_second = kMicrosPerSecond;
      int64_t v = TimeTicks(*time, i, &per_second);
      text.clear();
      AppendTimeText(v, per_second, &text);
      AppendOffset(OffsetMicros(*offset, i), &text);
      ARROW_RETURN_NOT_OK(b.Append(text));
    }
    return b.Finish();
  }

  Result<ArrayPtr> Datetime(const arrow::StructArray& s, RowProblems* problems) const {
    ARROW_ASSIGN_OR_RAISE(auto date_any, s.GetFlattenedField(FieldIndex(*s.type(), "date")));
    ARROW_ASSIGN_OR_RAISE(auto time, s.GetFlattenedField(FieldIndex(*s.type(), "time")));
    const auto& date = static_cast<const arrow::Date32Array&>(*date_any);
    arrow::TimestampBuilder b(arrow::timestamp(arrow::TimeUnit::MICRO),
                              arrow::default_memory_pool());
    ARROW_RETURN_NOT_OK(b.Reserve(s.length()));
    for (int64_t i = 0; i < s.length(); ++i) {
      if (date.IsNull(i) || time->IsNull(i)) {
        b.UnsafeAppendNull();
        continue;
      }
      int64_t per_second = kMicrosPerSecond;
      int64_t t = TimeTicks(*time, i, &per_second);
      int64_t day_us = 0;
      int64_t time_us = 0;
      int64_t us = 0;
      bool overflow = __builtin_mul_overflow(int64_t{date.Value(i)}, kMicrosPerDay, &day_us);
      if (per_second > kMicrosPerSecond) {
        time_us = t / (per_second / kMicrosPerSecond);  // nanoseconds: whole micros only
      } else {
        overflow |= __builtin_mul_overflow(t, kMicrosPerSecond / per_second, &time_us);
      }
      overflow |= __builtin_add_overflow(day_us, time_us, &us);
      if (overflow) {
        (*problems)[static_cast<size_t>(i)] = kDatetimeOutOfRange;
        b.UnsafeAppendNull();
      } else {
        b.UnsafeAppend(us);
      }
    }
    return b.Finish();
  }

  // {nestedArray: [{nestedArray: null, elementValue: v}, ...]} is a 1-D
  // array of v; an element with its own nestedArray is a deeper dimension.
  Result<ArrayPtr> MultiArray(const arrow::StructArray& s, const ConvertNested& convert,
                              RowProblems* problems) const {
    const int64_t n = s.length();
    auto list =
        std::static_pointer_cast<arrow::ListArray>(s.field(FieldIndex(*s.type(), "nestedArray")));
    const auto& elements = static_cast<const arrow::StructArray&>(*list->values());
    ARROW_ASSIGN_OR_RAISE(auto values,
                          elements.GetFlattenedField(FieldIndex(*elements.type(), "elementValue")));
    const auto& deeper = *elements.field(FieldIndex(*elements.type(), "nestedArray"));
    RowProblems value_problems(static_cast<size_t>(values->length()), nullptr);
    ARROW_ASSIGN_OR_RAISE(values, convert(values, &value_problems));
    for (int64_t j = 0; j < elements.length(); ++j) {
      if (elements.IsValid(j) && deeper.IsValid(j)) {
        value_problems[static_cast<size_t>(j)] = kMultiDimensionalArray;
      }
    }
    // Validity: the record is set and has its nestedArray. The bitmap is
    // indexed like the list's offsets (from list->offset()).
    const int64_t base = list->offset();
    ARROW_ASSIGN_OR_RAISE(auto bitmap, arrow::AllocateEmptyBitmap(base + n));
    int64_t nulls = 0;
    for (int64_t i = 0; i < n; ++i) {
      const bool valid = s.IsValid(i) && list->IsValid(i);
      if (valid) {
        arrow::bit_util::SetBit(bitmap->mutable_data(), base + i);
        for (int64_t j = list->value_offset(i); j < list->value_offset(i + 1); ++j) {
          if (value_problems[static_cast<size_t>(j)] != nullptr) {
            (*problems)[static_cast<size_t>(i)] = value_problems[static_cast<size_t>(j)];
            break;
          }
        }
      } else {
        ++nulls;
        if (s.IsValid(i)) (*problems)[static_cast<size_t>(i)] = kArrayWithoutElements;
      }
    }
    auto type = arrow::list(arrow::field("element", values->type(), /*nullable=*/true));
    return std::make_shared<arrow::ListArray>(type, n, list->value_offsets(), values, bitmap, nulls,
                                              base);
  }
};

}  // namespace

const StorableStructs& UnifiedTypeRecords() {
  static const RecordConversions kRecords;
  return kRecords;
}

bool NeedsDeltaConversion(const arrow::DataType& type) {
  return sources::NeedsDeltaConversion(type, &UnifiedTypeRecords());
}

Result<StorableColumn> ToDeltaStorable(const std::shared_ptr<arrow::Field>& field,
                                       const std::shared_ptr<arrow::Array>& values) {
  return sources::ToDeltaStorable(field, values, &UnifiedTypeRecords());
}

}  // namespace sluice::sources::datastream
