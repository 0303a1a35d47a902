// The one percentile definition of the benchmark clients (nearest rank over
// the sorted samples), so that their p50/p99 columns mean the same thing, and
// the one conversion of their timed samples to milliseconds.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <vector>

namespace sbx::bench {

// A duration as the (fractional) milliseconds the benchmarks report.
template <class Rep, class Period>
double Ms(std::chrono::duration<Rep, Period> d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// The p-th percentile (0–100) of `samples`; 0 when there are none.
inline double Percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const auto k =
      static_cast<size_t>(p / 100 * static_cast<double>(samples.size() - 1) + 0.5);
  return samples[std::min(k, samples.size() - 1)];
}

}  // namespace sbx::bench
