#include "sluice/sources/datastream/unified_types.h"

#include <arrow/api.h>
#include <arrow/compute/cast.h>
#include <arrow/extension_type.h>
#include <arrow/util/bitmap_ops.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "sluice/core/arrow_init.h"
#include "sluice/core/arrow_util.h"

namespace sluice::sources::datastream {

namespace {

using arrow::Type;
using ArrayPtr = std::shared_ptr<arrow::Array>;

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kMicrosPerDay = 86400 * kMicrosPerSecond;

// Why a value cannot be stored; 0 = it can. One code per element of the
// array being converted, so a nested problem can be traced to its row.
enum Problem : uint8_t {
  kNone = 0,
  kMultiDimensionalArray = 1,
  kArrayWithoutElements = 2,
  kDatetimeOutOfRange = 3,
};
using Problems = std::vector<uint8_t>;

std::string_view ProblemText(uint8_t p) {
  switch (p) {
    case kMultiDimensionalArray:
      return "holds a PostgreSQL array of two or more dimensions; the column is stored as a "
             "one-dimensional list";
    case kArrayWithoutElements:
      return "holds a multidimensionalArray value without nestedArray";
    case kDatetimeOutOfRange:
      return "holds a datetime beyond the int64 microsecond range";
    default:
      return "";
  }
}

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

bool DecimalStorable(const arrow::DataType& t) {
  const auto& d = static_cast<const arrow::DecimalType&>(t);
  return d.precision() <= 38 && d.scale() >= 0 && t.id() != Type::DECIMAL256;
}

Result<ArrayPtr> CastTo(const ArrayPtr& a, const std::shared_ptr<arrow::DataType>& type) {
  ARROW_ASSIGN_OR_RAISE(arrow::Datum d, arrow::compute::Cast(a, type));
  return d.make_array();
}

// Same buffers, another type of the same physical layout (int64 <-> time64,
// int32 <-> month interval).
ArrayPtr Reinterpret(const ArrayPtr& a, const std::shared_ptr<arrow::DataType>& type) {
  auto data = a->data()->Copy();
  data->type = type;
  return arrow::MakeArray(data);
}

// The validity of `a` as a fresh bitmap starting at bit 0 (null when `a` has
// no nulls), for rebuilding an array whose children are already sliced.
Result<std::shared_ptr<arrow::Buffer>> ValidityFromZero(const arrow::Array& a) {
  if (a.null_count() == 0 || a.null_bitmap_data() == nullptr) return nullptr;
  if (a.offset() == 0) return a.null_bitmap();
  return arrow::internal::CopyBitmap(arrow::default_memory_pool(), a.null_bitmap_data(), a.offset(),
                                     a.length());
}

// Value i of a time32/time64/int32/int64 array, as a count of `*per_second`.
int64_t RawTime(const arrow::Array& a, int64_t i, int64_t* per_second) {
  switch (a.type_id()) {
    case Type::TIME32:
      *per_second = TicksPerSecond(static_cast<const arrow::Time32Type&>(*a.type()).unit());
      return static_cast<const arrow::Time32Array&>(a).Value(i);
    case Type::TIME64:
      *per_second = TicksPerSecond(static_cast<const arrow::Time64Type&>(*a.type()).unit());
      return static_cast<const arrow::Time64Array&>(a).Value(i);
    case Type::INT32:
      return static_cast<const arrow::Int32Array&>(a).Value(i);
    default:
      return static_cast<const arrow::Int64Array&>(a).Value(i);
  }
}

// "[-]HH:MM:SS[.ffffff]" for a signed count of 1/per_second seconds. Hours
// are not wrapped: a MySQL TIME of 838 hours stays "838:59:59".
void AppendClock(int64_t value, int64_t per_second, std::string* out) {
  // Magnitude as unsigned so INT64_MIN does not overflow.
  uint64_t mag = value < 0 ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
  if (value < 0) out->push_back('-');
  const uint64_t ps = static_cast<uint64_t>(per_second);
  uint64_t seconds = mag / ps;
  uint64_t frac = mag % ps;
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%02llu:%02llu:%02llu",
                        static_cast<unsigned long long>(seconds / 3600),
                        static_cast<unsigned long long>(seconds / 60 % 60),
                        static_cast<unsigned long long>(seconds % 60));
  out->append(buf, static_cast<size_t>(n));
  if (frac == 0) return;
  // Microseconds when exact (every unit but a nanosecond remainder).
  int digits = 6;
  uint64_t scaled = frac * (1000000 / (ps >= 1000000 ? 1000000 : ps));
  if (ps == 1000000000) {
    if (frac % 1000 == 0) {
      scaled = frac / 1000;
    } else {
      digits = 9;
      scaled = frac;
    }
  }
  n = std::snprintf(buf, sizeof buf, ".%0*llu", digits, static_cast<unsigned long long>(scaled));
  out->append(buf, static_cast<size_t>(n));
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

// A time-of-day column as text.
Result<ArrayPtr> TimesAsText(const arrow::Array& a) {
  arrow::StringBuilder b;
  ARROW_RETURN_NOT_OK(b.Reserve(a.length()));
  std::string text;
  for (int64_t i = 0; i < a.length(); ++i) {
    if (a.IsNull(i)) {
      ARROW_RETURN_NOT_OK(b.AppendNull());
      continue;
    }
    int64_t per_second = 1;
    int64_t v = RawTime(a, i, &per_second);
    text.clear();
    AppendClock(v, per_second, &text);
    ARROW_RETURN_NOT_OK(b.Append(text));
  }
  return b.Finish();
}

// Offset of a timeTz / timestampTz record in microseconds: time-millis
// decodes to time64(us); a bare int is milliseconds (Datastream's unit).
int64_t OffsetMicros(const arrow::Array& a, int64_t i) {
  int64_t per_second = 1000;
  int64_t v = RawTime(a, i, &per_second);
  return v * (kMicrosPerSecond / per_second);
}

class Converter {
 public:
  // Converts `a`; `problems` has a->length() entries, all kNone on entry.
  Result<ArrayPtr> Convert(const ArrayPtr& a, Problems* problems) {
    if (!NeedsDeltaConversion(*a->type())) return a;
    switch (a->type_id()) {
      case Type::UINT8:
        return CastTo(a, arrow::int16());
      case Type::UINT16:
        return CastTo(a, arrow::int32());
      case Type::UINT32:
        return CastTo(a, arrow::int64());
      case Type::UINT64:
        return CastTo(a, arrow::decimal128(20, 0));
      case Type::FIXED_SIZE_BINARY:
        return CastTo(a, arrow::binary());
      case Type::TIME32:
      case Type::TIME64:
        return TimesAsText(*a);
      case Type::DURATION:
        return DurationCount(a);
      case Type::INTERVAL_MONTHS:
        return Reinterpret(a, arrow::int32());
      case Type::INTERVAL_DAY_TIME:
        return DayTimeMicros(*a);
      case Type::INTERVAL_MONTH_DAY_NANO:
        return MonthDayNano(*a);
      case Type::DECIMAL32:
      case Type::DECIMAL64:
      case Type::DECIMAL128:
      case Type::DECIMAL256: {
        const auto& d = static_cast<const arrow::DecimalType&>(*a->type());
        if (d.precision() <= 38 && d.scale() >= 0) {
          return CastTo(a, arrow::decimal128(d.precision(), d.scale()));
        }
        return CastTo(a, arrow::utf8());
      }
      case Type::STRUCT:
        return Struct(a, problems);
      case Type::LIST:
        return List<arrow::ListArray>(a, problems);
      case Type::LARGE_LIST:
        return List<arrow::LargeListArray>(a, problems);
      case Type::FIXED_SIZE_LIST:
        return FixedSizeList(a, problems);
      case Type::MAP:
        return Map(a, problems);
      case Type::DICTIONARY: {
        const auto& dict = static_cast<const arrow::DictionaryType&>(*a->type());
        ARROW_ASSIGN_OR_RAISE(auto dense, CastTo(a, dict.value_type()));
        return Convert(dense, problems);
      }
      case Type::EXTENSION:
        return Convert(static_cast<const arrow::ExtensionArray&>(*a).storage(), problems);
      default:
        return a;
    }
  }

