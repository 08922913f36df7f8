#include "larsel/models/evaluation.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "larsel/models/metrics.hpp"

namespace larsel::models {
namespace {

// Fine bins through the turn-on (1-8 MeV), coarse above.
constexpr double kVisibleEdges[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 30, 50};
constexpr double kNuEdges[] = {0, 8, 10, 12, 14, 16, 18, 20, 25, 30, 40, 60, 100};

/// Signal scores (and energies) with visible energy in [low, high).
std::vector<float> signal_in(const SelectionScores& s, double low, double high) {
  std::vector<float> out;
  for (std::size_t i = 0; i < s.signal.size(); ++i) {
    if (s.signal_visible_energy_mev[i] >= low && s.signal_visible_energy_mev[i] < high) out.push_back(s.signal[i]);
  }
  return out;
}

}  // namespace

SelectionScores split_by_label(const ImageSet& set, std::span<const std::size_t> indices, std::span<const float> scores) {
  SelectionScores out;
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const std::size_t f = indices[i];
    if (set.labels[f] == 2) continue;  // partial: neither a signal nor a background-only frame
    if (set.labels[f] == 1) {
      out.signal.push_back(scores[i]);
      out.signal_nu_energy_mev.push_back(set.nu_energy_mev[f]);
      out.signal_visible_energy_mev.push_back(set.visible_energy_mev[f]);
    } else {
      out.background.push_back(scores[i]);
    }
  }
  return out;
}

std::vector<float> baseline_scores(const ImageSet& set, std::span<const std::size_t> indices, std::size_t config) {
  std::vector<float> out(indices.size());
  for (std::size_t i = 0; i < indices.size(); ++i) out[i] = set.baseline_score(indices[i], config);
  return out;
}

nlohmann::json evaluate_selection(const SelectionScores& s, bool roc) {
  if (s.signal.empty() || s.background.empty()) {
    throw std::invalid_argument(fmt::format("evaluation needs signal and background frames, got {} signal and {} background",
                                            s.signal.size(), s.background.size()));
  }
  const auto finite = [](const std::vector<float>& v) { return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); }); };
  if (!finite(s.signal) || !finite(s.background)) throw std::invalid_argument("evaluation: some scores are not finite numbers");
  nlohmann::json j;
  j["signal_frames"] = s.signal.size();
  j["background_frames"] = s.background.size();
  j["roc_area"] = roc_area(s.signal, s.background);
  j["working_points"] = nlohmann::json::array();
  for (const double target : kWorkingPoints) j["working_points"].push_back(to_json(working_point(s.signal, s.background, target)));
  const WorkingPoint physics = working_point(s.signal, s.background, kPhysicsWorkingPoint);
  const std::vector<float> above = signal_in(s, kTargetVisibleEnergyMeV, 1e9), low = signal_in(s, 5, 10), lowest = signal_in(s, 2, 5);
  j["at_1e-4"] = {
      {"threshold_logit", physics.threshold},
      {"background_accepted", to_json(physics.background)},
      {"statistically_limited", physics.statistically_limited},
      {"efficiency_visible_ge_5mev", to_json(working_point(above, s.background, kPhysicsWorkingPoint).signal)},
      {"efficiency_visible_5_10mev", to_json(working_point(low, s.background, kPhysicsWorkingPoint).signal)},
      {"efficiency_visible_2_5mev", to_json(working_point(lowest, s.background, kPhysicsWorkingPoint).signal)},
      {"efficiency_vs_visible_energy", to_json(efficiency_in_bins(s.signal, s.signal_visible_energy_mev, physics.threshold, kVisibleEdges))},
      {"efficiency_vs_nu_energy", to_json(efficiency_in_bins(s.signal, s.signal_nu_energy_mev, physics.threshold, kNuEdges))}};
  if (roc) {
    nlohmann::json points = nlohmann::json::array();
    for (const RocPoint& p : roc_curve(s.signal, s.background)) points.push_back({p.background_acceptance, p.signal_efficiency});
    j["roc"] = {{"columns", {"background_acceptance", "signal_efficiency"}}, {"points", points}};
  }
  return j;
}

