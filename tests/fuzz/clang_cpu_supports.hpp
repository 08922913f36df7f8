#pragma once
// Forced into core/src/kernel_set.cpp in the fuzz build only (tests/fuzz/CMakeLists.txt): clang 14
// (Debian 12's) rejects __builtin_cpu_supports("avxvnni"), which GCC 12 knows. The fuzz build
// never runs an AVX-VNNI (VEX) kernel, so the feature reads as absent; every other name goes to
// the real builtin, which needs a string literal, hence one branch per name.
#include <cstring>

inline bool larsel_fuzz_cpu_supports(const char* feature) {
#define LARSEL_FUZZ_FEATURE(name) \
  if (std::strcmp(feature, name) == 0) return __builtin_cpu_supports(name);
  LARSEL_FUZZ_FEATURE("sse4.2") LARSEL_FUZZ_FEATURE("avx") LARSEL_FUZZ_FEATURE("avx2") LARSEL_FUZZ_FEATURE("fma")
  LARSEL_FUZZ_FEATURE("bmi") LARSEL_FUZZ_FEATURE("bmi2") LARSEL_FUZZ_FEATURE("popcnt") LARSEL_FUZZ_FEATURE("avx512f")
  LARSEL_FUZZ_FEATURE("avx512bw") LARSEL_FUZZ_FEATURE("avx512cd") LARSEL_FUZZ_FEATURE("avx512dq")
  LARSEL_FUZZ_FEATURE("avx512vl") LARSEL_FUZZ_FEATURE("avx512vnni") LARSEL_FUZZ_FEATURE("avx512vbmi")
#undef LARSEL_FUZZ_FEATURE
  return false;
}
#define __builtin_cpu_supports(feature) larsel_fuzz_cpu_supports(feature)
