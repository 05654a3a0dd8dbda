#include "sluice/sources/debezium/debezium_decoder.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/formats/debezium/avro_record_reader.h"
#include "sluice/formats/debezium/json_record_reader.h"
#include "sluice/sources/debezium/debezium_changes.h"
#include "sluice/sources/debezium/debezium_settings.h"

namespace sluice::sources::debezium {

namespace {

using formats::debezium::DecodedRecords;
using Values = std::vector<std::optional<std::string_view>>;
using Headers = std::vector<std::vector<std::string_view>>;

// Message keys or values of one format into records (formats/debezium/).
// Not thread-safe: the decoder keeps a pool, so compiled schemas are reused
// across units.
class RecordsReader {
 public:
  virtual ~RecordsReader() = default;
  /// `schema_headers`: per message, the values of its `__key_schema_id` or
  /// `__value_schema_id` headers (Avro only).
  virtual Result<DecodedRecords> Decode(const Values& values, const Headers& schema_headers) = 0;
};

class JsonReader : public RecordsReader {
 public:
  explicit JsonReader(formats::debezium::JsonRecordOptions opts) : reader_(opts) {}
  Result<DecodedRecords> Decode(const Values& values, const Headers&) override {
    return reader_.Decode(values);
  }

 private:
  formats::debezium::JsonRecordReader reader_;
};

// The referenced schemas of `schema`, dependencies first, each once
// (`seen`: subject/version pairs already added; depth bounds a cycle).
Status AddReferences(SchemaRegistryClient& registry, const RegisteredSchema& schema, int depth,
                     std::set<std::pair<std::string, int32_t>>* seen,
                     std::vector<std::string>* out) {
  for (const auto& ref : schema.references) {
    if (!seen->emplace(ref.subject, ref.version).second) continue;
    if (depth >= 32) return Status::KeyError("schema references nested deeper than 32");
    ARROW_ASSIGN_OR_RAISE(auto target, registry.GetVersion(ref.subject, ref.version));
    ARROW_RETURN_NOT_OK(AddReferences(registry, *target, depth + 1, seen, out));
    out->push_back(target->schema);
  }
  return Status::OK();
}

// Confluent-framed Avro: the writer schemas (and the schemas they
// reference) come from the schema registry.
class AvroReader : public RecordsReader {
 public:
  AvroReader(std::shared_ptr<SchemaRegistryClient> registry,
             formats::debezium::AvroRecordOptions opts)
      : reader_(
            formats::debezium::WriterSchemaResolver(
                [registry](const SchemaRef& ref) -> Result<formats::debezium::WriterSchema> {
                  ARROW_ASSIGN_OR_RAISE(auto schema, registry->Get(ref));
                  if (schema->schema_type != "AVRO") {
                    // Not ours to read: the message is a dead letter.
                    return Status::KeyError(ref.ToString(), " is ", schema->schema_type,
                                            ", not AVRO");
                  }
                  formats::debezium::WriterSchema out;
                  out.text = schema->schema;
                  std::set<std::pair<std::string, int32_t>> seen;
                  ARROW_RETURN_NOT_OK(AddReferences(*registry, *schema, 0, &seen, &out.references));
                  return out;
                }),
            opts) {}
  Result<DecodedRecords> Decode(const Values& values, const Headers& schema_headers) override {
    return reader_.Decode(values, schema_headers);
  }

 private:
  formats::debezium::AvroRecordReader reader_;
};

class DebeziumDecoder : public MessageDecoder {
 public:
  DebeziumDecoder(DebeziumSettings settings, std::map<std::string, SourceTableOptions> tables,
                  std::shared_ptr<SchemaRegistryClient> registry)
      : settings_(std::move(settings)),
        tables_(std::move(tables)),
        registry_(std::move(registry)) {}

