#include "sluice/sources/source_registry.h"

#include <mutex>

#include "sluice/sources/datastream/datastream_source.h"
#include "sluice/sources/debezium/debezium_settings.h"
#include "sluice/sources/debezium/kafka_settings.h"
#include "sluice/sources/debezium/kafka_source.h"
#include "sluice/sources/dms/dms_settings.h"
#include "sluice/sources/dms/dms_source.h"

namespace sluice::sources {

namespace {

struct RegisteredSource {
  SourceFactory factory;
  std::vector<SourceSettingSection> settings;
};

std::mutex& RegistryMutex() {
  static std::mutex mu;
  return mu;
}

std::map<std::string, RegisteredSource>& Registry() {
  static std::map<std::string, RegisteredSource> registry;
  return registry;
}

// The built-in sources, registered once before the first lookup (a static
// registrar in each source's file would be dropped by the static linker).
void RegisterBuiltins() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::lock_guard<std::mutex> lock(RegistryMutex());
    Registry().emplace("datastream", RegisteredSource{datastream::MakeDatastreamSource, {}});
    Registry().emplace("dms", RegisteredSource{dms::MakeDmsSource, {dms::DmsSettingSection()}});
    Registry().emplace("debezium", RegisteredSource{debezium::MakeDebeziumSource,
                                                    {debezium::KafkaSettingSection(),
                                                     debezium::DebeziumSettingSection()}});
  });
}

}  // namespace

void RegisterSource(const std::string& kind, SourceFactory factory,
                    std::vector<SourceSettingSection> settings) {
  RegisterBuiltins();
  std::lock_guard<std::mutex> lock(RegistryMutex());
  Registry()[kind] = RegisteredSource{std::move(factory), std::move(settings)};
}

std::vector<std::string> SourceKinds() {
  RegisterBuiltins();
  std::lock_guard<std::mutex> lock(RegistryMutex());
  std::vector<std::string> kinds;
  for (const auto& [kind, source] : Registry()) kinds.push_back(kind);
  return kinds;
}

std::vector<SourceSettingSection> SourceSettingSections() {
  RegisterBuiltins();
  std::lock_guard<std::mutex> lock(RegistryMutex());
  std::map<std::string, SourceSettingSection> by_name;
  for (const auto& [kind, source] : Registry()) {
    for (const auto& section : source.settings) by_name.emplace(section.section, section);
  }
  std::vector<SourceSettingSection> sections;
  for (auto& [name, section] : by_name) sections.push_back(std::move(section));
  return sections;
}

Result<std::optional<std::string>> SourceSettingName(const std::string& config_key) {
  for (const auto& section : SourceSettingSections()) {
    ARROW_ASSIGN_OR_RAISE(auto name, SettingName(section, config_key));
    if (name) return name;
  }
  return std::nullopt;
}

Result<std::unique_ptr<Source>> MakeSource(const SourceOptions& options) {
  RegisterBuiltins();
  SourceFactory factory;
  {
    std::lock_guard<std::mutex> lock(RegistryMutex());
    auto it = Registry().find(options.kind);
    if (it != Registry().end()) factory = it->second.factory;
  }
  if (!factory) {
    std::string known;
    for (const auto& k : SourceKinds()) known += (known.empty() ? "" : ", ") + k;
    return Status::Invalid("source.kind \"", options.kind,
                           "\" is not a source Sluice has (known: ", known, ")");
  }
  return factory(options);
}

}  // namespace sluice::sources
