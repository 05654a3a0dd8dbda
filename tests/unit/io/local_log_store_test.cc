#include "sluice/io/local_log_store.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace sluice::io {
namespace {

class LocalLogStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice_lls_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    store_ = std::make_unique<LocalLogStore>(dir_.string());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  std::unique_ptr<LocalLogStore> store_;
};

TEST_F(LocalLogStoreTest, PutIfAbsentRefusesSecondWriter) {
  ASSERT_TRUE(store_->PutIfAbsent("_delta_log/00000000000000000000.json", "a\n").ok());
  Status st = store_->PutIfAbsent("_delta_log/00000000000000000000.json", "b\n");
  EXPECT_TRUE(st.IsAlreadyExists()) << st.ToString();
  auto read = store_->Read("_delta_log/00000000000000000000.json");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, "a\n");
}

TEST_F(LocalLogStoreTest, ListFromIsSortedAndFiltered) {
  for (const char* name : {"3.json", "1.json", "2.json", "0.json"}) {
    ASSERT_TRUE(store_->PutIfAbsent(std::string("_delta_log/") + name, "x").ok());
  }
  auto listed = store_->ListFrom("_delta_log", "1.json");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].path, "_delta_log/1.json");
  EXPECT_EQ((*listed)[2].path, "_delta_log/3.json");
  EXPECT_EQ((*listed)[0].size, 1);
}

TEST_F(LocalLogStoreTest, MissingThingsAreDistinguishable) {
  auto listed = store_->ListFrom("_delta_log", "");
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  auto read = store_->Read("nope");
  EXPECT_TRUE(IsNotFound(read.status()));
  auto head = store_->Head("nope");
  ASSERT_TRUE(head.ok());
  EXPECT_FALSE(head->has_value());
  EXPECT_TRUE(store_->Delete("nope").ok());
}

TEST_F(LocalLogStoreTest, PutReplaces) {
  ASSERT_TRUE(store_->Put("_delta_log/_last_checkpoint", "1").ok());
  ASSERT_TRUE(store_->Put("_delta_log/_last_checkpoint", "22").ok());
  auto read = store_->Read("_delta_log/_last_checkpoint");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, "22");
}

}  // namespace
}  // namespace sluice::io
