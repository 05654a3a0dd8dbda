#include "sluice/pipeline/schema_evolution.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

namespace sluice::pipeline {
namespace {

std::shared_ptr<arrow::Schema> S(arrow::FieldVector f) { return arrow::schema(std::move(f)); }

// A non-NULL value of `type` (all-NULL columns fit any type, so the tests
// of type changes need real values).
std::shared_ptr<arrow::Scalar> Value(const std::shared_ptr<arrow::DataType>& type) {
  switch (type->id()) {
    case arrow::Type::DECIMAL128:
      return std::make_shared<arrow::Decimal128Scalar>(arrow::Decimal128(1), type);
    case arrow::Type::STRING:
      return std::make_shared<arrow::StringScalar>("x");
    case arrow::Type::STRUCT: {
      arrow::ScalarVector children;
      for (const auto& f : type->fields()) children.push_back(Value(f->type()));
      return std::make_shared<arrow::StructScalar>(children, type);
    }
    case arrow::Type::FLOAT:
    case arrow::Type::DOUBLE:
      return arrow::MakeScalar(type, 1.5).ValueOrDie();
    default:
      return arrow::MakeScalar(type, 1).ValueOrDie();
  }
}

// One row of non-NULL values with `schema`.
arrow::RecordBatch& Row(const std::shared_ptr<arrow::Schema>& schema) {
  static std::vector<std::shared_ptr<arrow::RecordBatch>> keep;
  std::vector<std::shared_ptr<arrow::Array>> columns;
  for (const auto& f : schema->fields()) {
    columns.push_back(arrow::MakeArrayFromScalar(*Value(f->type()), 1).ValueOrDie());
  }
  keep.push_back(arrow::RecordBatch::Make(schema, 1, columns));
  return *keep.back();
}

TEST(SchemaEvolutionTest, MergeAddsColumnsAndWidens) {
  auto current =
      AllNullable(S({arrow::field("id", arrow::int32()), arrow::field("x", arrow::float32()),
                     arrow::field("d", arrow::decimal128(10, 2))}));
  auto incoming =
      S({arrow::field("id", arrow::int64()), arrow::field("x", arrow::float64()),
         arrow::field("d", arrow::decimal128(12, 2)), arrow::field("new", arrow::utf8())});
  auto evolved = EvolveSchema("db.t", current, Row(incoming), SchemaEvolution::kMerge);
  ASSERT_TRUE(evolved.ok()) << evolved.status().ToString();
  EXPECT_EQ((*evolved)->ToString(),
            S({arrow::field("id", arrow::int64()), arrow::field("x", arrow::float64()),
               arrow::field("d", arrow::decimal128(12, 2)), arrow::field("new", arrow::utf8())})
                ->ToString());
}

TEST(SchemaEvolutionTest, MergeKeepsDroppedColumnsAndNarrowerInput) {
  auto current =
      AllNullable(S({arrow::field("id", arrow::int64()), arrow::field("gone", arrow::utf8())}));
  auto incoming = S({arrow::field("id", arrow::int32())});
  auto evolved = EvolveSchema("db.t", current, Row(incoming), SchemaEvolution::kMerge);
  ASSERT_TRUE(evolved.ok());
  EXPECT_EQ(*evolved, current);  // unchanged: same pointer
}

TEST(SchemaEvolutionTest, IncompatibleChangeNamesTableColumnAndTypes) {
  auto current = AllNullable(S({arrow::field("amount", arrow::decimal128(10, 2))}));
  auto incoming = S({arrow::field("amount", arrow::utf8())});
  auto evolved = EvolveSchema("shop.orders", current, Row(incoming), SchemaEvolution::kMerge);
  ASSERT_FALSE(evolved.ok());
  const auto& msg = evolved.status().message();
  EXPECT_NE(msg.find("shop.orders"), std::string::npos) << msg;
  EXPECT_NE(msg.find("amount"), std::string::npos);
  EXPECT_NE(msg.find("decimal128(10, 2)"), std::string::npos);
  EXPECT_NE(msg.find("string"), std::string::npos);
}

TEST(SchemaEvolutionTest, NoneRefusesNewColumns) {
  auto current = AllNullable(S({arrow::field("id", arrow::int64())}));
  auto incoming = S({arrow::field("id", arrow::int64()), arrow::field("extra", arrow::int32())});
  auto evolved = EvolveSchema("db.t", current, Row(incoming), SchemaEvolution::kNone);
  ASSERT_FALSE(evolved.ok());
  EXPECT_NE(evolved.status().message().find("extra"), std::string::npos);
}

TEST(SchemaEvolutionTest, OverwriteFollowsTheSource) {
  auto current =
      AllNullable(S({arrow::field("id", arrow::int64()), arrow::field("gone", arrow::utf8())}));
  auto incoming = S({arrow::field("id", arrow::int64()), arrow::field("n", arrow::int32())});
  auto evolved = EvolveSchema("db.t", current, Row(incoming), SchemaEvolution::kOverwrite);
  ASSERT_TRUE(evolved.ok());
  EXPECT_EQ((*evolved)->num_fields(), 2);
  EXPECT_EQ((*evolved)->field(1)->name(), "n");
}

TEST(SchemaEvolutionTest, NestedStructGainsAField) {
  auto current =
      AllNullable(S({arrow::field("s", arrow::struct_({arrow::field("a", arrow::int32())}))}));
  auto incoming = S({arrow::field(
      "s", arrow::struct_({arrow::field("a", arrow::int32()), arrow::field("b", arrow::utf8())}))});
  auto evolved = EvolveSchema("db.t", current, Row(incoming), SchemaEvolution::kMerge);
  ASSERT_TRUE(evolved.ok()) << evolved.status().ToString();
  EXPECT_EQ((*evolved)->field(0)->type()->num_fields(), 2);
}

TEST(SchemaEvolutionTest, DecimalsWidenToHoldBoth) {
  auto current = AllNullable(
      S({arrow::field("w", arrow::decimal128(17, 11)), arrow::field("n", arrow::int64())}));
  auto incoming = S(
      {arrow::field("w", arrow::decimal128(16, 10)), arrow::field("n", arrow::decimal128(38, 0))});
  auto evolved = EvolveSchema("db.t", current, Row(incoming), SchemaEvolution::kMerge);
  ASSERT_TRUE(evolved.ok()) << evolved.status().ToString();
  EXPECT_TRUE((*evolved)->field(0)->type()->Equals(arrow::decimal128(17, 11)));
  EXPECT_TRUE((*evolved)->field(1)->type()->Equals(arrow::decimal128(38, 0)));
  auto wider = S({arrow::field("w", arrow::decimal128(12, 2)), arrow::field("n", arrow::int64())});
  evolved = EvolveSchema("db.t", current, Row(wider), SchemaEvolution::kMerge);
  ASSERT_TRUE(evolved.ok());
  EXPECT_TRUE((*evolved)->field(0)->type()->Equals(arrow::decimal128(21, 11)));
  auto floating = S({arrow::field("w", arrow::float64())});
  evolved = EvolveSchema("db.t", current, Row(floating), SchemaEvolution::kMerge);
  ASSERT_TRUE(evolved.ok());
  EXPECT_TRUE((*evolved)->field(0)->type()->Equals(arrow::float64()));
}

TEST(SchemaEvolutionTest, AnAllNullColumnFitsAnyType) {
  auto current = AllNullable(S({arrow::field("tx_id", arrow::int64())}));
  auto batch = arrow::RecordBatch::Make(S({arrow::field("tx_id", arrow::utf8())}), 2,
                                        {arrow::MakeArrayOfNull(arrow::utf8(), 2).ValueOrDie()});
  auto evolved = EvolveSchema("db.t", current, *batch, SchemaEvolution::kMerge);
  ASSERT_TRUE(evolved.ok()) << evolved.status().ToString();
  EXPECT_EQ(*evolved, current);
  auto none = EvolveSchema("db.t", current, *batch, SchemaEvolution::kNone);
  EXPECT_TRUE(none.ok());
  auto conformed = ConformBatch("db.t", batch, current);
  ASSERT_TRUE(conformed.ok());
  EXPECT_TRUE((*conformed)->column(0)->type()->Equals(arrow::int64()));
}

TEST(SchemaEvolutionTest, ConformRebuildsStructsWithNewFields) {
  auto target =
      AllNullable(S({arrow::field("s", arrow::struct_({arrow::field("a", arrow::int64()),
                                                       arrow::field("b", arrow::utf8())}))}));
  auto in_schema = S({arrow::field("s", arrow::struct_({arrow::field("a", arrow::int32())}))});
  auto conformed = ConformBatch(
      "db.t", std::shared_ptr<arrow::RecordBatch>(&Row(in_schema), [](auto*) {}), target);
  ASSERT_TRUE(conformed.ok()) << conformed.status().ToString();
  ASSERT_TRUE((*conformed)->ValidateFull().ok());
  auto s = std::static_pointer_cast<arrow::StructArray>((*conformed)->column(0));
  EXPECT_EQ(std::static_pointer_cast<arrow::Int64Array>(s->field(0))->Value(0), 1);
  EXPECT_TRUE(s->field(1)->IsNull(0));
}

TEST(SchemaEvolutionTest, ConformFillsMissingColumnsAndCasts) {
  auto target =
      AllNullable(S({arrow::field("id", arrow::int64()), arrow::field("note", arrow::utf8())}));
  arrow::Int32Builder b;
  ASSERT_TRUE(b.AppendValues({1, 2}).ok());
  auto ids = b.Finish().ValueOrDie();
  auto batch = arrow::RecordBatch::Make(S({arrow::field("id", arrow::int32())}), 2, {ids});
  auto conformed = ConformBatch("db.t", batch, target);
  ASSERT_TRUE(conformed.ok()) << conformed.status().ToString();
  EXPECT_TRUE((*conformed)->schema()->Equals(*target));
  EXPECT_EQ((*conformed)->column(1)->null_count(), 2);
  EXPECT_EQ(std::static_pointer_cast<arrow::Int64Array>((*conformed)->column(0))->Value(1), 2);
}

}  // namespace
}  // namespace sluice::pipeline
