#include "charge.hpp"

#include <algorithm>
#include <cmath>

namespace larsel::daq::sim {

SignalBuffer::SignalBuffer(std::size_t ticks)
    : ticks_(ticks), data_(Frame::kWires * ticks, 0.0f), touched_flag_(Frame::kWires, 0), last_tick_(Frame::kWires, 0) {
  touched_.reserve(Frame::kWires);
  touched_scratch_.reserve(Frame::kWires);
}

void SignalBuffer::take_frame(std::span<float, Frame::kPixels> out) {
  std::fill(out.begin(), out.end(), 0.0f);
  std::vector<std::uint16_t>& still_touched = touched_scratch_;
  still_touched.clear();
  const std::int64_t next_origin = origin_ + static_cast<std::int64_t>(Frame::kTicks);
  for (const std::uint16_t wire : touched_) {
    float* row = data_.data() + std::size_t{wire} * ticks_;
    for (std::size_t t = 0; t < Frame::kTicks; ++t) {
      const std::size_t slot = (ring_start_ + t) % ticks_;
      out[std::size_t{wire} * Frame::kTicks + t] = row[slot];
      row[slot] = 0.0f;
    }
    if (last_tick_[wire] >= next_origin) still_touched.push_back(wire);
    else touched_flag_[wire] = 0;
  }
  touched_.swap(still_touched);
  ring_start_ = (ring_start_ + Frame::kTicks) % ticks_;
  origin_ += static_cast<std::int64_t>(Frame::kTicks);
}

void SignalBuffer::reset(std::int64_t origin) noexcept {
  for (const std::uint16_t wire : touched_) {
    std::fill_n(data_.begin() + static_cast<std::ptrdiff_t>(std::size_t{wire} * ticks_), ticks_, 0.0f);
    touched_flag_[wire] = 0;
    last_tick_[wire] = 0;
  }
  touched_.clear();
  origin_ = origin;
  ring_start_ = 0;
}

ChargeProjector::ChargeProjector(const DetectorConfig& config) : config_(config) {
  for (std::size_t p = 0; p <= kPhases; ++p) {
    for (std::size_t k = 0; k < kResponseTicks; ++k) {
      const double t = (static_cast<double>(k) + static_cast<double>(p) / kPhases) * physics::kTickUs;
      response_[p][k] = static_cast<float>(physics::shaping_response(t));
    }
  }
}

double ChargeProjector::electrons_at_wires(const Deposit& d) const {
  const double drift_us = d.position.x / physics::kDriftVelocityCmPerUs;
  return d.energy_mev * physics::kElectronsPerMeV * physics::recombination(d.dedx) *
         std::exp(-drift_us / config_.electron_lifetime_us);
}

void ChargeProjector::project(const Deposit& d, double creation_tick, Rng& rng, SignalBuffer& out) const {
  if (!in_face(d.position) || d.energy_mev <= 0) return;
  const double electrons = electrons_at_wires(d);
  const double drift_s = d.position.x / physics::kDriftVelocityCmPerUs * 1e-6;
  const double sigma_wires = std::sqrt(2 * config_.transverse_diffusion * drift_s) / physics::kWirePitchCm;
  const double sigma_ticks = std::sqrt(2 * config_.longitudinal_diffusion * drift_s) / physics::kDriftPerTickCm;
  const double wire = d.position.y / physics::kWirePitchCm;
  const double tick = creation_tick + d.position.x / physics::kDriftPerTickCm;
  // Diffusion by Monte Carlo: up to 4 clusters, fewer for small charges.
  const int clusters = std::clamp(static_cast<int>(electrons / 2000.0), 1, 4);
  const double adc = electrons * physics::kAdcPerElectron / clusters;
  for (int c = 0; c < clusters; ++c) {
    add_cluster(wire + sigma_wires * rng.normal(), tick + sigma_ticks * rng.normal(), adc, out);
  }
}

void ChargeProjector::add_cluster(double wire, double tick, double adc, SignalBuffer& out) const {
  if (wire < 0 || wire >= Frame::kWires) return;  // diffused onto another face's wires
  const double first = std::ceil(tick);
  const auto phase = static_cast<std::size_t>(std::lround((first - tick) * kPhases));
  const auto& shape = response_[phase];
  const auto w = static_cast<std::size_t>(wire);
  for (std::size_t k = 0; k < kResponseTicks; ++k) {
    out.add(w, static_cast<std::int64_t>(first) + static_cast<std::int64_t>(k), static_cast<float>(adc * shape[k]));
  }
}

}  // namespace larsel::daq::sim
