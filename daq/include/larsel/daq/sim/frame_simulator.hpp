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
#include "larsel/daq/sim/noise.hpp"
#include "larsel/daq/sim/physics.hpp"
#include "larsel/daq/sim/sim_config.hpp"
#include "larsel/daq/sim/truth.hpp"

namespace larsel::daq::sim {

/// Noise-free shaped signal of a frame (ADC above pedestal, wire-major 480 x 64),
/// split by origin: for quality studies of the stages that follow.
struct SignalImages {
  std::vector<float> neutrino;      // the signal interaction's charge
  std::vector<float> radiological;  // backgrounds (39Ar, 42Ar/42K, neutron captures)
};

/// A continuous stream of one face (`larsel simulate --continuous`): frames [0, frames) in which every
/// background decay and `events` neutrino interactions happen at random times and leave their charge
/// in whichever frames it reaches. Event k's vertex arrives at a uniformly random time within the k-th
/// of `events` equal stretches of the stream, so events are random in time but rarely overlap.
struct StreamPlan {
  std::uint64_t frames = 0;
  std::uint64_t events = 0;
  /// Charge is followed this many frames either side of the frame its decay or vertex arrives in
  /// (42 cm of drift: a 50 MeV electron spans ~20 cm [D]; the rare gamma that goes further is cut).
  static constexpr std::uint64_t kReachFrames = 8;
};

class FrameSimulator {
 public:
  /// `bank` may be shared between simulators (threads); made from `seed` if null.
  FrameSimulator(const SimConfig& config, std::uint64_t seed, std::shared_ptr<const NoiseBank> bank = nullptr);
  ~FrameSimulator();
  FrameSimulator(FrameSimulator&&) noexcept;
  FrameSimulator& operator=(FrameSimulator&&) noexcept;

  /// `images`, if given, receives the frame's noise-free signal by origin.
  void simulate(std::uint64_t index, FrameLabel label, std::span<std::uint16_t, Frame::kPixels> out, FrameTruth& truth,
                SignalImages* images = nullptr);

  /// Frames [first, first + count) of the continuous stream `plan` into `out` (count x kPixels) with their
  /// truth, and the neutrino events whose vertex arrives in these frames (with all their frames) appended
  /// to `events`. A frame depends only on (seed, plan, its index): blocks can run on any thread.
  void simulate_stream(const StreamPlan& plan, std::uint64_t first, std::size_t count, std::span<std::uint16_t> out,
                       std::span<FrameTruth> truth, std::vector<EventTruth>& events);

  [[nodiscard]] const SimConfig& config() const noexcept;
  /// Mean number of 39Ar decays arriving per 64-tick frame (the configured activity in the face's volume).
  [[nodiscard]] double mean_ar39_decays_per_frame() const noexcept;
  /// Ticks before the frame whose charge is still simulated (its shaped tail reaches into the frame):
  /// the front-end response length, ChargeProjector::kResponseTicks (12.3 us: the response is < 1e-5
  /// of its peak after; frame_simulator.cpp checks the two agree).
  static constexpr double kLeadTicks = 24;
  /// Shaped pulses peak this long after their charge arrives (2.2 us / 0.512 us).
  static constexpr double kPeakDelayTicks = physics::kShapingTimeUs / physics::kTickUs;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;  // made once per simulator: nothing is allocated per frame
};

}  // namespace larsel::daq::sim
