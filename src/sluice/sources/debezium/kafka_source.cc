#include "sluice/sources/debezium/kafka_source.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "sluice/core/setting_text.h"
#include "sluice/io/http_client.h"
#include "sluice/sources/debezium/debezium_decoder.h"
#include "sluice/sources/debezium/schema_registry_client.h"
#include "sluice/sources/debezium/topic_table.h"
#include "sluice/sources/debezium/unit_sizer.h"

namespace sluice::sources::debezium {

namespace {

Result<int64_t> ParseNumber(const std::string& text, const std::string& what) {
  if (auto v = ParseInt64(text); v && *v >= 0) return *v;
  return Status::Invalid(what, ": '", text, "' is not an offset");
}

class KafkaStream : public Stream {
 public:
  KafkaStream(std::string topic, std::shared_ptr<KafkaConsumer> consumer,
              std::shared_ptr<MessageDecoder> decoder, KafkaSettings settings, bool routes_many)
      : topic_(std::move(topic)),
        consumer_(std::move(consumer)),
        decoder_(std::move(decoder)),
        settings_(std::move(settings)),
        routes_many_(routes_many),
        sizer_(std::make_shared<UnitSizer>(settings_.max_messages_per_unit,
                                           settings_.max_bytes_per_unit)) {}

  const std::string& id() const override { return topic_; }
  bool routes_many() const override { return routes_many_; }

  Result<std::optional<SourceTable>> Identify() override {
    if (routes_many_) return std::nullopt;
    auto table = TableFromTopic(topic_);
    if (!table) {
      return Status::Invalid("kafka topic ", topic_,
                             " does not name a table (<prefix>.<schema>.<table>): set "
                             "source.debezium.route_by = \"source\"");
    }
    return table;
  }

  Status Restore(const std::optional<Position>& committed) override {
    seq_ = 0;
    next_.clear();
    start_.clear();
    high_.clear();
    pending_count_.reset();
    if (!committed) return Status::OK();
    for (const auto& o : committed->offsets) {
      if (o.suffix.empty()) {
        seq_ = o.version;
      } else if (o.suffix[0] == '#') {
        ARROW_ASSIGN_OR_RAISE(int64_t p,
                              ParseNumber(o.suffix.substr(1), "kafka topic " + topic_ + " txn"));
        next_[static_cast<int32_t>(p)] = o.version;
      }
    }
    return Status::OK();
  }

  Result<std::vector<Unit>> Pending(size_t max_units) override {
    ARROW_ASSIGN_OR_RAISE(auto partitions, consumer_->Partitions(topic_));
    // Each partition's ranges, then taken round-robin so that no partition
    // waits behind another's backlog.
    std::vector<std::vector<UnitRange>> per_partition;
    high_.clear();
    pending_count_.reset();
    int64_t listed = 0;
    const int64_t per = sizer_->MessagesPerUnit();
    for (int32_t p : partitions) {
      ARROW_ASSIGN_OR_RAISE(auto w, consumer_->QueryWatermarks(topic_, p));
      high_[p] = w.high;
      int64_t from;
      if (auto it = next_.find(p); it != next_.end()) {
        from = it->second;
        if (from < w.low) {
          notices_.push_back("kafka " + topic_ + "/" + std::to_string(p) + ": offsets " +
                             std::to_string(from) + " to " + std::to_string(w.low - 1) +
                             " were deleted by the topic's retention before they were read");
        }
      } else if (auto s = start_.find(p); s != start_.end()) {
        from = s->second;
      } else {
        from = settings_.start_offset == "latest" ? w.high : w.low;
        start_[p] = from;
      }
      std::vector<UnitRange> ranges;
      for (int64_t at = from; at < w.high && ranges.size() < max_units; at += per) {
        ranges.push_back({topic_, p, at, std::min(w.high, at + per) - 1});
      }
      // Every range from `from` to the high watermark counts, built or not.
      listed += (std::max<int64_t>(0, w.high - from) + per - 1) / per;
      if (!ranges.empty()) per_partition.push_back(std::move(ranges));
    }
    std::vector<Unit> units;
    for (size_t round = 0; units.size() < max_units; ++round) {
      bool any = false;
      for (const auto& ranges : per_partition) {
        if (round >= ranges.size() || units.size() >= max_units) continue;
        any = true;
        Unit u;
        u.name = ranges[round].Name();
        u.ordinal = static_cast<uint64_t>(ranges[round].from);
        units.push_back(std::move(u));
      }
      if (!any) break;
    }
    pending_count_ = listed - static_cast<int64_t>(units.size());
    return units;
  }

