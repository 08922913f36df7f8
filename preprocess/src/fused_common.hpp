#pragma once
// What the fused frame kernels (fused_avx512_kernel.cpp, fused_avx2_kernel.cpp)
// share: the configurations they cover, the channel state as broadcastable
// words, the run filter on a wire's 64-tick over-threshold mask, and the frame
// around their passes. Plain inline code, compiled into each kernel set's unit
// but defined before its ISA region (larsel/core/isa_region.hpp): one baseline
// copy for all; the kernel set's code comes in through the templates' arguments.
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "channel_update.hpp"
#include "kernel.hpp"

namespace larsel::preprocess::detail {

/// Wires per pass of a fused kernel when coherent removal is off.
inline constexpr unsigned kFusedUncoherentBlock = 24;

/// The configurations the fused kernels run: coherent groups of 16, 24 or 32 wires (or coherent off), pooling
/// whole groups of wires over 1, 2 or 4 ticks, max pooling or sum pooling with shift <= 7 (a saturated 16-bit
/// sum >> 7 still saturates the byte), and no FIR.
inline bool fused_kernel_supports(const PreprocessConfig& config) {
  const unsigned block = config.coherent.enabled ? config.coherent.group_wires : kFusedUncoherentBlock;
  const bool group_ok = block == 16 || block == 24 || block == 32;
  const bool mode_ok = config.downsize.mode == PoolMode::max || config.downsize.shift <= 7;
  const bool pool_ok = mode_ok && block % config.downsize.wires == 0 &&
                       (config.downsize.ticks == 1 || config.downsize.ticks == 2 || config.downsize.ticks == 4);
  return group_ok && pool_ok && !config.fir.enabled;
}

/// The channel state as broadcastable words: dword broadcasts are plain loads, word and byte broadcasts from
/// memory cost a shuffle.
struct FusedTables {
  alignas(64) std::uint32_t minus_pedestal[Frame::kWires];  // -pedestal in both 16-bit halves
  alignas(64) std::uint32_t threshold[Frame::kWires];       // threshold in both 16-bit halves
  alignas(64) std::uint32_t clip[Frame::kWires];            // noise_clip (<= 127) in all four bytes
};

inline void fill_tables(const ChannelState& state, FusedTables& t) {
  for (std::size_t w = 0; w < Frame::kWires; ++w) {
    t.minus_pedestal[w] = static_cast<std::uint16_t>(-state.pedestal[w]) * 0x00010001u;
    t.threshold[w] = static_cast<std::uint16_t>(state.threshold[w]) * 0x00010001u;
    t.clip[w] = static_cast<std::uint8_t>(state.noise_clip[w]) * 0x01010101u;
  }
}

/// A wire's over-threshold mask (bit t: tick t) with runs shorter than n removed; ticks beyond the frame's edges
/// count as over, so runs touching an edge are kept whole.
inline std::uint64_t keep_long_runs(unsigned n, std::uint64_t over) {
  std::uint64_t all_over = over;  // bit t: ticks t .. t + n - 1 all over (ones beyond tick 63)
  for (unsigned i = 1; i < n; ++i) all_over &= over >> i | ~(~std::uint64_t{0} >> i);
  std::uint64_t keep = all_over;
  for (unsigned j = 1; j < n; ++j) keep |= all_over << j;
  const std::uint64_t first_gap = ~over & (over + 1);  // lowest tick not over (0 if none)
  const std::uint64_t leading_run = first_gap - 1;     // the run from tick 0 (all ticks if none)
  return (keep | leading_run) & over;
}

/// What a fused kernel's passes read and write, as plain pointers so that stores to one array do not make the
/// compiler reload the others. Scratch: the kernel's own, its FusedTables in member `tables`.
template <typename Scratch>
struct FusedContext {
  const FusedTables& tables;
  Scratch& scratch;
  const std::uint16_t* adc;
  std::int16_t* sign_sums;   // FrameStatistics::sign_sum
  std::int16_t* noise_sums;  // FrameStatistics::clipped_abs_sum
  std::uint8_t* image;
  std::size_t columns;       // of the image
  std::int16_t* denoised;    // null when not wanted
  std::int16_t* filtered;    // null when not wanted
  unsigned min_run;          // threshold.min_ticks_over
  DownsizeConfig downsize;
};

/// A fused kernel's frame: the channel state as tables in its scratch, the context, the kernel's passes as
/// process(context, std::integral_constant<unsigned, wires per pass>, std::bool_constant<coherent removal>), and
/// the per-frame channel update.
template <typename Scratch, typename Process>
[[gnu::always_inline]] inline void run_fused_frame(const KernelPlan& plan, ChannelState& state, FrameAdc adc,
                                                   const FrameOutputs& outputs, FrameStatistics& stats,
                                                   std::byte* scratch, Process&& process) {
  Scratch& s = *reinterpret_cast<Scratch*>(scratch);
  fill_tables(state, s.tables);
  auto or_null = [](std::span<std::int16_t> plane) { return plane.empty() ? nullptr : plane.data(); };
  const PreprocessConfig& config = plan.config;
  const FusedContext<Scratch> c{s.tables, s, adc.data(), stats.sign_sum.data(), stats.clipped_abs_sum.data(),
                                outputs.image.data(), config.output_columns(), or_null(outputs.denoised),
                                or_null(outputs.filtered), config.threshold.min_ticks_over, config.downsize};
  if (!config.coherent.enabled) {
    process(c, std::integral_constant<unsigned, kFusedUncoherentBlock>{}, std::false_type{});
  } else if (config.coherent.group_wires == 16) {
    process(c, std::integral_constant<unsigned, 16>{}, std::true_type{});
  } else if (config.coherent.group_wires == 24) {
    process(c, std::integral_constant<unsigned, 24>{}, std::true_type{});
  } else {
    process(c, std::integral_constant<unsigned, 32>{}, std::true_type{});
  }
  update_channels(config, stats, state);
}

}  // namespace larsel::preprocess::detail