 private:
  // int64 microseconds, or nanoseconds for duration(ns) (dividing would
  // round); a product that overflows is an error rather than a wrong count.
  Result<ArrayPtr> DurationCount(const ArrayPtr& a) {
    const auto unit = static_cast<const arrow::DurationType&>(*a->type()).unit();
    auto counts = std::static_pointer_cast<arrow::Int64Array>(Reinterpret(a, arrow::int64()));
    if (unit == arrow::TimeUnit::MICRO || unit == arrow::TimeUnit::NANO) return counts;
    const int64_t factor = kMicrosPerSecond / TicksPerSecond(unit);
    arrow::Int64Builder b;
    ARROW_RETURN_NOT_OK(b.Reserve(a->length()));
    for (int64_t i = 0; i < a->length(); ++i) {
      if (counts->IsNull(i)) {
        b.UnsafeAppendNull();
        continue;
      }
      int64_t v = 0;
      if (__builtin_mul_overflow(counts->Value(i), factor, &v)) {
        return Status::Invalid("duration ", counts->Value(i), " overflows int64 microseconds");
      }
      b.UnsafeAppend(v);
    }
    return b.Finish();
  }

  Result<ArrayPtr> DayTimeMicros(const arrow::Array& a) {
    const auto& in = static_cast<const arrow::DayTimeIntervalArray&>(a);
    arrow::Int64Builder b;
    ARROW_RETURN_NOT_OK(b.Reserve(a.length()));
    for (int64_t i = 0; i < a.length(); ++i) {
      if (in.IsNull(i)) {
        b.UnsafeAppendNull();
        continue;
      }
      auto v = in.GetValue(i);
      // Both parts are int32, so the sum fits int64 without checks.
      b.UnsafeAppend(int64_t{v.days} * kMicrosPerDay + int64_t{v.milliseconds} * 1000);
    }
    return b.Finish();
  }