  Result<DecodedUnit> Decode(const std::vector<KafkaMessage>& messages,
                             const DecodeContext& ctx) const override {
    Lease lease(this);
    RecordsReader& reader = *lease.reader;
    const size_t n = messages.size();
    DecodedUnit unit;

    // Values (tombstones stay nullopt and are skipped by the reader).
    Values values(n), keys(n);
    Headers value_headers, key_headers;
    if (settings_.avro) {
      value_headers.resize(n);
      key_headers.resize(n);
    }
    for (size_t i = 0; i < n; ++i) {
      const KafkaMessage& m = messages[i];
      if (m.value) values[i] = *m.value;
      // A key only matters for a message with a value, or a tombstone that
      // is a delete.
      if (m.key && (m.value || settings_.tombstone_deletes)) keys[i] = *m.key;
      if (!settings_.avro) continue;
      for (const auto& [name, value] : m.headers) {
        if (!value) continue;
        if (name == "__value_schema_id") value_headers[i].push_back(*value);
        if (name == "__key_schema_id") key_headers[i].push_back(*value);
      }
    }
    ARROW_ASSIGN_OR_RAISE(DecodedRecords records, reader.Decode(values, value_headers));
    ARROW_ASSIGN_OR_RAISE(DecodedRecords key_records, reader.Decode(keys, key_headers));

    std::vector<MessageKey> decoded_keys(n);
    for (const auto& run : key_records.runs) {
      for (size_t row = 0; row < run.messages.size(); ++row) {
        auto& k = decoded_keys[static_cast<size_t>(run.messages[row])];
        k.batch = run.batch;
        k.row = static_cast<int64_t>(row);
      }
    }
    for (const auto& b : key_records.bad) {
      decoded_keys[static_cast<size_t>(b.index)].error = b.reason;
    }
    for (const auto& b : records.bad) {
      const KafkaMessage& m = messages[static_cast<size_t>(b.index)];
      unit.bad.push_back({m.Origin(), m.offset, b.reason, m.value.value_or("")});
    }

    std::map<std::string, size_t> table_index;
    auto add = [&](RunChanges changes) {
      for (auto& b : changes.bad) unit.bad.push_back(std::move(b));
      for (auto& tc : changes.tables) {
        auto [it, fresh] = table_index.emplace(tc.table.Qualified(), unit.tables.size());
        if (fresh) {
          unit.tables.push_back(std::move(tc));
          continue;
        }
        TableChanges& into = unit.tables[it->second];
        // A run of truncates alone knows no keys: a later run's keys count.
        if (!into.primary_keys) into.primary_keys = std::move(tc.primary_keys);
        for (auto& b : tc.batches) into.batches.push_back(std::move(b));
        for (auto& b : tc.bad) into.bad.push_back(std::move(b));
      }
    };
    for (const auto& run : records.runs) {
      RunInput input;
      input.run = &run;
      input.messages = &messages;
      input.keys = &decoded_keys;
      input.ingested_at_us = ctx.ingested_at_us;
      ARROW_ASSIGN_OR_RAISE(RunChanges changes, NormalizeRun(input, settings_, tables_));
      add(std::move(changes));
    }
    if (settings_.tombstone_deletes && !records.tombstones.empty()) {
      // A null value, or JsonConverter's "payload": null.
      std::vector<size_t> tombstones(records.tombstones.begin(), records.tombstones.end());
      ARROW_ASSIGN_OR_RAISE(
          RunChanges changes,
          NormalizeTombstones(messages, decoded_keys, tombstones, ctx.ingested_at_us, tables_));
      add(std::move(changes));
    }
    // Bad records in message order, whichever step found them.
    std::stable_sort(unit.bad.begin(), unit.bad.end(),
                     [](const BadRecord& a, const BadRecord& b) { return a.offset < b.offset; });
    for (auto& tc : unit.tables) {
      std::stable_sort(tc.bad.begin(), tc.bad.end(),
                       [](const BadRecord& a, const BadRecord& b) { return a.offset < b.offset; });
    }
    return unit;
  }

 private:
  // A reader taken from the pool for one Decode call.
  struct Lease {
    explicit Lease(const DebeziumDecoder* d) : decoder(d) {
      {
        std::lock_guard<std::mutex> lock(d->mu_);
        if (!d->pool_.empty()) {
          reader = std::move(d->pool_.back());
          d->pool_.pop_back();
        }
      }
      if (!reader) reader = d->MakeReader();
    }
    ~Lease() {
      std::lock_guard<std::mutex> lock(decoder->mu_);
      decoder->pool_.push_back(std::move(reader));
    }
    const DebeziumDecoder* decoder;
    std::unique_ptr<RecordsReader> reader;
  };

  std::unique_ptr<RecordsReader> MakeReader() const {
    if (settings_.avro) {
      formats::debezium::AvroRecordOptions opts;
      opts.types = settings_.types;
      return std::make_unique<AvroReader>(registry_, opts);
    }
    formats::debezium::JsonRecordOptions opts;
    opts.types = settings_.types;
    return std::make_unique<JsonReader>(opts);
  }

  DebeziumSettings settings_;
  std::map<std::string, SourceTableOptions> tables_;
  std::shared_ptr<SchemaRegistryClient> registry_;
  mutable std::mutex mu_;
  mutable std::vector<std::unique_ptr<RecordsReader>> pool_;
};

}  // namespace

Result<std::shared_ptr<MessageDecoder>> MakeDebeziumDecoder(
    const SourceOptions& options, std::shared_ptr<SchemaRegistryClient> registry) {
  ARROW_ASSIGN_OR_RAISE(auto settings, ParseDebeziumSettings(options.format, options.settings));
  if (settings.avro && !registry) {
    return Status::Invalid(
        "source.format = \"avro\" needs a schema registry (source.kafka.schema_registry_url)");
  }
  return std::make_shared<DebeziumDecoder>(std::move(settings), options.tables,
                                           std::move(registry));
}

}  // namespace sluice::sources::debezium
