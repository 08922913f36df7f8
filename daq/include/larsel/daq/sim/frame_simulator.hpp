#pragma once
// One simulated 480 x 64 collection frame with its truth: pedestals and
// shaped noise, radiological backgrounds arriving during (or just before) the
// frame, and for signal frames a nu_e CC interaction whose vertex arrives
// inside the frame. Frame i of a run depends only on (seed, i), so runs are
// reproducible and can be split across threads.
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "larsel/daq/frame.hpp"
#include "larsel/daq/sim/charge.hpp"
#include "larsel/daq/sim/generators.hpp"
#include "larsel/daq/sim/noise.hpp"
#include "larsel/daq/sim/truth.hpp"

namespace larsel::daq::sim {

enum class ChannelState : std::uint8_t { good, dead, stuck };

/// Noise-free shaped signal of a frame (ADC above pedestal, wire-major 480 x 64),
/// split by origin: for quality studies of the stages that follow.
struct SignalImages {
  std::vector<float> neutrino;      // the signal interaction's charge
  std::vector<float> radiological;  // backgrounds (39Ar, 42Ar/42K, neutron captures)
};

class FrameSimulator {
 public:
  /// `bank` may be shared between simulators (threads); made from `seed` if null.
  FrameSimulator(const SimConfig& config, std::uint64_t seed, std::shared_ptr<const NoiseBank> bank = nullptr);

  /// `images`, if given, receives the frame's noise-free signal by origin.
  void simulate(std::uint64_t index, FrameLabel label, std::span<std::uint16_t, Frame::kPixels> out, FrameTruth& truth,
                SignalImages* images = nullptr);

  [[nodiscard]] const SimConfig& config() const noexcept { return config_; }
  [[nodiscard]] const BackgroundGenerator& backgrounds() const noexcept { return background_; }
  /// Ticks before the frame whose charge is still simulated (its shaped tail reaches into the frame).
  static constexpr double kLeadTicks = ChargeProjector::kResponseTicks;
  /// Shaped pulses peak this long after their charge arrives (2.2 us / 0.512 us).
  static constexpr double kPeakDelayTicks = physics::kShapingTimeUs / physics::kTickUs;

 private:
  void add_backgrounds(Rng& rng, FrameTruth& truth);
  void add_signal(Rng& rng, FrameTruth& truth);
  void compose(Rng& rng, std::span<std::uint16_t, Frame::kPixels> out);
  void draw_channels();

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
};

}  // namespace larsel::daq::sim
