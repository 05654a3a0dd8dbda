// A file larger than the part size is ingested in parts: each part is its
// own unit with its own ordinal, a batch holds at most max_units of them, the
// cursor remembers the parts done (and the layout they were planned with)
// across restarts, and every record of the file is decoded exactly once.
#include <arrow/buffer.h>
#include <arrow/filesystem/localfs.h>
#include <arrow/io/interfaces.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "sluice/sources/file_stream.h"

namespace sluice::sources {
namespace {

// A toy format: one record per line; a part owns the lines that start in it.
// Decoded lines come back as the `raw` of bad records (no schema needed).
class LineStream : public FileStream {
 public:
  using FileStream::FileStream;

 protected:
  bool IsDataFile(std::string_view name) const override {
    return name.find(".txt") != std::string_view::npos;
  }
  bool IsGzipFile(std::string_view path) const override {
    return path.size() > 3 && path.substr(path.size() - 3) == ".gz";
  }
  std::optional<int64_t> TimeOfPath(std::string_view) const override { return std::nullopt; }
  FileExtent CheckExtent(const arrow::Buffer&, std::string_view) const override {
    return FileExtent::kWhole;
  }
  Result<std::optional<SourceTable>> IdentifyFile(const Unit&,
                                                  const std::shared_ptr<arrow::Buffer>&) override {
    return SourceTable{"db", "t"};
  }
  Result<DecodedUnit> DecodeFile(const Unit& unit, const std::shared_ptr<arrow::Buffer>& bytes,
                                 const DecodeContext&) const override {
    return Lines(unit, bytes->ToString(), 0);
  }
  bool SplitsIntoParts(const Unit& unit) const override {
    return unit.spooled || unit.name.find(".gz") == std::string::npos;
  }
  Result<std::optional<SourceTable>> IdentifyFilePart(
      const Unit& first_part, std::shared_ptr<arrow::io::RandomAccessFile>) override {
    identified_part_ = first_part.Label();
    return SourceTable{"db", "from_part"};
  }
  Result<DecodedUnit> DecodeFilePart(const Unit& unit,
                                     std::shared_ptr<arrow::io::RandomAccessFile> file,
                                     const DecodeContext&) const override {
    // From the byte before the part (a line starts after '\n') to the end
    // of the line the part's last byte is in.
    const int64_t from = std::max<int64_t>(unit.begin() - 1, 0);
    ARROW_ASSIGN_OR_RAISE(auto head, file->ReadAt(from, unit.file_bytes - from));
    std::string text = head->ToString();
    size_t start = unit.begin() == 0 ? 0 : text.find('\n');
    if (start == std::string::npos) return DecodedUnit{};
    if (unit.begin() > 0) ++start;
    const size_t limit = static_cast<size_t>(unit.end() - from);
    std::string owned;
    for (size_t p = start; p < text.size() && p < limit;) {
      size_t nl = text.find('\n', p);
      size_t stop = nl == std::string::npos ? text.size() : nl + 1;
      owned += text.substr(p, stop - p);
      p = stop;
    }
    reads_ += static_cast<int64_t>(owned.size());
    return Lines(unit, owned, from + static_cast<int64_t>(start));
  }

 public:
  mutable int64_t reads_ = 0;
  std::string identified_part_;

