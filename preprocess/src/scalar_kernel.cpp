// Scalar reference: the definition in preprocessor.hpp, written one sample at
// a time for clarity. The optimised kernel must reproduce it bit for bit.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "channel_update.hpp"

namespace larsel::preprocess::detail {
namespace {

constexpr std::size_t kTicks = Frame::kTicks;
using Plane = std::int16_t[Frame::kWires][kTicks];  // one wire-major 480 x 64 work plane

void subtract_pedestals(const ChannelState& state, FrameAdc adc, Plane& x, FrameStatistics& stats) {
  for (std::size_t w = 0; w < Frame::kWires; ++w) {
    int signs = 0;
    for (std::size_t t = 0; t < kTicks; ++t) {
      x[w][t] = static_cast<std::int16_t>(adc[w * kTicks + t] - state.pedestal[w]);
      signs += (x[w][t] > 0) - (x[w][t] < 0);
    }
    stats.sign_sum[w] = static_cast<std::int16_t>(signs);
  }
}

void remove_coherent_noise(const KernelPlan& plan, const Plane& x, Plane& y) {
  std::memcpy(y, x, sizeof(Plane));
  std::int16_t values[MedianNetwork::kMaxInputs];
  for (const WireGroup& g : plan.groups) {
    for (std::size_t t = 0; t < kTicks; ++t) {
      for (std::size_t i = 0; i < g.wires; ++i) values[i] = saturate_int8(x[g.first_wire + i][t]);
      std::sort(values, values + g.wires);
      const std::int16_t cm = median_of_middle(values[(g.wires - 1) / 2], values[g.wires / 2]);
      for (std::size_t i = 0; i < g.wires; ++i) y[g.first_wire + i][t] = static_cast<std::int16_t>(x[g.first_wire + i][t] - cm);
    }
  }
}

void low_pass(const KernelPlan& plan, const Plane& y, Plane& f) {
  const int shift = static_cast<int>(plan.config.fir.shift);
  for (std::size_t w = 0; w < Frame::kWires; ++w) {
    for (std::size_t t = 0; t < kTicks; ++t) {
      std::int32_t sum = 0;
      for (std::size_t k = 0; k < plan.fir_taps.size(); ++k) {
        const auto s = static_cast<std::ptrdiff_t>(t + k) - static_cast<std::ptrdiff_t>(plan.fir_centre);
        if (s >= 0 && s < static_cast<std::ptrdiff_t>(kTicks)) sum += plan.fir_taps[k] * y[w][s];
      }
      f[w][t] = static_cast<std::int16_t>(std::clamp(sum >> shift, -32767, 32767));
    }
  }
}

/// Is tick t in a run of at least `min_run` ticks over threshold? Ticks
/// beyond the frame's edges count as over threshold.
bool in_long_run(const bool* over, std::size_t t, std::size_t min_run) {
  std::size_t first = t, last = t;
  while (first > 0 && over[first - 1]) --first;
  while (last + 1 < kTicks && over[last + 1]) ++last;
  return first == 0 || last + 1 == kTicks || last - first + 1 >= min_run;
}

void zero_suppress(const KernelPlan& plan, const ChannelState& state, const Plane& f, Plane& z, FrameStatistics& stats) {
  const std::size_t min_run = plan.config.threshold.min_ticks_over;
  for (std::size_t w = 0; w < Frame::kWires; ++w) {
    bool over[kTicks];
    int clipped = 0;
    for (std::size_t t = 0; t < kTicks; ++t) {
      over[t] = f[w][t] > state.threshold[w];
      clipped += std::min<int>(std::abs(f[w][t]), state.noise_clip[w]);
    }
    stats.clipped_abs_sum[w] = static_cast<std::int16_t>(clipped);
    for (std::size_t t = 0; t < kTicks; ++t) z[w][t] = over[t] && in_long_run(over, t, min_run) ? f[w][t] : 0;
  }
}

void downsize(const PreprocessConfig& config, const Plane& z, std::span<std::uint8_t> image) {
  const DownsizeConfig& d = config.downsize;
  const std::size_t columns = config.output_columns();
  for (std::size_t r = 0; r < config.output_rows(); ++r) {
    for (std::size_t c = 0; c < columns; ++c) {
      std::int32_t pooled = 0;
      for (std::size_t w = r * d.wires; w < (r + 1) * d.wires; ++w) {
        for (std::size_t t = c * d.ticks; t < (c + 1) * d.ticks; ++t) {
          pooled = d.mode == PoolMode::max ? std::max<std::int32_t>(pooled, z[w][t]) : pooled + z[w][t];
        }
      }
      image[r * columns + c] = static_cast<std::uint8_t>(std::min(255, pooled >> d.shift));
    }
  }
}

}  // namespace

void scalar_frame(const KernelPlan& plan, ChannelState& state, FrameAdc adc, const FrameOutputs& outputs,
                  FrameStatistics& stats, std::byte* scratch) {
  static_assert(4 * sizeof(Plane) <= kScratchBytes);
  auto& x = *reinterpret_cast<Plane*>(scratch);
  auto& y = *reinterpret_cast<Plane*>(scratch + sizeof(Plane));
  auto& f = *reinterpret_cast<Plane*>(scratch + 2 * sizeof(Plane));
  auto& z = *reinterpret_cast<Plane*>(scratch + 3 * sizeof(Plane));
  subtract_pedestals(state, adc, x, stats);
  remove_coherent_noise(plan, x, y);
  if (plan.fir_taps.empty()) {
    std::memcpy(f, y, sizeof(Plane));
  } else {
    low_pass(plan, y, f);
  }
  zero_suppress(plan, state, f, z, stats);
  downsize(plan.config, z, outputs.image);
  if (!outputs.denoised.empty()) std::memcpy(outputs.denoised.data(), z, sizeof(Plane));
  if (!outputs.filtered.empty()) std::memcpy(outputs.filtered.data(), f, sizeof(Plane));
  update_channels(plan.config, stats, state);
}

}  // namespace larsel::preprocess::detail
