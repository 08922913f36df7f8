#include "larsel/core/kernel_set.hpp"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cpu_features.hpp"

namespace larsel::core {
namespace {

/// The CPU features each set adds to the one below it, as __builtin_cpu_supports names them (it also checks
/// that the OS saves the wider registers: XCR0).
std::vector<const char*> features_added_by(KernelSet set) {
  switch (set) {
    case KernelSet::baseline: return {};
    case KernelSet::avx2: return {"avx", "avx2", "fma", "bmi", "bmi2", "popcnt"};
    case KernelSet::avx512: return {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"};
    case KernelSet::avx512vnni: return {"avx512vnni", "avx512vbmi"};
  }
  return {};
}

}  // namespace

#if defined(__x86_64__)
bool cpu_has_feature(std::string_view f) {
  __builtin_cpu_init();
  // __builtin_cpu_supports takes a string literal only: one case per name.
  if (f == "sse4.2") return __builtin_cpu_supports("sse4.2");
  if (f == "avx") return __builtin_cpu_supports("avx");
  if (f == "avx2") return __builtin_cpu_supports("avx2");
  if (f == "fma") return __builtin_cpu_supports("fma");
  if (f == "bmi") return __builtin_cpu_supports("bmi");
  if (f == "bmi2") return __builtin_cpu_supports("bmi2");
  if (f == "popcnt") return __builtin_cpu_supports("popcnt");
  if (f == "avx512f") return __builtin_cpu_supports("avx512f");
  if (f == "avx512bw") return __builtin_cpu_supports("avx512bw");
  if (f == "avx512cd") return __builtin_cpu_supports("avx512cd");
  if (f == "avx512dq") return __builtin_cpu_supports("avx512dq");
  if (f == "avx512vl") return __builtin_cpu_supports("avx512vl");
  if (f == "avx512vnni") return __builtin_cpu_supports("avx512vnni");
  if (f == "avx512vbmi") return __builtin_cpu_supports("avx512vbmi");
  if (f == "avxvnni") return __builtin_cpu_supports("avxvnni");
  return false;
}
#else
bool cpu_has_feature(std::string_view) { return false; }  // only the baseline kernels are built off x86-64
#endif

std::string_view name(KernelSet set) noexcept {
  switch (set) {
    case KernelSet::baseline: return "baseline";
    case KernelSet::avx2: return "avx2";
    case KernelSet::avx512: return "avx512";
    case KernelSet::avx512vnni: return "avx512vnni";
  }
  return "?";
}

std::optional<KernelSet> parse_kernel_set(std::string_view text) noexcept {
  for (const KernelSet set : kKernelSets) {
    if (text == name(set)) return set;
  }
  return std::nullopt;
}

std::vector<std::string> missing_features(KernelSet set) {
  std::vector<std::string> missing;
  for (const KernelSet level : kKernelSets) {
    if (level > set) break;
    for (const char* feature : features_added_by(level)) {
      if (!cpu_has_feature(feature)) missing.emplace_back(feature);
    }
  }
  return missing;
}

KernelSet best_kernel_set() {
  KernelSet best = KernelSet::baseline;
  for (const KernelSet set : kKernelSets) {
    if (cpu_supports(set)) best = set;
  }
  return best;
}

KernelSet selected_kernel_set() {
  const char* forced = std::getenv(kKernelSetVariable);
  if (forced == nullptr || *forced == '\0') return best_kernel_set();
  const std::optional<KernelSet> set = parse_kernel_set(forced);
  if (!set) {
    throw std::runtime_error(fmt::format("{}={}: not a kernel set (baseline, avx2, avx512, avx512vnni)", kKernelSetVariable, forced));
  }
  const std::vector<std::string> missing = missing_features(*set);
  if (!missing.empty()) {
    throw std::runtime_error(fmt::format("{}={}: this CPU lacks {} (the best it runs is {})", kKernelSetVariable, forced,
                                         fmt::join(missing, ", "), name(best_kernel_set())));
  }
  return *set;
}

KernelSet highest_at_most(KernelSet selected, std::initializer_list<KernelSet> available) noexcept {
  KernelSet chosen = KernelSet::baseline;
  for (const KernelSet set : available) {
    if (set <= selected && set > chosen) chosen = set;
  }
  return chosen;
}

}  // namespace larsel::core
