// The continuous stream: background decays are drawn per frame period ("slot") from a random stream
// of (seed, slot), neutrino events per stretch from (seed, event), and every deposit's shaped pulse
// lands in whichever frame of the block it reaches. A block regenerates the slots and events up to
// StreamPlan::kReachFrames around it, so a frame does not depend on how the stream is cut into blocks.
#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

#include "frame_simulator_impl.hpp"

namespace larsel::daq::sim {
namespace {

constexpr std::uint64_t kSlotStream = 0x534C4F54ULL << 32;    // "SLOT": background decays of a frame period
constexpr std::uint64_t kEventStream = 0x45564E54ULL << 32;   // "EVNT": neutrino event k
constexpr std::uint64_t kNoiseStream = 0x4E4F4953ULL << 32;   // "NOIS": noise of frame i
constexpr double kTicks = Frame::kTicks;
constexpr std::int64_t kReach = static_cast<std::int64_t>(StreamPlan::kReachFrames);

/// Visible energy of one decay or event per frame, frames [centre - kReach, centre + kReach].
struct FrameShares {
  std::int64_t centre;
  std::array<float, 2 * kReach + 1> mev{};
  [[nodiscard]] double reach_start() const { return kTicks * static_cast<double>(centre - kReach); }
  [[nodiscard]] double reach_end() const { return kTicks * static_cast<double>(centre + kReach + 1); }
  /// Charge arriving at `arrival` peaks in frame floor((arrival + peak delay) / 64).
  void add(double arrival, double mev_value) {
    const auto frame = static_cast<std::int64_t>(std::floor((arrival + FrameSimulator::kPeakDelayTicks) / kTicks));
    const std::int64_t k = frame - centre + kReach;
    if (k >= 0 && k <= 2 * kReach) mev[static_cast<std::size_t>(k)] += static_cast<float>(mev_value);
  }
  [[nodiscard]] std::int64_t frame(std::size_t k) const { return centre - kReach + static_cast<std::int64_t>(k); }
};

bool in_block(std::int64_t frame, std::uint64_t first, std::size_t count) {
  return frame >= static_cast<std::int64_t>(first) && frame < static_cast<std::int64_t>(first + count);
}

/// Event `index`'s truth with its visible energy in every frame of the stream it reaches.
EventTruth event_truth(std::uint64_t index, const NeutrinoInteraction& event, const Vec3& vertex, double vertex_tick,
                       const FrameShares& shares, double total, std::uint64_t stream_frames) {
  EventTruth e{static_cast<std::uint32_t>(index), static_cast<float>(event.nu_energy_mev),
               static_cast<float>(event.electron_energy_mev), static_cast<float>(total), vertex_tick,
               static_cast<float>(vertex.y / physics::kWirePitchCm), static_cast<float>(vertex.x),
               static_cast<std::uint64_t>(std::max<std::int64_t>(0, shares.centre)), {}};
  std::size_t lo = shares.mev.size(), hi = 0;
  for (std::size_t k = 0; k < shares.mev.size(); ++k) {
    if (shares.mev[k] > 0 && shares.frame(k) >= 0 && shares.frame(k) < static_cast<std::int64_t>(stream_frames)) {
      lo = std::min(lo, k);
      hi = k + 1;
    }
  }
  if (lo < hi) {
    e.first_frame = static_cast<std::uint64_t>(shares.frame(lo));
    e.frame_visible_mev.assign(shares.mev.begin() + static_cast<std::ptrdiff_t>(lo), shares.mev.begin() + static_cast<std::ptrdiff_t>(hi));
  }
  return e;
}

}  // namespace

void FrameSimulator::Impl::simulate_stream(const StreamPlan& plan, std::uint64_t first, std::size_t count,
                                           std::span<std::uint16_t> out, std::span<FrameTruth> truth,
                                           std::vector<EventTruth>& events) {
  if (out.size() != count * Frame::kPixels || truth.size() != count) {
    throw std::invalid_argument("FrameSimulator::simulate_stream: output spans do not hold `count` frames");
  }
  if (first + count > plan.frames) throw std::out_of_range("FrameSimulator::simulate_stream: frames past the end of the stream");
  if (plan.events > plan.frames) throw std::invalid_argument("FrameSimulator::simulate_stream: more events than frames");
  if (stream_buffer_.ticks() != count * Frame::kTicks) stream_buffer_ = SignalBuffer(count * Frame::kTicks);
  stream_buffer_.reset(static_cast<std::int64_t>(first * Frame::kTicks));
  for (FrameTruth& t : truth) t = FrameTruth{};
  stream_visible_.assign(count, 0.0f);
  const std::uint64_t slot_end = std::min<std::uint64_t>(plan.frames, first + count + StreamPlan::kReachFrames);
  for (std::uint64_t slot = first > StreamPlan::kReachFrames ? first - StreamPlan::kReachFrames : 0; slot < slot_end; ++slot) {
    add_stream_backgrounds(slot, first, count, truth);
  }
  if (plan.events > 0) {
    const double stretch = static_cast<double>(plan.frames) / static_cast<double>(plan.events);
    const double lo = std::max(0.0, static_cast<double>(first) - StreamPlan::kReachFrames) / stretch;
    const double hi = static_cast<double>(first + count + StreamPlan::kReachFrames) / stretch + 1;
    const auto k_end = std::min<std::uint64_t>(plan.events, static_cast<std::uint64_t>(hi));
    for (auto k = static_cast<std::uint64_t>(lo); k < k_end; ++k) add_stream_event(plan, k, first, count, truth, events);
  }
  for (std::size_t i = 0; i < count; ++i) {
    stream_buffer_.take_frame(std::span<float, Frame::kPixels>(shaped_.data(), Frame::kPixels));
    Rng rng(seed_, kNoiseStream + first + i);
    compose(rng, std::span<std::uint16_t, Frame::kPixels>(out.data() + i * Frame::kPixels, Frame::kPixels));
  }
}

void FrameSimulator::Impl::add_stream_backgrounds(std::uint64_t slot, std::uint64_t first, std::size_t count,
                                                  std::span<FrameTruth> truth) {
  Rng rng(seed_, kSlotStream + slot);
  deposits_.clear();
  decays_.clear();
  background_.generate(kTicks * static_cast<double>(slot), kTicks, rng, decays_, deposits_);
  for (const Radioactivity& decay : decays_) {
    FrameShares shares{static_cast<std::int64_t>(slot)};
    for (std::size_t i = 0; i < decay.deposit_count; ++i) {
      const Deposit& d = deposits_[decay.first_deposit + i];
      const double arrival = decay.creation_tick + d.position.x / physics::kDriftPerTickCm;
      if (arrival < shares.reach_start() || arrival >= shares.reach_end()) continue;  // beyond the reach: cut
      projector_.project(d, decay.creation_tick, rng, stream_buffer_);
      if (in_face(d.position) && d.energy_mev > 0) shares.add(arrival, d.energy_mev);
    }
    const double vertex_arrival = decay.creation_tick + decay.position.x / physics::kDriftPerTickCm;
    for (std::size_t k = 0; k < shares.mev.size(); ++k) {
      const std::int64_t frame = shares.frame(k);
      if (shares.mev[k] <= 0 || !in_block(frame, first, count)) continue;
      truth[static_cast<std::size_t>(frame) - first].radiological.push_back(
          {decay.kind, static_cast<float>(decay.position.y / physics::kWirePitchCm),
           static_cast<float>(vertex_arrival - kTicks * static_cast<double>(frame)), static_cast<float>(decay.position.x),
           shares.mev[k]});
    }
  }
}

void FrameSimulator::Impl::add_stream_event(const StreamPlan& plan, std::uint64_t index, std::uint64_t first,
                                            std::size_t count, std::span<FrameTruth> truth, std::vector<EventTruth>& events) {
  Rng rng(seed_, kEventStream + index);
  const double stretch_ticks = kTicks * static_cast<double>(plan.frames) / static_cast<double>(plan.events);
  const double vertex_tick = (static_cast<double>(index) + rng.uniform()) * stretch_ticks;
  const Vec3 vertex{rng.uniform(0, physics::kDriftLengthCm), rng.uniform(10, Frame::kWires - 10) * physics::kWirePitchCm,
                    rng.uniform(0, physics::kFaceHeightCm)};
  const double creation = vertex_tick - vertex.x / physics::kDriftPerTickCm;
  const NeutrinoInteraction event = signal_.generate(vertex, rng);
  FrameShares shares{static_cast<std::int64_t>(std::floor(vertex_tick / kTicks))};
  for (const Deposit& d : event.deposits) {
    const double arrival = creation + d.position.x / physics::kDriftPerTickCm;
    if (arrival < shares.reach_start() || arrival >= shares.reach_end()) continue;
    projector_.project(d, creation, rng, stream_buffer_);
    if (!in_face(d.position) || d.energy_mev <= 0) continue;
    shares.add(arrival, d.energy_mev);
    const double peak = arrival + kPeakDelayTicks;
    const auto frame = static_cast<std::int64_t>(std::floor(peak / kTicks));
    if (!in_block(frame, first, count)) continue;
    FrameTruth& t = truth[static_cast<std::size_t>(frame) - first];
    const auto w = static_cast<std::int16_t>(d.position.y / physics::kWirePitchCm);
    const auto tick = static_cast<std::int16_t>(peak - kTicks * static_cast<double>(frame));
    t.wire_min = t.wire_min < 0 ? w : std::min(t.wire_min, w);
    t.wire_max = std::max(t.wire_max, w);
    t.tick_min = t.tick_min < 0 ? tick : std::min(t.tick_min, tick);
    t.tick_max = std::max(t.tick_max, tick);
  }
  double total = 0;
  for (const float e : shares.mev) total += e;
  for (std::size_t k = 0; k < shares.mev.size(); ++k) {
    const std::int64_t frame = shares.frame(k);
    if (shares.mev[k] <= 0 || !in_block(frame, first, count)) continue;
    const std::size_t i = static_cast<std::size_t>(frame) - first;
    if (shares.mev[k] <= stream_visible_[i]) continue;  // another event dominates this frame
    stream_visible_[i] = shares.mev[k];
    FrameTruth& t = truth[i];
    t.label = shares.mev[k] >= kSignalFrameShare * total ? FrameLabel::signal : FrameLabel::partial;
    t.event = static_cast<std::int32_t>(index);
    t.nu_energy_mev = static_cast<float>(event.nu_energy_mev);
    t.electron_energy_mev = static_cast<float>(event.electron_energy_mev);
    t.visible_energy_mev = shares.mev[k];
    t.vertex_wire = static_cast<float>(vertex.y / physics::kWirePitchCm);
    t.vertex_tick = static_cast<float>(vertex_tick - kTicks * static_cast<double>(frame));
    t.vertex_drift_cm = static_cast<float>(vertex.x);
  }
  // The block holding the vertex reports the event.
  if (in_block(shares.centre, first, count)) events.push_back(event_truth(index, event, vertex, vertex_tick, shares, total, plan.frames));
}

}  // namespace larsel::daq::sim
