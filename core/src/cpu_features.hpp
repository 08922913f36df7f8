#pragma once
// The CPU's instruction-set features by name, inside core (kernel_set.cpp, cpu_info.cpp).
#include <string_view>

namespace larsel::core {

/// Whether the CPU (and the OS, for the wider registers) supports `feature`, a __builtin_cpu_supports name:
/// sse4.2, avx, avx2, fma, bmi, bmi2, popcnt, avx512f/bw/cd/dq/vl/vnni/vbmi, avxvnni; false for any other.
bool cpu_has_feature(std::string_view feature);

}  // namespace larsel::core
