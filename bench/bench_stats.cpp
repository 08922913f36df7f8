#include "larsel/bench/bench_stats.hpp"

#include <algorithm>
#include <cmath>

namespace larsel::bench {

double quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::lround(q * static_cast<double>(values.size() - 1)));
  return values[rank];
}

nlohmann::ordered_json describe(const std::vector<double>& values) {
  return {{"median", quantile(values, 0.5)}, {"p10", quantile(values, 0.1)}, {"p90", quantile(values, 0.9)},
          {"min", quantile(values, 0.0)},    {"max", quantile(values, 1.0)}, {"n", values.size()}};
}

}  // namespace larsel::bench
