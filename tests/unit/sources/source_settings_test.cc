#include "sluice/sources/source_settings.h"

#include <gtest/gtest.h>

namespace sluice::sources {
namespace {

const SourceSettingSection kKafkaLike = {"source.q", "q.", {"servers", "topics"}, "properties"};

TEST(SourceSettings, SettingNameMapsDeclaredKeys) {
  auto name = SettingName(kKafkaLike, "source.q.topics");
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(*name, "q.topics");
  name = SettingName(kKafkaLike, "source.q.properties.sasl.mechanism");
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(*name, "q.properties.sasl.mechanism");
  const SourceSettingSection bare = {"source.b", "", {"k"}, ""};
  name = SettingName(bare, "source.b.k");
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(*name, "k");
}

TEST(SourceSettings, KeysOutsideTheSectionAreNotItsBusiness) {
  for (const char* key : {"source.qq.topics", "source.path", "sink.q.topics", "source.q"}) {
    auto name = SettingName(kKafkaLike, key);
    ASSERT_TRUE(name.ok()) << key;
    EXPECT_EQ(*name, std::nullopt) << key;
  }
}

TEST(SourceSettings, AnUndeclaredKeyNamesItselfAndTheKnownOnes) {
  for (const char* key : {"source.q.topic", "source.q.properties", "source.q.servers.x"}) {
    auto name = SettingName(kKafkaLike, key);
    ASSERT_FALSE(name.ok()) << key;
    EXPECT_NE(name.status().message().find(std::string("'") + key + "'"), std::string::npos);
    EXPECT_NE(name.status().message().find("known: servers, topics, properties.*"),
              std::string::npos)
        << name.status().message();
  }
}

}  // namespace
}  // namespace sluice::sources
