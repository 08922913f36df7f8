#pragma once
// The channel update after each frame. Inline code, always included before a
// kernel's ISA region (larsel/core/isa_region.hpp), so every translation unit
// holds the same baseline copy and the linker may keep any one. Integer
// arithmetic only, so every build gives the same bits.
#include <algorithm>
#include <cmath>

#include "kernel.hpp"

namespace larsel::preprocess::detail {

inline constexpr int kReciprocalShift = 17;
/// Truncating division a / limit for |a| < limit + 65 and limit <= 255 as an
/// FPGA would do it: multiply by ceil(2^17 / limit) and shift. Exact because
/// |a| x limit < 2^17 (tested for every a and limit in range).
inline std::int32_t divide_by_limit(std::int32_t a, std::int32_t reciprocal) {
  const std::int32_t magnitude = ((a < 0 ? -a : a) * reciprocal) >> kReciprocalShift;
  return a < 0 ? -magnitude : magnitude;
}
inline std::int32_t limit_reciprocal(unsigned limit) {
  return static_cast<std::int32_t>(((1u << kReciprocalShift) + limit - 1) / limit);
}

/// The noise statistic clips |f| at 5 sigma but at most 127, so clipped values
/// fit a byte (the fused kernel sums them with vpsadbw). 127 = 5 x 25 ADC, far
/// above any working channel's noise (~8 ADC, detector-and-formats.md).
inline constexpr std::int32_t kMaxNoiseClip = 127;

inline void set_thresholds(const PreprocessConfig& config, ChannelState& state) {
  const auto k_q4 = static_cast<std::int32_t>(std::lround(config.threshold.sigmas * 16));
  const std::int32_t floor = config.threshold.min_adc;
  for (std::size_t w = 0; w < Frame::kWires; ++w) {
    const std::int32_t sigma_q4 = state.sigma_q4[w];  // <= 2^16 and k <= 100: the product fits in int32
    state.threshold[w] = static_cast<std::int16_t>(std::min(std::max(floor, (k_q4 * sigma_q4 + 255) >> 8), 32767));
    state.noise_clip[w] = static_cast<std::int16_t>(std::clamp((5 * sigma_q4 + 15) >> 4, 1, kMaxNoiseClip));
  }
}

inline void update_channels(const PreprocessConfig& config, const FrameStatistics& stats, ChannelState& state) {
  if (config.pedestal.method == PedestalMethod::frugal) {
    // Frugal streaming median (Ma, Muthukrishnan, Sandler 2013; DUNE-DAQ
    // tpglibs) fed the frame's net count: each `limit` net samples above
    // (below) move the pedestal up (down) by one ADC count.
    const auto limit = static_cast<std::int32_t>(config.pedestal.accumulator_limit);
    const std::int32_t reciprocal = limit_reciprocal(config.pedestal.accumulator_limit);
    for (std::size_t w = 0; w < Frame::kWires; ++w) {
      const std::int32_t accumulator = state.frugal_accumulator[w] + stats.sign_sum[w];
      const std::int32_t step = divide_by_limit(accumulator, reciprocal);
      state.pedestal[w] = static_cast<std::int16_t>(std::clamp(state.pedestal[w] + step, 0, 16383));
      state.frugal_accumulator[w] = static_cast<std::int16_t>(accumulator - step * limit);
    }
  }
  const unsigned shift = config.threshold.noise_update_shift;
  for (std::size_t w = 0; w < Frame::kWires; ++w) {
    // Frame estimate of sigma in 1/16 ADC: 1.2533 x sum/64 x 16 = sum x 0.31333 ~ sum x 321 / 1024.
    const std::int32_t estimate_q4 = (static_cast<std::int32_t>(stats.clipped_abs_sum[w]) * 321) >> 10;
    state.sigma_q4[w] = std::max(state.sigma_q4[w] + ((estimate_q4 - state.sigma_q4[w]) >> shift), 1);
  }
  set_thresholds(config, state);
}

}  // namespace larsel::preprocess::detail
