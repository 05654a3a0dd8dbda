// Parts of DMS files (sources/dms/dms_file_parts.h): decoding every part of
// a file, for any part size, gives exactly the rows and dead letters of the
// whole file, and a Parquet part reads no row group outside its range.
#include "sluice/sources/dms/dms_file_parts.h"

#include <arrow/api.h>
#include <arrow/io/file.h>
#include <arrow/io/memory.h>
#include <gtest/gtest.h>
#include <parquet/arrow/writer.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "sluice/sources/dms/dms_changes.h"
#include "sluice/sources/dms/dms_file_reader.h"

namespace sluice::sources::dms {
namespace {

// A file that records the byte ranges read from it.
class CountingFile : public arrow::io::RandomAccessFile {
 public:
  explicit CountingFile(std::shared_ptr<arrow::Buffer> bytes)
      : inner_(std::make_shared<arrow::io::BufferReader>(std::move(bytes))) {}

  std::vector<std::pair<int64_t, int64_t>> reads() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return reads_;
  }
  int64_t bytes_read() const {
    int64_t n = 0;
    for (const auto& [pos, len] : reads()) n += len;
    return n;
  }

  arrow::Status Close() override { return inner_->Close(); }
  bool closed() const override { return inner_->closed(); }
  arrow::Result<int64_t> Tell() const override { return inner_->Tell(); }
  arrow::Status Seek(int64_t position) override { return inner_->Seek(position); }
  arrow::Result<int64_t> GetSize() override { return inner_->GetSize(); }
  arrow::Result<int64_t> Read(int64_t nbytes, void* out) override {
    ARROW_ASSIGN_OR_RAISE(int64_t pos, inner_->Tell());
    Note(pos, nbytes);
    return inner_->Read(nbytes, out);
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> Read(int64_t nbytes) override {
    ARROW_ASSIGN_OR_RAISE(int64_t pos, inner_->Tell());
    Note(pos, nbytes);
    return inner_->Read(nbytes);
  }
  arrow::Result<int64_t> ReadAt(int64_t position, int64_t nbytes, void* out) override {
    Note(position, nbytes);
    return inner_->ReadAt(position, nbytes, out);
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> ReadAt(int64_t position, int64_t nbytes) override {
    Note(position, nbytes);
    return inner_->ReadAt(position, nbytes);
  }

 private:
  void Note(int64_t pos, int64_t len) {
    std::lock_guard<std::mutex> lock(mutex_);
    reads_.emplace_back(pos, len);
  }
  std::shared_ptr<arrow::io::BufferReader> inner_;
  mutable std::mutex mutex_;
  std::vector<std::pair<int64_t, int64_t>> reads_;
};

Unit PartOf(const std::string& name, int64_t size, int64_t part_bytes, int32_t k) {
  Unit u;
  u.name = name;
  u.ordinal = 7;  // the same for every part: _cdc_seq then equals the whole file's
  u.part = k;
  u.parts = static_cast<int32_t>((size + part_bytes - 1) / part_bytes);
  u.part_bytes = part_bytes;
  u.file_bytes = size;
  u.mtime_ms = 1;
  return u;
}

// Changes and dead letters of a file or of all its parts, in order.
struct Decoded {
  std::shared_ptr<arrow::Table> rows;  // null: no rows
  std::vector<BadRecord> bad;
};

void AddDecoded(const DmsFileRows& rows, const DmsFileName& name, const DmsSettings& s,
                const DmsTableSchema& schema, const std::string& label, Decoded* out,
                std::vector<std::shared_ptr<arrow::RecordBatch>>* batches) {
  TableChanges changes;
  changes.bad = rows.bad;
  DmsFileContext fctx;
  fctx.where = "w";
  fctx.ordinal = 7;
  fctx.kind = name.kind;
  fctx.file_time_ms = name.time_ms;
  AddFileChanges(rows, fctx, s, schema, label, &changes);
  for (auto& b : changes.batches) batches->push_back(b);
  for (auto& b : changes.bad) out->bad.push_back(b);
}

// Dead letters by offset: a whole file lists the decoder's before the
// change builder's, its parts do that per part.
void Finish(std::vector<std::shared_ptr<arrow::RecordBatch>> batches, Decoded* out) {
  std::stable_sort(out->bad.begin(), out->bad.end(),
                   [](const BadRecord& a, const BadRecord& b) { return a.offset < b.offset; });
  if (batches.empty()) return;
  out->rows = *arrow::Table::FromRecordBatches(batches);
  out->rows = *out->rows->CombineChunks();
}

Decoded Whole(const std::string& bytes, const std::string& file, const DmsSettings& s,
              const DmsTableSchema& schema) {
  auto name = *ParseDmsFileName(file, s.parquet);
  auto rows = ReadDmsFile(arrow::Buffer::FromString(bytes), name, "w", s, schema);
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  Decoded out;
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  AddDecoded(*rows, name, s, schema, "w", &out, &batches);
  Finish(std::move(batches), &out);
  return out;
}

Decoded Parts(const std::string& bytes, const std::string& file, const DmsSettings& s,
              const DmsTableSchema& schema, int64_t part_bytes, CsvPartBoundsCache* cache) {
  auto name = *ParseDmsFileName(file, s.parquet);
  const int64_t size = static_cast<int64_t>(bytes.size());
  auto input = std::make_shared<CountingFile>(arrow::Buffer::FromString(bytes));
  Decoded out;
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  const int32_t parts = PartOf(file, size, part_bytes, 0).parts;
  for (int32_t k = 0; k < parts; ++k) {
    Unit unit = PartOf(file, size, part_bytes, k);
    const std::string label = "w#" + std::to_string(k + 1) + "/" + std::to_string(parts);
    Result<DmsFileRows> rows;
    if (s.parquet) {
      rows = ReadDmsParquetPart(input, unit.begin(), unit.end(), label);
    } else {
      auto bounds = cache->Get(unit, input.get(), DmsCsvRules(s, false));
      EXPECT_TRUE(bounds.ok());
      rows = ReadDmsCsvPart(input.get(), unit, **bounds, name, label, s, schema);
    }
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    for (auto& b : rows->bad) EXPECT_EQ(b.where, label);
    AddDecoded(*rows, name, s, schema, label, &out, &batches);
  }
  Finish(std::move(batches), &out);
  return out;
}

// The parts of every size from 1 byte to beyond the file decode as the file.
void ExpectPartsDecodeAsWhole(const std::string& bytes, const std::string& file,
                              const DmsSettings& s, const DmsTableSchema& schema,
                              std::vector<int64_t> sizes = {}) {
  Decoded whole = Whole(bytes, file, s, schema);
  if (sizes.empty()) {
    for (int64_t p = 1; p <= static_cast<int64_t>(bytes.size()) + 1; ++p) sizes.push_back(p);
  }
  CsvPartBoundsCache cache;
  for (int64_t part_bytes : sizes) {
    SCOPED_TRACE("part_bytes " + std::to_string(part_bytes));
    Decoded parts = Parts(bytes, file, s, schema, part_bytes, &cache);
    ASSERT_EQ(whole.rows == nullptr, parts.rows == nullptr);
    if (whole.rows) {
      ASSERT_TRUE(parts.rows->Equals(*whole.rows)) << "parts:\n"
                                                   << parts.rows->ToString() << "\nwhole:\n"
                                                   << whole.rows->ToString();
    }
    ASSERT_EQ(parts.bad.size(), whole.bad.size());
    for (size_t i = 0; i < whole.bad.size(); ++i) {
      EXPECT_EQ(parts.bad[i].offset, whole.bad[i].offset);
      EXPECT_EQ(parts.bad[i].reason, whole.bad[i].reason);
      EXPECT_EQ(parts.bad[i].raw, whole.bad[i].raw);
    }
  }
}

DmsTableSchema Orders() {
  return {{"id"}, {{"id", arrow::int64()}, {"name", arrow::utf8()}, {"qty", arrow::int32()}}};
}

DmsSettings Csv(bool header) {
  DmsSettings s;
  s.parquet = false;
  s.csv_header = header;
  s.timestamp_column = "ts";
  return s;
}

// Quoted delimiters, doubled quotes, newlines (LF, CRLF, lone CR) inside
// quotes and as line ends: every byte of the file is a part boundary for
// some part size.
const char* kTrickyRecords =
    "I,2022-06-24 19:01:00.000001,1,\"a, b\",3\n"
    "U,2022-06-24 19:01:00.000002,2,\"say \"\"hi\"\"\n,\n\"\"x\",4\r\n"
    "I,2022-06-24 19:01:00.000003,3,\"\r\n\",5\r"
    "D,2022-06-24 19:01:00.000004,4,\"\"\"\",6\n"
    "I,2022-06-24 19:01:00.000005,5,plain,7\n";

TEST(DmsCsvParts, HeaderFileDecodesAsWhole) {
  std::string text = std::string("Op,ts,id,name,qty\n") + kTrickyRecords;
  ExpectPartsDecodeAsWhole(text, "20220624-190100000.csv", Csv(true), Orders());
}

TEST(DmsCsvParts, HeaderlessFileDecodesAsWhole) {
  ExpectPartsDecodeAsWhole(kTrickyRecords, "20220624-190100000.csv", Csv(false), Orders());
}

TEST(DmsCsvParts, ByteOrderMarkAndFullLoad) {
  std::string text = "\xEF\xBB\xBFid,name,qty\n1,\"x\ny\",2\n2,z,3\n";
  ExpectPartsDecodeAsWhole(text, "LOAD00000001.csv", Csv(true), Orders());
}

// Blank lines are skipped, but are the one-column table's records.
TEST(DmsCsvParts, BlankLines) {
  std::string text = std::string("Op,ts,id,name,qty\n\n") + kTrickyRecords + "\n\r\n" +
                     "I,2022-06-24 19:01:00,9,z,1\n";
  ExpectPartsDecodeAsWhole(text, "20220624-190100000.csv", Csv(true), Orders());
  ExpectPartsDecodeAsWhole("id\n1\n\n2\r\n\r\n3\n", "LOAD00000001.csv", Csv(true),
                           {{"id"}, {{"id", arrow::utf8()}}});
}

TEST(DmsCsvParts, MalformedRowsGiveTheSameDeadLetters) {
  std::string text =
      "Op,ts,id,name,qty\n"
      "I,2022-06-24 19:01:00,1,a,3\n"
      "I,2022-06-24 19:01:00,2,too,many,fields\n"
      "I,2022-06-24 19:01:00,3,st\"ray,3\n"
      "I,2022-06-24 19:01:00,4,\"after\"quote,3\n"
      "X,2022-06-24 19:01:00,5,bad op,3\n"
      "I,2022-06-24 19:01:00,6,b,4\n"
      // Never closed: the rest of the file is one record.
      "I,2022-06-24 19:01:00,7,\"never closed,3\n"
      "I,2022-06-24 19:01:00,8,c,3\n";
  Decoded whole = Whole(text, "20220624-190100000.csv", Csv(true), Orders());
  ASSERT_EQ(whole.bad.size(), 5u);  // the test is worth something only with them
  // Rows keep their records' places: id 6 is the file's sixth data record.
  ASSERT_EQ(whole.rows->num_rows(), 2);
  EXPECT_EQ(whole.rows->GetColumnByName("_cdc_origin")->GetScalar(1).ValueOrDie()->ToString(),
            "w#5");
  ExpectPartsDecodeAsWhole(text, "20220624-190100000.csv", Csv(true), Orders());
}

TEST(DmsCsvParts, UnreadableHeaderIsReportedOnce) {
  std::string text = "Op,ts,id,na\"me,qty\nI,2022-06-24 19:01:00,1,a,3\n";
  ExpectPartsDecodeAsWhole(text, "20220624-190100000.csv", Csv(true), Orders());
}

TEST(DmsCsvParts, OtherDelimiterAndNoRfc4180) {
  DmsSettings s = Csv(true);
  s.csv_delimiter = '|';
  ExpectPartsDecodeAsWhole(
      "Op|ts|id|name|qty\nI|2022-06-24 19:01:00|1|\"a|\nb\"|3\nI|2022-06-24 19:01:00|2|c,d|4\n",
      "20220624-190100000.csv", s, Orders());
  s.csv_rfc4180 = false;
  ExpectPartsDecodeAsWhole(
      "Op|ts|id|name|qty\nI|2022-06-24 19:01:00|1|say \"hi|3\nI|2022-06-24 19:01:00|2|x\"|4\n",
      "20220624-190100000.csv", s, Orders());
}

TEST(DmsCsvParts, BoundsFindRecordStartsOutsideQuotes) {
  std::string text = "a,\"x\ny\"\nb,c\n";  // records at 0 and 8
  auto file = std::make_shared<CountingFile>(arrow::Buffer::FromString(text));
  auto bounds = ScanCsvPartBounds(file.get(), static_cast<int64_t>(text.size()), 4,
                                  DmsCsvRules(Csv(true), false));
  ASSERT_TRUE(bounds.ok());
  // Boundaries 0, 4, 8, 12 (parts = 3) and the end.
  EXPECT_EQ(bounds->starts, (std::vector<int64_t>{0, 8, 8, 12}));
  EXPECT_EQ(bounds->records_before, (std::vector<int64_t>{0, 1, 1, 2}));
  EXPECT_EQ(bounds->head_end, 8);
}

// The scan's state crosses its reads: any read size finds the same bounds.
TEST(DmsCsvParts, BoundsDoNotDependOnTheScanReads) {
  std::string text = std::string("\xEF\xBB\xBF\"O\np\",ts,id,\"na\nme\",qty\n\n") + kTrickyRecords +
                     "I,1,2,\"\"\"\",3\r\r\nI,1,2,\"a\"x\"\n\",3\n";
  auto file = std::make_shared<CountingFile>(arrow::Buffer::FromString(text));
  const int64_t size = static_cast<int64_t>(text.size());
  for (bool txn : {false, true}) {
    auto rules = DmsCsvRules(Csv(true), txn);
    for (int64_t part_bytes : {int64_t{1}, int64_t{5}, int64_t{40}}) {
      auto once = ScanCsvPartBounds(file.get(), size, part_bytes, rules, size);
      ASSERT_TRUE(once.ok());
      for (int64_t chunk = 1; chunk < 24; ++chunk) {
        SCOPED_TRACE(std::to_string(txn) + " " + std::to_string(part_bytes) + " " +
                     std::to_string(chunk));
        auto chunked = ScanCsvPartBounds(file.get(), size, part_bytes, rules, chunk);
        ASSERT_TRUE(chunked.ok());
        EXPECT_EQ(chunked->starts, once->starts);
        EXPECT_EQ(chunked->records_before, once->records_before);
        EXPECT_EQ(chunked->filled_before, once->filled_before);
        EXPECT_EQ(chunked->head_end, once->head_end);
      }
    }
  }
}

TEST(DmsCsvParts, FileIsScannedOncePerPartSize) {
  std::string text = std::string("Op,ts,id,name,qty\n") + kTrickyRecords;
  const int64_t size = static_cast<int64_t>(text.size());
  auto file = std::make_shared<CountingFile>(arrow::Buffer::FromString(text));
  CsvPartBoundsCache cache;
  auto rules = DmsCsvRules(Csv(true), false);
  for (int32_t k = 0; k < 3; ++k)
    ASSERT_TRUE(cache.Get(PartOf("f", size, 50, k), file.get(), rules).ok());
  EXPECT_EQ(file->bytes_read(), size + 3);  // and the byte order mark check
  ASSERT_TRUE(cache.Get(PartOf("f", size, 60, 0), file.get(), rules).ok());
  EXPECT_EQ(file->bytes_read(), 2 * (size + 3));
}

// CDC_TXN: the parts of a file route the same rows to the same tables.
TEST(DmsCdcTxnParts, DecodeAsWhole) {
  DmsSettings s = Csv(false);
  std::map<std::string, DmsTableSchema> schemas;
  schemas["sales.orders"] = Orders();
  schemas["sales.items"] = {{"sku"}, {{"sku", arrow::utf8()}, {"price", arrow::float64()}}};
  std::string text =
      "I,orders,sales,2022-06-24 19:01:00.000001,1,a,3\n"
      "I,items,sales,2022-06-24 19:01:00.000001,X1,2.5\n"
      "\n"
      "U,orders,sales,2022-06-24 19:01:00.000002,1,\"multi\nline, \"\"q\"\"\",4\r\n"
      "I,ghosts,sales,2022-06-24 19:01:00.000003,7\n"
      "I,x\n"
      "D,items,sales,2022-06-24 19:01:00.000004,X1,2.5\n";
  const int64_t size = static_cast<int64_t>(text.size());
  auto decode = [&](const DmsTxnRows& rows, std::map<std::string, Decoded>* out,
                    std::map<std::string, std::vector<std::shared_ptr<arrow::RecordBatch>>>* b) {
    for (const auto& bad : rows.bad) (*out)[""].bad.push_back(bad);
    for (const auto& [qualified, entry] : rows.tables) {
      auto it = schemas.find(qualified);
      DmsTableSchema schema = it == schemas.end() ? DmsTableSchema{} : it->second;
      AddDecoded(entry.second, *ParseDmsFileName("CDC_TXN-1.csv", false), s, schema, "w",
                 &(*out)[qualified], &(*b)[qualified]);
    }
  };
  std::map<std::string, Decoded> whole;
  std::map<std::string, std::vector<std::shared_ptr<arrow::RecordBatch>>> whole_batches;
  auto rows = ReadCdcTxnFile(arrow::Buffer::FromString(text), "w", s, schemas);
  ASSERT_TRUE(rows.ok());
  decode(*rows, &whole, &whole_batches);
  for (auto& [q, batches] : whole_batches) Finish(batches, &whole[q]);
  ASSERT_EQ(whole[""].bad.size(), 1u);
  auto file = std::make_shared<CountingFile>(arrow::Buffer::FromString(text));
  CsvPartBoundsCache cache;
  for (int64_t part_bytes = 1; part_bytes <= size + 1; ++part_bytes) {
    SCOPED_TRACE("part_bytes " + std::to_string(part_bytes));
    std::map<std::string, Decoded> parts;
    std::map<std::string, std::vector<std::shared_ptr<arrow::RecordBatch>>> part_batches;
    const int32_t n = PartOf("CDC_TXN-1.csv", size, part_bytes, 0).parts;
    for (int32_t k = 0; k < n; ++k) {
      Unit unit = PartOf("CDC_TXN-1.csv", size, part_bytes, k);
      auto bounds = cache.Get(unit, file.get(), DmsCsvRules(s, true));
      ASSERT_TRUE(bounds.ok());
      auto part = ReadCdcTxnPart(file.get(), unit, **bounds, "w", s, schemas);
      ASSERT_TRUE(part.ok()) << part.status().ToString();
      decode(*part, &parts, &part_batches);
    }
    for (auto& [q, batches] : part_batches) Finish(batches, &parts[q]);
    ASSERT_EQ(parts.size(), whole.size());
    for (auto& [q, w] : whole) {
      SCOPED_TRACE(q);
      const Decoded& p = parts[q];
      ASSERT_EQ(w.rows == nullptr, p.rows == nullptr);
      if (w.rows) {
        EXPECT_TRUE(p.rows->Equals(*w.rows)) << p.rows->ToString() << w.rows->ToString();
      }
      ASSERT_EQ(p.bad.size(), w.bad.size());
      for (size_t i = 0; i < w.bad.size(); ++i) {
        EXPECT_EQ(p.bad[i].offset, w.bad[i].offset);
        EXPECT_EQ(p.bad[i].reason, w.bad[i].reason);
      }
    }
  }
}

// A Parquet file of `rows` rows in row groups of `group_rows`.
std::string ParquetFile(int64_t rows, int64_t group_rows) {
  arrow::Int64Builder ids;
  arrow::StringBuilder names;
  for (int64_t i = 0; i < rows; ++i) {
    EXPECT_TRUE(ids.Append(i).ok());
    EXPECT_TRUE(names.Append("name " + std::to_string(i % 13)).ok());
  }
  auto table = arrow::Table::Make(
      arrow::schema({arrow::field("id", arrow::int64()), arrow::field("name", arrow::utf8())}),
      {*ids.Finish(), *names.Finish()});
  auto sink = *arrow::io::BufferOutputStream::Create();
  EXPECT_TRUE(
      parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), sink, group_rows).ok());
  return (*sink->Finish())->ToString();
}

// Where each row group starts (its first column chunk) and its byte range.
std::vector<int64_t> RowGroupStarts(const std::string& bytes) {
  auto reader = parquet::ParquetFileReader::Open(
      std::make_shared<arrow::io::BufferReader>(arrow::Buffer::FromString(bytes)));
  auto meta = reader->metadata();
  std::vector<int64_t> starts;
  for (int g = 0; g < meta->num_row_groups(); ++g) {
    auto chunk = meta->RowGroup(g)->ColumnChunk(0);
    starts.push_back(chunk->has_dictionary_page() ? chunk->dictionary_page_offset()
                                                  : chunk->data_page_offset());
  }
  return starts;
}

TEST(DmsParquetParts, DecodeAsWhole) {
  std::string bytes = ParquetFile(1000, 100);
  auto starts = RowGroupStarts(bytes);
  ASSERT_EQ(starts.size(), 10u);
  const int64_t size = static_cast<int64_t>(bytes.size());
  std::vector<int64_t> sizes = {1, 100, 1000, size - 1, size, size + 1};
  for (int64_t d = -1; d <= 1; ++d) sizes.push_back(starts[3] + d);
  DmsSettings s;
  s.parquet = true;
  ExpectPartsDecodeAsWhole(bytes, "LOAD00000001.parquet", s, {{"id"}, {}}, sizes);
  ExpectPartsDecodeAsWhole(bytes, "20220624-190100000.parquet", s, {{"id"}, {}}, sizes);
}

TEST(DmsParquetParts, RealDmsFixture) {
  const char* env = std::getenv("SLUICE_FIXTURES_DIR");
  auto in = arrow::io::ReadableFile::Open(std::string(env ? env : SLUICE_FIXTURES_DIR) +
                                          "/dms/parquet/dms_test_table_LOAD00000001.parquet");
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  auto bytes = (*(*in)->Read(*(*in)->GetSize()))->ToString();
  DmsSettings s;
  s.parquet = true;
  s.timestamp_column = "DMS_TIMESTAMP";
  Decoded whole = Whole(bytes, "LOAD00000001.parquet", s, {{"id"}, {}});
  ASSERT_TRUE(whole.rows);
  ASSERT_EQ(whole.rows->num_rows(), 10);
  const int64_t size = static_cast<int64_t>(bytes.size());
  ExpectPartsDecodeAsWhole(bytes, "LOAD00000001.parquet", s, {{"id"}, {}},
                           {1, 4, 5, 100, size / 2, size - 1, size, size + 1});
}

TEST(DmsParquetParts, PartReadsOnlyItsRowGroups) {
  // Row groups larger than the footer read (the last 64 KiB).
  std::string bytes = ParquetFile(200'000, 20'000);
  auto starts = RowGroupStarts(bytes);
  ASSERT_EQ(starts.size(), 10u);
  const int64_t size = static_cast<int64_t>(bytes.size());
  // The footer read: the last 64 KiB (the reader's default), or the
  // metadata when larger.
  const int64_t footer = std::min(starts[9], size - 65'536);
  ASSERT_GT(footer, starts[5]);
  // A part holding the start of row group 4 only.
  auto file = std::make_shared<CountingFile>(arrow::Buffer::FromString(bytes));
  auto rows = ReadDmsParquetPart(file, starts[4] - 1, starts[4] + 1, "w");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_TRUE(rows->bad.empty());
  EXPECT_EQ(rows->first_row, 80'000);
  int64_t n = 0;
  for (const auto& p : rows->parts) n += p.batch->num_rows();
  EXPECT_EQ(n, 20'000);
  for (const auto& [pos, len] : file->reads()) {
    SCOPED_TRACE(std::to_string(pos) + "+" + std::to_string(len));
    const bool in_group = pos >= starts[4] && pos + len <= starts[5];
    const bool in_footer = pos >= footer && pos + len <= size;
    EXPECT_TRUE(in_group || in_footer);
  }
  EXPECT_LT(file->bytes_read(), size / 3);
  // A part that holds no row group start reads only the footer.
  auto empty_file = std::make_shared<CountingFile>(arrow::Buffer::FromString(bytes));
  auto none = ReadDmsParquetPart(empty_file, starts[4] + 1, starts[5], "w");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->parts.empty());
  for (const auto& [pos, len] : empty_file->reads()) EXPECT_GE(pos, footer);
}

TEST(DmsParquetParts, UnreadableFileIsReportedByTheFirstPartOnly) {
  std::string bytes = "PAR1 not really parquet PAR1";
  auto file = std::make_shared<CountingFile>(arrow::Buffer::FromString(bytes));
  auto first = ReadDmsParquetPart(file, 0, 10, "w#1/3");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->bad.size(), 1u);
  auto second = ReadDmsParquetPart(file, 10, 20, "w#2/3");
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->bad.empty());
}

}  // namespace
}  // namespace sluice::sources::dms
