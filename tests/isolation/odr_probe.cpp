// The ODR trap of issue 17, in small: an inline function shared with the rest
// of the program (here shared_sum; in the wild a std:: template or a helper in
// a common header) called from a kernel. tests/isolation/run-probe.sh compiles
// it twice for AVX-512:
//  - as LArSel's kernels are (larsel/core/isa_region.hpp): only the kernel gets
//    AVX-512, the out-of-line copy of shared_sum stays baseline code;
//  - with -mavx512f on the command line (PROBE_COMMAND_LINE_FLAGS): the copy
//    of shared_sum, which the linker may pick for the whole program, holds
//    AVX-512 instructions.
// scripts/check-kernel-isolation.py must accept the first and reject the second.
#include <cstdint>

[[gnu::noinline]] inline std::int32_t shared_sum(const std::int32_t* values, int count) {
  std::int32_t sum = 0;
  for (int i = 0; i < count; ++i) sum += values[i] * 3;
  return sum;
}

#if defined(PROBE_COMMAND_LINE_FLAGS)
#define LARSEL_ISA_BEGIN
#define LARSEL_ISA_END
#define LARSEL_ISA avx512
#else
#include "larsel/core/isa_region.hpp"
#endif

LARSEL_ISA_BEGIN
namespace probe::LARSEL_ISA {
std::int32_t kernel(std::int32_t* values, int count) {
  for (int i = 0; i < count; ++i) values[i] = values[i] * 5 + 1;
  return shared_sum(values, count);
}
}  // namespace probe::LARSEL_ISA
LARSEL_ISA_END
