#include "sluice/sources/source_registry.h"

#include <mutex>

#include "sluice/sources/datastream/datastream_source.h"
#include "sluice/sources/debezium/kafka_source.h"
#include "sluice/sources/dms/dms_source.h"

namespace sluice::sources {

namespace {

std::mutex& RegistryMutex() {
  static std::mutex mu;
  return mu;
}

std::map<std::string, SourceFactory>& Registry() {
  static std::map<std::string, SourceFactory> registry;
  return registry;
}

// The built-in sources, registered once before the first lookup (a static
// registrar in each source's file would be dropped by the static linker).
void RegisterBuiltins() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::lock_guard<std::mutex> lock(RegistryMutex());
    Registry().emplace("datastream", datastream::MakeDatastreamSource);
    Registry().emplace("dms", dms::MakeDmsSource);
    Registry().emplace("debezium", debezium::MakeDebeziumSource);
  });
}

}  // namespace

void RegisterSource(const std::string& kind, SourceFactory factory) {
  RegisterBuiltins();
  std::lock_guard<std::mutex> lock(RegistryMutex());
  Registry()[kind] = std::move(factory);
}

std::vector<std::string> SourceKinds() {
  RegisterBuiltins();
  std::lock_guard<std::mutex> lock(RegistryMutex());
  std::vector<std::string> kinds;
  for (const auto& [kind, factory] : Registry()) kinds.push_back(kind);
  return kinds;
}

Result<std::unique_ptr<Source>> MakeSource(const SourceOptions& options) {
  RegisterBuiltins();
  SourceFactory factory;
  {
    std::lock_guard<std::mutex> lock(RegistryMutex());
    auto it = Registry().find(options.kind);
    if (it != Registry().end()) factory = it->second;
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
