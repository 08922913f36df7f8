#pragma once
// From energy deposits to the shaped signal on collection wires: ionisation
// (W = 23.6 eV), recombination (modified Box), attachment (electron
// lifetime), longitudinal and transverse diffusion (Monte Carlo clusters),
// then the unipolar front-end response and gain (ADC per electron).
#include <array>
#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "larsel/daq/frame.hpp"
#include "particles.hpp"
#include "larsel/daq/sim/sim_config.hpp"

namespace larsel::daq::sim {

/// Shaped signal, ADC counts (float), of the 480 wires over a window of ticks
/// [origin, origin + ticks). Rows are wire-major like Frame.
class SignalBuffer {
 public:
  explicit SignalBuffer(std::size_t ticks = Frame::kTicks);
  void add(std::size_t wire, std::int64_t tick, float adc) noexcept {
    if (tick < origin_ || tick >= origin_ + static_cast<std::int64_t>(ticks_)) return;
    const std::size_t slot = static_cast<std::size_t>(tick - origin_ + ring_start_) % ticks_;
    data_[wire * ticks_ + slot] += adc;
    last_tick_[wire] = std::max(last_tick_[wire], tick);
    if (!touched_flag_[wire]) {
      touched_flag_[wire] = 1;
      touched_.push_back(static_cast<std::uint16_t>(wire));
    }
  }
  /// The first 64 ticks of the window into `out` (wire-major, zeros where untouched), then
  /// clear them and move the window on by 64 ticks.
  void take_frame(std::span<float, Frame::kPixels> out);
  [[nodiscard]] std::int64_t origin() const noexcept { return origin_; }
  [[nodiscard]] std::size_t ticks() const noexcept { return ticks_; }
  /// Back to an empty window starting at tick `origin`.
  void reset(std::int64_t origin = 0) noexcept;
  [[nodiscard]] const std::vector<std::uint16_t>& touched_wires() const noexcept { return touched_; }

 private:
  std::size_t ticks_;
  std::int64_t origin_ = 0;
  std::size_t ring_start_ = 0;
  std::vector<float> data_;
  std::vector<std::uint8_t> touched_flag_;
  std::vector<std::int64_t> last_tick_;  // per wire: the latest tick holding signal (take_frame need not scan the window)
  std::vector<std::uint16_t> touched_;
  std::vector<std::uint16_t> touched_scratch_;  // reused by take_frame: no allocation per frame
};

class ChargeProjector {
 public:
  explicit ChargeProjector(const DetectorConfig& config);
  /// Electrons that reach the wires from deposit `d` (recombination and lifetime applied).
  [[nodiscard]] double electrons_at_wires(const Deposit& d) const;
  /// Add the deposit's shaped signal. `creation_tick` is the tick at which
  /// charge created at the wire plane (drift 0) would arrive.
  void project(const Deposit& d, double creation_tick, Rng& rng, SignalBuffer& out) const;
  static constexpr std::size_t kResponseTicks = 24;   // 12.3 us: the response is < 1e-5 of its peak after
  static constexpr std::size_t kPhases = 16;          // sub-tick arrival resolution

 private:
  void add_cluster(double wire, double tick, double adc, SignalBuffer& out) const;
  DetectorConfig config_;
  std::array<std::array<float, kResponseTicks>, kPhases + 1> response_{};
};

/// True if a deposit lies in the volume read by this face's collection wires.
inline bool in_face(const Vec3& p) {
  return p.x >= 0 && p.x <= physics::kDriftLengthCm && p.y >= 0 && p.y < Frame::kWires * physics::kWirePitchCm;
}

}  // namespace larsel::daq::sim
