#include "sluice/server/metrics_registry.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "sluice/server/pipeline_metrics.h"
#include "sluice/server/process_metrics.h"

namespace sluice::server {
namespace {

TEST(MetricsRegistry, RendersTextFormat004) {
  MetricsRegistry registry;
  auto events = registry.AddCounter("sluice_events_ingested_total", "Events ingested.", {"table"});
  ASSERT_TRUE(events.ok());
  auto lag = registry.AddGauge("sluice_source_lag_seconds", "Lag.", {"table"});
  ASSERT_TRUE(lag.ok());
  auto up = registry.AddGauge("sluice_up", "Always 1.");
  ASSERT_TRUE(up.ok());
  (*events)->WithLabels({"db.t"}).ValueOrDie()->Increment(3);
  (*events)->WithLabels({"db.a"}).ValueOrDie()->Increment();
  (*lag)->WithLabels({"db.t"}).ValueOrDie()->Set(1.5);
  (*up)->Get().Set(1);
  EXPECT_EQ(registry.Render(),
            "# HELP sluice_events_ingested_total Events ingested.\n"
            "# TYPE sluice_events_ingested_total counter\n"
            "sluice_events_ingested_total{table=\"db.a\"} 1\n"
            "sluice_events_ingested_total{table=\"db.t\"} 3\n"
            "# HELP sluice_source_lag_seconds Lag.\n"
            "# TYPE sluice_source_lag_seconds gauge\n"
            "sluice_source_lag_seconds{table=\"db.t\"} 1.5\n"
            "# HELP sluice_up Always 1.\n"
            "# TYPE sluice_up gauge\n"
            "sluice_up 1\n");
}

TEST(MetricsRegistry, HistogramBucketsAreCumulative) {
  MetricsRegistry registry;
  auto h = registry.AddHistogram("sluice_batch_duration_seconds", "Batch time.", {"table"},
                                 {0.25, 1, 10});
  ASSERT_TRUE(h.ok());
  Histogram* series = (*h)->WithLabels({"db.t"}).ValueOrDie();
  for (double v : {0.125, 0.25, 0.5, 2.0, 100.0}) series->Observe(v);
  series->Observe(std::nan(""));
  EXPECT_EQ(registry.Render(),
            "# HELP sluice_batch_duration_seconds Batch time.\n"
            "# TYPE sluice_batch_duration_seconds histogram\n"
            "sluice_batch_duration_seconds_bucket{table=\"db.t\",le=\"0.25\"} 2\n"
            "sluice_batch_duration_seconds_bucket{table=\"db.t\",le=\"1\"} 3\n"
            "sluice_batch_duration_seconds_bucket{table=\"db.t\",le=\"10\"} 4\n"
            "sluice_batch_duration_seconds_bucket{table=\"db.t\",le=\"+Inf\"} 5\n"
            "sluice_batch_duration_seconds_sum{table=\"db.t\"} 102.875\n"
            "sluice_batch_duration_seconds_count{table=\"db.t\"} 5\n");
}

TEST(MetricsRegistry, EscapesLabelValuesAndHelp) {
  MetricsRegistry registry;
  auto c = registry.AddCounter("x_total", "Line one\nback\\slash \"quoted\".", {"table"});
  ASSERT_TRUE(c.ok());
  (*c)->WithLabels({"we\"ird\\name\nx"}).ValueOrDie()->Increment();
  EXPECT_EQ(registry.Render(),
            "# HELP x_total Line one\\nback\\\\slash \"quoted\".\n"
            "# TYPE x_total counter\n"
            "x_total{table=\"we\\\"ird\\\\name\\nx\"} 1\n");
}

TEST(MetricsRegistry, SampleValues) {
  EXPECT_EQ(FormatSampleValue(0), "0");
  EXPECT_EQ(FormatSampleValue(42), "42");
  EXPECT_EQ(FormatSampleValue(0.25), "0.25");
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatSampleValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatSampleValue(std::nan("")), "NaN");
  EXPECT_EQ(std::stod(FormatSampleValue(1e20)), 1e20);
  EXPECT_EQ(std::stod(FormatSampleValue(123456789012.0)), 123456789012.0);
}

TEST(MetricsRegistry, RefusesBadNamesAndDuplicates) {
  MetricsRegistry registry;
  EXPECT_FALSE(registry.AddCounter("9lives", "").ok());
  EXPECT_FALSE(registry.AddCounter("has-dash", "").ok());
  EXPECT_FALSE(registry.AddCounter("", "").ok());
  EXPECT_FALSE(registry.AddCounter("ok_total", "", {"bad-label"}).ok());
  EXPECT_FALSE(registry.AddCounter("ok_total", "", {"__reserved"}).ok());
  EXPECT_FALSE(registry.AddHistogram("h", "", {"le"}, {1}).ok());
  EXPECT_FALSE(registry.AddHistogram("h", "", {}, {1, 1}).ok());
  EXPECT_FALSE(registry.AddHistogram("h", "", {}, {2, 1}).ok());
  EXPECT_TRUE(registry.AddCounter("ok_total", "", {"table"}).ok());
  EXPECT_FALSE(registry.AddGauge("ok_total", "").ok());
  auto fam = registry.AddGauge("g", "", {"a", "b"});
  ASSERT_TRUE(fam.ok());
  EXPECT_FALSE((*fam)->WithLabels({"only one"}).ok());
}

TEST(MetricsRegistry, CountersIgnoreNegativeAndNaN) {
  Counter c;
  c.Increment(2);
  c.Increment(-1);
  c.Increment(std::nan(""));
  EXPECT_EQ(c.Value(), 2);
}

TEST(MetricsRegistry, ConcurrentUpdatesAreNotLost) {
  MetricsRegistry registry;
  auto fam = registry.AddCounter("c_total", "", {"table"}).ValueOrDie();
  auto hist = registry.AddHistogram("h_seconds", "", {}, {1}).ValueOrDie();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Counter* mine = fam->WithLabels({t % 2 ? "a" : "b"}).ValueOrDie();
      for (int i = 0; i < 10000; ++i) {
        mine->Increment();
        hist->Get().Observe(0.5);
        if (i % 1000 == 0) registry.Render();  // scrapes race with updates
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(fam->WithLabels({"a"}).ValueOrDie()->Value(), 20000);
  EXPECT_EQ(fam->WithLabels({"b"}).ValueOrDie()->Value(), 20000);
  EXPECT_EQ(hist->Get().Read().count, 40000u);
}

TEST(PipelineMetrics, RegistersConventionalNames) {
  MetricsRegistry registry;
  auto metrics = PipelineMetrics::Make(&registry);
  ASSERT_TRUE(metrics.ok()) << metrics.status().ToString();
  TableMetrics t = (*metrics)->ForTable("db.t");
  t.events_ingested->Increment(7);
  t.log_commits->Increment();
  t.batch_duration_seconds->Observe(0.2);
  // The same series on a second lookup.
  EXPECT_EQ((*metrics)->ForTable("db.t").events_ingested, t.events_ingested);
  std::string text = registry.Render();
  EXPECT_NE(text.find("sluice_events_ingested_total{table=\"db.t\"} 7\n"), std::string::npos);
  EXPECT_NE(text.find("sluice_commits_total{table=\"db.t\",delta_table=\"log\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("sluice_batch_duration_seconds_count{table=\"db.t\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE sluice_source_lag_seconds gauge\n"), std::string::npos);
  EXPECT_FALSE(PipelineMetrics::Make(&registry).ok());  // already registered
}

TEST(ProcessMetrics, ReadsProc) {
  ProcessStats stats = ReadProcessStats();
  ASSERT_TRUE(stats.resident_memory_bytes.has_value());
  EXPECT_GT(*stats.resident_memory_bytes, 1e6);
  ASSERT_TRUE(stats.open_fds.has_value());
  EXPECT_GE(*stats.open_fds, 3);
  ASSERT_TRUE(stats.start_time_seconds.has_value());
  EXPECT_GT(*stats.start_time_seconds, 1.6e9);
  ASSERT_TRUE(stats.cpu_seconds.has_value());
  std::string text = RenderProcessMetrics(stats);
  for (const char* name : {"process_resident_memory_bytes", "process_cpu_seconds_total",
                           "process_open_fds", "process_start_time_seconds"}) {
    EXPECT_NE(text.find(std::string("# TYPE ") + name), std::string::npos) << name;
  }
  EXPECT_EQ(RenderProcessMetrics({}), "");
}

}  // namespace
}  // namespace sluice::server
