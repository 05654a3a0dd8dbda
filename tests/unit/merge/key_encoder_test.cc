#include "sluice/merge/key_encoder.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>

namespace sluice::merge {
namespace {

std::shared_ptr<arrow::Array> Ints(const std::vector<std::optional<int64_t>>& v,
                                   std::shared_ptr<arrow::DataType> type = arrow::int64()) {
  std::unique_ptr<arrow::ArrayBuilder> b;
  EXPECT_TRUE(arrow::MakeBuilder(arrow::default_memory_pool(), type, &b).ok());
  for (auto x : v) {
    if (!x) {
      EXPECT_TRUE(b->AppendNull().ok());
      continue;
    }
    auto scalar = arrow::MakeScalar(arrow::int64(), *x).ValueOrDie()->CastTo(type).ValueOrDie();
    EXPECT_TRUE(b->AppendScalar(*scalar).ok());
  }
  return b->Finish().ValueOrDie();
}

std::shared_ptr<arrow::Array> Strings(const std::vector<std::optional<std::string>>& v) {
  arrow::StringBuilder b;
  for (const auto& x : v) EXPECT_TRUE((x ? b.Append(*x) : b.AppendNull()).ok());
  return b.Finish().ValueOrDie();
}

EncodedKeys Encode(const std::vector<std::shared_ptr<arrow::Array>>& cols) {
  arrow::FieldVector fields;
  std::vector<std::string> names;
  for (size_t i = 0; i < cols.size(); ++i) {
    names.push_back("k" + std::to_string(i));
    fields.push_back(arrow::field(names.back(), cols[i]->type()));
  }
  auto schema = arrow::schema(fields);
  auto encoder = KeyEncoder::Make(*schema, names);
  EXPECT_TRUE(encoder.ok()) << encoder.status().ToString();
  auto batch = arrow::RecordBatch::Make(schema, cols[0]->length(), cols);
  auto keys = encoder->Encode(*batch);
  EXPECT_TRUE(keys.ok()) << keys.status().ToString();
  return std::move(*keys);
}

TEST(KeyEncoderTest, EqualValuesEqualBytes) {
  auto keys = Encode({Ints({1, 2, 1, -1}), Strings({"a", "a", "a", "a"})});
  EXPECT_EQ(keys.key(0), keys.key(2));
  EXPECT_EQ(keys.hash(0), keys.hash(2));
  EXPECT_NE(keys.key(0), keys.key(1));
  EXPECT_NE(keys.key(0), keys.key(3));
}

TEST(KeyEncoderTest, LengthPrefixesKeepCompositeKeysApart) {
  auto keys = Encode({Strings({"a", "ab", ""}), Strings({"bc", "c", "abc"})});
  EXPECT_NE(keys.key(0), keys.key(1));
  EXPECT_NE(keys.key(0), keys.key(2));
  EXPECT_NE(keys.key(1), keys.key(2));
}

TEST(KeyEncoderTest, IntegerWidthsShareOneEncoding) {
  // A widening int32 -> int64 (schema evolution) must not change keys.
  auto narrow = Encode({Ints({5, -7}, arrow::int32())});
  auto wide = Encode({Ints({5, -7}, arrow::int64())});
  auto tiny = Encode({Ints({5, -7}, arrow::int8())});
  EXPECT_EQ(narrow.key(0), wide.key(0));
  EXPECT_EQ(narrow.key(1), wide.key(1));
  EXPECT_EQ(tiny.key(1), wide.key(1));
}

TEST(KeyEncoderTest, FixedWidthOrderIsValueOrder) {
  auto keys = Encode({Ints({-5, -1, 0, 3, 1LL << 40})});
  for (int64_t i = 0; i + 1 < keys.size(); ++i) EXPECT_LT(keys.key(i), keys.key(i + 1));
}

TEST(KeyEncoderTest, TypesAreTagged) {
  // The int 1 and the string "\x01" must not collide, nor bool true.
  auto a = Encode({Ints({1})});
  auto b = Encode({Strings({std::string(1, '\x01')})});
  arrow::BooleanBuilder bb;
  ASSERT_TRUE(bb.Append(true).ok());
  auto c = Encode({bb.Finish().ValueOrDie()});
  EXPECT_NE(a.key(0), b.key(0));
  EXPECT_NE(a.key(0), c.key(0));
}

TEST(KeyEncoderTest, OtherKeyTypes) {
  arrow::Decimal128Builder dec(arrow::decimal128(10, 2));
  ASSERT_TRUE(dec.Append(arrow::Decimal128(12345)).ok());
  ASSERT_TRUE(dec.Append(arrow::Decimal128(-12345)).ok());
  ASSERT_TRUE(dec.Append(arrow::Decimal128(12345)).ok());
  arrow::Date32Builder date;
  ASSERT_TRUE(date.AppendValues({19000, 19000, 19000}).ok());
  arrow::TimestampBuilder ts(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"),
                             arrow::default_memory_pool());
  ASSERT_TRUE(ts.AppendValues({1, 1, 1}).ok());
  arrow::LargeStringBuilder ls;
  ASSERT_TRUE(ls.AppendValues({"x", "x", "x"}).ok());
  arrow::BinaryBuilder bin;
  ASSERT_TRUE(bin.AppendValues({"\x00\x01", "\x00\x01", "\x00\x01"}).ok());
  auto keys =
      Encode({dec.Finish().ValueOrDie(), date.Finish().ValueOrDie(), ts.Finish().ValueOrDie(),
              ls.Finish().ValueOrDie(), bin.Finish().ValueOrDie()});
  EXPECT_EQ(keys.num_invalid(), 0);
  EXPECT_EQ(keys.key(0), keys.key(2));
  EXPECT_NE(keys.key(0), keys.key(1));
  // utf8 and large_utf8 encode alike.
  auto small = Encode({Strings({"x"})});
  arrow::LargeStringBuilder ls2;
  ASSERT_TRUE(ls2.Append("x").ok());
  EXPECT_EQ(small.key(0), Encode({ls2.Finish().ValueOrDie()}).key(0));
}

TEST(KeyEncoderTest, NullKeyIsInvalidWithTheColumnNamed) {
  auto keys = Encode({Ints({1, 2, {}}), Strings({"a", {}, {}})});
  EXPECT_TRUE(keys.valid(0));
  EXPECT_FALSE(keys.valid(1));
  EXPECT_FALSE(keys.valid(2));
  EXPECT_EQ(keys.num_invalid(), 2);
  EXPECT_EQ(keys.InvalidReason(1), "primary key column 'k1' is null");
  EXPECT_EQ(keys.InvalidReason(2), "primary key column 'k0' is null");
  EXPECT_TRUE(keys.key(1).empty());
}

TEST(KeyEncoderTest, MakeRejectsBadKeyLists) {
  auto schema =
      arrow::schema({arrow::field("id", arrow::int64()), arrow::field("f", arrow::float64()),
                     arrow::field("l", arrow::list(arrow::int32()))});
  EXPECT_FALSE(KeyEncoder::Make(*schema, {}).ok());
  EXPECT_FALSE(KeyEncoder::Make(*schema, {"missing"}).ok());
  EXPECT_FALSE(KeyEncoder::Make(*schema, {"id", "id"}).ok());
  EXPECT_FALSE(KeyEncoder::Make(*schema, {"l"}).ok());
  EXPECT_TRUE(KeyEncoder::Make(*schema, {"id"}).ok());
  // Floating-point keys are supported (MySQL allows them): see below.
  EXPECT_TRUE(KeyEncoder::Make(*schema, {"f"}).ok());
  EXPECT_TRUE(KeyEncoder::Make(*schema, {"id", "f"}).ok());
}

std::shared_ptr<arrow::Array> Doubles(const std::vector<std::optional<double>>& v) {
  arrow::DoubleBuilder b;
  for (auto x : v) EXPECT_TRUE((x ? b.Append(*x) : b.AppendNull()).ok());
  return b.Finish().ValueOrDie();
}

TEST(KeyEncoderTest, FloatKeysCompareByValueAsSparkDoes) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double other_nan = std::bit_cast<double>(uint64_t{0xfff0000000000123ULL});  // -NaN, payload
  ASSERT_TRUE(std::isnan(other_nan));
  auto keys = Encode({Doubles({0.0, -0.0, nan, other_nan, -nan, 1.5, 1.5, -1.5, {}})});
  EXPECT_EQ(keys.key(0), keys.key(1));  // -0.0 == 0.0
  EXPECT_EQ(keys.hash(0), keys.hash(1));
  EXPECT_EQ(keys.key(2), keys.key(3));  // every NaN is one key
  EXPECT_EQ(keys.key(2), keys.key(4));
  EXPECT_EQ(keys.hash(2), keys.hash(3));
  EXPECT_NE(keys.key(0), keys.key(2));
  EXPECT_EQ(keys.key(5), keys.key(6));
  EXPECT_NE(keys.key(5), keys.key(7));
  EXPECT_NE(keys.key(0), keys.key(5));
  EXPECT_FALSE(keys.valid(8));
  EXPECT_EQ(keys.InvalidReason(8), "primary key column 'k0' is null");
}

TEST(KeyEncoderTest, FloatWidensToTheSameKeyAsDouble) {
  // float -> double is a safe widening (schema evolution): keys must stay.
  arrow::FloatBuilder f;
  ASSERT_TRUE(f.AppendValues({1.1f, -0.0f, std::numeric_limits<float>::quiet_NaN()}).ok());
  auto narrow = Encode({f.Finish().ValueOrDie()});
  auto wide =
      Encode({Doubles({static_cast<double>(1.1f), 0.0, std::numeric_limits<double>::quiet_NaN()})});
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(narrow.key(i), wide.key(i)) << i;
}

TEST(KeyEncoderTest, FloatOrderIsValueOrder) {
  const double inf = std::numeric_limits<double>::infinity();
  auto keys = Encode({Doubles({-inf, -1e300, -2.5, -1e-300, 0.0, 1e-300, 2.5, 1e300, inf})});
  for (int64_t i = 0; i + 1 < keys.size(); ++i) EXPECT_LT(keys.key(i), keys.key(i + 1)) << i;
  // An int 1 and a double 1.0 are different key types, tagged apart.
  EXPECT_NE(Encode({Ints({1})}).key(0), Encode({Doubles({1.0})}).key(0));
}

TEST(KeyEncoderTest, CompositeKeyWithADouble) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto keys = Encode({Ints({7, 7, 7, 7, 8}), Doubles({-0.0, 0.0, nan, -nan, 0.0})});
  EXPECT_EQ(keys.key(0), keys.key(1));
  EXPECT_EQ(keys.key(2), keys.key(3));
  EXPECT_NE(keys.key(0), keys.key(2));
  EXPECT_NE(keys.key(1), keys.key(4));
}

TEST(KeyEncoderTest, HashIsDeterministic) {
  EXPECT_EQ(HashKey("abc"), HashKey("abc"));
  EXPECT_NE(HashKey("abc"), HashKey("abd"));
  EXPECT_NE(HashKey(""), HashKey(std::string(1, '\0')));
}

}  // namespace
}  // namespace sluice::merge
