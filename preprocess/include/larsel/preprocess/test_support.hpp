#pragma once
// Test support: the internal integer arithmetic of the preprocess kernels, exposed so that the tests can
// check it exhaustively without reaching into preprocess/src. Not for other modules.
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

namespace larsel::preprocess::test_support {

/// The two middle outputs (the (n-1)/2-th and n/2-th smallest) of the compare-exchange median network
/// for values.size() inputs, run on `values`; throws std::invalid_argument for 0 or more than 128 values.
std::pair<int, int> median_network_outputs(std::span<const int> values);

/// Comparators of the median network for `inputs` values, built at run time (as MedianNetwork) and at
/// compile time (as the kernels' FixedMedianNetwork; 24 inputs only, one WIBEth stream's group).
std::size_t median_network_comparators(std::size_t inputs);
std::size_t fixed_median_network_comparators_24();

/// The frugal pedestal's division a / limit by reciprocal multiply and shift, as the kernels do it.
std::int32_t divide_by_limit(std::int32_t a, unsigned limit);

}  // namespace larsel::preprocess::test_support
