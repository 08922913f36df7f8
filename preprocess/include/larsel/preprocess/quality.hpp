#pragma once
// Quality of the denoise stage on simulated data with per-pixel truth
// (daq::sim::SignalImages): how much of the neutrino's charge survives zero
// suppression, how many noise-only pixels do, and signal-to-noise before and
// after, for signal frames binned by visible energy. docs/preprocess.md.
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "larsel/daq/frame.hpp"
#include "larsel/daq/sim/frame_simulator.hpp"
#include "larsel/daq/sim/truth.hpp"

namespace larsel::preprocess {

class QualityAccumulator {
 public:
  /// Visible-energy bin edges in MeV for signal frames (the last bin is open).
  static constexpr std::array<double, 6> kEnergyEdges = {0.0, 2.0, 5.0, 10.0, 20.0, 50.0};
  /// A pixel whose true signal (neutrino + radiological) is below this is noise-only.
  static constexpr float kNoiseOnlyAdc = 0.5f;

  /// One frame: raw ADC, the preprocessor's filtered (f) and denoised (z) planes, and truth.
  void add(std::span<const std::uint16_t> raw, std::span<const std::int16_t> filtered,
           std::span<const std::int16_t> denoised, const daq::sim::FrameTruth& truth, const daq::sim::SignalImages& images);
  [[nodiscard]] nlohmann::ordered_json report() const;

 private:
  struct EnergyBin {
    std::size_t frames = 0;
    double charge = 0, charge_kept = 0;
    std::vector<double> snr_before, snr_after;
  };
  std::array<EnergyBin, kEnergyEdges.size()> bins_{};
  std::size_t frames_ = 0, noise_pixels_ = 0, noise_pixels_kept_ = 0;
  double radiological_charge_ = 0, radiological_charge_kept_ = 0;
  double noise_sum2_raw_ = 0, noise_sum2_filtered_ = 0, noise_sum2_denoised_ = 0;
};

}  // namespace larsel::preprocess
