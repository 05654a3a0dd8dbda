#include "sluice/server/time_series.h"

#include <algorithm>

namespace sluice::server {

TimeSeriesRing::TimeSeriesRing(int64_t interval_ms, size_t capacity)
    : interval_ms_(std::max<int64_t>(1, interval_ms)), slots_(std::max<size_t>(1, capacity)) {}

void TimeSeriesRing::Record(int64_t t_ms, int64_t events_total, double lag_seconds,
                            double latency_seconds) {
  const int64_t index = t_ms / interval_ms_;
  const size_t newest = (next_ + slots_.size() - 1) % slots_.size();
  Slot* slot = nullptr;
  if (slots_[newest].index == index) {
    slot = &slots_[newest];
  } else if (slots_[newest].index > index) {
    return;
  } else {
    slot = &slots_[next_];
    next_ = (next_ + 1) % slots_.size();
    slot->index = index;
    // Throughput of a new interval counts from the previous call, so events
    // between two intervals are not lost.
    slot->events_at_start = has_last_ ? last_events_ : events_total;
    slot->start_ms = has_last_ ? last_t_ms_ : t_ms;
  }
  const double elapsed_s = static_cast<double>(t_ms - slot->start_ms) / 1000.0;
  const int64_t events = std::max<int64_t>(0, events_total - slot->events_at_start);
  slot->sample.t_ms = t_ms;
  slot->sample.throughput_eps = elapsed_s > 0 ? static_cast<double>(events) / elapsed_s : 0;
  slot->sample.lag_seconds = lag_seconds;
  slot->sample.latency_seconds = latency_seconds;
  last_events_ = events_total;
  last_t_ms_ = t_ms;
  has_last_ = true;
}

std::vector<SeriesSample> TimeSeriesRing::Samples(int64_t now_ms) const {
  std::vector<SeriesSample> out;
  const int64_t window = interval_ms_ * static_cast<int64_t>(slots_.size());
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& slot = slots_[(next_ + i) % slots_.size()];
    if (slot.index < 0 || slot.sample.t_ms <= now_ms - window) continue;
    out.push_back(slot.sample);
  }
  return out;
}

}  // namespace sluice::server
