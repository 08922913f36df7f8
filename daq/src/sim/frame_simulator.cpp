#include "larsel/daq/sim/frame_simulator.hpp"

#include <algorithm>
#include <cmath>

#include "frame_simulator_impl.hpp"
#include "larsel/daq/wibeth.hpp"
#include "random.hpp"

namespace larsel::daq::sim {

static_assert(FrameSimulator::kLeadTicks == ChargeProjector::kResponseTicks,
              "the simulated lead-in is the front-end response length");

FrameSimulator::FrameSimulator(const SimConfig& config, std::uint64_t seed, std::shared_ptr<const NoiseBank> bank)
    : impl_(std::make_unique<Impl>(config, seed, std::move(bank))) {}

FrameSimulator::~FrameSimulator() = default;
FrameSimulator::FrameSimulator(FrameSimulator&&) noexcept = default;
FrameSimulator& FrameSimulator::operator=(FrameSimulator&&) noexcept = default;

void FrameSimulator::simulate(std::uint64_t index, FrameLabel label, std::span<std::uint16_t, Frame::kPixels> out,
                              FrameTruth& truth, SignalImages* images) {
  impl_->simulate(index, label, out, truth, images);
}

void FrameSimulator::simulate_stream(const StreamPlan& plan, std::uint64_t first, std::size_t count,
                                     std::span<std::uint16_t> out, std::span<FrameTruth> truth, std::vector<EventTruth>& events) {
  impl_->simulate_stream(plan, first, count, out, truth, events);
}

const SimConfig& FrameSimulator::config() const noexcept { return impl_->config_; }

double FrameSimulator::mean_ar39_decays_per_frame() const noexcept { return impl_->background_.ar39_per_frame(); }

FrameSimulator::Impl::Impl(const SimConfig& config, std::uint64_t seed, std::shared_ptr<const NoiseBank> bank)
    : config_(config),
      seed_(seed),
      bank_(bank ? std::move(bank) : std::make_shared<const NoiseBank>(seed)),
      projector_(config.detector),
      signal_(config.signal),
      background_(config.background),
      buffer_(Frame::kTicks),
      neutrino_buffer_(Frame::kTicks),
      shaped_(Frame::kPixels),
      neutrino_shaped_(Frame::kPixels) {
  draw_channels();
  deposits_.reserve(4096);
  decays_.reserve(64);
  group_offsets_.resize((Frame::kWires + config_.noise.coherent_group_wires - 1) / config_.noise.coherent_group_wires);
}

/// Per-channel pedestal, noise level and state: fixed for the run (seed).
void FrameSimulator::Impl::draw_channels() {
  const NoiseConfig& n = config_.noise;
  Rng rng(seed_, 0x4348414E4E454CULL);  // "CHANNEL"
  for (std::size_t w = 0; w < Frame::kWires; ++w) {
    const double pedestal = std::clamp(n.collection_pedestal + n.pedestal_spread * rng.normal(), 0.0, 16383.0);
    pedestal_.push_back(static_cast<float>(pedestal));
    incoherent_rms_.push_back(static_cast<float>(n.collection_incoherent_rms * std::max(0.3, 1 + n.rms_spread * rng.normal())));
    const double u = rng.uniform();
    state_.push_back(u < n.dead_channel_fraction ? ChannelState::dead
                     : u < n.dead_channel_fraction + n.stuck_channel_fraction ? ChannelState::stuck : ChannelState::good);
    // ProtoDUNE's sticky codes have their 6 LSBs all 0 or all 1 [S, reference 1.2 citing Gu & Sarasty].
    stuck_code_.push_back(static_cast<std::uint16_t>((static_cast<unsigned>(pedestal) & ~0x3Fu) | (rng.uniform() < 0.5 ? 0x3Fu : 0u)));
  }
}

void FrameSimulator::Impl::simulate(std::uint64_t index, FrameLabel label, std::span<std::uint16_t, Frame::kPixels> out,
                                    FrameTruth& truth, SignalImages* images) {
  Rng rng(seed_, index + 1);
  truth = FrameTruth{};
  truth.label = label;
  deposits_.clear();
  decays_.clear();
  buffer_.reset();  // frame-relative ticks: the result must not depend on earlier frames of this simulator
  neutrino_buffer_.reset();
  add_backgrounds(rng, truth);
  if (label == FrameLabel::signal) add_signal(rng, truth);
  buffer_.take_frame(std::span<float, Frame::kPixels>(shaped_.data(), Frame::kPixels));
  neutrino_buffer_.take_frame(std::span<float, Frame::kPixels>(neutrino_shaped_.data(), Frame::kPixels));
  if (images != nullptr) {
    images->radiological.assign(shaped_.begin(), shaped_.end());
    images->neutrino.assign(neutrino_shaped_.begin(), neutrino_shaped_.end());
  }
  for (std::size_t i = 0; i < Frame::kPixels; ++i) shaped_[i] += neutrino_shaped_[i];
  compose(rng, out);
}

void FrameSimulator::Impl::add_backgrounds(Rng& rng, FrameTruth& truth) {
  const double start = static_cast<double>(buffer_.origin()) - kLeadTicks;
  background_.generate(start, Frame::kTicks + kLeadTicks, rng, decays_, deposits_);
  for (const Radioactivity& decay : decays_) {
    for (std::size_t i = 0; i < decay.deposit_count; ++i) {
      projector_.project(deposits_[decay.first_deposit + i], decay.creation_tick, rng, buffer_);
    }
    if (decay.energy_mev <= 0) continue;  // all of it outside this face
    const double arrival = decay.creation_tick + decay.position.x / physics::kDriftPerTickCm - static_cast<double>(buffer_.origin());
    truth.radiological.push_back({decay.kind, static_cast<float>(decay.position.y / physics::kWirePitchCm),
                                  static_cast<float>(arrival), static_cast<float>(decay.position.x),
                                  static_cast<float>(decay.energy_mev)});
  }
}

void FrameSimulator::Impl::add_signal(Rng& rng, FrameTruth& truth) {
  const Vec3 vertex{rng.uniform(0, physics::kDriftLengthCm), rng.uniform(10, Frame::kWires - 10) * physics::kWirePitchCm,
                    rng.uniform(0, physics::kFaceHeightCm)};
  const double vertex_tick = rng.uniform(0, Frame::kTicks);
  const double creation = static_cast<double>(buffer_.origin()) + vertex_tick - vertex.x / physics::kDriftPerTickCm;
  const NeutrinoInteraction event = signal_.generate(vertex, rng);
  truth.nu_energy_mev = static_cast<float>(event.nu_energy_mev);
  truth.electron_energy_mev = static_cast<float>(event.electron_energy_mev);
  truth.vertex_wire = static_cast<float>(vertex.y / physics::kWirePitchCm);
  truth.vertex_tick = static_cast<float>(vertex_tick);
  truth.vertex_drift_cm = static_cast<float>(vertex.x);
  double visible = 0;
  for (const Deposit& d : event.deposits) {
    projector_.project(d, creation, rng, neutrino_buffer_);
    if (!in_face(d.position)) continue;
    // In the frame = its shaped pulse peaks (2.2 us after the charge arrives) within the 64 ticks.
    const double peak = creation + d.position.x / physics::kDriftPerTickCm + kPeakDelayTicks;
    if (peak < 0 || peak >= Frame::kTicks) continue;
    visible += d.energy_mev;
    const auto w = static_cast<std::int16_t>(d.position.y / physics::kWirePitchCm);
    const auto t = static_cast<std::int16_t>(peak);
    truth.wire_min = truth.wire_min < 0 ? w : std::min(truth.wire_min, w);
    truth.wire_max = std::max(truth.wire_max, w);
    truth.tick_min = truth.tick_min < 0 ? t : std::min(truth.tick_min, t);
    truth.tick_max = std::max(truth.tick_max, t);
  }
  truth.visible_energy_mev = static_cast<float>(visible);
}

void FrameSimulator::Impl::compose(Rng& rng, std::span<std::uint16_t, Frame::kPixels> out) {
  const NoiseBank& bank = *bank_;
  for (auto& offset : group_offsets_) offset = rng.next() % bank.size();
  const auto coherent_rms = static_cast<float>(config_.noise.collection_coherent_rms);
  constexpr float kMax = wibeth::kAdcMax;
  for (std::size_t w = 0; w < Frame::kWires; ++w) {
    std::uint16_t* row = out.data() + w * Frame::kTicks;
    if (state_[w] != ChannelState::good) {
      const auto code = state_[w] == ChannelState::dead ? static_cast<std::uint16_t>(std::lround(pedestal_[w])) : stuck_code_[w];
      std::fill(row, row + Frame::kTicks, code);
      continue;
    }
    const float* own = bank.at(rng.next() % bank.size());
    const float* shared = bank.at(group_offsets_[w / config_.noise.coherent_group_wires]);
    const float* signal = shaped_.data() + w * Frame::kTicks;
    const float pedestal = pedestal_[w] + 0.5f, rms = incoherent_rms_[w];
    for (std::size_t t = 0; t < Frame::kTicks; ++t) {  // vectorises: no branches, float math
      const float v = pedestal + rms * own[t] + coherent_rms * shared[t] + signal[t];
      row[t] = static_cast<std::uint16_t>(std::clamp(v, 0.0f, kMax));
    }
  }
}

}  // namespace larsel::daq::sim
