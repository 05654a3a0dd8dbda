// Location parsing: which store a user's path names, and where in it.
#include "sluice/io/storage_uri.h"

#include <gtest/gtest.h>

namespace sluice::io {
namespace {

TEST(StorageUri, LocalPathsAndFileUris) {
  auto plain = ParseStorageUri("/data/lake/orders");
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->kind, StorageKind::kLocal);
  EXPECT_EQ(plain->bucket, "/data/lake/orders");
  auto file = ParseStorageUri("file:///data/lake");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->kind, StorageKind::kLocal);
  EXPECT_EQ(file->bucket, "/data/lake");
  EXPECT_FALSE(IsObjectStoreUri("file:///x"));
  EXPECT_FALSE(IsObjectStoreUri("relative/dir"));
}

TEST(StorageUri, EachCloudScheme) {
  auto s3 = ParseStorageUri("s3://bucket/lake/orders/");
  ASSERT_TRUE(s3.ok());
  EXPECT_EQ(s3->kind, StorageKind::kS3);
  EXPECT_EQ(s3->bucket, "bucket");
  EXPECT_EQ(s3->key, "lake/orders");
  auto gs = ParseStorageUri("gs://b");
  ASSERT_TRUE(gs.ok());
  EXPECT_EQ(gs->kind, StorageKind::kGcs);
  EXPECT_EQ(gs->key, "");
  auto az = ParseStorageUri("az://container/t");
  ASSERT_TRUE(az.ok());
  EXPECT_EQ(az->kind, StorageKind::kAzure);
  EXPECT_EQ(az->bucket, "container");
  EXPECT_EQ(az->account, "");
  auto abfss = ParseStorageUri("abfss://lake@myaccount.dfs.core.windows.net/a/b");
  ASSERT_TRUE(abfss.ok());
  EXPECT_EQ(abfss->kind, StorageKind::kAzure);
  EXPECT_EQ(abfss->bucket, "lake");
  EXPECT_EQ(abfss->account, "myaccount");
  EXPECT_EQ(abfss->key, "a/b");
  EXPECT_TRUE(IsObjectStoreUri("s3://b/k"));
}

TEST(StorageUri, RefusesWhatCannotBeRight) {
  auto unknown = ParseStorageUri("ftp://host/x");
  ASSERT_FALSE(unknown.ok());
  EXPECT_TRUE(unknown.status().IsInvalid());
  EXPECT_NE(unknown.status().message().find("ftp://"), std::string::npos);
  EXPECT_FALSE(ParseStorageUri("s3:///no-bucket").ok());
  EXPECT_FALSE(ParseStorageUri("s3://b/a/../../etc").ok());
  // Credentials belong in the standard variables, not in a path that ends
  // up in logs.
  EXPECT_FALSE(ParseStorageUri("s3://key:secret@bucket/x").ok());
}

TEST(StorageUri, Endpoints) {
  Endpoint e = ParseEndpoint("http://127.0.0.1:9000");
  EXPECT_EQ(e.scheme, "http");
  EXPECT_EQ(e.authority, "127.0.0.1:9000");
  EXPECT_EQ(e.path, "");
  Endpoint azurite = ParseEndpoint("http://127.0.0.1:10000/devstoreaccount1/");
  EXPECT_EQ(azurite.authority, "127.0.0.1:10000");
  EXPECT_EQ(azurite.path, "devstoreaccount1");
  Endpoint bare = ParseEndpoint("localhost:4443");
  EXPECT_EQ(bare.scheme, "");
  EXPECT_EQ(bare.authority, "localhost:4443");
}

TEST(StorageUri, AzureConnectionString) {
  auto kv = ParseConnectionString(
      "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
      "AccountKey=abc/def==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;");
  EXPECT_EQ(kv["AccountName"], "devstoreaccount1");
  EXPECT_EQ(kv["AccountKey"], "abc/def==");  // '=' inside a value survives
  EXPECT_EQ(kv["BlobEndpoint"], "http://127.0.0.1:10000/devstoreaccount1");
  EXPECT_EQ(kv.size(), 4u);
}

}  // namespace
}  // namespace sluice::io
