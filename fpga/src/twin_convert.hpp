#pragma once
// The packed path's output conversion of a convolution: its pooled int32 sums
// into int16 activations, stored in the layout the next layer reads
// (ActivationLayout). The common HLS modes (AP_RND or AP_TRN, with AP_SAT or
// AP_SAT_SYM, accumulators of at most 31 bits) have a vector kernel in every
// kernel set (Simd::convert in twin_simd_*.ipp), run in the multiply-add loop's
// epilogue on the pooled sums still in registers: add the bias, round and
// shift, clamp (saturation and ReLU are one clamp), narrow to int16, store by
// the StorePlan below. Every other case converts with the generic, per-mode
// requantize (twin_requantize.hpp) and stores with plain C++.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "twin_copies.hpp"
#include "twin_requantize.hpp"

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
/// AP_RND/AP_TRN with AP_SAT/AP_SAT_SYM, or shifts outside (0, 31).
inline FastConversion fast_conversion(const Conversion& c, int accumulator_width) {
  FastConversion f;
  const models::FixedPointFormat& o = c.format;
  const int shift = c.from_fraction - o.fractional_bits();
  const bool modes = (o.quantization == Quantization::rnd || o.quantization == Quantization::trn) &&
                     (o.overflow == Overflow::sat || o.overflow == Overflow::sat_sym);
  f.enabled = accumulator_width <= 31 && modes && shift > 0 && shift < 31 && c.sum_shift < 31;
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

/// One store of a converted vector's lanes `mask` (as int16) at `offset` elements from the channel's plane, the
/// address of lane 0 (up to lanes - 1 left of a row: the buffers have PackedPlan::kFront elements of slack).
struct LaneStore {
  std::int32_t offset = 0;
  std::uint32_t mask = 0;
};

/// The stores of every vector of `lanes` pooled positions: vector v's are stores[first[v], first[v + 1]), one per
/// row of `layout` it touches (one in all for consecutive rows). The two common layouts skip the table:
/// consecutive rows (one store, at lanes * v), and rows of 8 in two blocks (the next convolution's row phases:
/// row r at (r & 1) * second_block + (r >> 1) * 8; a vector holds lanes / 8 whole rows).
struct StorePlan {
  enum class Mode { consecutive, row_blocks_of_8, table };
  Mode mode = Mode::table;
  std::size_t count = 0;        // pooled positions
  std::size_t second_block = 0; // row_blocks_of_8: offset of block 1
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

inline StorePlan plan_stores(const ActivationLayout& layout, std::size_t count, int lanes) {
  StorePlan plan;
  plan.count = count;
  const auto n = static_cast<std::size_t>(lanes);
  if (layout.blocks == 1) plan.mode = StorePlan::Mode::consecutive;
  if (layout.blocks == 2 && layout.width == 8 && n % 8 == 0 && count % n == 0) plan.mode = StorePlan::Mode::row_blocks_of_8;
  plan.second_block = layout.row_offset(1);
  const auto width = static_cast<std::size_t>(layout.width);
  for (std::size_t p0 = 0; p0 < count; p0 += n) {
    plan.first.push_back(static_cast<std::uint32_t>(plan.stores.size()));
    const std::size_t end = std::min(p0 + n, count);
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

}  // namespace larsel::fpga::detail
