#include "base/metrics.h"

#include <fmt/format.h>

namespace sbx {
namespace {

constexpr double kBuckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                               0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,     10, 30};

std::string Escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string LabelText(const Labels& labels, const std::string& extra = "") {
  std::string out;
  for (const auto& [k, v] : labels) {
    if (!out.empty()) out += ',';
    out += fmt::format("{}=\"{}\"", k, Escape(v));
  }
  if (!extra.empty()) {
    if (!out.empty()) out += ',';
    out += extra;
  }
  return out.empty() ? "" : "{" + out + "}";
}

}  // namespace

void Metrics::Inc(const std::string& name, const Labels& labels, double v,
                  const std::string& help) {
  std::lock_guard lock(mu_);
  CounterLocked(name, labels, help) += v;
}

double& Metrics::CounterLocked(const std::string& name, const Labels& labels,
                               const std::string& help) {
  if (!help.empty()) help_.try_emplace(name, help);
  return counters_[name][labels];
}

void Metrics::Observe(const std::string& name, const Labels& labels, double seconds,
                      const std::string& help) {
  std::lock_guard lock(mu_);
  ObserveLocked(HistogramLocked(name, labels, help), seconds);
}

Metrics::Histogram& Metrics::HistogramLocked(const std::string& name, const Labels& labels,
                                             const std::string& help) {
  if (!help.empty()) help_.try_emplace(name, help);
  Histogram& h = histograms_[name][labels];
  if (h.buckets.empty()) h.buckets.resize(std::size(kBuckets));
  return h;
}

void Metrics::ObserveLocked(Histogram& h, double seconds) {
  for (size_t i = 0; i < std::size(kBuckets); ++i) {
    if (seconds <= kBuckets[i]) {
      ++h.buckets[i];
      break;
    }
  }
  ++h.count;
  h.sum += seconds;
}

Metrics::CounterHandle Metrics::Counter(const std::string& name, const Labels& labels,
                                        const std::string& help) {
  std::lock_guard lock(mu_);
  CounterHandle handle;
  handle.metrics_ = this;
  handle.value_ = &CounterLocked(name, labels, help);
  return handle;
}

Metrics::HistogramHandle Metrics::HistogramSeries(const std::string& name, const Labels& labels,
                                                  const std::string& help) {
  std::lock_guard lock(mu_);
  HistogramHandle handle;
  handle.metrics_ = this;
  handle.histogram_ = &HistogramLocked(name, labels, help);
  return handle;
}

void Metrics::CounterHandle::Inc(double v) const {
  std::lock_guard lock(metrics_->mu_);
  *value_ += v;
}

void Metrics::HistogramHandle::Observe(double seconds) const {
  std::lock_guard lock(metrics_->mu_);
  ObserveLocked(*histogram_, seconds);
}

void Metrics::AddGaugeCallback(const std::string& name, const std::string& help,
                               std::function<std::vector<std::pair<Labels, double>>()> fn) {
  std::lock_guard lock(mu_);
  help_[name] = help;
  gauges_[name] = std::move(fn);
}

double Metrics::CounterValue(const std::string& name, const Labels& labels) const {
  std::lock_guard lock(mu_);
  auto it = counters_.find(name);
  if (it == counters_.end()) return 0;
  auto jt = it->second.find(labels);
  return jt == it->second.end() ? 0 : jt->second;
}

std::string Metrics::Render() const {
  std::lock_guard lock(mu_);
  std::string out;
  auto header = [&](const std::string& name, const char* type) {
    if (auto it = help_.find(name); it != help_.end()) {
      out += fmt::format("# HELP {} {}\n", name, it->second);
    }
    out += fmt::format("# TYPE {} {}\n", name, type);
  };
  for (const auto& [name, series] : counters_) {
    header(name, "counter");
    for (const auto& [labels, v] : series) out += fmt::format("{}{} {}\n", name, LabelText(labels), v);
  }
  for (const auto& [name, series] : histograms_) {
    header(name, "histogram");
    for (const auto& [labels, h] : series) {
      uint64_t cumulative = 0;
      for (size_t i = 0; i < std::size(kBuckets); ++i) {
        cumulative += h.buckets[i];
        out += fmt::format("{}_bucket{} {}\n", name,
                           LabelText(labels, fmt::format("le=\"{}\"", kBuckets[i])), cumulative);
      }
      out += fmt::format("{}_bucket{} {}\n", name, LabelText(labels, "le=\"+Inf\""), h.count);
      out += fmt::format("{}_sum{} {}\n", name, LabelText(labels), h.sum);
      out += fmt::format("{}_count{} {}\n", name, LabelText(labels), h.count);
    }
  }
  for (const auto& [name, fn] : gauges_) {
    header(name, "gauge");
    for (const auto& [labels, v] : fn()) out += fmt::format("{}{} {}\n", name, LabelText(labels), v);
  }
  return out;
}

}  // namespace sbx
