#pragma once
// Truth attached to every simulated 480 x 64 collection frame, and for a continuous stream the
// neutrino events with the frames they reach.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace larsel::daq::sim {

/// In a continuous stream a neutrino event can spread over several frames: a frame is `signal` when it
/// holds at least kSignalFrameShare of its event's visible energy, `partial` when it holds less (it is
/// neither a signal frame nor a background-only frame, and the figures leave it out).
enum class FrameLabel : std::uint8_t { background = 0, signal = 1, partial = 2 };
inline constexpr double kSignalFrameShare = 0.25;

enum class DepositKind : std::uint8_t {
  ar39_beta = 0,          // 39Ar beta decay
  neutron_capture = 1,    // gamma from a 6.1 MeV capture cascade on 40Ar
  ar42_chain = 2,         // 42Ar / 42K beta decay
  neutrino = 3,           // part of the signal neutrino interaction
  kr85_beta = 4,          // 85Kr beta decay
  rn222_chain = 5,        // 222Rn and its daughters down to 210Pb: alphas (quenched) and betas
  external_gamma = 6,     // cavern-rock and detector-material gamma entering the face's volume
};
inline constexpr std::size_t kDepositKinds = 7;
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
  std::int32_t event = -1;        // continuous stream: the neutrino event with energy in this frame (EventTruth::id)
  std::vector<RadiologicalDeposit> radiological;
};

/// The radiological kind with the most energy in the frame's truth; none for a noise-only frame.
std::optional<DepositKind> dominant_background_kind(const FrameTruth& truth) noexcept;

/// One neutrino interaction of a continuous stream and the visible energy it leaves in each frame
/// it reaches (energy whose shaped pulses peak in that frame's 64 ticks).
struct EventTruth {
  std::uint32_t id = 0;
  float nu_energy_mev = 0, electron_energy_mev = 0;
  float visible_energy_mev = 0;          // the sum over its frames
  double vertex_tick = 0;                // stream tick at which the vertex charge reaches the wires
  float vertex_wire = 0, vertex_drift_cm = 0;
  std::uint64_t first_frame = 0;         // frame_visible_mev[k] belongs to frame first_frame + k
  std::vector<float> frame_visible_mev;
};

}  // namespace larsel::daq::sim
