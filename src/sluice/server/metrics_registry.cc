#include "sluice/server/metrics_registry.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>

namespace sluice::server {
namespace {

bool IsMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    bool ok = std::isalpha(c) || c == '_' || c == ':' || (i > 0 && std::isdigit(c));
    if (!ok || c > 0x7f) return false;
  }
  return true;
}

bool IsLabelName(std::string_view name) {
  return IsMetricName(name) && name.find(':') == std::string_view::npos &&
         name.substr(0, 2) != "__";
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// `a="x",b="y"`: the inside of a label set.
std::string LabelPairs(const std::vector<std::string>& names,
                       const std::vector<std::string>& values) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    out += EscapeLabelValue(values[i]);
    out += '"';
  }
  return out;
}

// One sample line: name[suffix]{labels[,extra]} value. Plain appends: a
// scrape renders thousands of these.
void AppendSample(std::string* out, const std::string& name, std::string_view suffix,
                  const std::string& labels, std::string_view extra, std::string_view value) {
  *out += name;
  *out += suffix;
  if (!labels.empty() || !extra.empty()) {
    *out += '{';
    *out += labels;
    if (!labels.empty() && !extra.empty()) *out += ',';
    *out += extra;
    *out += '}';
  }
  *out += ' ';
  *out += value;
  *out += '\n';
}

void RenderSeries(const std::string& name, const std::string& labels, const Counter& c,
                  std::string* out) {
  AppendSample(out, name, "", labels, "", FormatSampleValue(c.Value()));
}

void RenderSeries(const std::string& name, const std::string& labels, const Gauge& g,
                  std::string* out) {
  AppendSample(out, name, "", labels, "", FormatSampleValue(g.Value()));
}

void RenderSeries(const std::string& name, const std::string& labels, const Histogram& h,
                  std::string* out) {
  Histogram::Snapshot snap = h.Read();
  for (size_t i = 0; i <= snap.upper_bounds.size(); ++i) {
    std::string le =
        i < snap.upper_bounds.size() ? FormatSampleValue(snap.upper_bounds[i]) : "+Inf";
    AppendSample(out, name, "_bucket", labels, "le=\"" + le + "\"",
                 std::to_string(snap.cumulative_counts[i]));
  }
  AppendSample(out, name, "_sum", labels, "", FormatSampleValue(snap.sum));
  AppendSample(out, name, "_count", labels, "", std::to_string(snap.count));
}

Status CheckBuckets(const std::vector<double>& buckets) {
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (!std::isfinite(buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1])) {
      return Status::Invalid("histogram buckets must be finite and strictly increasing");
    }
  }
  return Status::OK();
}

}  // namespace

std::string FormatSampleValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
}

void Counter::Increment(double delta) {
  if (!(delta >= 0)) return;  // also refuses NaN
  value_.fetch_add(delta, std::memory_order_relaxed);
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      buckets_(new std::atomic<uint64_t>[upper_bounds_.size() + 1]) {
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) buckets_[i] = 0;
}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  size_t index = static_cast<size_t>(
      std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) - upper_bounds_.begin());
  buckets_[index].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snap;
  snap.upper_bounds = upper_bounds_;
  uint64_t running = 0;
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    snap.cumulative_counts.push_back(running);
  }
  // The +Inf bucket and _count agree in one scrape even while observations
  // race with it (Prometheus requires bucket{le="+Inf"} == _count).
  snap.count = running;
  snap.sum = sum_.load(std::memory_order_relaxed);
  return snap;
}

template <typename Metric>
MetricFamily<Metric>::MetricFamily(std::string name, std::string help, MetricType type,
                                   std::vector<std::string> label_names,
                                   std::vector<double> buckets)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)),
      buckets_(std::move(buckets)) {}

