#pragma once
// The emulator's default waveform source: the physics simulation. Background
// periods are consecutive frames of each face's continuous stream (decays at
// random times, their charge in whichever periods it reaches); signal periods
// add a nu_e CC interaction whose vertex charge arrives in the period, complete
// in that period. Induction channels carry pedestal and shaped noise only.
#include <memory>
#include <vector>

#include "larsel/daq/sim/frame_simulator.hpp"
#include "larsel/daq/waveform_source.hpp"

namespace larsel::daq::sim {

class PhysicsWaveformSource final : public WaveformSource {
 public:
  PhysicsWaveformSource(const SimConfig& config, std::uint64_t seed);
  void generate(std::uint32_t face, std::uint64_t period, FaceWaveforms& out) override;
  [[nodiscard]] bool has_signal() const noexcept override { return true; }
  void generate_signal(std::uint32_t face, std::uint64_t index, FaceWaveforms& out, FrameTruth& truth) override;

 private:
  FrameSimulator& simulator(std::uint32_t face);
  void fill(std::uint32_t face, std::uint64_t index, FrameLabel label, FaceWaveforms& out, FrameTruth& truth);
  /// Frames of a face's background stream, simulated kStreamBlock at a time.
  struct StreamBlock {
    std::uint64_t first = ~std::uint64_t{0};
    std::vector<std::uint16_t> pixels;
    std::vector<FrameTruth> truth;
    std::vector<EventTruth> events;
  };
  static constexpr std::size_t kStreamBlock = 16;
  std::vector<StreamBlock> streams_;  // per face
  /// Induction channels of frame `index` of `face`: pedestal and shaped noise, drawn from their own random stream.
  void fill_induction(std::uint32_t face, std::uint64_t index, FaceWaveforms& out) const;
  SimConfig config_;
  std::uint64_t seed_;
  std::shared_ptr<const NoiseBank> bank_;
  std::vector<std::unique_ptr<FrameSimulator>> simulators_;  // per face, made on first use
  std::vector<float> induction_pedestal_;                    // 20 streams x 40 channels
};

}  // namespace larsel::daq::sim
