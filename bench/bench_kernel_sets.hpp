#pragma once
// The kernel sets a benchmark times (bench infer, bench chain: --kernel-sets).
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "larsel/core/kernel_set.hpp"

namespace larsel::bench {

/// The named kernel sets (each must run on this CPU), or every one this CPU runs, highest first. `bench` names
/// the benchmark in the error.
inline std::vector<core::KernelSet> kernel_sets_to_time(const std::vector<std::string>& names, std::string_view bench) {
  std::vector<core::KernelSet> sets;
  for (const std::string& name : names) {
    const std::optional<core::KernelSet> set = core::parse_kernel_set(name);
    if (!set) throw std::invalid_argument(fmt::format("{}: '{}' is not a kernel set (baseline, avx2, avx512, avx512vnni)", bench, name));
    if (!core::cpu_supports(*set)) throw std::invalid_argument(fmt::format("{}: this CPU cannot run the {} kernels", bench, name));
    sets.push_back(*set);
  }
  if (sets.empty()) {
    for (const core::KernelSet set : core::kKernelSets) {
      if (core::cpu_supports(set)) sets.insert(sets.begin(), set);
    }
  }
  return sets;
}

}  // namespace larsel::bench
