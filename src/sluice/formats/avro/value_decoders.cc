#include "sluice/formats/avro/value_decoders.h"

#include <arrow/builder.h>
#include <arrow/type.h>

#include "sluice/formats/avro/decimal_bytes.h"

namespace sluice::formats::avro {

namespace {

template <typename B>
class Leaf : public ValueDecoder {
 public:
  explicit Leaf(std::shared_ptr<arrow::DataType> type, int64_t min_bytes = 1) {
    type_ = std::move(type);
    min_bytes_ = min_bytes;
  }
  void Bind(arrow::ArrayBuilder* b) override { b_ = static_cast<B*>(b); }

 protected:
  B* b_ = nullptr;
};

class NullDecoder : public Leaf<arrow::NullBuilder> {
 public:
  NullDecoder() : Leaf(arrow::null(), 0) { nullable_ = true; }
  Status Decode(BinaryCursor&) override { return b_->AppendNull(); }
};

class BoolDecoder : public Leaf<arrow::BooleanBuilder> {
 public:
  BoolDecoder() : Leaf(arrow::boolean()) {}
  Status Decode(BinaryCursor& in) override {
    bool v = false;
    ARROW_RETURN_NOT_OK(in.ReadBool(&v));
    return b_->Append(v);
  }
};

// int-encoded values (int, date): 32-bit range checked by ReadInt.
template <typename B>
class IntDecoder : public Leaf<B> {
 public:
  using Leaf<B>::Leaf;
  Status Decode(BinaryCursor& in) override {
    int32_t v = 0;
    ARROW_RETURN_NOT_OK(in.ReadInt(&v));
    return this->b_->Append(v);
  }
};

// long- or int-encoded values multiplied into the Arrow unit (timestamps,
// times); the multiplication is overflow-checked.
template <typename B, bool kIsInt>
class ScaledDecoder : public Leaf<B> {
 public:
  ScaledDecoder(std::shared_ptr<arrow::DataType> type, int64_t factor)
      : Leaf<B>(std::move(type)), factor_(factor) {}
  Status Decode(BinaryCursor& in) override {
    int64_t v = 0;
    if constexpr (kIsInt) {
      int32_t i = 0;
      ARROW_RETURN_NOT_OK(in.ReadInt(&i));
      v = i;
    } else {
      ARROW_RETURN_NOT_OK(in.ReadLong(&v));
    }
    int64_t scaled = 0;
    if (__builtin_mul_overflow(v, factor_, &scaled)) {
      return in.Error("value ", v, " overflows when converted to ", this->type_->ToString());
    }
    return this->b_->Append(scaled);
  }

 private:
  int64_t factor_;
};

class FloatDecoder : public Leaf<arrow::FloatBuilder> {
 public:
  FloatDecoder() : Leaf(arrow::float32(), 4) {}
  Status Decode(BinaryCursor& in) override {
    float v = 0;
    ARROW_RETURN_NOT_OK(in.ReadFloat(&v));
    return b_->Append(v);
  }
};

class DoubleDecoder : public Leaf<arrow::DoubleBuilder> {
 public:
  DoubleDecoder() : Leaf(arrow::float64(), 8) {}
  Status Decode(BinaryCursor& in) override {
    double v = 0;
    ARROW_RETURN_NOT_OK(in.ReadDouble(&v));
    return b_->Append(v);
  }
};

// bytes -> binary, string -> utf8 (validated when asked).
template <typename B, bool kUtf8>
class BytesDecoder : public Leaf<B> {
 public:
  BytesDecoder(std::shared_ptr<arrow::DataType> type, bool validate)
      : Leaf<B>(std::move(type)), validate_(validate) {}
  Status Decode(BinaryCursor& in) override {
    std::string_view s;
    ARROW_RETURN_NOT_OK(in.ReadBytes(&s));
    if (kUtf8 && validate_) ARROW_RETURN_NOT_OK(in.CheckUtf8(s));
    return this->b_->Append(s);
  }

