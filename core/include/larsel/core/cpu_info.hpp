#pragma once
// What a benchmark reports about the machine it ran on, so that figures from
// two machines are never confused: the CPU's model name, the vector features
// that decide which kernels run, and the kernel sets.
#include <string>
#include <vector>

#include "larsel/core/kernel_set.hpp"

namespace larsel::core {

struct CpuInfo {
  std::string model;                  // the CPUID brand string, e.g. "AMD EPYC 7763 64-Core Processor"
  std::vector<std::string> features;  // of sse4.2 avx avx2 fma bmi2 avx512f/bw/cd/dq/vl avx512vnni avx512vbmi avxvnni: those present
  KernelSet best = KernelSet::baseline;      // the highest kernel set it runs
  KernelSet selected = KernelSet::baseline;  // what this process runs (LARSEL_KERNELS may cap it)
  unsigned logical_cpus = 0;
};

/// Reads CPUID; `selected` as selected_kernel_set() says (which may throw).
[[nodiscard]] CpuInfo cpu_info();

}  // namespace larsel::core
