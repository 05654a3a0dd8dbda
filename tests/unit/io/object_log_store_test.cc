// ObjectLogStore pieces that need no server: the listing wire format, and
// the errors a user sees before any request.
#include "sluice/io/object_log_store.h"

#include <gtest/gtest.h>

#include "sluice/io/table_location.h"

namespace sluice::io {
namespace {

TEST(ObjectLogStore, ParsesListingLines) {
  auto e = ParseListingLine("123\t1700000000000\t_delta_log/00000000000000000001.json");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->size, 123);
  EXPECT_EQ(e->modification_time_ms, 1700000000000);
  EXPECT_EQ(e->path, "_delta_log/00000000000000000001.json");
  EXPECT_FALSE(ParseListingLine("garbage").ok());
  EXPECT_FALSE(ParseListingLine("12x\t5\tp").ok());
  EXPECT_FALSE(ParseListingLine("12\t\tp").ok());
}

TEST(ObjectLogStore, OpensWithoutTouchingTheNetwork) {
  // Opening only configures; the endpoint below does not exist.
  setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9", 1);
  setenv("AWS_ACCESS_KEY_ID", "test", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "test", 1);
  auto store = ObjectLogStore::Open("s3://some-bucket/lake/t");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->Describe("_delta_log/x.json"), "s3://some-bucket/lake/t/_delta_log/x.json");
}

TEST(ObjectLogStore, UnreachableEndpointIsAClearErrorNotACrash) {
  setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9", 1);
  setenv("AWS_ACCESS_KEY_ID", "test", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "test", 1);
  auto store = ObjectLogStore::Open("s3://some-bucket/t");
  ASSERT_TRUE(store.ok());
  auto st = (*store)->PutIfAbsent("_delta_log/00000000000000000000.json", "{}");
  ASSERT_FALSE(st.ok());
  EXPECT_FALSE(st.IsAlreadyExists());
  EXPECT_NE(st.message().find("some-bucket"), std::string::npos) << st.ToString();
}

TEST(TableLocation, UnknownSchemeIsRefusedByName) {
  auto loc = OpenTableLocation("hdfs://nn/lake/t");
  ASSERT_FALSE(loc.ok());
  EXPECT_NE(loc.status().message().find("hdfs://"), std::string::npos);
}

TEST(TableLocation, ObjectStorePathsGetAnObjectLogStore) {
  setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9", 1);
  setenv("AWS_ACCESS_KEY_ID", "test", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "test", 1);
  auto loc = OpenTableLocation("s3://bucket/lake/orders/");
  ASSERT_TRUE(loc.ok()) << loc.status().ToString();
  EXPECT_EQ(loc->root, "bucket/lake/orders");
  EXPECT_NE(std::dynamic_pointer_cast<ObjectLogStore>(loc->log), nullptr);
  auto sub = OpenSubLocation(*loc, "_sluice/tombstones");
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();
  EXPECT_EQ(sub->root, "bucket/lake/orders/_sluice/tombstones");
  EXPECT_EQ(sub->uri, "s3://bucket/lake/orders/_sluice/tombstones");
}

}  // namespace
}  // namespace sluice::io
