#include "sluice/sources/storable_types.h"

#include <arrow/api.h>
#include <arrow/compute/cast.h>
#include <arrow/extension_type.h>
#include <arrow/util/bitmap_ops.h>

#include "sluice/core/arrow_init.h"
#include "sluice/core/arrow_util.h"
#include "sluice/sources/time_text.h"

namespace sluice::sources {

namespace {

using arrow::Type;
using ArrayPtr = std::shared_ptr<arrow::Array>;

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kMicrosPerDay = 86400 * kMicrosPerSecond;

bool DecimalStorable(const arrow::DataType& t) {
  const auto& d = static_cast<const arrow::DecimalType&>(t);
  return d.precision() <= 38 && d.scale() >= 0 && t.id() != Type::DECIMAL256;
}

Result<ArrayPtr> CastTo(const ArrayPtr& a, const std::shared_ptr<arrow::DataType>& type) {
  ARROW_ASSIGN_OR_RAISE(arrow::Datum d, arrow::compute::Cast(a, type));
  return d.make_array();
}

// Same buffers, another type of the same physical layout (int64 <->
// duration, int32 <-> month interval).
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

class Converter {
 public:
  explicit Converter(const StorableStructs* structs) : structs_(structs) {}

  // Converts `a`; `problems` has a->length() entries, all null on entry.
  Result<ArrayPtr> Convert(const ArrayPtr& a, RowProblems* problems) {
    if (!NeedsDeltaConversion(*a->type(), structs_)) return a;
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

  Result<ArrayPtr> Struct(const ArrayPtr& a, RowProblems* problems) {
    const auto& s = static_cast<const arrow::StructArray&>(*a);
    if (structs_ != nullptr && structs_->Recognises(*a->type())) {
      return structs_->Convert(
          s, [this](const ArrayPtr& nested, RowProblems* p) { return Convert(nested, p); },
          problems);
    }
    arrow::FieldVector fields;
    arrow::ArrayVector children;
    for (int k = 0; k < s.num_fields(); ++k) {
      RowProblems child_problems(static_cast<size_t>(s.length()), nullptr);
      ARROW_ASSIGN_OR_RAISE(auto child, Convert(s.field(k), &child_problems));
      for (int64_t i = 0; i < s.length(); ++i) {
        auto p = child_problems[static_cast<size_t>(i)];
        if (p != nullptr && s.IsValid(i) && (*problems)[static_cast<size_t>(i)] == nullptr) {
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

  // Row i of a list-like array has a problem when one of its elements has.
  template <typename ListLike>
  static void RollUp(const ListLike& l, const RowProblems& inner, RowProblems* problems) {
    for (int64_t i = 0; i < l.length(); ++i) {
      if (l.IsNull(i)) continue;
      for (int64_t j = l.value_offset(i); j < l.value_offset(i) + l.value_length(i); ++j) {
        if (inner[static_cast<size_t>(j)] != nullptr) {
          if ((*problems)[static_cast<size_t>(i)] == nullptr)
            (*problems)[static_cast<size_t>(i)] = inner[static_cast<size_t>(j)];
          break;
        }
      }
    }
  }

  template <typename ListArrayT>
  Result<ArrayPtr> List(const ArrayPtr& a, RowProblems* problems) {
    const auto& l = static_cast<const ListArrayT&>(*a);
    RowProblems inner(static_cast<size_t>(l.values()->length()), nullptr);
    ARROW_ASSIGN_OR_RAISE(auto values, Convert(l.values(), &inner));
    RollUp(l, inner, problems);
    auto field = l.list_type()->value_field()->WithType(values->type());
    using TypeT = typename ListArrayT::TypeClass;
    return std::make_shared<ListArrayT>(std::make_shared<TypeT>(field), l.length(),
                                        l.value_offsets(), values, l.null_bitmap(), l.null_count(),
                                        l.offset());
  }

  Result<ArrayPtr> FixedSizeList(const ArrayPtr& a, RowProblems* problems) {
    const auto& l = static_cast<const arrow::FixedSizeListArray&>(*a);
    RowProblems inner(static_cast<size_t>(l.values()->length()), nullptr);
    ARROW_ASSIGN_OR_RAISE(auto values, Convert(l.values(), &inner));
    RollUp(l, inner, problems);
    auto type = arrow::fixed_size_list(l.list_type()->value_field()->WithType(values->type()),
                                       l.list_type()->list_size());
    return std::make_shared<arrow::FixedSizeListArray>(type, l.length(), values, l.null_bitmap(),
                                                       l.null_count(), l.offset());
  }

  Result<ArrayPtr> Map(const ArrayPtr& a, RowProblems* problems) {
    const auto& m = static_cast<const arrow::MapArray&>(*a);
    RowProblems key_problems(static_cast<size_t>(m.keys()->length()), nullptr);
    RowProblems item_problems(static_cast<size_t>(m.items()->length()), nullptr);
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

  const StorableStructs* structs_;
};

}  // namespace

bool NeedsDeltaConversion(const arrow::DataType& type, const StorableStructs* structs) {
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
      if (structs != nullptr && structs->Recognises(type)) return true;
      [[fallthrough]];
    case Type::LIST:
    case Type::LARGE_LIST:
    case Type::FIXED_SIZE_LIST:
    case Type::MAP:
      for (const auto& f : type.fields()) {
        if (NeedsDeltaConversion(*f->type(), structs)) return true;
      }
      return false;
    case Type::DICTIONARY:
      return NeedsDeltaConversion(*static_cast<const arrow::DictionaryType&>(type).value_type(),
                                  structs);
    default:
      return false;
  }
}

Result<StorableColumn> ToDeltaStorable(const std::shared_ptr<arrow::Field>& field,
                                       const std::shared_ptr<arrow::Array>& values,
                                       const StorableStructs* structs) {
  StorableColumn out;
  if (!NeedsDeltaConversion(*values->type(), structs)) {
    out.field = field;
    out.values = values;
    return out;
  }
  ARROW_RETURN_NOT_OK(InitArrowCompute());
  RowProblems problems(static_cast<size_t>(values->length()), nullptr);
  Converter converter(structs);
  ARROW_ASSIGN_OR_RAISE(out.values, converter.Convert(values, &problems));
  out.field = field->WithType(out.values->type());
  for (int64_t i = 0; i < values->length(); ++i) {
    if (const char* p = problems[static_cast<size_t>(i)]; p != nullptr) {
      out.unrepresentable.push_back({i, "payload column '" + field->name() + "' " + p});
    }
  }
  return out;
}

}  // namespace sluice::sources
