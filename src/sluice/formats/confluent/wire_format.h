// Confluent's wire format: how a Kafka message written by a schema-registry
// serializer says which schema its payload was written with. Three framings
// (Confluent's serializer documentation and client libraries):
//
//   payload prefix, version 0   0x00, the schema id (4 bytes big-endian),
//                               then the payload
//   payload prefix, version 1   0x01, the schema's GUID (16 bytes), then the
//                               payload
//   header                      the payload alone, with a Kafka header
//                               `__value_schema_id` (or `__key_schema_id` for
//                               the key) whose value is one of the two
//                               prefixes above, with nothing after it
//
// A header, when present, wins over the payload (its payload is the whole
// message, as Confluent's deserializers read it). Anything else (another
// magic byte, a message cut inside the prefix, a header with trailing
// bytes, two headers that disagree) is an error naming what was found, for
// the dead-letter row: never a guess.
//
// The bytes are untrusted; nothing here allocates beyond the error text.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::formats::confluent {

inline constexpr std::string_view kKeySchemaIdHeader = "__key_schema_id";
inline constexpr std::string_view kValueSchemaIdHeader = "__value_schema_id";
inline constexpr uint8_t kMagicId = 0;
inline constexpr uint8_t kMagicGuid = 1;

/// Which registered schema a payload was written with: a registry id or a
/// GUID.
class SchemaRef {
 public:
  using Guid = std::array<uint8_t, 16>;

  static SchemaRef FromId(uint32_t id);
  static SchemaRef FromGuid(const Guid& guid);

  bool is_guid() const { return is_guid_; }
  /// The registry id (meaningful when !is_guid()). Unsigned as on the wire;
  /// the registry's ids are positive 32-bit integers.
  uint32_t id() const { return id_; }
  /// The GUID bytes (meaningful when is_guid()).
  const Guid& guid() const { return guid_; }

  /// The GUID as the registry spells it in URLs: 8-4-4-4-12 lowercase hex.
  std::string GuidText() const;
  /// "schema id 42" / "schema guid 0f1e…", for messages.
  std::string ToString() const;
  /// The prefix bytes that frame a payload with this reference.
  std::string Prefix() const;

  bool operator==(const SchemaRef& o) const {
    return is_guid_ == o.is_guid_ && (is_guid_ ? guid_ == o.guid_ : id_ == o.id_);
  }

 private:
  bool is_guid_ = false;
  uint32_t id_ = 0;
  Guid guid_{};
};

/// A message's schema reference and the payload it frames (a view into the
/// message bytes).
struct Framed {
  SchemaRef schema;
  std::string_view payload;
  bool from_header = false;  ///< the reference came from a header
};

/// \brief Reads the prefix at the start of `message`. Invalid when the
/// message is empty, starts with another magic byte, or ends inside the
/// prefix. An empty payload after the prefix is valid (a schema of no bytes).
Result<Framed> ReadPrefixed(std::string_view message);

/// \brief Reads a schema-id header value: a prefix and nothing after it.
Result<SchemaRef> ReadSchemaHeader(std::string_view header_value);

/// \brief The framing of a message's key or value. `header_values` are the
/// values of that side's schema-id header (`kValueSchemaIdHeader` for a
/// value), in message order; headers whose value is null are left out by the
/// caller, as Confluent's deserializers ignore them. Several equal values
/// are one; values that differ are an error.
Result<Framed> Unframe(std::string_view message,
                       const std::vector<std::string_view>& header_values);

/// Hash of a SchemaRef, for caches keyed by it.
struct SchemaRefHash {
  size_t operator()(const SchemaRef& r) const;
};

}  // namespace sluice::formats::confluent
