// The projected scan of table_reader.h: only the named columns, deletion
// vectors applied, partition columns restored, a column an older file lacks
// read as NULL, and each row's index in its file.
#include <arrow/api.h>
#include <gtest/gtest.h>

#include "maintenance_test_util.h"
#include "sluice/delta/table_reader.h"

namespace sluice::delta {
namespace {

using testing::Append;
using testing::DeleteIds;
using testing::Rows;
using testing::TestDir;

class TableScanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TestDir("sluice_scan");
    loc_ = *io::OpenTableLocation(dir_.string());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::shared_ptr<const Snapshot> Latest() { return *Snapshot::Load(loc_.log); }

  // Every batch of every file of the latest snapshot, in file order.
  std::vector<std::pair<std::string, ScanBatch>> ScanAll(const ScanOptions& options) {
    auto snapshot = Latest();
    auto scan = TableScan::Make(*snapshot, loc_, options);
    EXPECT_TRUE(scan.ok()) << scan.status().ToString();
    std::vector<std::pair<std::string, ScanBatch>> out;
    for (const auto& file : snapshot->files()) {
      auto st = scan->ScanFile(file, [&](const ScanBatch& b) {
        out.emplace_back(file.path, b);
        return Status::OK();
      });
      EXPECT_TRUE(st.ok()) << st.ToString();
    }
    return out;
  }

