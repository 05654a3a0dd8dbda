// KafkaConsumer: what the Debezium source needs from Kafka, over librdkafka.
//
//   * Topics and partitions (broker metadata) and each partition's
//     watermarks: where a unit may end.
//   * The consumer group, used only to split partitions between processes:
//     a background thread keeps the membership alive and records the
//     partitions assigned to this process. Assigned partitions are paused at
//     their end, so the group consumer never downloads messages; the tables'
//     txn offsets, not Kafka's committed offsets, say where reading resumes.
//   * Fetch(): the messages of an offset range, re-read on demand by a small
//     pool of group-less consumers (assign at an offset, read to the range's
//     end). Thread-safe: units of a batch are fetched in parallel.
//   * CommitOffsets(): the group's committed offsets, for lag tools only.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/sources/debezium/kafka_message.h"
#include "sluice/sources/debezium/kafka_settings.h"

struct rd_kafka_s;

namespace sluice::sources::debezium {

struct Watermarks {
  int64_t low = 0;   ///< the first offset that exists
  int64_t high = 0;  ///< the offset the next message will get (read_committed: the last stable one)
};

class KafkaConsumer {
 public:
  /// \brief Connects (lazily: librdkafka connects in the background) and,
  /// with a group, subscribes to the topics or the pattern. Invalid for a
  /// property librdkafka refuses (named).
  static Result<std::unique_ptr<KafkaConsumer>> Open(const KafkaSettings& settings);
  ~KafkaConsumer();

  KafkaConsumer(const KafkaConsumer&) = delete;
  KafkaConsumer& operator=(const KafkaConsumer&) = delete;

  /// \brief Topics the cluster has now (internal `__` topics left out), sorted.
  Result<std::vector<std::string>> ListTopics();

  /// \brief The partitions of `topic` this process reads, ascending: with a
  /// group, those assigned to it (empty until the group assigned any);
  /// without, all of them.
  Result<std::vector<int32_t>> Partitions(const std::string& topic);

  /// \brief True while a group member has not been assigned partitions yet
  /// (joining takes a moment), for at most the timeout after Open(): a
  /// drain-and-exit run waits for it instead of exiting with nothing read.
  bool awaiting_assignment() const;

  /// \brief Counts assignment changes (rebalances) seen so far.
  uint64_t assignment_generation() const { return generation_.load(); }

  /// \brief The partition's watermarks, asked of the broker.
  Result<Watermarks> QueryWatermarks(const std::string& topic, int32_t partition);

  /// \brief The messages of `topic`/`partition` with offsets in
  /// [`from`, `last`], ascending; offsets that no longer exist (compacted,
  /// deleted, transaction markers) are simply absent. IOError when the
  /// broker cannot be read within the timeout. Thread-safe.
  Result<std::vector<KafkaMessage>> Fetch(const std::string& topic, int32_t partition, int64_t from,
                                          int64_t last) const;

  /// \brief Records `next` offsets as the group's committed offsets
  /// (asynchronous, best effort: lag tools read them, Sluice never does).
  void CommitOffsets(const std::string& topic, const std::map<int32_t, int64_t>& next);

  /// librdkafka's rebalance callback (on the poll thread); not for callers.
  void HandleRebalance(rd_kafka_s* rk, int err, void* partitions);

 private:
  explicit KafkaConsumer(KafkaSettings settings);
  Result<rd_kafka_s*> NewHandle(bool group) const;
  Result<std::vector<int32_t>> AllPartitions(const std::string& topic);
  void PollLoop();

  KafkaSettings settings_;
  rd_kafka_s* main_ = nullptr;  ///< the group member (or metadata-only handle)
  std::thread poller_;
  std::chrono::steady_clock::time_point opened_at_ = std::chrono::steady_clock::now();
  std::atomic<bool> stop_{false};

  std::mutex assigned_mu_;
  std::map<std::string, std::set<int32_t>> assigned_;
  std::atomic<uint64_t> generation_{0};

  mutable std::mutex pool_mu_;
  mutable std::vector<rd_kafka_s*> idle_fetchers_;
};

}  // namespace sluice::sources::debezium
