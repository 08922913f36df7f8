#pragma once
#include <vector>

#include <nlohmann/json.hpp>

namespace larsel::bench {

/// Quantile q (0-1) of `values` by nearest rank.
double quantile(std::vector<double> values, double q);
/// {"median", "p10", "p90", "min", "max", "n"} of `values`.
nlohmann::ordered_json describe(const std::vector<double>& values);

/// What every benchmark's JSON opens with, so that figures from two machines are never confused: the CPU's
/// model and vector features, the kernel sets it runs and the one this process ran (LARSEL_KERNELS may cap it),
/// Each benchmark adds the kernel each of its stages ran.
nlohmann::ordered_json machine_json();

}  // namespace larsel::bench
