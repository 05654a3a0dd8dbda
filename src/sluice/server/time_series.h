// A fixed-size ring of per-table samples for the status page's sparklines:
// one sample per interval (default 10 s) over a window (default 360 samples,
// one hour). Not thread-safe; StatusBoard guards it.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace sluice::server {

struct SeriesSample {
  int64_t t_ms = 0;            ///< wall clock, ms since the Unix epoch
  double throughput_eps = 0;   ///< events per second since the previous sample
  double lag_seconds = 0;      ///< now - newest source commit time applied
  double latency_seconds = 0;  ///< batch latency (ingest to commit)
};

class TimeSeriesRing {
 public:
  explicit TimeSeriesRing(int64_t interval_ms = 10'000, size_t capacity = 360);

  /// \brief Records the table's progress at `t_ms`: `events_total` is the
  /// cumulative count of events ingested (the ring derives throughput from
  /// consecutive calls). Calls within one interval update that interval's
  /// sample (throughput over the whole interval so far); a `t_ms` earlier
  /// than the newest sample's interval is ignored (clock stepped back).
  void Record(int64_t t_ms, int64_t events_total, double lag_seconds, double latency_seconds);

  /// Samples oldest first, only those within `capacity * interval` of `now_ms`.
  std::vector<SeriesSample> Samples(int64_t now_ms) const;

  int64_t interval_ms() const { return interval_ms_; }

 private:
  struct Slot {
    int64_t index = -1;  ///< t_ms / interval_ms
    SeriesSample sample;
    int64_t events_at_start = 0;  ///< events_total when the interval began
    int64_t start_ms = 0;
  };
  int64_t interval_ms_;
  std::vector<Slot> slots_;
  size_t next_ = 0;  ///< where the next new interval goes
  int64_t last_events_ = 0;
  int64_t last_t_ms_ = 0;
  bool has_last_ = false;
};

}  // namespace sluice::server