  std::filesystem::path dir_;
  io::TableLocation loc_;
};

std::vector<int64_t> Ints(const arrow::Array& a) {
  std::vector<int64_t> out;
  const auto& ints = static_cast<const arrow::Int64Array&>(a);
  for (int64_t i = 0; i < ints.length(); ++i) out.push_back(ints.IsNull(i) ? -1 : ints.Value(i));
  return out;
}

std::vector<std::string> Strings(const arrow::Array& a) {
  std::vector<std::string> out;
  const auto& s = static_cast<const arrow::StringArray&>(a);
  for (int64_t i = 0; i < s.length(); ++i) out.push_back(s.IsNull(i) ? "<null>" : s.GetString(i));
  return out;
}

TEST_F(TableScanTest, ReadsOnlyTheNamedColumnsInTheirOrder) {
  Append(loc_, 0, 3);
  auto batches = ScanAll({{"name", "id"}, false});
  ASSERT_EQ(batches.size(), 1u);
  const auto& rows = *batches[0].second.rows;
  ASSERT_EQ(rows.num_columns(), 2);
  EXPECT_EQ(rows.schema()->field(0)->name(), "name");
  EXPECT_EQ(rows.schema()->field(1)->name(), "id");
  EXPECT_EQ(Strings(*rows.column(0)), (std::vector<std::string>{"n0", "n1", "n2"}));
  EXPECT_EQ(Ints(*rows.column(1)), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_TRUE(batches[0].second.positions.empty());  // not asked for
}

TEST_F(TableScanTest, UnknownOrRepeatedColumnIsRefused) {
  Append(loc_, 0, 3);
  auto snapshot = Latest();
  EXPECT_TRUE(TableScan::Make(*snapshot, loc_, {{"nope"}, false}).status().IsInvalid());
  EXPECT_TRUE(TableScan::Make(*snapshot, loc_, {{"id", "id"}, false}).status().IsInvalid());
}

TEST_F(TableScanTest, DeletionVectorIsAppliedAndPositionsPointAtFileRows) {
  Append(loc_, 0, 10);
  DeleteIds(loc_, {2, 5, 9});
  auto batches = ScanAll({{"id"}, true});
  std::vector<int64_t> ids, positions;
  for (const auto& [path, b] : batches) {
    auto v = Ints(*b.rows->column(0));
    ids.insert(ids.end(), v.begin(), v.end());
    positions.insert(positions.end(), b.positions.begin(), b.positions.end());
  }
  EXPECT_EQ(ids, (std::vector<int64_t>{0, 1, 3, 4, 6, 7, 8}));
  // Row r of the file holds id r: each surviving row points at its own row.
  EXPECT_EQ(positions, ids);
}

TEST_F(TableScanTest, PartsAreReadAloneWithTheirPositions) {
  TableWriteOptions options;
  options.data.row_group_rows = 4;
  ASSERT_TRUE(WriteTable(loc_, Rows(0, 10), options).ok());
  DeleteIds(loc_, {1, 5, 9});
  auto snapshot = Latest();
  ASSERT_EQ(snapshot->files().size(), 1u);
  auto scan = *TableScan::Make(*snapshot, loc_, {{"id"}, true});
  auto file = scan.Open(snapshot->files()[0]);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->file().path, snapshot->files()[0].path);
  EXPECT_EQ(file->num_rows(), 10);
  EXPECT_EQ(file->num_deleted(), 3);
  ASSERT_EQ(file->num_parts(), 3);
  EXPECT_EQ(file->part_first_row(1), 4);
  EXPECT_EQ(file->part_rows(2), 2);
  // The middle part alone: rows 4..7 without the deleted 5.
  auto part = file->ReadPart(1);
  ASSERT_TRUE(part.ok()) << part.status().ToString();
  EXPECT_EQ(Ints(*part->rows->column(0)), (std::vector<int64_t>{4, 6, 7}));
  EXPECT_EQ(part->positions, (std::vector<int64_t>{4, 6, 7}));
  auto last = file->ReadPart(2);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(Ints(*last->rows->column(0)), (std::vector<int64_t>{8}));
  EXPECT_EQ(last->positions, (std::vector<int64_t>{8}));
  EXPECT_FALSE(file->ReadPart(3).ok());
}

TEST_F(TableScanTest, PartitionColumnIsRestoredFromPartitionValues) {
  Append(loc_, 0, 2, "a");
  Append(loc_, 2, 3, "b");
  auto batches = ScanAll({{"p", "id"}, true});
  std::map<std::string, std::vector<std::string>> by_file;
  std::vector<std::string> parts;
  for (const auto& [path, b] : batches) {
    auto p = Strings(*b.rows->column(0));
    auto ids = Ints(*b.rows->column(1));
    ASSERT_EQ(p.size(), ids.size());
    for (size_t i = 0; i < p.size(); ++i) {
      EXPECT_EQ(p[i], ids[i] < 2 ? "a" : "b") << "id " << ids[i];
    }
    parts.insert(parts.end(), p.begin(), p.end());
  }
  EXPECT_EQ(parts.size(), 5u);
  // The partition column alone (nothing read from the file) still has every row.
  auto only = ScanAll({{"p"}, false});
  size_t rows = 0;
  for (const auto& [path, b] : only) rows += static_cast<size_t>(b.rows->num_rows());
  EXPECT_EQ(rows, 5u);
}

TEST_F(TableScanTest, ColumnMissingFromAnOlderFileReadsNull) {
  Append(loc_, 0, 2);
  // Add a column (schema evolution); the first file predates it.
  auto older = Rows(2, 2);
  arrow::Int64Builder extra;
  ASSERT_TRUE(extra.AppendValues({20, 30}).ok());
  auto wider = *older->AddColumn(2, arrow::field("extra", arrow::int64()),
                                 std::make_shared<arrow::ChunkedArray>(*extra.Finish()));
  TableWriteOptions options;
  options.allow_schema_change = true;
  auto written = WriteTable(loc_, wider, options);
  ASSERT_TRUE(written.ok()) << written.status().ToString();

  auto snapshot = Latest();
  auto scan = *TableScan::Make(*snapshot, loc_, {{"id", "extra"}, false});
  std::vector<int64_t> extras;
  for (const auto& file : snapshot->files()) {
    auto opened = scan.Open(file);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    auto first = opened->ReadPart(0);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    EXPECT_TRUE(first->rows->column(1)->type()->Equals(arrow::int64()));
    const bool old = Ints(*first->rows->column(0))[0] < 2;
    EXPECT_EQ(opened->absent_columns(),
              old ? std::vector<std::string>{"extra"} : std::vector<std::string>{});
    auto v = Ints(*first->rows->column(1));
    extras.insert(extras.end(), v.begin(), v.end());
  }
  std::sort(extras.begin(), extras.end());
  EXPECT_EQ(extras, (std::vector<int64_t>{-1, -1, 20, 30}));
}

TEST_F(TableScanTest, NestedColumnIsReadWhole) {
  // A struct column spans several Parquet leaves; projecting it reads them all.
  arrow::Int64Builder id, a;
  arrow::StringBuilder b;
  ASSERT_TRUE(id.AppendValues({1, 2}).ok());
  ASSERT_TRUE(a.AppendValues({10, 20}).ok());
  ASSERT_TRUE(b.AppendValues({"x", "y"}).ok());
  auto inner =
      arrow::struct_({arrow::field("a", arrow::int64()), arrow::field("b", arrow::utf8())});
  auto s = *arrow::StructArray::Make({*a.Finish(), *b.Finish()}, inner->fields());
  auto table = arrow::Table::Make(
      arrow::schema({arrow::field("id", arrow::int64()), arrow::field("s", inner)}),
      {*id.Finish(), s});
  auto written = WriteTable(loc_, table, {});
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  auto batches = ScanAll({{"s"}, false});
  ASSERT_EQ(batches.size(), 1u);
  const auto& column = *batches[0].second.rows->column(0);
  ASSERT_TRUE(column.type()->Equals(inner)) << column.type()->ToString();
  const auto& out = static_cast<const arrow::StructArray&>(column);
  EXPECT_EQ(Ints(*out.field(0)), (std::vector<int64_t>{10, 20}));
  EXPECT_EQ(Strings(*out.field(1)), (std::vector<std::string>{"x", "y"}));
}

TEST_F(TableScanTest, MissingFileIsAnErrorNamingIt) {
  Append(loc_, 0, 2);
  auto snapshot = Latest();
  auto scan = *TableScan::Make(*snapshot, loc_, {{"id"}, false});
  Add gone = snapshot->files()[0];
  gone.path = "part-gone.parquet";
  auto opened = scan.Open(gone);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("part-gone.parquet"), std::string::npos);
}

}  // namespace
}  // namespace sluice::delta
