#pragma once
// What the frame kernels share: the plan made once from the configuration,
// the per-frame statistics they return for the channel update, and their
// entry points. The channel update itself (channel_update.cpp) is common code,
// so the two implementations can only differ in what a kernel computes.
#include <array>
#include <span>
#include <cstdint>
#include <vector>

#include "median_network.hpp"
#include "larsel/preprocess/preprocessor.hpp"

namespace larsel::preprocess::detail {

/// Consecutive wires sharing one coherent-noise median.
struct WireGroup {
  std::uint16_t first_wire = 0;
  std::uint16_t wires = 0;
  const MedianNetwork* network = nullptr;
};

struct KernelPlan {
  explicit KernelPlan(const PreprocessConfig& config);
  KernelPlan(const KernelPlan&) = delete;
  KernelPlan& operator=(const KernelPlan&) = delete;

  PreprocessConfig config;
  std::vector<MedianNetwork> networks;  // one per distinct group size
  std::vector<WireGroup> groups;        // empty when coherent removal is off
  std::vector<std::int32_t> fir_taps;   // empty when the FIR is off
  unsigned fir_centre = 0;              // f(t) = sum_k taps[k] y(t + k - fir_centre)
};

/// Per-frame measurements feeding the channel update.
struct FrameStatistics {
  std::array<std::int16_t, Frame::kWires> sign_sum{};         // sum over ticks of sign(x)
  std::array<std::int16_t, Frame::kWires> clipped_abs_sum{};  // sum over ticks of min(|f|, noise_clip)
};

/// Median of n sorted values as the network defines it: the middle one, or
/// the floor of the mean of the two middle ones.
inline std::int16_t median_of_middle(std::int16_t lower, std::int16_t upper) noexcept {
  return static_cast<std::int16_t>((lower + upper) >> 1);
}
inline std::int16_t saturate_int8(int v) noexcept { return static_cast<std::int16_t>(v < -128 ? -128 : v > 127 ? 127 : v); }

/// Kernel: pedestal + coherent + FIR + threshold + pool for one frame with
/// the given channel state, filling `outputs`, then the channel update
/// (channel_update.hpp) from the frame's statistics. `scratch` is the kernel's
/// own working memory (kScratchBytes).
using FrameKernel = void (*)(const KernelPlan&, ChannelState&, FrameAdc, const FrameOutputs&, FrameStatistics&,
                             std::byte* scratch);

void scalar_frame(const KernelPlan&, ChannelState&, FrameAdc, const FrameOutputs&, FrameStatistics&, std::byte*);

/// Each wire's frame median, floor((32nd + 33rd smallest) / 2): the
/// frame_median pedestal and the first frame's initialisation.
using FrameMedians = void (*)(FrameAdc, std::span<std::int16_t, Frame::kWires>);
void scalar_frame_medians(FrameAdc adc, std::span<std::int16_t, Frame::kWires> medians);
inline constexpr std::size_t kScratchBytes = 256 * 1024;

namespace avx512 {
void vector_frame(const KernelPlan&, ChannelState&, FrameAdc, const FrameOutputs&, FrameStatistics&, std::byte*);
void frame_medians(FrameAdc adc, std::span<std::int16_t, Frame::kWires> medians);
/// The fused kernel (fused_avx512_kernel.cpp), for the configurations of fused_kernel_supports (fused_common.hpp).
void fused_frame(const KernelPlan&, ChannelState&, FrameAdc, const FrameOutputs&, FrameStatistics&, std::byte*);
}
namespace avx2 {
void vector_frame(const KernelPlan&, ChannelState&, FrameAdc, const FrameOutputs&, FrameStatistics&, std::byte*);
void frame_medians(FrameAdc adc, std::span<std::int16_t, Frame::kWires> medians);
/// The fused kernel (fused_avx2_kernel.cpp), for the configurations of fused_kernel_supports (fused_common.hpp).
void fused_frame(const KernelPlan&, ChannelState&, FrameAdc, const FrameOutputs&, FrameStatistics&, std::byte*);
}
namespace baseline {
void vector_frame(const KernelPlan&, ChannelState&, FrameAdc, const FrameOutputs&, FrameStatistics&, std::byte*);
void frame_medians(FrameAdc adc, std::span<std::int16_t, Frame::kWires> medians);
}

/// Channel initialisation from a first frame (pedestals = its medians).
void initialise_channels(const PreprocessConfig& config, FrameAdc adc, FrameMedians medians, ChannelState& state);

}  // namespace larsel::preprocess::detail