 private:
  bool validate_ = false;
};

class FixedDecoder : public Leaf<arrow::FixedSizeBinaryBuilder> {
 public:
  explicit FixedDecoder(int64_t size)
      : Leaf(arrow::fixed_size_binary(static_cast<int32_t>(size)), size), size_(size) {}
  Status Decode(BinaryCursor& in) override {
    const uint8_t* p = nullptr;
    ARROW_RETURN_NOT_OK(in.ReadFixed(size_, &p));
    return b_->Append(p);
  }

 private:
  int64_t size_;
};

class EnumDecoder : public Leaf<arrow::StringBuilder> {
 public:
  explicit EnumDecoder(const AvroNode* node) : Leaf(arrow::utf8()), node_(node) {}
  Status Decode(BinaryCursor& in) override {
    int32_t idx = 0;
    ARROW_RETURN_NOT_OK(in.ReadInt(&idx));
    if (idx < 0 || static_cast<size_t>(idx) >= node_->symbols.size()) {
      return in.Error("enum index ", idx, " out of range for ", node_->full_name);
    }
    return b_->Append(node_->symbols[idx]);
  }

 private:
  const AvroNode* node_;
};

// decimal on bytes (kFixed false) or fixed; D is Decimal128 or Decimal256.
template <typename D, typename B, bool kFixed>
class DecimalDecoder : public Leaf<B> {
 public:
  explicit DecimalDecoder(const AvroNode* node)
      : Leaf<B>(std::make_shared<typename B::TypeClass>(node->precision, node->scale),
                kFixed ? node->fixed_size : 1),
        node_(node) {}
  Status Decode(BinaryCursor& in) override {
    const uint8_t* p = nullptr;
    int64_t len = 0;
    if constexpr (kFixed) {
      len = node_->fixed_size;
      ARROW_RETURN_NOT_OK(in.ReadFixed(len, &p));
    } else {
      std::string_view s;
      ARROW_RETURN_NOT_OK(in.ReadBytes(&s));
      p = reinterpret_cast<const uint8_t*>(s.data());
      len = static_cast<int64_t>(s.size());
    }
    D value{};
    ARROW_RETURN_NOT_OK(DecodeDecimal(in, p, len, node_->precision, &value));
    return this->b_->Append(value);
  }

 private:
  const AvroNode* node_;
};

// Datastream's {"type":"string","logicalType":"number"} as a decimal: parsed,
// rescaled exactly (never rounded) and checked against the precision.
template <typename D, typename B>
class NumberDecoder : public Leaf<B> {
 public:
  NumberDecoder(int32_t precision, int32_t scale)
      : Leaf<B>(std::make_shared<typename B::TypeClass>(precision, scale)),
        precision_(precision),
        scale_(scale) {}
  Status Decode(BinaryCursor& in) override {
    std::string_view s;
    ARROW_RETURN_NOT_OK(in.ReadBytes(&s));
    D value{};
    int32_t precision = 0, scale = 0;
    if (!D::FromString(s, &value, &precision, &scale).ok()) {
      return in.Error("number \"", Printable(s), "\" is not a decimal number");
    }
    if (scale != scale_) {
      auto rescaled = value.Rescale(scale, scale_);
      if (!rescaled.ok()) {
        return in.Error("number \"", Printable(s), "\" does not fit decimal(", precision_, ",",
                        scale_, ") without rounding; map numbers to strings instead");
      }
      value = *rescaled;
    }
    if (!value.FitsInPrecision(precision_)) {
      return in.Error("number \"", Printable(s), "\" exceeds decimal(", precision_, ",", scale_,
                      ")");
    }
    return this->b_->Append(value);
  }

