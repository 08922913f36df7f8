#pragma once
// A plain read of a frame's bytes, the yardstick of the preprocess benchmark:
// compiled per kernel set (memory_read_kernels.cpp), so that a kernel is
// compared with a read using the same vector width.
#include <cstddef>
#include <cstdint>

#include "larsel/core/kernel_set.hpp"

namespace larsel::bench {

namespace baseline {
std::uint64_t read_bytes(const void* data, std::size_t bytes) noexcept;
}
namespace avx2 {
std::uint64_t read_bytes(const void* data, std::size_t bytes) noexcept;
}
namespace avx512 {
std::uint64_t read_bytes(const void* data, std::size_t bytes) noexcept;
}

using ReadBytes = std::uint64_t (*)(const void* data, std::size_t bytes) noexcept;

/// The read of kernel set `set` (or the highest below it that has one).
inline ReadBytes memory_read(core::KernelSet set) noexcept {
  switch (core::highest_at_most(set, {core::KernelSet::baseline, core::KernelSet::avx2, core::KernelSet::avx512})) {
    case core::KernelSet::avx512: return avx512::read_bytes;
    case core::KernelSet::avx2: return avx2::read_bytes;
    default: return baseline::read_bytes;
  }
}

}  // namespace larsel::bench
