// The source-neutral conversion (what DMS and Debezium use): the types
// every source shares are rewritten, a source's own records only when it
// names them. Each conversion is covered in unified_types_test.cc, through
// Datastream's form, which adds its records to this one.
#include "sluice/sources/storable_types.h"

#include <arrow/api.h>
#include <arrow/json/from_string.h>
#include <gtest/gtest.h>

#include "sluice/sources/datastream/unified_types.h"

namespace sluice::sources {
namespace {

std::shared_ptr<arrow::Array> FromJson(const std::shared_ptr<arrow::DataType>& type,
                                       const std::string& values) {
  auto array = arrow::json::ArrayFromJSONString(type, values);
  EXPECT_TRUE(array.ok()) << array.status().ToString();
  return *array;
}

TEST(StorableTypes, SharedTypesAreRewrittenWithoutASourcesRecords) {
  auto times = FromJson(arrow::time64(arrow::TimeUnit::MICRO), "[3723000001, null]");
  auto out = ToDeltaStorable(arrow::field("t", times->type()), times);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->field->type()->id(), arrow::Type::STRING);
  EXPECT_EQ(out->values->ToString(),
            FromJson(arrow::utf8(), R"(["01:02:03.000001", null])")->ToString());
  auto big = FromJson(arrow::uint64(), "[18446744073709551615]");
  out = ToDeltaStorable(arrow::field("u", big->type()), big);
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->field->type()->Equals(*arrow::decimal128(20, 0)));
}

TEST(StorableTypes, ARecordIsOnlyReplacedForTheSourceThatNamesIt) {
  // Datastream's old Oracle varchar {value, length}; to another source a
  // struct like any other, converted field by field.
  auto type = arrow::struct_(
      {arrow::field("value", arrow::utf8()), arrow::field("length", arrow::uint8())});
  auto array = FromJson(type, R"([{"value": "abc", "length": 3}])");
  EXPECT_TRUE(NeedsDeltaConversion(*type));  // for the uint8
  auto plain = ToDeltaStorable(arrow::field("c", type), array);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_TRUE(plain->field->type()->Equals(*arrow::struct_(
      {arrow::field("value", arrow::utf8()), arrow::field("length", arrow::int16())})));
  auto records = ToDeltaStorable(arrow::field("c", type), array, &datastream::UnifiedTypeRecords());
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  EXPECT_EQ(records->field->type()->id(), arrow::Type::STRING);
  EXPECT_FALSE(NeedsDeltaConversion(*arrow::struct_(
      {arrow::field("value", arrow::utf8()), arrow::field("length", arrow::int32())})));
  EXPECT_TRUE(NeedsDeltaConversion(*arrow::struct_({arrow::field("value", arrow::utf8()),
                                                    arrow::field("length", arrow::int32())}),
                                   &datastream::UnifiedTypeRecords()));
}

}  // namespace
}  // namespace sluice::sources
