#include "base/metrics.h"

#include <gtest/gtest.h>

namespace sbx {
namespace {

TEST(MetricsTest, CountersByNameAndByHandleShareOneSeries) {
  Metrics m;
  m.Inc("requests_total", {{"route", "/a"}, {"code", "200"}}, 1, "Requests");
  auto handle = m.Counter("requests_total", {{"code", "200"}, {"route", "/a"}});
  handle.Inc();
  handle.Inc(2);
  EXPECT_EQ(m.CounterValue("requests_total", {{"route", "/a"}, {"code", "200"}}), 4);
  EXPECT_EQ(m.CounterValue("requests_total", {{"route", "/b"}, {"code", "200"}}), 0);
  // Handles stay valid while other series are added around them.
  for (int i = 0; i < 100; ++i) m.Inc("requests_total", {{"route", "/x" + std::to_string(i)}});
  handle.Inc();
  EXPECT_EQ(m.CounterValue("requests_total", {{"route", "/a"}, {"code", "200"}}), 5);
  const std::string text = m.Render();
  EXPECT_NE(text.find("# HELP requests_total Requests\n# TYPE requests_total counter\n"),
            std::string::npos);
  EXPECT_NE(text.find("requests_total{code=\"200\",route=\"/a\"} 5\n"), std::string::npos);
}

TEST(MetricsTest, HistogramBucketsAreCumulativeAndHandlesAddToNamedSeries) {
  Metrics m;
  m.Observe("latency_seconds", {{"route", "/a"}}, 0.0002, "Latency");
  auto handle = m.HistogramSeries("latency_seconds", {{"route", "/a"}});
  handle.Observe(0.003);
  handle.Observe(100);  // beyond the largest bucket: only +Inf
  const std::string text = m.Render();
  EXPECT_NE(text.find("# TYPE latency_seconds histogram\n"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_bucket{route=\"/a\",le=\"0.0001\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_bucket{route=\"/a\",le=\"0.00025\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("latency_seconds_bucket{route=\"/a\",le=\"0.005\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_bucket{route=\"/a\",le=\"30\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_bucket{route=\"/a\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_count{route=\"/a\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_sum{route=\"/a\"} 100.003"), std::string::npos);
}

TEST(MetricsTest, LabelValuesAreEscapedAndGaugesComputedAtScrape) {
  Metrics m;
  m.Inc("odd_total", {{"v", "a\"b\\c\nd"}});
  int calls = 0;
  m.AddGaugeCallback("things", "Things", [&] {
    ++calls;
    return std::vector<std::pair<Labels, double>>{{{{"kind", "x"}}, 3}};
  });
  const std::string text = m.Render();
  EXPECT_NE(text.find("odd_total{v=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE things gauge\nthings{kind=\"x\"} 3\n"), std::string::npos);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace sbx