  Result<ArrayPtr> MonthDayNano(const arrow::Array& a) {
    const auto& in = static_cast<const arrow::MonthDayNanoIntervalArray&>(a);
    arrow::Int32Builder months;
    arrow::Int32Builder days;
    arrow::Int64Builder nanos;
    for (int64_t i = 0; i < a.length(); ++i) {
      auto v = in.GetValue(i);
      ARROW_RETURN_NOT_OK(months.Append(v.months));
      ARROW_RETURN_NOT_OK(days.Append(v.days));
      ARROW_RETURN_NOT_OK(nanos.Append(v.nanoseconds));
    }
    ArrayPtr m, d, ns;
    ARROW_RETURN_NOT_OK(months.Finish(&m));
    ARROW_RETURN_NOT_OK(days.Finish(&d));
    ARROW_RETURN_NOT_OK(nanos.Finish(&ns));
    ARROW_ASSIGN_OR_RAISE(auto validity, ValidityFromZero(a));
    return std::make_shared<arrow::StructArray>(
        arrow::struct_({arrow::field("months", arrow::int32()),
                        arrow::field("days", arrow::int32()),
                        arrow::field("nanoseconds", arrow::int64())}),
        a.length(), arrow::ArrayVector{m, d, ns}, validity, a.null_count());
  }

  Result<ArrayPtr> Struct(const ArrayPtr& a, Problems* problems) {
    const auto& s = static_cast<const arrow::StructArray&>(*a);
    switch (ShapeOf(*a->type())) {
      case Shape::kTimestampTz:
        return TimestampTz(s);
      case Shape::kTimeTz:
        return TimeTz(s);
      case Shape::kVarchar:
        return s.GetFlattenedField(FieldIndex(*a->type(), "value"));
      case Shape::kDatetime:
        return Datetime(s, problems);
      case Shape::kMultiArray:
        return MultiArray(s, problems);
      case Shape::kPlain:
        break;
    }
    arrow::FieldVector fields;
    arrow::ArrayVector children;
    for (int k = 0; k < s.num_fields(); ++k) {
      Problems child_problems(static_cast<size_t>(s.length()), kNone);
      ARROW_ASSIGN_OR_RAISE(auto child, Convert(s.field(k), &child_problems));
      for (int64_t i = 0; i < s.length(); ++i) {
        auto p = child_problems[static_cast<size_t>(i)];
        if (p != kNone && s.IsValid(i) && (*problems)[static_cast<size_t>(i)] == kNone) {
          (*problems)[static_cast<size_t>(i)] = p;
        }
      }
      fields.push_back(s.type()->field(k)->WithType(child->type()));
      children.push_back(std::move(child));
    }
    ARROW_ASSIGN_OR_RAISE(auto validity, ValidityFromZero(s));
    return std::make_shared<arrow::StructArray>(arrow::struct_(fields), s.length(), children,
                                                validity, s.null_count());
  }