  std::optional<int64_t> pending_count() const override { return pending_count_; }

  std::optional<int64_t> lag_messages() const override {
    if (high_.empty()) return std::nullopt;
    int64_t lag = 0;
    for (const auto& [p, high] : high_) {
      auto next = next_.find(p);
      auto start = start_.find(p);
      const int64_t at = next != next_.end()     ? next->second
                         : start != start_.end() ? start->second
                                                 : high;
      lag += std::max<int64_t>(0, high - at);
    }
    return lag;
  }

  Result<DecodedUnit> Decode(const Unit& unit, const DecodeContext& ctx) const override {
    ARROW_ASSIGN_OR_RAISE(auto range, ParseUnitName(unit.name));
    if (range.topic != topic_) {
      return Status::Invalid("unit ", unit.name, " is not of kafka topic ", topic_);
    }
    ARROW_ASSIGN_OR_RAISE(auto messages,
                          consumer_->Fetch(topic_, range.partition, range.from, range.last));
    if (messages.empty()) return DecodedUnit{};
    int64_t bytes = 0;
    for (const auto& m : messages) {
      bytes += static_cast<int64_t>((m.key ? m.key->size() : 0) + (m.value ? m.value->size() : 0));
      for (const auto& [name, value] : m.headers) {
        bytes += static_cast<int64_t>(name.size() + (value ? value->size() : 0));
      }
    }
    sizer_->Observe(static_cast<int64_t>(messages.size()), bytes);
    return decoder_->Decode(messages, ctx);
  }

  Result<Position> PositionAfter(const std::vector<Unit>& units) const override {
    std::map<int32_t, int64_t> next = next_;
    std::map<int32_t, int64_t> from;
    for (const auto& u : units) {
      ARROW_ASSIGN_OR_RAISE(auto r, ParseUnitName(u.name));
      auto it = next.find(r.partition);
      if (it != next.end() && it->second != r.from) {
        return Status::Invalid("kafka topic ", topic_, ": unit ", u.name,
                               " does not follow offset ", it->second, " of partition ",
                               r.partition);
      }
      from.emplace(r.partition, r.from);
      next[r.partition] = r.last + 1;
    }
    return MakePosition(seq_ + 1, next, from);
  }

  // Keys are batch sequence numbers, one per position: a state planned from
  // another position never shares this one's key, so it is never kAhead.
  Result<PlannedBatch> Planned(const Position& planned) const override {
    PlannedBatch stale;
    if (planned.key() != seq_ + 1) return stale;
    auto doc = nlohmann::json::parse(planned.state, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("next")) return stale;
    PlannedBatch out;
    try {
      std::map<int32_t, std::pair<int64_t, int64_t>> ranges;
      for (const auto& [key, value] : doc["next"].items()) {
        const int32_t p = std::stoi(key);
        const int64_t to = value.get<int64_t>();
        auto cur = next_.find(p);
        std::optional<int64_t> started;
        if (doc.contains("from") && doc["from"].contains(key)) {
          started = doc["from"][key].get<int64_t>();
        }
        if (cur != next_.end()) {
          if (to < cur->second) return stale;
          if (started && *started != cur->second) return stale;
          if (to > cur->second) ranges[p] = {cur->second, to - 1};
        } else if (started) {
          if (to > *started) ranges[p] = {*started, to - 1};
        } else {
          return stale;  // a partition this position never saw, not in the batch
        }
      }
      for (const auto& [p, range] : ranges) {
        Unit u;
        u.name = UnitRange{topic_, p, range.first, range.second}.Name();
        u.ordinal = static_cast<uint64_t>(range.first);
        out.units.push_back(std::move(u));
      }
    } catch (const std::exception&) {
      return stale;
    }
    if (out.units.empty()) return stale;
    out.base = PlannedBatch::Base::kHere;
    return out;
  }

