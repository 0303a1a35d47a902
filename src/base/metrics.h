// Metrics: counters, gauges and histograms rendered in the Prometheus text
// format for GET /metrics. Hand-written because Debian 12 packages no
// Prometheus client library for C++; this covers the small subset we export.
// Thread-safe; updates take one short mutex.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace sbx {

using Labels = std::map<std::string, std::string>;

class Metrics {
 public:
  // Adds `v` to counter `name{labels}`. `help` is recorded on first use.
  void Inc(const std::string& name, const Labels& labels = {}, double v = 1,
           const std::string& help = "");
  // Records one observation in histogram `name{labels}` (seconds).
  void Observe(const std::string& name, const Labels& labels, double seconds,
               const std::string& help = "");
  // A gauge computed at scrape time; `fn` returns label sets with values.
  void AddGaugeCallback(const std::string& name, const std::string& help,
                        std::function<std::vector<std::pair<Labels, double>>()> fn);
  // The Prometheus text exposition of everything.
  std::string Render() const;
  // Current value of a counter (tests).
  double CounterValue(const std::string& name, const Labels& labels = {}) const;

 private:
  struct Histogram {
    std::vector<uint64_t> buckets;  // cumulative at render time
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::string, std::string> help_;
  std::map<std::string, std::map<Labels, double>> counters_;
  std::map<std::string, std::map<Labels, Histogram>> histograms_;
  std::map<std::string, std::function<std::vector<std::pair<Labels, double>>()>> gauges_;
};

}  // namespace sbx