  // The `timestamp` field is the UTC instant: Datastream (and Google's own
  // Dataflow templates, which read it with Instant.ofEpochSecond and then
  // only re-express it "withZoneSameInstant") stores epoch microseconds of
  // the instant, and `offset` the zone the value was written in. So the
  // offset is not added or subtracted.
  Result<ArrayPtr> TimestampTz(const arrow::StructArray& s) {
    ARROW_ASSIGN_OR_RAISE(auto ts, s.GetFlattenedField(FieldIndex(*s.type(), "timestamp")));
    auto unit = arrow::TimeUnit::MICRO;
    if (ts->type_id() == Type::TIMESTAMP) {
      unit = std::max(unit, static_cast<const arrow::TimestampType&>(*ts->type()).unit());
    } else {
      ts = Reinterpret(ts, arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"));
    }
    auto target = arrow::timestamp(unit, "UTC");
    if (ts->type()->Equals(*target)) return ts;
    return CastTo(ts, target);
  }

  Result<ArrayPtr> TimeTz(const arrow::StructArray& s) {
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
      int64_t v = RawTime(*time, i, &per_second);
      text.clear();
      AppendClock(v, per_second, &text);
      AppendOffset(OffsetMicros(*offset, i), &text);
      ARROW_RETURN_NOT_OK(b.Append(text));
    }
    return b.Finish();
  }