  void Advance(const Position& position) override {
    std::map<int32_t, int64_t> moved;
    for (const auto& o : position.offsets) {
      if (o.suffix.empty()) {
        seq_ = o.version;
      } else if (o.suffix[0] == '#') {
        auto p = static_cast<int32_t>(std::stol(o.suffix.substr(1)));
        auto it = next_.find(p);
        if (it == next_.end() || it->second != o.version) moved[p] = o.version;
        next_[p] = o.version;
      }
    }
    consumer_->CommitOffsets(topic_, moved);
  }

  // Waiting only while the group has not assigned this process anything yet.
  bool waiting() const override { return consumer_->awaiting_assignment(); }

  std::vector<std::string> TakeNotices() override { return std::move(notices_); }

 private:
  Position MakePosition(int64_t seq, const std::map<int32_t, int64_t>& next,
                        const std::map<int32_t, int64_t>& from) const {
    Position pos;
    pos.offsets.push_back({"", seq});
    nlohmann::ordered_json state;
    state["next"] = nlohmann::ordered_json::object();
    state["from"] = nlohmann::ordered_json::object();
    for (const auto& [p, offset] : next) {
      pos.offsets.push_back({"#" + std::to_string(p), offset});
      state["next"][std::to_string(p)] = offset;
    }
    for (const auto& [p, offset] : from) state["from"][std::to_string(p)] = offset;
    pos.state = state.dump();
    return pos;
  }

  const std::string topic_;
  std::shared_ptr<KafkaConsumer> consumer_;
  std::shared_ptr<MessageDecoder> decoder_;
  const KafkaSettings settings_;
  const bool routes_many_;
  // Shared with the decoding threads: Decode() is const and runs in parallel.
  std::shared_ptr<UnitSizer> sizer_;
  int64_t seq_ = 0;
  std::map<int32_t, int64_t> next_;   ///< committed: the next offset per partition
  std::map<int32_t, int64_t> start_;  ///< where partitions without one start
  std::map<int32_t, int64_t> high_;   ///< each partition's high watermark at the last Pending()
  std::optional<int64_t> pending_count_;
  std::vector<std::string> notices_;
};

class KafkaSource : public Source {
 public:
  KafkaSource(SourceOptions options, std::shared_ptr<MessageDecoder> decoder)
      : options_(std::move(options)), decoder_(std::move(decoder)) {}

  Status Init() {
    ARROW_ASSIGN_OR_RAISE(settings_, ParseKafkaSettings(options_.settings));
    if (!settings_.topic_pattern.empty()) pattern_ = std::regex(settings_.topic_pattern);
    auto route = options_.settings.find("debezium.route_by");
    routes_many_ = route != options_.settings.end() && route->second == "source";
    ARROW_ASSIGN_OR_RAISE(auto consumer, KafkaConsumer::Open(settings_));
    consumer_ = std::move(consumer);
    return Status::OK();
  }

  Result<std::vector<std::string>> Discover() override {
    ARROW_ASSIGN_OR_RAISE(auto topics, consumer_->ListTopics());
    std::vector<std::string> out;
    for (const auto& t : topics) {
      bool wanted = settings_.topic_pattern.empty()
                        ? std::find(settings_.topics.begin(), settings_.topics.end(), t) !=
                              settings_.topics.end()
                        : std::regex_match(t, pattern_);
      if (wanted) out.push_back(t);
    }
    return out;
  }

