// The schema-registry client (sources/debezium/schema_registry_client.h)
// against a scripted HTTP transport: what each answer of the registry
// becomes, the cache, retries with backoff, basic auth.
#include "sluice/sources/debezium/schema_registry_client.h"

#include <gtest/gtest.h>

#include <deque>
#include <mutex>

namespace sluice::sources::debezium {
namespace {

using formats::confluent::SchemaRef;

class ScriptedHttp : public io::HttpClient {
 public:
  // Each Get takes the next scripted answer; an empty status is a transport
  // failure.
  void Answer(int status, std::string body) { script_.push_back({status, std::move(body)}); }
  void FailTransport() { script_.push_back({0, ""}); }

  Result<io::HttpResponse> Get(const std::string& url, const io::HttpHeaders& headers) override {
    std::lock_guard<std::mutex> lock(mu_);
    urls.push_back(url);
    last_headers = headers;
    if (script_.empty()) return Status::IOError("no scripted answer for ", url);
    auto next = script_.front();
    script_.pop_front();
    if (next.status == 0) return Status::IOError("GET ", url, ": Couldn't connect to server");
    return next;
  }

  std::vector<std::string> urls;
  io::HttpHeaders last_headers;

 private:
  std::mutex mu_;
  std::deque<io::HttpResponse> script_;
};

struct Fixture {
  std::shared_ptr<ScriptedHttp> http = std::make_shared<ScriptedHttp>();
  std::vector<int64_t> sleeps;
  std::unique_ptr<SchemaRegistryClient> client;

  explicit Fixture(std::string user = "", int attempts = 4) {
    SchemaRegistryOptions opts;
    opts.url = "http://registry:8081/";
    opts.user = std::move(user);
    opts.password = "s3cret";
    opts.max_attempts = attempts;
    opts.initial_backoff = std::chrono::milliseconds(100);
    opts.max_backoff = std::chrono::milliseconds(300);
    opts.sleep = [this](std::chrono::milliseconds d) { sleeps.push_back(d.count()); };
    client = std::make_unique<SchemaRegistryClient>(opts, http);
  }
};

const char* kSchema = R"({"schema":"{\"type\":\"string\"}"})";

TEST(SchemaRegistryClient, FetchesByIdOnceAndCaches) {
  Fixture f;
  f.http->Answer(200, kSchema);
  auto a = f.client->Get(SchemaRef::FromId(42));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ((*a)->schema, R"({"type":"string"})");
  EXPECT_EQ((*a)->schema_type, "AVRO");
  auto b = f.client->Get(SchemaRef::FromId(42));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->get(), b->get());
  EXPECT_EQ(f.http->urls, std::vector<std::string>{"http://registry:8081/schemas/ids/42"});
  EXPECT_EQ(f.client->requests(), 1);
}

TEST(SchemaRegistryClient, GuidsTypesAndReferences) {
  Fixture f;
  SchemaRef::Guid g{};
  g[0] = 0x0f;
  g[15] = 0xf0;
  f.http->Answer(200, R"({"schema":"syntax = \"proto3\";","schemaType":"PROTOBUF",
      "references":[{"name":"shop.Address","subject":"shop address","version":3}]})");
  auto s = f.client->Get(SchemaRef::FromGuid(g));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(f.http->urls[0],
            "http://registry:8081/schemas/guids/0f000000-0000-0000-0000-0000000000f0");
  EXPECT_EQ((*s)->schema_type, "PROTOBUF");
  ASSERT_EQ((*s)->references.size(), 1u);
  EXPECT_EQ((*s)->references[0].subject, "shop address");
  f.http->Answer(200, kSchema);
  ASSERT_TRUE(f.client->GetVersion("shop address", 3).ok());
  EXPECT_EQ(f.http->urls[1], "http://registry:8081/subjects/shop%20address/versions/3");
}

TEST(SchemaRegistryClient, UnknownIdIsKeyErrorAndNotCached) {
  Fixture f;
  f.http->Answer(404, R"({"error_code":40403,"message":"Schema 7 not found"})");
  auto st = f.client->Get(SchemaRef::FromId(7)).status();
  EXPECT_TRUE(st.IsKeyError()) << st;
  EXPECT_NE(st.message().find("schema id 7"), std::string::npos) << st.message();
  EXPECT_TRUE(f.sleeps.empty());  // no retry: the registry answered
  // Registered later: found.
  f.http->Answer(200, kSchema);
  EXPECT_TRUE(f.client->Get(SchemaRef::FromId(7)).ok());
}

TEST(SchemaRegistryClient, RetriesServerErrorsWithBackoff) {
  Fixture f;
  f.http->Answer(503, "busy");
  f.http->FailTransport();
  f.http->Answer(429, "slow down");
  f.http->Answer(200, kSchema);
  auto s = f.client->Get(SchemaRef::FromId(1));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(f.client->requests(), 4);
  EXPECT_EQ(f.sleeps, (std::vector<int64_t>{100, 200, 300}));  // doubling, capped
}

TEST(SchemaRegistryClient, GivesUpAsIOErrorWhenDown) {
  Fixture f("", 3);
  for (int i = 0; i < 3; ++i) f.http->FailTransport();
  auto st = f.client->Get(SchemaRef::FromId(1)).status();
  EXPECT_TRUE(st.IsIOError()) << st;
  EXPECT_NE(st.message().find("after 3 attempts"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("Couldn't connect"), std::string::npos) << st.message();
}

TEST(SchemaRegistryClient, AuthFailuresAndJunkAreInvalidWithoutRetry) {
  Fixture f("sluice");
  f.http->Answer(401, R"({"error_code":401,"message":"Unauthorized"})");
  auto st = f.client->Get(SchemaRef::FromId(1)).status();
  EXPECT_TRUE(st.IsInvalid()) << st;
  EXPECT_NE(st.message().find("401"), std::string::npos);
  EXPECT_TRUE(f.sleeps.empty());
  // The credentials went as basic auth: base64("sluice:s3cret").
  bool found = false;
  for (const auto& [name, value] : f.http->last_headers) {
    if (name == "Authorization") {
      EXPECT_EQ(value, "Basic c2x1aWNlOnMzY3JldA==");
      found = true;
    }
  }
  EXPECT_TRUE(found);
  for (const char* junk :
       {"<html>", R"({"schema":5})", "[]", R"({"schema":"x","references":[{"name":1}]})"}) {
    f.http->Answer(200, junk);
    EXPECT_TRUE(f.client->Get(SchemaRef::FromId(2)).status().IsInvalid()) << junk;
  }
}

TEST(SchemaRegistryClient, Base64) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
}

}  // namespace
}  // namespace sluice::sources::debezium
