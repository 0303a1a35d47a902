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
  struct Histogram;

 public:
  // Handles on one series, for hot paths: an update skips the name and label
  // lookups (and building a Labels map). Valid as long as the Metrics.
  class CounterHandle {
   public:
    void Inc(double v = 1) const;

   private:
    friend class Metrics;
    Metrics* metrics_ = nullptr;
    double* value_ = nullptr;
  };
  class HistogramHandle {
   public:
    void Observe(double seconds) const;

   private:
    friend class Metrics;
    Metrics* metrics_ = nullptr;
    Histogram* histogram_ = nullptr;
  };
  CounterHandle Counter(const std::string& name, const Labels& labels,
                        const std::string& help = "");
  HistogramHandle HistogramSeries(const std::string& name, const Labels& labels,
                                  const std::string& help = "");

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
  // Series live in std::map nodes, which never move: handles point at them.
  double& CounterLocked(const std::string& name, const Labels& labels, const std::string& help);
  Histogram& HistogramLocked(const std::string& name, const Labels& labels,
                             const std::string& help);
  static void ObserveLocked(Histogram& h, double seconds);
  mutable std::mutex mu_;
  std::map<std::string, std::string> help_;
  std::map<std::string, std::map<Labels, double>> counters_;
  std::map<std::string, std::map<Labels, Histogram>> histograms_;
  std::map<std::string, std::function<std::vector<std::pair<Labels, double>>()>> gauges_;
};

}  // namespace sbx
