#include "larsel/models/evaluation.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "larsel/models/metrics.hpp"

namespace larsel::models {
namespace {

constexpr double kVisibleEdges[] = {0, 2, 5, 7.5, 10, 15, 20, 30, 50};
constexpr double kNuEdges[] = {0, 10, 15, 20, 25, 30, 40, 60, 100};

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
    if (set.labels[f]) {
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
  const std::vector<float> above = signal_in(s, kTargetVisibleEnergyMeV, 1e9), low = signal_in(s, 5, 10);
  j["at_1e-4"] = {
      {"threshold_logit", physics.threshold},
      {"background_accepted", to_json(physics.background)},
      {"statistically_limited", physics.statistically_limited},
      {"efficiency_visible_ge_5mev", to_json(working_point(above, s.background, kPhysicsWorkingPoint).signal)},
      {"efficiency_visible_5_10mev", to_json(working_point(low, s.background, kPhysicsWorkingPoint).signal)},
      {"efficiency_vs_visible_energy", to_json(efficiency_in_bins(s.signal, s.signal_visible_energy_mev, physics.threshold, kVisibleEdges))},
      {"efficiency_vs_nu_energy", to_json(efficiency_in_bins(s.signal, s.signal_nu_energy_mev, physics.threshold, kNuEdges))}};
  if (roc) {
    nlohmann::json points = nlohmann::json::array();
    for (const RocPoint& p : roc_curve(s.signal, s.background)) points.push_back({p.background_acceptance, p.signal_efficiency});
    j["roc"] = {{"columns", {"background_acceptance", "signal_efficiency"}}, {"points", points}};
  }
  return j;
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
