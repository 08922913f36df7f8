// The twin's packed kernel of one kernel set: this file is compiled once per
// set (larsel/core/isa_region.hpp, cmake/LarselKernels.cmake), each time with
// that set's vector operations (twin_simd_*.ipp) under the multiply-add loops
// (twin_mac.ipp) and the per-frame run (twin_run.ipp), written once for all.
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

// GCC 12's unmasked AVX-512 intrinsics pass _mm512_undefined_epi32() (self-initialised) as the merge source,
// which -Wuninitialized flags at every inlined use (GCC PR 105593): silenced for the intrinsics headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "twin_kernel.hpp"
#include "twin_plan.hpp"
#include "larsel/core/isa_region.hpp"

LARSEL_ISA_BEGIN
namespace larsel::fpga::detail::LARSEL_ISA {
namespace {

#if LARSEL_ISA_LEVEL >= 2
#include "twin_simd_avx512.ipp"
#elif LARSEL_ISA_LEVEL == 1
#include "twin_simd_avx2.ipp"
#else
#include "twin_simd_generic.ipp"
#endif
#include "twin_mac.ipp"
#include "twin_run.ipp"

std::int64_t run(const PackedPlan& plan, const std::vector<TwinLayer>& layers, PackedBuffers& buffers, std::span<const std::uint8_t> image) {
  return run_packed(plan, layers, buffers, image);
}

}  // namespace

TwinKernel twin_kernel() noexcept { return {kTraits, run}; }

}  // namespace larsel::fpga::detail::LARSEL_ISA
LARSEL_ISA_END
