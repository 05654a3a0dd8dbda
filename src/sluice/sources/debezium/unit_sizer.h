// UnitSizer: how many offsets a Kafka unit spans, so that a unit holds about
// `max_bytes` of messages.
//
// A unit is planned from watermarks alone (offsets, no sizes), and its
// messages are held in memory while it is decoded. A count alone is either
// too small for a backlog of small records (one log commit and one merge per
// few megabytes: the backfill of 10M rows took 500 of each) or too large for
// a topic of large rows. So the count follows the messages actually fetched:
// Decode reports each unit's message count and bytes (key, value and
// headers), and the next units span max_bytes / (bytes per message),
// between 1 and `max_messages`. Until a unit has been decoded the size is
// unknown, and units span at most kFirstUnitMessages.
//
// The size is a moving average over units (each unit's bytes per message,
// the older average weighing half), so a table whose rows grow is followed
// within a few units, however few messages those units hold.
// A bound on memory, not a guarantee: a unit planned before a burst of large
// records can hold more than max_bytes (at most max_messages records).
// Thread-safe: units are decoded in parallel.
#pragma once

#include <cstdint>
#include <mutex>

namespace sluice::sources::debezium {

class UnitSizer {
 public:
  /// The span of a unit before any has been decoded (the size of records is
  /// not known yet).
  static constexpr int64_t kFirstUnitMessages = 10'000;

  UnitSizer(int64_t max_messages, int64_t max_bytes)
      : max_messages_(max_messages), max_bytes_(max_bytes) {}

  /// How many offsets the next unit spans: >= 1, <= max_messages.
  int64_t MessagesPerUnit() const;

  /// A unit of `messages` records totalling `bytes` was fetched.
  void Observe(int64_t messages, int64_t bytes);

  /// The average record size the next units are planned with (0: unknown).
  int64_t BytesPerMessage() const;

 private:
  const int64_t max_messages_;
  const int64_t max_bytes_;
  mutable std::mutex mu_;
  double per_message_ = 0;  // 0: no unit seen yet
};

}  // namespace sluice::sources::debezium
