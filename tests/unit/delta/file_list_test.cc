#include "sluice/delta/file_list.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace sluice::delta {
namespace {

Add File(const std::string& path, int64_t size) {
  Add a;
  a.path = path;
  a.size = size;
  a.stats = "{\"numRecords\":" + std::to_string(size) + "}";
  return a;
}

std::vector<std::string> Paths(const FileList& files) {
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back(f.path);
  return out;
}

// A copy (the next version's state) shares the files it did not change;
// changing it leaves the version it was copied from as it was.
TEST(FileListTest, ACopySharesFilesAndChangesAloneAfterwards) {
  FileList v1;
  for (int i = 0; i < 4; ++i) v1.push_back(File("f" + std::to_string(i), i + 1));
  FileList v2 = v1;
  EXPECT_EQ(&v1[2], &v2[2]) << "the copy copied a file instead of sharing it";

  v2.Replace(1, File("f1", 100));
  v2.Erase({true, false, false, false});
  v2.push_back(File("f4", 5));

  EXPECT_EQ(Paths(v1), (std::vector<std::string>{"f0", "f1", "f2", "f3"}));
  EXPECT_EQ(v1[1].size, 2);
  EXPECT_EQ(Paths(v2), (std::vector<std::string>{"f1", "f2", "f3", "f4"}));
  EXPECT_EQ(v2[0].size, 100);
  EXPECT_EQ(&v1[2], &v2[1]) << "a file no commit touched is still shared";
}

// Reads behave like the vector they replace: index, front/back, iterators
// usable by standard algorithms.
TEST(FileListTest, ReadsLikeAVector) {
  FileList files;
  EXPECT_TRUE(files.empty());
  for (int i = 0; i < 3; ++i) files.push_back(File("p" + std::to_string(i), 10 - i));
  EXPECT_EQ(files.size(), 3u);
  EXPECT_EQ(files.front().path, "p0");
  EXPECT_EQ(files.back().path, "p2");
  EXPECT_EQ(files.end() - files.begin(), 3);
  auto smallest = std::min_element(files.begin(), files.end(),
                                   [](const Add& a, const Add& b) { return a.size < b.size; });
  EXPECT_EQ(smallest->path, "p2");
  EXPECT_EQ(std::count_if(files.begin(), files.end(), [](const Add& a) { return a.size > 8; }), 2);
}

}  // namespace
}  // namespace sluice::delta
