#include "larsel/core/cpu_info.hpp"

#include <cstring>
#include <thread>

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
  std::vector<std::string> present;
#if defined(__x86_64__)
  __builtin_cpu_init();
  const auto add = [&](bool has, const char* feature) {
    if (has) present.emplace_back(feature);
  };
  add(__builtin_cpu_supports("sse4.2"), "sse4.2");
  add(__builtin_cpu_supports("avx"), "avx");
  add(__builtin_cpu_supports("avx2"), "avx2");
  add(__builtin_cpu_supports("fma"), "fma");
  add(__builtin_cpu_supports("bmi2"), "bmi2");
  add(__builtin_cpu_supports("avx512f"), "avx512f");
  add(__builtin_cpu_supports("avx512bw"), "avx512bw");
  add(__builtin_cpu_supports("avx512cd"), "avx512cd");
  add(__builtin_cpu_supports("avx512dq"), "avx512dq");
  add(__builtin_cpu_supports("avx512vl"), "avx512vl");
  add(__builtin_cpu_supports("avx512vnni"), "avx512vnni");
  add(__builtin_cpu_supports("avx512vbmi"), "avx512vbmi");
  add(__builtin_cpu_supports("avxvnni"), "avxvnni");
#endif
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
