#pragma once
// The simulator's state, shared by the independent-frame mode (frame_simulator.cpp) and the
// continuous stream (stream_simulation.cpp).
#include <memory>
#include <vector>

#include "charge.hpp"
#include "generators.hpp"
#include "larsel/daq/sim/frame_simulator.hpp"
#include "random.hpp"

namespace larsel::daq::sim {

struct FrameSimulator::Impl {
  enum class ChannelState : std::uint8_t { good, dead, stuck };

  Impl(const SimConfig& config, std::uint64_t seed, std::shared_ptr<const NoiseBank> bank);
  void simulate(std::uint64_t index, FrameLabel label, std::span<std::uint16_t, Frame::kPixels> out, FrameTruth& truth,
                SignalImages* images);
  void add_backgrounds(Rng& rng, FrameTruth& truth);
  void add_signal(Rng& rng, FrameTruth& truth);
  void compose(Rng& rng, std::span<std::uint16_t, Frame::kPixels> out);
  void draw_channels();
  // Continuous streams (stream_simulation.cpp).
  void simulate_stream(const StreamPlan& plan, std::uint64_t first, std::size_t count, std::span<std::uint16_t> out,
                       std::span<FrameTruth> truth, std::vector<EventTruth>& events);
  void add_stream_backgrounds(std::uint64_t slot, std::uint64_t first, std::size_t count, std::span<FrameTruth> truth);
  void add_stream_event(const StreamPlan& plan, std::uint64_t index, std::uint64_t first, std::size_t count,
                        std::span<FrameTruth> truth, std::vector<EventTruth>& events);

  SimConfig config_;
  std::uint64_t seed_;
  std::shared_ptr<const NoiseBank> bank_;
  ChargeProjector projector_;
  SignalGenerator signal_;
  BackgroundGenerator background_;
  std::vector<float> pedestal_, incoherent_rms_;
  std::vector<ChannelState> state_;
  std::vector<std::uint16_t> stuck_code_;
  SignalBuffer buffer_, neutrino_buffer_;  // backgrounds, and the neutrino interaction
  std::vector<float> shaped_, neutrino_shaped_;
  std::vector<Deposit> deposits_;
  std::vector<Radioactivity> decays_;
  std::vector<std::size_t> group_offsets_;
  SignalBuffer stream_buffer_{Frame::kTicks};
  std::vector<float> stream_visible_;  // per frame of a block: the neutrino energy visible there
};

}  // namespace larsel::daq::sim
