#include "larsel/daq/sim/physics_source.hpp"

#include <algorithm>
#include <cmath>

#include "larsel/daq/wibeth.hpp"
#include "random.hpp"

namespace larsel::daq::sim {
namespace {
constexpr std::size_t kInductionChannels = kStreamsPerFace * FaceWaveforms::kInductionPerStream;
constexpr std::uint64_t kSignalIndexBase = std::uint64_t{1} << 40;  // signal frames draw from their own RNG streams
}  // namespace

PhysicsWaveformSource::PhysicsWaveformSource(const SimConfig& config, std::uint64_t seed)
    : config_(config), seed_(seed), bank_(std::make_shared<const NoiseBank>(seed)) {
  Rng rng(seed, 0x494E44554354ULL);  // "INDUCT"
  for (std::size_t c = 0; c < kInductionChannels; ++c) {
    induction_pedestal_.push_back(static_cast<float>(config_.noise.induction_pedestal + config_.noise.pedestal_spread * rng.normal()));
  }
}

FrameSimulator& PhysicsWaveformSource::simulator(std::uint32_t face) {
  if (simulators_.size() <= face) simulators_.resize(face + 1);
  if (!simulators_[face]) simulators_[face] = std::make_unique<FrameSimulator>(config_, seed_ + 0x9E37ULL * face, bank_);
  return *simulators_[face];
}

void PhysicsWaveformSource::fill_induction(std::uint32_t face, std::uint64_t index, FaceWaveforms& out) const {
  Rng rng(seed_ + face, index ^ 0x5A5A5A5A5AULL);
  const NoiseBank& bank = *bank_;
  const auto incoherent = static_cast<float>(config_.noise.induction_incoherent_rms);
  const auto coherent = static_cast<float>(config_.noise.induction_coherent_rms);
  for (std::size_t stream = 0; stream < kStreamsPerFace; ++stream) {
    const float* shared = bank.at(rng.next() % bank.size());  // one coherent stretch per stream
    for (std::size_t k = 0; k < FaceWaveforms::kInductionPerStream; ++k) {
      const std::size_t channel = stream * FaceWaveforms::kInductionPerStream + k;
      const float* own = bank.at(rng.next() % bank.size());
      std::uint16_t* row = out.induction.data() + channel * Frame::kTicks;
      for (std::size_t t = 0; t < Frame::kTicks; ++t) {
        const float v = induction_pedestal_[channel] + 0.5f + incoherent * own[t] + coherent * shared[t];
        row[t] = static_cast<std::uint16_t>(std::clamp(v, 0.0f, static_cast<float>(wibeth::kAdcMax)));
      }
    }
  }
}

void PhysicsWaveformSource::fill(std::uint32_t face, std::uint64_t index, FrameLabel label, FaceWaveforms& out,
                                 FrameTruth& truth) {
  simulator(face).simulate(index, label, out.collection, truth);
  fill_induction(face, index, out);
}

void PhysicsWaveformSource::generate(std::uint32_t face, std::uint64_t period, FaceWaveforms& out) {
  constexpr StreamPlan kEndless{std::uint64_t{1} << 40, 0};  // 1.1e12 periods: 417 days of one face
  if (streams_.size() <= face) streams_.resize(face + 1);
  StreamBlock& block = streams_[face];
  const std::uint64_t first = period - period % kStreamBlock;
  if (block.first != first) {
    block.pixels.resize(kStreamBlock * Frame::kPixels);
    block.truth.resize(kStreamBlock);
    simulator(face).simulate_stream(kEndless, first, kStreamBlock, block.pixels, block.truth, block.events);
    block.first = first;
  }
  std::copy_n(block.pixels.begin() + static_cast<std::ptrdiff_t>((period - first) * Frame::kPixels), Frame::kPixels, out.collection.begin());
  fill_induction(face, period, out);
}

void PhysicsWaveformSource::generate_signal(std::uint32_t face, std::uint64_t index, FaceWaveforms& out, FrameTruth& truth) {
  fill(face, kSignalIndexBase + index, FrameLabel::signal, out, truth);
}

}  // namespace larsel::daq::sim
