// The memory read of memory_read.hpp, compiled per kernel set
// (larsel/core/isa_region.hpp): vector ORs of the set's width.
#include <cstring>

#include "memory_read.hpp"
#include "larsel/core/isa_region.hpp"

LARSEL_ISA_BEGIN
namespace larsel::bench::LARSEL_ISA {
namespace {
constexpr std::size_t kBytes = LARSEL_ISA_LEVEL >= 2 ? 64 : LARSEL_ISA_LEVEL == 1 ? 32 : 16;
typedef std::uint64_t Word __attribute__((vector_size(kBytes)));
}  // namespace

/// OR of every vector-sized word into four accumulators (a summing loop would be limited by its widening
/// arithmetic, not by memory). `bytes` is a multiple of four words.
std::uint64_t read_bytes(const void* data, std::size_t bytes) noexcept {
  const auto* p = static_cast<const char*>(data);
  Word acc[4] = {};
  for (std::size_t i = 0; i + 4 * kBytes <= bytes; i += 4 * kBytes) {
    for (std::size_t k = 0; k < 4; ++k) {
      Word v;
      std::memcpy(&v, p + i + k * kBytes, sizeof v);
      acc[k] |= v;
    }
  }
  const Word all = acc[0] | acc[1] | acc[2] | acc[3];
  std::uint64_t folded = 0;
  for (std::size_t k = 0; k < kBytes / 8; ++k) folded |= all[k];
  return folded;
}

}  // namespace larsel::bench::LARSEL_ISA
LARSEL_ISA_END
