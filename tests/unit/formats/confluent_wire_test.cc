// Confluent wire framing (formats/confluent/wire_format.h): each framing
// Confluent's serializers write is read back, and everything else is a clear
// error, never a guess.
#include <gtest/gtest.h>

#include <string>

#include "sluice/formats/confluent/wire_format.h"

namespace sluice::formats::confluent {
namespace {

using namespace std::string_literals;

SchemaRef::Guid TestGuid() {
  SchemaRef::Guid g;
  for (size_t i = 0; i < g.size(); ++i) g[i] = static_cast<uint8_t>(0xa0 + i);
  return g;
}

TEST(ConfluentWire, IdPrefixIsBigEndian) {
  const std::string bytes = "\x00\x00\x01\x02\x03payload"s;  // the payload views it
  auto framed = ReadPrefixed(bytes);
  ASSERT_TRUE(framed.ok()) << framed.status();
  EXPECT_FALSE(framed->schema.is_guid());
  EXPECT_EQ(framed->schema.id(), 0x010203u);
  EXPECT_EQ(framed->payload, "payload");
  EXPECT_FALSE(framed->from_header);
}

TEST(ConfluentWire, IdsAboveTwoToThe31AreReadUnsigned) {
  auto framed = ReadPrefixed("\x00\xff\xff\xff\xfe"s);
  ASSERT_TRUE(framed.ok());
  EXPECT_EQ(framed->schema.id(), 0xfffffffeu);
  EXPECT_EQ(framed->schema.ToString(), "schema id 4294967294");
  EXPECT_TRUE(framed->payload.empty());
}

TEST(ConfluentWire, GuidPrefix) {
  const auto ref = SchemaRef::FromGuid(TestGuid());
  const std::string bytes = ref.Prefix() + "\x02\x04"s;  // the payload views it
  auto framed = ReadPrefixed(bytes);
  ASSERT_TRUE(framed.ok()) << framed.status();
  EXPECT_TRUE(framed->schema.is_guid());
  EXPECT_EQ(framed->schema, ref);
  EXPECT_EQ(framed->payload, "\x02\x04"s);
  EXPECT_EQ(ref.GuidText(), "a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf");
}

TEST(ConfluentWire, PrefixRoundTrips) {
  for (const auto& ref : {SchemaRef::FromId(0), SchemaRef::FromId(42),
                          SchemaRef::FromId(0x7fffffff), SchemaRef::FromGuid(TestGuid())}) {
    const std::string bytes = ref.Prefix() + "x";  // the payload views it
    auto framed = ReadPrefixed(bytes);
    ASSERT_TRUE(framed.ok());
    EXPECT_EQ(framed->schema, ref) << ref.ToString();
    EXPECT_EQ(framed->payload, "x");
  }
}

TEST(ConfluentWire, OtherMagicBytesAreErrorsNamingTheByte) {
  auto st = ReadPrefixed("\x02\x00\x00\x00\x01"s).status();
  EXPECT_TRUE(st.IsInvalid());
  EXPECT_NE(st.message().find("magic byte 0x02"), std::string::npos) << st.message();
  // JSON from a JsonConverter gets a hint.
  st = ReadPrefixed(R"({"schema":null,"payload":{}})").status();
  EXPECT_TRUE(st.IsInvalid());
  EXPECT_NE(st.message().find("0x7b"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("looks like JSON"), std::string::npos) << st.message();
  st = ReadPrefixed("Obj\x01rest"s).status();
  EXPECT_NE(st.message().find("object container file"), std::string::npos) << st.message();
}

TEST(ConfluentWire, EmptyAndCutMessagesAreErrors) {
  EXPECT_TRUE(ReadPrefixed("").status().IsInvalid());
  for (size_t n = 1; n < 5; ++n) {
    auto st = ReadPrefixed(std::string("\x00\x00\x00\x00\x07", n)).status();
    EXPECT_TRUE(st.IsInvalid()) << n;
    EXPECT_NE(st.message().find("ends inside its Confluent schema id"), std::string::npos);
  }
  const std::string guid = SchemaRef::FromGuid(TestGuid()).Prefix();
  for (size_t n = 1; n < guid.size(); ++n) {
    auto st = ReadPrefixed(guid.substr(0, n)).status();
    EXPECT_TRUE(st.IsInvalid()) << n;
    EXPECT_NE(st.message().find("GUID"), std::string::npos);
  }
}

TEST(ConfluentWire, HeaderWinsAndThePayloadIsTheWholeMessage) {
  const auto ref = SchemaRef::FromGuid(TestGuid());
  // The message itself starts like an id prefix: with a header it is all
  // payload, as Confluent's deserializers read it.
  const std::string message =
      "\x00\x00\x00\x00\x05"
      "avro"s;
  auto framed = Unframe(message, {ref.Prefix()});
  ASSERT_TRUE(framed.ok()) << framed.status();
  EXPECT_EQ(framed->schema, ref);
  EXPECT_EQ(framed->payload, message);
  EXPECT_TRUE(framed->from_header);
  // An id in the header works the same.
  framed = Unframe("avro", {SchemaRef::FromId(9).Prefix()});
  ASSERT_TRUE(framed.ok());
  EXPECT_EQ(framed->schema.id(), 9u);
  EXPECT_EQ(framed->payload, "avro");
}

TEST(ConfluentWire, WithoutHeaderThePrefixIsRead) {
  const std::string bytes =
      "\x00\x00\x00\x00\x05"
      "avro"s;  // the payload views it
  auto framed = Unframe(bytes, {});
  ASSERT_TRUE(framed.ok());
  EXPECT_EQ(framed->schema.id(), 5u);
  EXPECT_EQ(framed->payload, "avro");
}

TEST(ConfluentWire, BadHeadersAreErrors) {
  const std::string id7 = SchemaRef::FromId(7).Prefix();
  // Trailing bytes after the reference.
  auto st = Unframe("avro", {id7 + "x"}).status();
  EXPECT_TRUE(st.IsInvalid());
  EXPECT_NE(st.message().find("1 bytes after its schema id 7"), std::string::npos) << st.message();
  // A bad magic byte or a cut header.
  EXPECT_TRUE(Unframe("avro", {"\x05\x00\x00\x00\x07"s}).status().IsInvalid());
  EXPECT_TRUE(Unframe("avro", {id7.substr(0, 3)}).status().IsInvalid());
  EXPECT_TRUE(Unframe("avro", {""}).status().IsInvalid());
  // Repeated headers: equal is one, different is an error.
  EXPECT_TRUE(Unframe("avro", {id7, id7}).ok());
  st = Unframe("avro", {id7, SchemaRef::FromId(8).Prefix()}).status();
  EXPECT_TRUE(st.IsInvalid());
  EXPECT_NE(st.message().find("disagree"), std::string::npos);
}

TEST(ConfluentWire, RefsHashAndCompareByKind) {
  SchemaRefHash h;
  EXPECT_EQ(h(SchemaRef::FromId(3)), h(SchemaRef::FromId(3)));
  EXPECT_FALSE(SchemaRef::FromId(3) == SchemaRef::FromId(4));
  SchemaRef::Guid zero{};
  // Id 0 and the all-zero GUID are different references.
  EXPECT_FALSE(SchemaRef::FromId(0) == SchemaRef::FromGuid(zero));
}

}  // namespace
}  // namespace sluice::formats::confluent