template <typename Metric>
Result<Metric*> MetricFamily<Metric>::WithLabels(const std::vector<std::string>& label_values) {
  if (label_values.size() != label_names_.size()) {
    return Status::Invalid(fmt::format("metric {} takes {} label values, got {}", name_,
                                       label_names_.size(), label_values.size()));
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = series_.find(label_values);
  if (it == series_.end()) {
    std::unique_ptr<Metric> metric;
    if constexpr (std::is_same_v<Metric, Histogram>) {
      metric = std::make_unique<Histogram>(buckets_);
    } else {
      metric = std::make_unique<Metric>();
    }
    it = series_
             .emplace(label_values,
                      Series{LabelPairs(label_names_, label_values), std::move(metric)})
             .first;
  }
  return it->second.metric.get();
}

template <typename Metric>
void MetricFamily<Metric>::Render(std::string* out) const {
  *out +=
      fmt::format("# HELP {} {}\n# TYPE {} {}\n", name_, EscapeHelp(help_), name_, TypeName(type_));
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [values, series] : series_) {
    RenderSeries(name_, series.labels, *series.metric, out);
  }
}

template class MetricFamily<Counter>;
template class MetricFamily<Gauge>;
template class MetricFamily<Histogram>;

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

Status MetricsRegistry::CheckNew(const std::string& name,
                                 const std::vector<std::string>& label_names,
                                 bool histogram) const {
  if (!IsMetricName(name)) return Status::Invalid(fmt::format("invalid metric name '{}'", name));
  for (const std::string& label : label_names) {
    if (!IsLabelName(label) || (histogram && label == "le")) {
      return Status::Invalid(fmt::format("invalid label name '{}' on metric {}", label, name));
    }
  }
  auto taken = [&](const auto& families) {
    return std::any_of(families.begin(), families.end(),
                       [&](const auto& f) { return f->name_ == name; });
  };
  if (taken(counters_) || taken(gauges_) || taken(histograms_)) {
    return Status::Invalid(fmt::format("metric {} registered twice", name));
  }
  return Status::OK();
}

Result<CounterFamily*> MetricsRegistry::AddCounter(const std::string& name, const std::string& help,
                                                   std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  ARROW_RETURN_NOT_OK(CheckNew(name, label_names, false));
  counters_.emplace_back(
      new CounterFamily(name, help, MetricType::kCounter, std::move(label_names), {}));
  order_.emplace_back(MetricType::kCounter, counters_.size() - 1);
  return counters_.back().get();
}

Result<GaugeFamily*> MetricsRegistry::AddGauge(const std::string& name, const std::string& help,
                                               std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  ARROW_RETURN_NOT_OK(CheckNew(name, label_names, false));
  gauges_.emplace_back(new GaugeFamily(name, help, MetricType::kGauge, std::move(label_names), {}));
  order_.emplace_back(MetricType::kGauge, gauges_.size() - 1);
  return gauges_.back().get();
}

Result<HistogramFamily*> MetricsRegistry::AddHistogram(const std::string& name,
                                                       const std::string& help,
                                                       std::vector<std::string> label_names,
                                                       std::vector<double> buckets) {
  std::lock_guard<std::mutex> lock(mu_);
  ARROW_RETURN_NOT_OK(CheckNew(name, label_names, true));
  ARROW_RETURN_NOT_OK(CheckBuckets(buckets));
  histograms_.emplace_back(new HistogramFamily(name, help, MetricType::kHistogram,
                                               std::move(label_names), std::move(buckets)));
  order_.emplace_back(MetricType::kHistogram, histograms_.size() - 1);
  return histograms_.back().get();
}

std::string MetricsRegistry::Render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& [type, index] : order_) {
    switch (type) {
      case MetricType::kCounter:
        counters_[index]->Render(&out);
        break;
      case MetricType::kGauge:
        gauges_[index]->Render(&out);
        break;
      case MetricType::kHistogram:
        histograms_[index]->Render(&out);
        break;
    }
  }
  return out;
}

}  // namespace sluice::server
