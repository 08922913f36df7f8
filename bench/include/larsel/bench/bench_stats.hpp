#pragma once
#include <vector>

#include <nlohmann/json.hpp>

namespace larsel::bench {

/// Quantile q (0-1) of `values` by nearest rank.
double quantile(std::vector<double> values, double q);
/// {"median", "p10", "p90", "min", "max", "n"} of `values`.
nlohmann::ordered_json describe(const std::vector<double>& values);

}  // namespace larsel::bench