  Result<ArrayPtr> Datetime(const arrow::StructArray& s, Problems* problems) {
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
      int64_t t = RawTime(*time, i, &per_second);
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
  Result<ArrayPtr> MultiArray(const arrow::StructArray& s, Problems* problems) {
    const int64_t n = s.length();
    auto list =
        std::static_pointer_cast<arrow::ListArray>(s.field(FieldIndex(*s.type(), "nestedArray")));
    const auto& elements = static_cast<const arrow::StructArray&>(*list->values());
    ARROW_ASSIGN_OR_RAISE(auto values,
                          elements.GetFlattenedField(FieldIndex(*elements.type(), "elementValue")));
    const auto& deeper = *elements.field(FieldIndex(*elements.type(), "nestedArray"));
    Problems value_problems(static_cast<size_t>(values->length()), kNone);
    ARROW_ASSIGN_OR_RAISE(values, Convert(values, &value_problems));
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
          if (value_problems[static_cast<size_t>(j)] != kNone) {
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

  // Row i of a list-like array has a problem when one of its elements has.
  template <typename ListLike>
  static void RollUp(const ListLike& l, const Problems& inner, Problems* problems) {
    for (int64_t i = 0; i < l.length(); ++i) {
      if (l.IsNull(i)) continue;
      for (int64_t j = l.value_offset(i); j < l.value_offset(i) + l.value_length(i); ++j) {
        if (inner[static_cast<size_t>(j)] != kNone) {
          if ((*problems)[static_cast<size_t>(i)] == kNone)
            (*problems)[static_cast<size_t>(i)] = inner[static_cast<size_t>(j)];
          break;
        }
      }
    }
  }

  template <typename ListArrayT>
  Result<ArrayPtr> List(const ArrayPtr& a, Problems* problems) {
    const auto& l = static_cast<const ListArrayT&>(*a);
    Problems inner(static_cast<size_t>(l.values()->length()), kNone);
    ARROW_ASSIGN_OR_RAISE(auto values, Convert(l.values(), &inner));
    RollUp(l, inner, problems);
    auto field = l.list_type()->value_field()->WithType(values->type());
    using TypeT = typename ListArrayT::TypeClass;
    return std::make_shared<ListArrayT>(std::make_shared<TypeT>(field), l.length(),
                                        l.value_offsets(), values, l.null_bitmap(), l.null_count(),
                                        l.offset());
  }

  Result<ArrayPtr> FixedSizeList(const ArrayPtr& a, Problems* problems) {
    const auto& l = static_cast<const arrow::FixedSizeListArray&>(*a);
    Problems inner(static_cast<size_t>(l.values()->length()), kNone);
    ARROW_ASSIGN_OR_RAISE(auto values, Convert(l.values(), &inner));
    RollUp(l, inner, problems);
    auto type = arrow::fixed_size_list(l.list_type()->value_field()->WithType(values->type()),
                                       l.list_type()->list_size());
    return std::make_shared<arrow::FixedSizeListArray>(type, l.length(), values, l.null_bitmap(),
                                                       l.null_count(), l.offset());
  }

  Result<ArrayPtr> Map(const ArrayPtr& a, Problems* problems) {
    const auto& m = static_cast<const arrow::MapArray&>(*a);
    Problems key_problems(static_cast<size_t>(m.keys()->length()), kNone);
    Problems item_problems(static_cast<size_t>(m.items()->length()), kNone);
    ARROW_ASSIGN_OR_RAISE(auto keys, Convert(m.keys(), &key_problems));
    ARROW_ASSIGN_OR_RAISE(auto items, Convert(m.items(), &item_problems));
    RollUp(m, key_problems, problems);
    RollUp(m, item_problems, problems);
    const auto& mt = *m.map_type();
    auto type = std::make_shared<arrow::MapType>(mt.key_field()->WithType(keys->type()),
                                                 mt.item_field()->WithType(items->type()),
                                                 mt.keys_sorted());
    return std::make_shared<arrow::MapArray>(type, m.length(), m.value_offsets(), keys, items,
                                             m.null_bitmap(), m.null_count(), m.offset());
  }
};

}  // namespace

bool NeedsDeltaConversion(const arrow::DataType& type) {
  switch (type.id()) {
    // Type::NA (a column with no value yet) is left to the pipeline, which
    // adds the column to the table once a batch gives it a type.
    case Type::UINT8:
    case Type::UINT16:
    case Type::UINT32:
    case Type::UINT64:
    case Type::FIXED_SIZE_BINARY:
    case Type::TIME32:
    case Type::TIME64:
    case Type::DURATION:
    case Type::INTERVAL_MONTHS:
    case Type::INTERVAL_DAY_TIME:
    case Type::INTERVAL_MONTH_DAY_NANO:
    case Type::EXTENSION:
      return true;
    case Type::DECIMAL32:
    case Type::DECIMAL64:
    case Type::DECIMAL128:
    case Type::DECIMAL256:
      return !DecimalStorable(type);
    case Type::STRUCT:
      if (ShapeOf(type) != Shape::kPlain) return true;
      [[fallthrough]];
    case Type::LIST:
    case Type::LARGE_LIST:
    case Type::FIXED_SIZE_LIST:
    case Type::MAP:
      for (const auto& f : type.fields()) {
        if (NeedsDeltaConversion(*f->type())) return true;
      }
      return false;
    case Type::DICTIONARY:
      return NeedsDeltaConversion(*static_cast<const arrow::DictionaryType&>(type).value_type());
    default:
      return false;
  }
}

Result<StorableColumn> ToDeltaStorable(const std::shared_ptr<arrow::Field>& field,
                                       const std::shared_ptr<arrow::Array>& values) {
  StorableColumn out;
  if (!NeedsDeltaConversion(*values->type())) {
    out.field = field;
    out.values = values;
    return out;
  }
  ARROW_RETURN_NOT_OK(InitArrowCompute());
  Problems problems(static_cast<size_t>(values->length()), kNone);
  Converter converter;
  ARROW_ASSIGN_OR_RAISE(out.values, converter.Convert(values, &problems));
  out.field = field->WithType(out.values->type());
  for (int64_t i = 0; i < values->length(); ++i) {
    if (auto p = problems[static_cast<size_t>(i)]; p != kNone) {
      out.unrepresentable.push_back(
          {i, "payload column '" + field->name() + "' " + std::string(ProblemText(p))});
    }
  }
  return out;
}

}  // namespace sluice::sources::datastream