 private:
  static std::string Printable(std::string_view s) { return std::string(s.substr(0, 64)); }
  int32_t precision_, scale_;
};

}  // namespace

Result<DecoderPtr> MakeLeafDecoder(const AvroNode* node, const AvroArrowOptions& opts) {
  using L = LogicalType;
  const auto us_utc = arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
  const auto ns_utc = arrow::timestamp(arrow::TimeUnit::NANO, "UTC");
  const auto us = arrow::timestamp(arrow::TimeUnit::MICRO);
  const auto ns = arrow::timestamp(arrow::TimeUnit::NANO);
  const auto t64 = arrow::time64(arrow::TimeUnit::MICRO);
  bool wide = node->precision > 38;
  switch (node->logical) {
    case L::kDecimal:
      if (node->type == AvroType::kFixed) {
        if (wide)
          return std::make_unique<
              DecimalDecoder<arrow::Decimal256, arrow::Decimal256Builder, true>>(node);
        return std::make_unique<DecimalDecoder<arrow::Decimal128, arrow::Decimal128Builder, true>>(
            node);
      }
      if (wide)
        return std::make_unique<DecimalDecoder<arrow::Decimal256, arrow::Decimal256Builder, false>>(
            node);
      return std::make_unique<DecimalDecoder<arrow::Decimal128, arrow::Decimal128Builder, false>>(
          node);
    case L::kDate:
      return std::make_unique<IntDecoder<arrow::Date32Builder>>(arrow::date32());
    case L::kTimeMillis:
      return std::make_unique<ScaledDecoder<arrow::Time64Builder, true>>(t64, 1000);
    case L::kTimeMicros:
      return std::make_unique<ScaledDecoder<arrow::Time64Builder, false>>(t64, 1);
    case L::kTimestampMillis:
      return std::make_unique<ScaledDecoder<arrow::TimestampBuilder, false>>(us_utc, 1000);
    case L::kTimestampMicros:
      return std::make_unique<ScaledDecoder<arrow::TimestampBuilder, false>>(us_utc, 1);
    case L::kTimestampNanos:
      return std::make_unique<ScaledDecoder<arrow::TimestampBuilder, false>>(ns_utc, 1);
    case L::kLocalTimestampMillis:
      return std::make_unique<ScaledDecoder<arrow::TimestampBuilder, false>>(us, 1000);
    case L::kLocalTimestampMicros:
      return std::make_unique<ScaledDecoder<arrow::TimestampBuilder, false>>(us, 1);
    case L::kLocalTimestampNanos:
      return std::make_unique<ScaledDecoder<arrow::TimestampBuilder, false>>(ns, 1);
    case L::kNumber:
      if (opts.number == NumberMapping::kString) break;
      if (opts.number_precision < 1 || opts.number_precision > 76 || opts.number_scale < 0 ||
          opts.number_scale > opts.number_precision) {
        return Status::Invalid("number_precision/number_scale out of range");
      }
      if (opts.number_precision > 38) {
        return std::make_unique<NumberDecoder<arrow::Decimal256, arrow::Decimal256Builder>>(
            opts.number_precision, opts.number_scale);
      }
      return std::make_unique<NumberDecoder<arrow::Decimal128, arrow::Decimal128Builder>>(
          opts.number_precision, opts.number_scale);
    case L::kUuid:
    case L::kNone:
      break;
  }
  switch (node->type) {
    case AvroType::kNull:
      return std::make_unique<NullDecoder>();
    case AvroType::kBoolean:
      return std::make_unique<BoolDecoder>();
    case AvroType::kInt:
      return std::make_unique<IntDecoder<arrow::Int32Builder>>(arrow::int32());
    case AvroType::kLong:
      return std::make_unique<ScaledDecoder<arrow::Int64Builder, false>>(arrow::int64(), 1);
    case AvroType::kFloat:
      return std::make_unique<FloatDecoder>();
    case AvroType::kDouble:
      return std::make_unique<DoubleDecoder>();
    case AvroType::kBytes:
      return std::make_unique<BytesDecoder<arrow::BinaryBuilder, false>>(arrow::binary(), false);
    case AvroType::kString:
      return std::make_unique<BytesDecoder<arrow::StringBuilder, true>>(arrow::utf8(),
                                                                        opts.validate_utf8);
    case AvroType::kFixed:
      if (node->fixed_size > INT32_MAX) return Status::Invalid("fixed size too large");
      return std::make_unique<FixedDecoder>(node->fixed_size);
    case AvroType::kEnum:
      return std::make_unique<EnumDecoder>(node);
    default:
      break;
  }
  return Status::Invalid("not a leaf Avro type: ", AvroTypeName(node->type));
}

}  // namespace sluice::formats::avro
