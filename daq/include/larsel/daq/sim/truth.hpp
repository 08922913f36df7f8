#pragma once
// Truth attached to every simulated 480 x 64 collection frame.
#include <cstdint>
#include <vector>

namespace larsel::daq::sim {

enum class FrameLabel : std::uint8_t { background = 0, signal = 1 };

enum class DepositKind : std::uint8_t {
  ar39_beta = 0,          // 39Ar beta decay
  neutron_capture = 1,    // gamma from a 6.1 MeV capture cascade on 40Ar
  ar42_chain = 2,         // 42Ar / 42K beta decay
  neutrino = 3,           // part of the signal neutrino interaction
};
const char* deposit_kind_name(DepositKind kind) noexcept;

/// One radiological decay or capture gamma that put charge into the frame.
struct RadiologicalDeposit {
  DepositKind kind = DepositKind::ar39_beta;
  float wire = 0;          // position in wire units (0-480)
  float tick = 0;          // arrival tick relative to the frame: -24 to 64 (earlier ones reach in with their tails)
  float drift_cm = 0;      // distance from the wire plane
  float energy_mev = 0;    // energy deposited
};

struct FrameTruth {
  FrameLabel label = FrameLabel::background;
  float nu_energy_mev = 0;        // neutrino energy (0 if no neutrino)
  float electron_energy_mev = 0;  // kinetic energy of the CC electron
  float visible_energy_mev = 0;   // neutrino-event energy whose shaped pulses peak in this frame's 64 ticks
  std::int16_t wire_min = -1, wire_max = -1;  // extent of that energy in this frame
  std::int16_t tick_min = -1, tick_max = -1;  // ticks where those pulses peak (arrival + 4.3 ticks)
  float vertex_wire = -1, vertex_tick = -1, vertex_drift_cm = -1;  // vertex_tick: arrival tick of the vertex charge
  std::uint64_t timestamp = 0;    // 62.5 MHz ticks of the frame's first sample (emulator), 0 offline
  std::vector<RadiologicalDeposit> radiological;
};

}  // namespace larsel::daq::sim
