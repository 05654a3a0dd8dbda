#include "sluice/pipeline/schema_evolution.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

namespace sluice::pipeline {
namespace {

std::shared_ptr<arrow::Schema> S(arrow::FieldVector f) { return arrow::schema(std::move(f)); }

TEST(SchemaEvolutionTest, MergeAddsColumnsAndWidens) {
  auto current = AllNullable(S({arrow::field("id", arrow::int32()), arrow::field("x", arrow::float32()),
                                arrow::field("d", arrow::decimal128(10, 2))}));
  auto incoming = S({arrow::field("id", arrow::int64()), arrow::field("x", arrow::float64()),
                     arrow::field("d", arrow::decimal128(12, 2)), arrow::field("new", arrow::utf8())});
  auto evolved = EvolveSchema("db.t", current, incoming, SchemaEvolution::kMerge);
  ASSERT_TRUE(evolved.ok()) << evolved.status().ToString();
  EXPECT_EQ((*evolved)->ToString(),
            S({arrow::field("id", arrow::int64()), arrow::field("x", arrow::float64()),
               arrow::field("d", arrow::decimal128(12, 2)), arrow::field("new", arrow::utf8())})
                ->ToString());
}

TEST(SchemaEvolutionTest, MergeKeepsDroppedColumnsAndNarrowerInput) {
  auto current = AllNullable(S({arrow::field("id", arrow::int64()), arrow::field("gone", arrow::utf8())}));
  auto incoming = S({arrow::field("id", arrow::int32())});
  auto evolved = EvolveSchema("db.t", current, incoming, SchemaEvolution::kMerge);
  ASSERT_TRUE(evolved.ok());
  EXPECT_EQ(*evolved, current);  // unchanged: same pointer
}

TEST(SchemaEvolutionTest, IncompatibleChangeNamesTableColumnAndTypes) {
  auto current = AllNullable(S({arrow::field("amount", arrow::decimal128(10, 2))}));
  auto incoming = S({arrow::field("amount", arrow::utf8())});
  auto evolved = EvolveSchema("shop.orders", current, incoming, SchemaEvolution::kMerge);
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
  auto evolved = EvolveSchema("db.t", current, incoming, SchemaEvolution::kNone);
  ASSERT_FALSE(evolved.ok());
  EXPECT_NE(evolved.status().message().find("extra"), std::string::npos);
}

TEST(SchemaEvolutionTest, OverwriteFollowsTheSource) {
  auto current = AllNullable(S({arrow::field("id", arrow::int64()), arrow::field("gone", arrow::utf8())}));
  auto incoming = S({arrow::field("id", arrow::int64()), arrow::field("n", arrow::int32())});
  auto evolved = EvolveSchema("db.t", current, incoming, SchemaEvolution::kOverwrite);
  ASSERT_TRUE(evolved.ok());
  EXPECT_EQ((*evolved)->num_fields(), 2);
  EXPECT_EQ((*evolved)->field(1)->name(), "n");
}

TEST(SchemaEvolutionTest, NestedStructGainsAField) {
  auto current = AllNullable(S({arrow::field("s", arrow::struct_({arrow::field("a", arrow::int32())}))}));
  auto incoming = S({arrow::field(
      "s", arrow::struct_({arrow::field("a", arrow::int32()), arrow::field("b", arrow::utf8())}))});
  auto evolved = EvolveSchema("db.t", current, incoming, SchemaEvolution::kMerge);
  ASSERT_TRUE(evolved.ok()) << evolved.status().ToString();
  EXPECT_EQ((*evolved)->field(0)->type()->num_fields(), 2);
}

TEST(SchemaEvolutionTest, ConformFillsMissingColumnsAndCasts) {
  auto target = AllNullable(S({arrow::field("id", arrow::int64()), arrow::field("note", arrow::utf8())}));
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
