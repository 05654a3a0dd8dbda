// Counters, gauges and histograms with labels, rendered in the Prometheus
// text exposition format 0.0.4. Registration (families, label sets) takes a
// lock; the hot path does not: WithLabels returns a reference that stays
// valid for the registry's lifetime, and Increment/Set/Observe on it are
// lock-free atomics. Callers look a series up once and keep the reference.
//
// Naming (https://prometheus.io/docs/practices/naming/): snake_case with the
// `sluice_` prefix, base units (`_seconds`, `_bytes`), counters end in
// `_total`. The registry validates names, not conventions.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::server {

/// A monotonically increasing value (events, bytes, seconds spent).
/// Cache-line aligned: tables' workers increment their own counters from
/// different threads, and neighbours on one line would slow each other.
class alignas(64) Counter {
 public:
  /// Adds `delta`; negative or NaN deltas are ignored (a counter never goes
  /// down).
  void Increment(double delta = 1.0);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

/// A value that goes up and down (lag, backlog, memory).
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

/// Observations counted into fixed buckets (latencies, sizes).
class Histogram {
 public:
  /// `upper_bounds` strictly increasing and finite; +Inf is implicit.
  explicit Histogram(std::vector<double> upper_bounds);

  /// Counts `value` into the first bucket whose upper bound is >= value.
  /// NaN is ignored.
  void Observe(double value);

  struct Snapshot {
    std::vector<double> upper_bounds;
    std::vector<uint64_t> cumulative_counts;  ///< one per bound, then +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Read() const;

 private:
  std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  ///< per bound, then +Inf
  std::atomic<double> sum_{0.0};
  std::atomic<uint64_t> count_{0};
};

enum class MetricType { kCounter, kGauge, kHistogram };

/// All series of one metric name, one per combination of label values.
template <typename Metric>
class MetricFamily {
 public:
  /// \brief The series for `label_values` (one per label name, in order),
  /// created at zero on first use. The reference stays valid as long as the
  /// registry. Returns Status::Invalid if the count of values is wrong.
  Result<Metric*> WithLabels(const std::vector<std::string>& label_values);

  /// For families registered without labels.
  Metric& Get() { return *WithLabels({}).ValueOrDie(); }

 private:
  friend class MetricsRegistry;
  MetricFamily(std::string name, std::string help, MetricType type,
               std::vector<std::string> label_names, std::vector<double> buckets);
  void Render(std::string* out) const;

  std::string name_;
  std::string help_;
  MetricType type_;
  std::vector<std::string> label_names_;
  std::vector<double> buckets_;
  mutable std::mutex mu_;
  struct Series {
    std::string labels;  ///< `a="x",b="y"` rendered once (escaped, no braces)
    std::unique_ptr<Metric> metric;
  };
  std::map<std::vector<std::string>, Series> series_;
};

using CounterFamily = MetricFamily<Counter>;
using GaugeFamily = MetricFamily<Gauge>;
using HistogramFamily = MetricFamily<Histogram>;

/// Latency buckets in seconds, from 1 ms to 5 min.
std::vector<double> DefaultLatencyBuckets();

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();

  /// \brief Registers a family. Returns Status::Invalid for a name or label
  /// name that is not a valid Prometheus identifier, a label named `le` (on
  /// histograms) or starting with "__", or a name already registered.
  /// The pointer stays valid as long as the registry.
  Result<CounterFamily*> AddCounter(const std::string& name, const std::string& help,
                                    std::vector<std::string> label_names = {});
  Result<GaugeFamily*> AddGauge(const std::string& name, const std::string& help,
                                std::vector<std::string> label_names = {});
  /// `buckets`: strictly increasing finite upper bounds.
  Result<HistogramFamily*> AddHistogram(const std::string& name, const std::string& help,
                                        std::vector<std::string> label_names,
                                        std::vector<double> buckets);

  /// \brief Every family in registration order, series sorted by label
  /// values, in the text format 0.0.4 (# HELP, # TYPE, samples).
  std::string Render() const;

 private:
  Status CheckNew(const std::string& name, const std::vector<std::string>& label_names,
                  bool histogram) const;

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<CounterFamily>> counters_;
  std::vector<std::unique_ptr<GaugeFamily>> gauges_;
  std::vector<std::unique_ptr<HistogramFamily>> histograms_;
  /// Registration order: (type, index into the vector of that type).
  std::vector<std::pair<MetricType, size_t>> order_;
};

/// Content-Type of the text format 0.0.4.
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

/// A sample value as the text format spells it: "+Inf", "-Inf", "NaN", or
/// the shortest decimal that round-trips.
std::string FormatSampleValue(double value);

/// `value` escaped for a label value (backslash, double quote, newline).
std::string EscapeLabelValue(std::string_view value);

}  // namespace sluice::server
