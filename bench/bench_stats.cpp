#include "larsel/bench/bench_stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "larsel/core/cpu_info.hpp"

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

nlohmann::ordered_json machine_json() {
  const core::CpuInfo cpu = core::cpu_info();
  std::vector<std::string> runs;
  for (const core::KernelSet set : core::kKernelSets) {
    if (core::cpu_supports(set)) runs.emplace_back(core::name(set));
  }
  const char* forced = std::getenv(core::kKernelSetVariable);
  return {{"cpu_model", cpu.model},
          {"cpu_features", cpu.features},
          {"logical_cpus", cpu.logical_cpus},
          {"kernel_sets_this_cpu_runs", runs},
          {"kernel_set_selected", core::name(cpu.selected)},
          {"kernel_set_forced", forced != nullptr && *forced != '\0' ? nlohmann::ordered_json(std::string(core::kKernelSetVariable) + "=" + forced)
                                                                      : nlohmann::ordered_json(nullptr)}};
}

}  // namespace larsel::bench
