// Channel state: initialisation from a first frame (shared by both implementations).
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "channel_update.hpp"

namespace larsel::preprocess::detail {
namespace {

/// Median of 64 values: floor of the mean of the 32nd and 33rd smallest.
std::int16_t median64(std::array<std::int16_t, Frame::kTicks>& v) {
  std::nth_element(v.begin(), v.begin() + 32, v.end());
  const std::int16_t upper = v[32];
  const std::int16_t lower = *std::max_element(v.begin(), v.begin() + 32);
  return median_of_middle(lower, upper);
}

}  // namespace

void scalar_frame_medians(FrameAdc adc, std::span<std::int16_t, Frame::kWires> medians) {
  std::array<std::int16_t, Frame::kTicks> v{};
  for (std::size_t w = 0; w < Frame::kWires; ++w) {
    for (std::size_t t = 0; t < Frame::kTicks; ++t) v[t] = static_cast<std::int16_t>(adc[w * Frame::kTicks + t]);
    medians[w] = median64(v);
  }
}

void initialise_channels(const PreprocessConfig& config, FrameAdc adc, FrameMedians medians, ChannelState& state) {
  medians(adc, state.pedestal);
  std::array<std::int16_t, Frame::kTicks> deviation{};
  for (std::size_t w = 0; w < Frame::kWires; ++w) {
    for (std::size_t t = 0; t < Frame::kTicks; ++t) {
      deviation[t] = static_cast<std::int16_t>(std::abs(adc[w * Frame::kTicks + t] - state.pedestal[w]));
    }
    // sigma = 1.4826 x MAD for Gaussian noise; 1.4826 x 16 = 23.72 = 1518 / 64.
    state.sigma_q4[w] = std::clamp((median64(deviation) * 1518) >> 6, 1, 1 << 16);
    state.frugal_accumulator[w] = 0;
  }
  set_thresholds(config, state);
  state.initialised = true;
}

}  // namespace larsel::preprocess::detail
