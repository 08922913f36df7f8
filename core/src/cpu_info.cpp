#include "larsel/core/cpu_info.hpp"

#include <cstring>
#include <thread>

#include "cpu_features.hpp"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace larsel::core {
namespace {

/// CPUID leaves 0x80000002-4: the 48-byte brand string, trimmed.
std::string brand_string() {
  std::string brand;
#if defined(__x86_64__)
  unsigned highest = __get_cpuid_max(0x80000000u, nullptr);
  if (highest >= 0x80000004u) {
    char text[49] = {};
    for (unsigned leaf = 0; leaf < 3; ++leaf) {
      unsigned regs[4] = {};
      __get_cpuid(0x80000002u + leaf, &regs[0], &regs[1], &regs[2], &regs[3]);
      std::memcpy(text + 16 * leaf, regs, sizeof regs);
    }
    brand = text;
  }
#endif
  const auto first = brand.find_first_not_of(' ');
  if (first == std::string::npos) return "unknown";
  return brand.substr(first, brand.find_last_not_of(' ') - first + 1);
}

std::vector<std::string> vector_features() {
  static constexpr const char* kReported[] = {"sse4.2",   "avx",      "avx2",     "fma",        "bmi2",
                                              "avx512f",  "avx512bw", "avx512cd", "avx512dq",   "avx512vl",
                                              "avx512vnni", "avx512vbmi", "avxvnni"};
  std::vector<std::string> present;
  for (const char* feature : kReported) {
    if (cpu_has_feature(feature)) present.emplace_back(feature);
  }
  return present;
}

}  // namespace

CpuInfo cpu_info() {
  CpuInfo info;
  info.model = brand_string();
  info.features = vector_features();
  info.best = best_kernel_set();
  info.selected = selected_kernel_set();
  info.logical_cpus = std::thread::hardware_concurrency();
  return info;
}

}  // namespace larsel::core
