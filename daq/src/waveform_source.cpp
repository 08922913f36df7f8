#include "larsel/daq/waveform_source.hpp"

#include <algorithm>
#include <cmath>

#include "larsel/core/errors.hpp"
#include "larsel/daq/wibeth.hpp"

namespace larsel::daq {

void WaveformSource::generate_signal(std::uint32_t, std::uint64_t, FaceWaveforms&, sim::FrameTruth&) {
  throw core::ConfigError("this waveform source has no signal model: use the physics source to inject signal");
}

NoiseWaveformSource::NoiseWaveformSource(const NoiseSourceConfig& config) : config_(config), rng_(config.seed) {}

void NoiseWaveformSource::ensure_face(std::uint32_t face) {
  constexpr std::size_t kInductionPerFace = kStreamsPerFace * FaceWaveforms::kInductionPerStream;
  while (collection_pedestals_.size() < (face + 1) * std::size_t{Frame::kWires}) {
    collection_pedestals_.push_back(
        static_cast<float>(config_.collection_pedestal + config_.pedestal_spread * gauss_(rng_)));
  }
  while (induction_pedestals_.size() < (face + 1) * kInductionPerFace) {
    induction_pedestals_.push_back(
        static_cast<float>(config_.induction_pedestal + config_.pedestal_spread * gauss_(rng_)));
  }
}

std::uint16_t NoiseWaveformSource::sample(double pedestal, double rms) {
  const double value = std::round(pedestal + rms * gauss_(rng_));
  return static_cast<std::uint16_t>(std::clamp(value, 0.0, double{wibeth::kAdcMax}));  // ADC saturates
}

void NoiseWaveformSource::generate(std::uint32_t face, std::uint64_t /*period*/, FaceWaveforms& out) {
  ensure_face(face);
  constexpr std::size_t kTicks = Frame::kTicks;
  const float* collection_ped = collection_pedestals_.data() + face * std::size_t{Frame::kWires};
  for (std::size_t wire = 0; wire < Frame::kWires; ++wire) {
    for (std::size_t t = 0; t < kTicks; ++t) {
      out.collection[wire * kTicks + t] = sample(collection_ped[wire], config_.collection_rms);
    }
  }
  constexpr std::size_t kInductionPerFace = kStreamsPerFace * FaceWaveforms::kInductionPerStream;
  const float* induction_ped = induction_pedestals_.data() + face * kInductionPerFace;
  for (std::size_t ch = 0; ch < kInductionPerFace; ++ch) {
    for (std::size_t t = 0; t < kTicks; ++t) {
      out.induction[ch * kTicks + t] = sample(induction_ped[ch], config_.induction_rms);
    }
  }
}

}  // namespace larsel::daq
