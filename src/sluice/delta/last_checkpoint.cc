#include "sluice/delta/last_checkpoint.h"

#include <limits>
#include <nlohmann/json.hpp>

namespace sluice::delta {
namespace {

Result<std::optional<int64_t>> JsonOptInt(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (it->is_number_unsigned()) {
    auto v = it->get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Status::Invalid("_last_checkpoint: \"", key, "\" is out of range");
    }
    return static_cast<int64_t>(v);
  }
  if (it->is_number_integer()) return it->get<int64_t>();
  return Status::Invalid("_last_checkpoint: \"", key, "\" is not an integer");
}

Result<int64_t> JsonInt(const nlohmann::json& j, const char* key) {
  ARROW_ASSIGN_OR_RAISE(auto v, JsonOptInt(j, key));
  if (!v) return Status::Invalid("_last_checkpoint: missing \"", key, "\"");
  return *v;
}

}  // namespace

std::string LastCheckpointToJson(const LastCheckpoint& last) {
  nlohmann::ordered_json j;
  j["version"] = last.version;
  j["size"] = last.size;
  if (last.parts) j["parts"] = *last.parts;
  if (last.size_in_bytes) j["sizeInBytes"] = *last.size_in_bytes;
  if (last.num_of_add_files) j["numOfAddFiles"] = *last.num_of_add_files;
  return j.dump();
}

Result<LastCheckpoint> LastCheckpointFromJson(std::string_view json) {
  auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Status::Invalid("_last_checkpoint: not a JSON object");
  LastCheckpoint last;
  ARROW_ASSIGN_OR_RAISE(last.version, JsonInt(j, "version"));
  ARROW_ASSIGN_OR_RAISE(last.size, JsonInt(j, "size"));
  ARROW_ASSIGN_OR_RAISE(last.parts, JsonOptInt(j, "parts"));
  ARROW_ASSIGN_OR_RAISE(last.size_in_bytes, JsonOptInt(j, "sizeInBytes"));
  ARROW_ASSIGN_OR_RAISE(last.num_of_add_files, JsonOptInt(j, "numOfAddFiles"));
  if (last.version < 0 || last.size < 0 || (last.parts && *last.parts < 1)) {
    return Status::Invalid("_last_checkpoint: negative version/size or parts < 1");
  }
  return last;
}

}  // namespace sluice::delta
