#pragma once
// The twin's packed kernels, one table per kernel set (twin_kernels.cpp is
// compiled once per set, larsel/core/isa_region.hpp), and the traits of each
// that the packed plan is built for (twin_plan.hpp): the plan lays the data
// out for the vector width, the registers and the instructions of the set
// that will run it.
#include <cstdint>
#include <span>
#include <vector>

#include "larsel/core/kernel_set.hpp"
#include "twin_copies.hpp"
#include "twin_layers.hpp"

namespace larsel::fpga::detail {

struct PackedPlan;
struct PackedBuffers;

/// What a kernel set's packed kernel can do.
struct KernelTraits {
  core::KernelSet set = core::KernelSet::baseline;
  int lanes = 8;                  // int32 lanes per vector: 16 (zmm), 8 (ymm, and the baseline's pairs of xmm)
  int accumulators = 8;           // vectors of sums one multiply-add block keeps in registers
  bool byte_quads = false;        // exact multiply-add of four uint8 x int8 products per lane (VNNI vpdpbusd)
  int multiply_add_ops = 2;       // instructions per vector multiply-add of int16 pairs: 1 with VNNI, else 2
  CopyMethod copies = CopyMethod::gather;
};

/// The raw logit of one image by the packed plan (made for this kernel's traits).
using RunPacked = std::int64_t (*)(const PackedPlan& plan, const std::vector<TwinLayer>& layers, PackedBuffers& buffers,
                                   std::span<const std::uint8_t> image);

struct TwinKernel {
  KernelTraits traits;
  RunPacked run = nullptr;
};

namespace baseline {
TwinKernel twin_kernel() noexcept;
}
namespace avx2 {
TwinKernel twin_kernel() noexcept;
}
namespace avx512 {
TwinKernel twin_kernel() noexcept;
}
namespace avx512vnni {
TwinKernel twin_kernel() noexcept;
}

/// The kernel of `set` (every set has one).
inline TwinKernel twin_kernel(core::KernelSet set) noexcept {
  switch (set) {
    case core::KernelSet::avx2: return avx2::twin_kernel();
    case core::KernelSet::avx512: return avx512::twin_kernel();
    case core::KernelSet::avx512vnni: return avx512vnni::twin_kernel();
    case core::KernelSet::baseline: break;
  }
  return baseline::twin_kernel();
}

}  // namespace larsel::fpga::detail