 private:
  DecodedUnit Lines(const Unit& unit, const std::string& text, int64_t offset) const {
    TableChanges changes;
    changes.table = {"db", "t"};
    size_t p = 0;
    while (p < text.size()) {
      size_t nl = text.find('\n', p);
      size_t stop = nl == std::string::npos ? text.size() : nl;
      changes.bad.push_back(
          {unit.Label(), offset + static_cast<int64_t>(p), "line", text.substr(p, stop - p)});
      p = stop + 1;
    }
    DecodedUnit out;
    out.tables.push_back(std::move(changes));
    return out;
  }
};

class FileStreamPartsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("sluice_parts_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_ / "t");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  // `lines` lines of varying length; returns the lines.
  std::vector<std::string> Write(const std::string& name, int lines) {
    std::vector<std::string> out;
    std::ofstream f(root_ / "t" / name, std::ios::binary);
    for (int i = 0; i < lines; ++i) {
      std::string line = name + ":" + std::to_string(i) + std::string(i % 13, 'x');
      f << line << "\n";
      out.push_back(line);
    }
    return out;
  }

  // The lines of `name`, gzip-compressed in `members` members appended.
  std::vector<std::string> WriteGzip(const std::string& name, int lines, int members = 1) {
    std::vector<std::string> out;
    const auto path = root_ / "t" / name;
    std::filesystem::remove(path);
    for (int m = 0; m < members; ++m) {
      gzFile gz = gzopen(path.c_str(), "ab");
      for (int i = m * lines / members; i < (m + 1) * lines / members; ++i) {
        std::string line = name + ":" + std::to_string(i) + std::string(i % 13, 'x') + "\n";
        gzwrite(gz, line.data(), static_cast<unsigned>(line.size()));
        out.push_back(line.substr(0, line.size() - 1));
      }
      gzclose(gz);
    }
    return out;
  }

  FileStreamOptions Options(int64_t part_bytes) const {
    FileStreamOptions o;
    o.spool_dir = (root_ / "spool").string();
    o.fs = std::make_shared<arrow::fs::LocalFileSystem>();
    o.root = root_.string();
    o.visible_while_written = false;
    o.part_bytes = part_bytes;
    return o;
  }

  // Runs batches of at most `per_batch` units until nothing is pending,
  // restarting the stream from its committed position after every batch
  // (as a killed process would); returns the records in commit order.
  std::vector<std::string> Drain(int64_t part_bytes, size_t per_batch,
                                 std::vector<std::string>* labels = nullptr) {
    std::optional<Position> committed;
    std::vector<std::string> records;
    for (int round = 0; round < 10'000; ++round) {
      LineStream stream("t", Options(part_bytes));
      EXPECT_TRUE(stream.Restore(committed).ok());
      auto units = stream.Pending(per_batch);
      EXPECT_TRUE(units.ok()) << units.status().ToString();
      if (units->empty()) return records;
      EXPECT_LE(units->size(), per_batch);
      const uint64_t base = committed ? static_cast<uint64_t>(committed->key()) : 0;
      for (size_t i = 0; i < units->size(); ++i) {
        const Unit& u = (*units)[i];
        EXPECT_EQ(u.ordinal, base + i) << "ordinals continue the committed count";
        auto decoded = stream.Decode(u, DecodeContext{});
        EXPECT_TRUE(decoded.ok()) << decoded.status().ToString();
        for (const auto& b : decoded->tables.front().bad) records.push_back(b.raw);
        if (labels) labels->push_back(u.Label());
      }
      auto position = stream.PositionAfter(*units);
      EXPECT_TRUE(position.ok());
      committed = *position;
    }
    ADD_FAILURE() << "did not drain";
    return records;
  }

  std::filesystem::path root_;
};

TEST_F(FileStreamPartsTest, EveryLineOnceForAnyPartSizeAcrossRestarts) {
  std::vector<std::string> expected = Write("a.txt", 200);
  auto b = Write("b.txt", 3);  // small: taken whole, after a.txt's last part
  expected.insert(expected.end(), b.begin(), b.end());
  const int64_t size = static_cast<int64_t>(std::filesystem::file_size(root_ / "t" / "a.txt"));
  const int64_t b_size = static_cast<int64_t>(std::filesystem::file_size(root_ / "t" / "b.txt"));
  for (int64_t part : {int64_t{1}, int64_t{7}, int64_t{100}, size - 1, size, size * 2}) {
    for (size_t per_batch : {size_t{1}, size_t{2}, size_t{5}}) {
      std::vector<std::string> labels;
      EXPECT_EQ(Drain(part, per_batch, &labels), expected)
          << "part " << part << ", " << per_batch << " a batch";
      // Parts come in order, each once, and the small file after them.
      auto parts_of = [&](int64_t bytes) { return bytes > part ? (bytes + part - 1) / part : 0; };
      const int64_t parts = parts_of(size);
      const int64_t b_parts = parts_of(b_size);
      ASSERT_EQ(labels.size(),
                static_cast<size_t>(std::max<int64_t>(parts, 1) + std::max<int64_t>(b_parts, 1)));
      if (parts > 0) {
        EXPECT_EQ(labels.front(), "a.txt#1/" + std::to_string(parts));
        EXPECT_EQ(labels[parts - 1],
                  "a.txt#" + std::to_string(parts) + "/" + std::to_string(parts));
      } else {
        EXPECT_EQ(labels.front(), "a.txt");
      }
      EXPECT_EQ(labels.back(),
                b_parts > 0 ? "b.txt#" + std::to_string(b_parts) + "/" + std::to_string(b_parts)
                            : "b.txt");
    }
  }
}

TEST_F(FileStreamPartsTest, APartReadsItsRangeNotTheFile) {
  Write("a.txt", 5'000);
  const int64_t size = static_cast<int64_t>(std::filesystem::file_size(root_ / "t" / "a.txt"));
  LineStream stream("t", Options(size / 10));
  ASSERT_TRUE(stream.Restore(std::nullopt).ok());
  auto units = stream.Pending(1);
  ASSERT_TRUE(units.ok());
  ASSERT_EQ(units->size(), 1u);
  EXPECT_EQ(units->front().bytes, size / 10) << "a part's size is its range";
  ASSERT_TRUE(stream.Decode(units->front(), DecodeContext{}).ok());
  EXPECT_LT(stream.reads_, size / 10 + 100);
}

// A large gzip file is decompressed once to the spool folder and ingested in
// parts of its content, across restarts; the spool goes once the file's last
// part is committed. Multi-member streams are read to the end.
TEST_F(FileStreamPartsTest, ALargeGzipFileIsSpooledAndIngestedInParts) {
  std::vector<std::string> expected = WriteGzip("a.txt.gz", 400, /*members=*/3);
  const int64_t size = static_cast<int64_t>(std::filesystem::file_size(root_ / "t" / "a.txt.gz"));
  // part_bytes / 64 < the compressed size: a spool candidate
  const int64_t part = std::max<int64_t>(size * 64 / 100, 64 * 4);
  ASSERT_GT(size, part / 64);
  std::vector<std::string> labels;
  EXPECT_EQ(Drain(part / 4 > 0 ? part : 256, 2, &labels), expected);
  ASSERT_GT(labels.size(), 2u) << "not split";
  EXPECT_EQ(labels.front().rfind("a.txt.gz#1/", 0), 0u) << labels.front();
  EXPECT_TRUE(std::filesystem::is_empty(root_ / "spool")) << "the spool outlived its file";
}

// Identifying a stream from a large gzip file spools it; the parts then read
// that spool (one decompression, not two), and a file the restored cursor
// holds as ingested already has its spool removed.
TEST_F(FileStreamPartsTest, TheSpoolIdentifyMadeServesThePartsOrGoesWhenIngested) {
  WriteGzip("a.txt.gz", 400);
  const int64_t size = static_cast<int64_t>(std::filesystem::file_size(root_ / "t" / "a.txt.gz"));
  const int64_t part = std::max<int64_t>(size * 64 / 100, 64 * 4);
  const auto spool = root_ / "spool";
  auto only_spool_file = [&]() -> std::filesystem::path {
    std::vector<std::filesystem::path> files;
    if (std::filesystem::exists(spool)) {
      for (const auto& e : std::filesystem::directory_iterator(spool)) files.push_back(e.path());
    }
    return files.size() == 1 ? files.front() : std::filesystem::path();
  };

  LineStream first("t", Options(part));
  ASSERT_TRUE(first.Identify().ok());
  ASSERT_TRUE(first.Restore(std::nullopt).ok());
  const auto spooled = only_spool_file();
  ASSERT_FALSE(spooled.empty()) << "the file to ingest lost the spool Identify made";
  const auto written = std::filesystem::last_write_time(spooled);
  auto units = first.Pending(1'000);
  ASSERT_TRUE(units.ok());
  ASSERT_GT(units->size(), 1u) << "not split";
  EXPECT_EQ(only_spool_file(), spooled);
  EXPECT_EQ(std::filesystem::last_write_time(spooled), written) << "decompressed twice";
  auto position = first.PositionAfter(*units);
  ASSERT_TRUE(position.ok());
  first.Advance(*position);
  ASSERT_TRUE(only_spool_file().empty()) << "the last part committed: the spool goes";

  LineStream second("t", Options(part));  // a restart after the file was ingested
  ASSERT_TRUE(second.Identify().ok());
  ASSERT_FALSE(only_spool_file().empty());
  ASSERT_TRUE(second.Restore(*position).ok());
  EXPECT_TRUE(only_spool_file().empty()) << "a spool kept for a file ingested already";
}

TEST_F(FileStreamPartsTest, ADamagedGzipFileIsReadWholeWithANotice) {
  WriteGzip("a.txt.gz", 400);
  const auto path = root_ / "t" / "a.txt.gz";
  const auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size - 9);  // cut the trailer and a bit
  LineStream stream("t", Options(64));
  ASSERT_TRUE(stream.Restore(std::nullopt).ok());
  auto units = stream.Pending(5);
  ASSERT_TRUE(units.ok());
  ASSERT_EQ(units->size(), 1u);
  EXPECT_EQ(units->front().parts, 0) << "a damaged stream is not split";
  auto notices = stream.TakeNotices();
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_NE(notices.front().find("is read whole"), std::string::npos) << notices.front();
  EXPECT_NE(notices.front().find("cut short"), std::string::npos) << notices.front();
}

// A stream's table is read from the first part of a large file, never from
// the whole file.
TEST_F(FileStreamPartsTest, ALargeFileIsIdentifiedFromItsFirstPart) {
  Write("a.txt", 300);
  LineStream stream("t", Options(100));
  auto id = stream.Identify();
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(id->has_value());
  EXPECT_EQ((*id)->table, "from_part");
  EXPECT_EQ(stream.identified_part_.rfind("a.txt#1/", 0), 0u) << stream.identified_part_;

  LineStream whole("t", Options(0));  // never split: identified from its bytes
  auto by_bytes = whole.Identify();
  ASSERT_TRUE(by_bytes.ok());
  EXPECT_EQ((*by_bytes)->table, "t");
}

// The cursor keeps the parts done and their layout; a process configured
// with another part size goes on with the layout the file was started with.
TEST_F(FileStreamPartsTest, ARestartKeepsTheLayoutTheFileStartedWith) {
  Write("a.txt", 300);
  const int64_t size = static_cast<int64_t>(std::filesystem::file_size(root_ / "t" / "a.txt"));
  LineStream first("t", Options(size / 4 + 1));  // 4 parts
  ASSERT_TRUE(first.Restore(std::nullopt).ok());
  auto units = first.Pending(2);
  ASSERT_TRUE(units.ok());
  ASSERT_EQ(units->size(), 2u);
  auto position = first.PositionAfter(*units);
  ASSERT_TRUE(position.ok());
  EXPECT_EQ(position->key(), 2);
  auto cursor = FileCursor::FromJson(position->state, "test");
  ASSERT_TRUE(cursor.ok());
  EXPECT_FALSE(cursor->Contains("a.txt")) << "not ingested until its last part";
  auto partial = cursor->FindPartial("a.txt");
  ASSERT_TRUE(partial.has_value());
  EXPECT_EQ(partial->done, 2);
  EXPECT_EQ(partial->parts, 4);

  LineStream second("t", Options(7));  // another part size
  ASSERT_TRUE(second.Restore(*position).ok());
  auto rest = second.Pending(10);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ(rest->front().Label(), "a.txt#3/4");
  EXPECT_EQ(rest->front().ordinal, 2u);
  EXPECT_EQ(rest->front().part_bytes, size / 4 + 1);
  auto done = second.PositionAfter(*rest);
  ASSERT_TRUE(done.ok());
  auto after = FileCursor::FromJson(done->state, "test");
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->Contains("a.txt"));
  EXPECT_FALSE(after->FindPartial("a.txt").has_value());
  EXPECT_EQ(after->count(), 4u);
}

// A stored state names its batch's parts, so a process that finds it (a run
// that died after storing it) resumes exactly that batch.
TEST_F(FileStreamPartsTest, APlannedBatchOfPartsIsReadBack) {
  Write("a.txt", 300);
  LineStream stream("t", Options(500));
  ASSERT_TRUE(stream.Restore(std::nullopt).ok());
  auto units = stream.Pending(3);
  ASSERT_TRUE(units.ok());
  auto position = stream.PositionAfter(*units);
  ASSERT_TRUE(position.ok());

  LineStream other("t", Options(500));
  ASSERT_TRUE(other.Restore(std::nullopt).ok());
  auto planned = other.Planned(*position);
  ASSERT_TRUE(planned.ok());
  ASSERT_EQ(planned->base, PlannedBatch::Base::kHere);
  ASSERT_EQ(planned->units.size(), units->size());
  for (size_t i = 0; i < units->size(); ++i) {
    const Unit& a = (*units)[i];
    const Unit& b = planned->units[i];
    EXPECT_EQ(a.Label(), b.Label());
    EXPECT_EQ(a.begin(), b.begin());
    EXPECT_EQ(a.end(), b.end());
    EXPECT_EQ(a.bytes, b.bytes);
    EXPECT_EQ(a.ordinal, b.ordinal);
    EXPECT_EQ(a.mtime_ms, b.mtime_ms);
  }
}

TEST_F(FileStreamPartsTest, CursorWithPartsRoundTripsThroughJson) {
  FileCursor c;
  auto none = [](std::string_view) { return std::optional<int64_t>(); };
  c = c.With(std::vector<TakenFile>{{{"x/a", 1000, 5}, 0, 4, 250}, {{"x/a", 1000, 5}, 1, 4, 250}},
             none);
  auto back = FileCursor::FromJson(c.ToJson(), "test");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ToJson(), c.ToJson());
  EXPECT_EQ(back->FindPartial("x/a"), (FileCursor::Partial{2, 4, 250, 1000, 5}));
  auto taken = back->TakenBatch();
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[1].part, 1);
  EXPECT_EQ(taken[1].file.size, 1000);
  // A cursor of whole files is written as before (no part fields).
  FileCursor whole = FileCursor().With(std::vector<ListedFile>{{"x/b", 10, 1}}, none);
  EXPECT_EQ(whole.ToJson().find("part"), std::string::npos);
  // A damaged partial entry is refused, not guessed.
  EXPECT_FALSE(
      FileCursor::FromJson(R"({"count":1,"files":{},"partial":{"x/a":[0,4,250,1000,5]}})", "test")
          .ok());
}

}  // namespace
}  // namespace sluice::sources
