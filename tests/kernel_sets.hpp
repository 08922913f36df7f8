#pragma once
// Tests run every kernel set this CPU runs, and say which they skip and why.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "larsel/core/kernel_set.hpp"

namespace larsel::test {

/// The kernel sets this CPU runs; for each other one, a warning naming the features it lacks.
inline std::vector<core::KernelSet> runnable_kernel_sets() {
  std::vector<core::KernelSet> sets;
  for (const core::KernelSet set : core::kKernelSets) {
    const std::vector<std::string> missing = core::missing_features(set);
    if (missing.empty()) {
      sets.push_back(set);
      continue;
    }
    std::string names;
    for (const std::string& m : missing) names += (names.empty() ? "" : ", ") + m;
    WARN("kernel set " << core::name(set) << " not tested: this CPU lacks " << names);
  }
  return sets;
}

}  // namespace larsel::test
