#include "sluice/sources/debezium/debezium_settings.h"

#include <string_view>

namespace sluice::sources::debezium {

namespace {

Status BadValue(const std::string& key, const std::string& value, std::string_view expected) {
  return Status::Invalid("source.debezium.", key, ": expected ", expected, ", got '", value, "'");
}

}  // namespace

const SourceSettingSection& DebeziumSettingSection() {
  static const SourceSettingSection kSection = {
      "source.debezium",
      "debezium.",
      {"envelope", "route_by", "truncate", "tombstone_deletes", "flattened_prefix", "op_field",
       "deleted_field", "ts_field", "lsn_field", "unavailable_value", "decimal_overflow"},
      ""};
  return kSection;
}

Result<DebeziumSettings> ParseDebeziumSettings(const std::string& format,
                                               const std::map<std::string, std::string>& settings) {
  DebeziumSettings s;
  if (format == "avro") {
    s.avro = true;
  } else if (format != "json") {
    return Status::Invalid("source.format \"", format, "\" is not a Debezium format (avro | json)");
  }
  const std::string& kPrefix = DebeziumSettingSection().settings_prefix;
  for (const auto& [full_key, v] : settings) {
    if (full_key.compare(0, kPrefix.size(), kPrefix) != 0) continue;
    const std::string key = full_key.substr(kPrefix.size());
    if (key == "envelope") {
      if (v == "auto") {
        s.envelope = EnvelopeMode::kAuto;
      } else if (v == "envelope") {
        s.envelope = EnvelopeMode::kEnvelope;
      } else if (v == "flattened") {
        s.envelope = EnvelopeMode::kFlattened;
      } else {
        return BadValue(key, v, "auto, envelope or flattened");
      }
    } else if (key == "route_by") {
      if (v == "topic") {
        s.route_by = RouteBy::kTopic;
      } else if (v == "source") {
        s.route_by = RouteBy::kSource;
      } else {
        return BadValue(key, v, "topic or source");
      }
    } else if (key == "truncate") {
      if (v == "apply") {
        s.apply_truncate = true;
      } else if (v == "ignore") {
        s.apply_truncate = false;
      } else {
        return BadValue(key, v, "apply or ignore");
      }
    } else if (key == "tombstone_deletes") {
      if (v == "true") {
        s.tombstone_deletes = true;
      } else if (v == "false") {
        s.tombstone_deletes = false;
      } else {
        return BadValue(key, v, "true or false");
      }
    } else if (key == "flattened_prefix") {
      s.flattened_prefix = v;
    } else if (key == "op_field" || key == "deleted_field" || key == "ts_field" ||
               key == "lsn_field") {
      if (v.empty()) return BadValue(key, v, "a field name");
      (key == "op_field"        ? s.op_field
       : key == "deleted_field" ? s.deleted_field
       : key == "ts_field"      ? s.ts_field
                                : s.lsn_field) = v;
    } else if (key == "unavailable_value") {
      if (v.empty()) return BadValue(key, v, "a placeholder text (or hex:<bytes>)");
      s.unavailable_value = v;
    } else if (key == "decimal_overflow") {
      if (v == "text") {
        s.types.decimal_overflow = formats::connect::DecimalOverflow::kString;
      } else if (v == "decimal38") {
        s.types.decimal_overflow = formats::connect::DecimalOverflow::kDecimal38;
      } else {
        return BadValue(key, v, "text or decimal38");
      }
    } else {
      return Status::Invalid("source.debezium.", key,
                             ": unknown key (known: ", KnownKeysText(DebeziumSettingSection()),
                             ")");
    }
  }
  if (s.tombstone_deletes && s.envelope != EnvelopeMode::kFlattened) {
    // An envelope topic's delete event precedes its tombstone: the delete
    // would be recorded twice, and auto cannot tell the shapes apart.
    return Status::Invalid(
        "source.debezium.tombstone_deletes = true needs envelope = \"flattened\" (Debezium "
        "envelopes carry their deletes as events)");
  }
  if (s.tombstone_deletes && s.route_by != RouteBy::kTopic) {
    return Status::Invalid(
        "source.debezium.tombstone_deletes = true needs route_by = \"topic\": a tombstone "
        "names no table");
  }
  if (s.flattened_prefix.empty() && (s.op_field.empty() || s.deleted_field.empty() ||
                                     s.ts_field.empty() || s.lsn_field.empty())) {
    return Status::Invalid(
        "source.debezium.flattened_prefix is empty: name op_field, deleted_field, ts_field and "
        "lsn_field explicitly");
  }
  return s;
}

}  // namespace sluice::sources::debezium
