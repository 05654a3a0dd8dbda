#include "sluice/formats/confluent/wire_format.h"

#include <cstring>

namespace sluice::formats::confluent {

namespace {

constexpr size_t kIdPrefix = 5;
constexpr size_t kGuidPrefix = 17;

std::string ByteText(uint8_t b) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "0x";
  out += kHex[b >> 4];
  out += kHex[b & 15];
  return out;
}

// What the first byte suggests when it is not a magic byte: the usual
// mistakes are a JSON converter's output and an Avro container file.
std::string Hint(std::string_view message) {
  const char c = message[0];
  if (c == '{' || c == '[') return " (the message looks like JSON: is the format json?)";
  if (message.substr(0, 4) == std::string_view("Obj\x01", 4)) {
    return " (the message is an Avro object container file, not Confluent-framed Avro)";
  }
  return "";
}

// Reads a prefix; `consumed` gets its length.
Result<SchemaRef> ReadPrefix(std::string_view bytes, std::string_view what, size_t* consumed) {
  if (bytes.empty()) {
    return Status::Invalid(what, " is empty: no Confluent schema prefix (magic byte 0 or 1)");
  }
  const auto magic = static_cast<uint8_t>(bytes[0]);
  if (magic == kMagicId) {
    if (bytes.size() < kIdPrefix) {
      return Status::Invalid(what, " ends inside its Confluent schema id: ", bytes.size(),
                             " bytes, the prefix needs ", kIdPrefix);
    }
    const auto* p = reinterpret_cast<const uint8_t*>(bytes.data()) + 1;
    const uint32_t id =
        (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
    *consumed = kIdPrefix;
    return SchemaRef::FromId(id);
  }
  if (magic == kMagicGuid) {
    if (bytes.size() < kGuidPrefix) {
      return Status::Invalid(what, " ends inside its Confluent schema GUID: ", bytes.size(),
                             " bytes, the prefix needs ", kGuidPrefix);
    }
    SchemaRef::Guid guid;
    std::memcpy(guid.data(), bytes.data() + 1, guid.size());
    *consumed = kGuidPrefix;
    return SchemaRef::FromGuid(guid);
  }
  return Status::Invalid(what, " is not Confluent-framed: magic byte ", ByteText(magic),
                         " (expected 0x00 + schema id or 0x01 + schema GUID)", Hint(bytes));
}

}  // namespace

SchemaRef SchemaRef::FromId(uint32_t id) {
  SchemaRef r;
  r.id_ = id;
  return r;
}

SchemaRef SchemaRef::FromGuid(const Guid& guid) {
  SchemaRef r;
  r.is_guid_ = true;
  r.guid_ = guid;
  return r;
}

std::string SchemaRef::GuidText() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < guid_.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[guid_[i] >> 4];
    out += kHex[guid_[i] & 15];
  }
  return out;
}

std::string SchemaRef::ToString() const {
  return is_guid_ ? "schema guid " + GuidText() : "schema id " + std::to_string(id_);
}

std::string SchemaRef::Prefix() const {
  std::string out;
  if (is_guid_) {
    out.push_back(static_cast<char>(kMagicGuid));
    out.append(reinterpret_cast<const char*>(guid_.data()), guid_.size());
  } else {
    out.push_back(static_cast<char>(kMagicId));
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(id_ >> shift));
  }
  return out;
}

size_t SchemaRefHash::operator()(const SchemaRef& r) const {
  if (!r.is_guid()) return std::hash<uint32_t>{}(r.id());
  std::string_view bytes(reinterpret_cast<const char*>(r.guid().data()), r.guid().size());
  return std::hash<std::string_view>{}(bytes) ^ 0x9e3779b97f4a7c15ULL;
}

Result<Framed> ReadPrefixed(std::string_view message) {
  size_t consumed = 0;
  ARROW_ASSIGN_OR_RAISE(auto ref, ReadPrefix(message, "the message", &consumed));
  return Framed{ref, message.substr(consumed), false};
}

Result<SchemaRef> ReadSchemaHeader(std::string_view header_value) {
  size_t consumed = 0;
  ARROW_ASSIGN_OR_RAISE(auto ref, ReadPrefix(header_value, "the schema-id header", &consumed));
  if (consumed != header_value.size()) {
    return Status::Invalid("the schema-id header has ", header_value.size() - consumed,
                           " bytes after its ", ref.ToString());
  }
  return ref;
}

Result<Framed> Unframe(std::string_view message,
                       const std::vector<std::string_view>& header_values) {
  if (header_values.empty()) return ReadPrefixed(message);
  ARROW_ASSIGN_OR_RAISE(auto ref, ReadSchemaHeader(header_values.front()));
  for (size_t i = 1; i < header_values.size(); ++i) {
    ARROW_ASSIGN_OR_RAISE(auto other, ReadSchemaHeader(header_values[i]));
    if (!(other == ref)) {
      return Status::Invalid("the message has schema-id headers that disagree: ", ref.ToString(),
                             " and ", other.ToString());
    }
  }
  return Framed{ref, message, true};
}

}  // namespace sluice::formats::confluent