  Result<std::unique_ptr<Stream>> OpenStream(const std::string& id) override {
    return std::make_unique<KafkaStream>(id, consumer_, decoder_, settings_, routes_many_);
  }

  std::string StreamNoun() const override { return "topic"; }

  std::string Describe() const override {
    std::string what =
        settings_.topic_pattern.empty() ? "" : "topics matching " + settings_.topic_pattern;
    for (const auto& t : settings_.topics) what += (what.empty() ? "topics " : ", ") + t;
    return "debezium " + options_.format + " from kafka " + settings_.bootstrap_servers + " (" +
           what + (settings_.group_id.empty() ? "" : ", group " + settings_.group_id) + ")";
  }

 private:
  SourceOptions options_;
  std::shared_ptr<MessageDecoder> decoder_;
  KafkaSettings settings_;
  std::regex pattern_;
  bool routes_many_ = false;
  std::shared_ptr<KafkaConsumer> consumer_;
};

}  // namespace

std::string UnitRange::Name() const {
  return topic + "/" + std::to_string(partition) + "@" + std::to_string(from) + "-" +
         std::to_string(last);
}

Result<UnitRange> ParseUnitName(const std::string& name) {
  // The topic may hold '.', '_' and '-' but never '/' or '@'.
  auto slash = name.rfind('/');
  auto at = name.rfind('@');
  auto dash = at == std::string::npos ? std::string::npos : name.find('-', at);
  if (slash == std::string::npos || at == std::string::npos || dash == std::string::npos ||
      at < slash) {
    return Status::Invalid("'", name, "' is not a kafka unit (topic/partition@from-last)");
  }
  UnitRange r;
  r.topic = name.substr(0, slash);
  ARROW_ASSIGN_OR_RAISE(int64_t p, ParseNumber(name.substr(slash + 1, at - slash - 1), name));
  r.partition = static_cast<int32_t>(p);
  ARROW_ASSIGN_OR_RAISE(r.from, ParseNumber(name.substr(at + 1, dash - at - 1), name));
  ARROW_ASSIGN_OR_RAISE(r.last, ParseNumber(name.substr(dash + 1), name));
  if (r.last < r.from) return Status::Invalid("kafka unit ", name, " is empty");
  return r;
}

Result<std::unique_ptr<Source>> MakeKafkaSource(const SourceOptions& options,
                                                std::shared_ptr<MessageDecoder> decoder) {
  auto source = std::make_unique<KafkaSource>(options, std::move(decoder));
  ARROW_RETURN_NOT_OK(source->Init());
  return source;
}

Result<std::unique_ptr<Source>> MakeDebeziumSource(const SourceOptions& options) {
  ARROW_ASSIGN_OR_RAISE(auto settings, ParseKafkaSettings(options.settings));
  std::shared_ptr<SchemaRegistryClient> registry;
  if (!settings.schema_registry_url.empty()) {
    SchemaRegistryOptions r;
    r.url = settings.schema_registry_url;
    r.user = settings.schema_registry_user;
    r.password = settings.schema_registry_password;
    io::CurlHttpOptions http;
    http.ca_file = settings.schema_registry_ca_file;
    registry = std::make_shared<SchemaRegistryClient>(std::move(r), io::MakeCurlHttpClient(http));
  } else if (options.format == "avro") {
    return Status::Invalid(
        "source.format avro needs source.kafka.schema_registry_url (the writer schemas of "
        "Confluent-framed messages are in the registry)");
  }
  ARROW_ASSIGN_OR_RAISE(auto decoder, MakeDebeziumDecoder(options, std::move(registry)));
  return MakeKafkaSource(options, std::move(decoder));
}

}  // namespace sluice::sources::debezium