EventScores event_scores(const ImageSet& set, std::span<const StreamEvents> streams, std::span<const float> scores) {
  EventScores out;
  for (const StreamEvents& stream : streams) {
    const std::size_t base = out.best.size();
    for (const daq::sim::EventTruth& e : stream.events) {
      out.best.push_back(-std::numeric_limits<float>::infinity());  // no signal frame: never selected
      out.visible_energy_mev.push_back(e.visible_energy_mev);
      out.nu_energy_mev.push_back(e.nu_energy_mev);
    }
    for (std::size_t f = stream.first_frame; f < stream.first_frame + stream.frames; ++f) {
      const std::int32_t event = set.events[f];
      if (set.labels[f] != 1 || event < 0) continue;
      if (static_cast<std::size_t>(event) >= stream.events.size()) {
        throw std::invalid_argument(fmt::format("frame {} names event {} of a stream with {} events", f, event, stream.events.size()));
      }
      float& best = out.best[base + static_cast<std::size_t>(event)];
      best = std::max(best, scores[f]);
    }
  }
  return out;
}

namespace {

/// Visible energy where the efficiency first reaches 50 %, interpolated between bin centres (NaN if never).
double half_efficiency_energy(const std::vector<EnergyBin>& bins) {
  double previous_x = 0, previous_y = 0;
  for (const EnergyBin& b : bins) {
    if (b.efficiency.total == 0) continue;
    const double x = 0.5 * (b.low_mev + b.high_mev), y = b.efficiency.value;
    if (y >= 0.5) return previous_y < 0.5 && x > previous_x ? previous_x + (0.5 - previous_y) * (x - previous_x) / (y - previous_y) : x;
    previous_x = x, previous_y = y;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

Efficiency events_passing(const EventScores& e, float threshold, double low, double high) {
  std::size_t passed = 0, total = 0;
  for (std::size_t i = 0; i < e.best.size(); ++i) {
    if (e.visible_energy_mev[i] < low || e.visible_energy_mev[i] >= high) continue;
    ++total;
    passed += e.best[i] > threshold;
  }
  return wilson_efficiency(passed, total);
}

}  // namespace

nlohmann::json evaluate_events(const EventScores& events, float threshold) {
  const std::vector<EnergyBin> visible = efficiency_in_bins(events.best, events.visible_energy_mev, threshold, kVisibleEdges);
  const double half = half_efficiency_energy(visible);
  return {{"rule", fmt::format("an event is selected when a frame holding >= {:.0f} % of its visible energy is selected",
                               100 * daq::sim::kSignalFrameShare)},
          {"events", events.best.size()},
          {"threshold_logit", threshold},
          {"efficiency_visible_ge_5mev", to_json(events_passing(events, threshold, kTargetVisibleEnergyMeV, 1e9))},
          {"efficiency_visible_5_10mev", to_json(events_passing(events, threshold, 5, 10))},
          {"efficiency_visible_2_5mev", to_json(events_passing(events, threshold, 2, 5))},
          {"visible_mev_at_half_efficiency", std::isnan(half) ? nlohmann::json(nullptr) : nlohmann::json(half)},
          {"efficiency_vs_visible_energy", to_json(visible)},
          {"efficiency_vs_nu_energy", to_json(efficiency_in_bins(events.best, events.nu_energy_mev, threshold, kNuEdges))}};
}

nlohmann::json background_by_kind(const ImageSet& set, std::span<const std::size_t> indices, std::span<const float> scores,
                                  float threshold) {
  std::array<std::size_t, daq::sim::kDepositKinds + 1> frames{}, accepted{};
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const std::size_t f = indices[i];
    if (set.labels[f] != 0) continue;
    const std::size_t kind = set.background_kinds[f] < daq::sim::kDepositKinds ? set.background_kinds[f] : daq::sim::kDepositKinds;
    ++frames[kind];
    accepted[kind] += scores[i] > threshold;
  }
  nlohmann::json rows = nlohmann::json::array();
  for (std::size_t k = 0; k <= daq::sim::kDepositKinds; ++k) {
    if (frames[k] == 0) continue;
    rows.push_back({{"dominant_kind", k < daq::sim::kDepositKinds ? daq::sim::deposit_kind_name(static_cast<daq::sim::DepositKind>(k)) : "noise only"},
                    {"frames", frames[k]},
                    {"accepted", to_json(wilson_efficiency(accepted[k], frames[k]))}});
  }
  return rows;
}

std::size_t tune_baseline(const ImageSet& set, std::span<const std::size_t> indices) {
  std::size_t best = 0;
  double best_efficiency = -1;
  for (std::size_t c = 0; c < set.baseline_configs; ++c) {
    const SelectionScores s = split_by_label(set, indices, baseline_scores(set, indices, c));
    const double efficiency = working_point(signal_in(s, kTargetVisibleEnergyMeV, 1e9), s.background, kPhysicsWorkingPoint).signal.value;
    if (efficiency > best_efficiency) best = c, best_efficiency = efficiency;
  }
  return best;
}

}  // namespace larsel::models
