#pragma once
// Denoise + downsize of one APA face's 480 x 64 collection frames, in integer
// arithmetic (the steps an FPGA would do, docs/preprocess.md):
//   1. pedestal: x = adc - pedestal(wire), the pedestal a frugal streaming
//      median carried across frames (or each frame's median);
//   2. coherent noise: y = x - cm(group, tick), cm the median over the group's
//      wires of x saturated to [-128, 127] (coherent noise is a few ADC; the
//      saturation keeps a large signal from being subtracted as "noise");
//   3. optional centred integer FIR low-pass: f = (sum h_k y(t + k - c)) >> shift;
//   4. zero suppression: z = f where f > threshold(wire) (in runs of at least
//      min_ticks_over ticks), else 0; threshold = max(min_adc, ceil(k sigma));
//   5. downsize: max (or sum) over blocks of wires x ticks, then
//      min(255, value >> shift) as unsigned 8 bit: the CNN input.
// Each wire's sigma follows the mean of min(|f|, clip) over its 64 ticks
// (clip = min(127, ceil(5 sigma)), sigma = 1.2533 mean|f| for Gaussian noise)
// with weight 2^-noise_update_shift per frame. The first frame initialises
// pedestals (median) and sigmas (1.4826 x median absolute deviation).
//
// Two implementations agree bit for bit: a scalar reference written as the
// definition above, and an optimised one (vectorised over ticks; AVX-512BW,
// AVX2 or baseline chosen at run time). One Preprocessor per face: it holds
// that face's channel state. process() does not allocate.
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "larsel/core/kernel_set.hpp"

#include "larsel/daq/frame.hpp"
#include "larsel/preprocess/config.hpp"

namespace larsel::preprocess {

using daq::Frame;
using FrameAdc = std::span<const std::uint16_t, Frame::kPixels>;

enum class Implementation { scalar, optimised };

/// Channel state carried from frame to frame.
struct ChannelState {
  static constexpr std::size_t kWires = Frame::kWires;
  bool initialised = false;
  std::array<std::int16_t, kWires> pedestal{};             // ADC
  std::array<std::int16_t, kWires> frugal_accumulator{};   // net samples above the pedestal, |.| < limit (<= 255)
  std::array<std::int32_t, kWires> sigma_q4{};             // noise sigma in 1/16 ADC
  std::array<std::int16_t, kWires> threshold{};            // ADC: samples must exceed it
  std::array<std::int16_t, kWires> noise_clip{};           // ADC: |f| is clipped here for the noise estimate
};

/// What a frame produces. `image` is required; the others are filled when not empty.
struct FrameOutputs {
  std::span<std::uint8_t> image;      // output_rows() x output_columns(), row-major (wire bins x tick bins)
  std::span<std::int16_t> denoised;   // 480 x 64 wire-major: z, the zero-suppressed ADC above pedestal
  std::span<std::int16_t> filtered;   // 480 x 64 wire-major: f, before the threshold (quality studies)
};

class Preprocessor {
 public:
  /// Optimised: the fastest kernel of the kernel set this process runs (core::selected_kernel_set(): the
  /// CPU's best, or LARSEL_KERNELS). Throws core::ConfigError if the configuration cannot be run.
  explicit Preprocessor(const PreprocessConfig& config, Implementation implementation = Implementation::optimised);
  /// A named kernel from available_kernels(config) (to compare instruction
  /// sets); throws std::invalid_argument for any other name.
  Preprocessor(const PreprocessConfig& config, std::string_view kernel);
  /// The fastest kernel of `kernels` (or of the highest set below it that has one) for the configuration;
  /// std::invalid_argument if this CPU cannot run that set.
  Preprocessor(const PreprocessConfig& config, core::KernelSet kernels);
  ~Preprocessor();
  Preprocessor(Preprocessor&&) noexcept;
  Preprocessor& operator=(Preprocessor&&) noexcept;

  /// Throws std::invalid_argument if an output span has the wrong size.
  void process(FrameAdc adc, const FrameOutputs& outputs);
  /// Forget the channel state: the next frame initialises it again.
  void reset() noexcept;

  [[nodiscard]] const ChannelState& channels() const noexcept;
  [[nodiscard]] const PreprocessConfig& config() const noexcept;
  [[nodiscard]] Implementation implementation() const noexcept;
  /// "scalar", or the optimised kernel running: "avx512-fused" (the common
  /// configurations on AVX-512 CPUs), "avx512", "avx2" or "baseline".
  [[nodiscard]] const char* kernel_name() const noexcept;
  /// The kernels this CPU can run `config` with, fastest first and "scalar" last (whatever LARSEL_KERNELS says).
  [[nodiscard]] static std::vector<std::string> available_kernels(const PreprocessConfig& config);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace larsel::preprocess
