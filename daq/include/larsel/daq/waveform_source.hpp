#pragma once
// What the emulator digitises: a face's waveforms over one 64-sample period.
// The physics simulation plugs in here without touching framing or pacing.
#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include "larsel/daq/channel_map.hpp"
#include "larsel/daq/frame.hpp"

namespace larsel::daq {

/// Waveforms of one face for one frame period, already digitised (14-bit).
struct FaceWaveforms {
  static constexpr std::size_t kInductionPerStream = 40;  // 20 U + 20 V
  /// Collection wires, in the Frame layout: [wire 480][tick 64].
  std::array<std::uint16_t, Frame::kPixels> collection{};
  /// Induction channels per stream of the FaceLayout, in frame-position order
  /// (kUPositions then kVPositions): [stream 20][channel 40][tick 64].
  std::array<std::uint16_t, kStreamsPerFace * kInductionPerStream * Frame::kTicks> induction{};
};

namespace sim {
struct FrameTruth;
}

class WaveformSource {
 public:
  virtual ~WaveformSource() = default;
  /// Fill the background waveforms of `face` for frame period `period` (0, 1, ...).
  virtual void generate(std::uint32_t face, std::uint64_t period, FaceWaveforms& out) = 0;
  /// Whether generate_signal() is available (the physics source).
  [[nodiscard]] virtual bool has_signal() const noexcept { return false; }
  /// Waveforms of `face` holding the `index`-th signal interaction, with its truth.
  /// The default throws core::ConfigError: this source has no signal model.
  virtual void generate_signal(std::uint32_t face, std::uint64_t index, FaceWaveforms& out, sim::FrameTruth& truth);
};

/// Per-channel pedestals and white Gaussian noise; the stand-in until the
/// physics emulator. Defaults: see docs/readout.md (fixture-derived RMS).
struct NoiseSourceConfig {
  double collection_pedestal = 3600;   // 900 ADC (12-bit, wire-cell FD params) x 4 for 14 bit
  double induction_pedestal = 9400;    // 2350 ADC (12-bit) x 4
  double pedestal_spread = 100;        // channel-to-channel sigma, ADC
  double collection_rms = 8.0;         // PDHD fixture X: 6.5-10.0 ADC
  double induction_rms = 11.5;         // PDHD fixture U/V: 9.8-13.8 ADC
  std::uint64_t seed = 1;
};

class NoiseWaveformSource final : public WaveformSource {
 public:
  explicit NoiseWaveformSource(const NoiseSourceConfig& config);
  void generate(std::uint32_t face, std::uint64_t period, FaceWaveforms& out) override;

 private:
  std::uint16_t sample(double pedestal, double rms);
  NoiseSourceConfig config_;
  std::mt19937_64 rng_;
  std::normal_distribution<double> gauss_{0.0, 1.0};
  std::vector<float> collection_pedestals_;  // per face wire, drawn on first use of a face
  std::vector<float> induction_pedestals_;
  void ensure_face(std::uint32_t face);
};

}  // namespace larsel::daq
