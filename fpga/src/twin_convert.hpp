#pragma once
// The packed path's output conversion of a convolution: its pooled int32 sums
// into int16 activations, stored in the layout the next layer reads
// (ActivationLayout). The common HLS modes (AP_RND or AP_TRN, with AP_SAT or
// AP_SAT_SYM, accumulators of at most 31 bits) have an AVX-512 kernel, run in
// the multiply-add loop's epilogue on the pooled sums still in registers: add
// the bias, round and shift, clamp (saturation and ReLU are one clamp), narrow
// to int16. Every other case converts with the generic, per-mode requantize
// (twin_requantize.hpp) and stores with plain C++.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "twin_copies.hpp"
#include "twin_requantize.hpp"
#include "twin_simd.hpp"

namespace larsel::fpga::detail {

/// A conversion the vector kernel does: the layer's total = sum * 2^sum_shift + bias, `shift` bits finer than the
/// target, rounded half up (AP_RND: floor((total + half) / 2^shift), half = 2^(shift - 1)) or down (AP_TRN), then
/// clamped to [low, high]. With b = bias + half, and a = sum_shift <= shift:
///   floor((sum * 2^a + b) / 2^shift) = floor((sum + floor(b / 2^a)) / 2^(shift - a)),
/// as the low a bits of b can never carry into bit a. So the kernel computes ((sum << left) + folded) >> right
/// with one of left, right zero. Exact in int32 when the accumulator has at most 31 bits (|total| < 2^30).
struct FastConversion {
  bool enabled = false;
  int left = 0, right = 0;
  std::int64_t half = 0;  // added to the bias before folding: 2^(shift - 1) for AP_RND, 0 for AP_TRN
  int fold = 0;           // the bias is folded as (bias + half) >> fold
  std::int32_t low = 0, high = 0;
  [[nodiscard]] std::int32_t folded(std::int64_t bias) const { return static_cast<std::int32_t>((bias + half) >> fold); }
  /// The common case: no left shift, a right shift, no clamp below the narrowing's (the shipped model's layers).
  [[nodiscard]] bool plain() const { return left == 0 && right != 0 && high >= 32767; }
};

/// The vector kernel's parameters for `c`, or disabled: an accumulator wider than 31 bits, a mode other than
/// AP_RND/AP_TRN with AP_SAT/AP_SAT_SYM, shifts outside (0, 31), or no AVX-512.
inline FastConversion fast_conversion(const Conversion& c, int accumulator_width) {
  FastConversion f;
  const models::FixedPointFormat& o = c.format;
  const int shift = c.from_fraction - o.fractional_bits();
  const bool modes = (o.quantization == Quantization::rnd || o.quantization == Quantization::trn) &&
                     (o.overflow == Overflow::sat || o.overflow == Overflow::sat_sym);
  f.enabled = LARSEL_TWIN_AVX512 && accumulator_width <= 31 && modes && shift > 0 && shift < 31 && c.sum_shift < 31;
  f.half = o.quantization == Quantization::rnd && shift > 0 ? std::int64_t{1} << (shift - 1) : 0;
  f.left = std::max(0, c.sum_shift - shift), f.right = std::max(0, shift - c.sum_shift);
  f.fold = std::min(c.sum_shift, shift);
  const std::int64_t lowest = o.overflow == Overflow::sat_sym && o.is_signed ? o.min_raw() + 1 : o.min_raw();
  // max(0, clamp(v, lowest, max)) == clamp(v, max(lowest, 0), max), as max >= 0 in every format.
  f.low = static_cast<std::int32_t>(c.relu ? std::max<std::int64_t>(lowest, 0) : lowest);
  f.high = static_cast<std::int32_t>(o.max_raw());
  return f;
}

/// values[p] (int32, pooled positions p = y * width + x < count) as int16 into one channel's plane of `layout`.
inline void store_values(const std::int32_t* values, std::size_t count, const ActivationLayout& layout, std::int16_t* plane) {
  const auto width = static_cast<std::size_t>(layout.width);
  for (std::size_t p = 0; p < count; p += width) {
    std::int16_t* row = plane + layout.row_offset(static_cast<int>(p / width));
    for (std::size_t x = 0; x < width; ++x) row[x] = static_cast<std::int16_t>(values[p + x]);
  }
}

/// One masked store of a converted vector (16 pooled positions as int16): its lanes `mask` go to `offset`
/// elements from the channel's plane, the address of lane 0 (up to 15 lanes left of a row: the buffers have
/// 16 elements of slack before them).
struct LaneStore {
  std::int32_t offset = 0;
  std::uint32_t mask = 0;
};

/// The stores of every vector of a pooled plane: vector v's are stores[first[v], first[v + 1]), one per row of
/// `layout` it touches (one in all for consecutive rows). The two common layouts skip the table: consecutive rows
/// (one store, at 16 v), and rows of 8 in two blocks (vector v is rows 2v and 2v + 1: its halves go to row v of
/// each block).
struct StorePlan {
  enum class Mode { consecutive, two_blocks_of_8, table };
  Mode mode = Mode::table;
  std::size_t count = 0;        // pooled positions
  std::size_t second_block = 0; // two_blocks_of_8: offset of block 1
  std::vector<LaneStore> stores;
  std::vector<std::uint32_t> first;
};

/// A StorePlan's fields by value, for the multiply-add epilogue to hold in registers: the intrinsics' stores may
/// alias anything, so fields read through a pointer would be reloaded after every store.
struct StoreView {
  StorePlan::Mode mode;
  std::size_t count, second_block;
  const LaneStore* stores;
  const std::uint32_t* first;
  explicit StoreView(const StorePlan& p)
      : mode(p.mode), count(p.count), second_block(p.second_block), stores(p.stores.data()), first(p.first.data()) {}
};

inline StorePlan plan_stores(const ActivationLayout& layout, std::size_t count) {
  StorePlan plan;
  plan.count = count;
  if (layout.blocks == 1) plan.mode = StorePlan::Mode::consecutive;
  if (layout.blocks == 2 && layout.width == 8 && count % 16 == 0) plan.mode = StorePlan::Mode::two_blocks_of_8;
  plan.second_block = layout.row_offset(1);
  const auto width = static_cast<std::size_t>(layout.width);
  for (std::size_t p0 = 0; p0 < count; p0 += 16) {
    plan.first.push_back(static_cast<std::uint32_t>(plan.stores.size()));
    const std::size_t end = std::min(p0 + 16, count);
    for (std::size_t p = p0; p < end;) {
      const std::size_t y = p / width, row_end = std::min(end, (y + 1) * width);
      const std::uint32_t mask = ((1u << (row_end - p0)) - 1) & ~((1u << (p - p0)) - 1);
      // Lane i is position p0 + i, column p0 + i - y width of row y: lane 0's address may be left of the row.
      const auto offset = static_cast<std::ptrdiff_t>(layout.row_offset(static_cast<int>(y))) + static_cast<std::ptrdiff_t>(p0) -
                          static_cast<std::ptrdiff_t>(y * width);
      plan.stores.push_back({static_cast<std::int32_t>(offset), mask});
      if (layout.blocks == 1) {  // consecutive rows: the one store covers the vector
        plan.stores.back().mask = (1u << (end - p0)) - 1;
        break;
      }
      p = row_end;
    }
  }
  plan.first.push_back(static_cast<std::uint32_t>(plan.stores.size()));
  return plan;
}

#if LARSEL_TWIN_AVX512

/// The vector conversion: an add, a shift (by a count vector, vpsravd: one uop; by an xmm count, two), the clamp
/// and the saturating narrowing (which is the upper clamp when the format's top is int16's). `bias` is
/// f.folded(the filter's bias). Plain: f.plain() holds, known at compile time (no tests per vector).
template <bool Plain>
inline __m256i convert_vector(__m512i sums, const FastConversion& f, __m512i bias) {
  if (!Plain && f.left != 0) sums = _mm512_sllv_epi32(sums, _mm512_set1_epi32(f.left));
  __m512i x = _mm512_add_epi32(sums, bias);
  if (Plain || f.right != 0) x = _mm512_srav_epi32(x, _mm512_set1_epi32(f.right));
  x = _mm512_max_epi32(x, _mm512_set1_epi32(f.low));
  if (!Plain && f.high < 32767) x = _mm512_min_epi32(x, _mm512_set1_epi32(f.high));
  return _mm512_cvtsepi32_epi16(x);
}

/// Vector v of a pooled plane (int16) into its rows. Mode: the plan's mode, known at compile time, or table for
/// any (tested per vector).
template <StorePlan::Mode Mode>
inline void store_vector(__m256i h, const StoreView& stores, std::size_t v, std::int16_t* plane) {
  constexpr bool any = Mode == StorePlan::Mode::table;
  if (Mode == StorePlan::Mode::two_blocks_of_8 || (any && stores.mode == StorePlan::Mode::two_blocks_of_8)) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(plane + 8 * v), _mm256_castsi256_si128(h));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(plane + stores.second_block + 8 * v), _mm256_extracti128_si256(h, 1));
  } else if ((Mode == StorePlan::Mode::consecutive || (any && stores.mode == StorePlan::Mode::consecutive)) && 16 * v + 16 <= stores.count) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(plane + 16 * v), h);
  } else {
    for (const LaneStore* s = stores.stores + stores.first[v]; s != stores.stores + stores.first[v + 1]; ++s) {
      _mm256_mask_storeu_epi16(plane + s->offset, static_cast<__mmask16>(s->mask), h);
    }
  }
}

#endif

}  // namespace larsel::fpga::detail
