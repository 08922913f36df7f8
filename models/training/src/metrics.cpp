#include "larsel/models/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace larsel::models {

Efficiency wilson_efficiency(std::size_t passed, std::size_t total) {
  Efficiency e{passed, total, 0, 0, 0};
  if (total == 0) return e;
  const double n = static_cast<double>(total), p = static_cast<double>(passed) / n, z = 1.0;  // 1 sigma
  const double centre = (p + z * z / (2 * n)) / (1 + z * z / n);
  const double half = z / (1 + z * z / n) * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n));
  e.value = p;
  e.low = std::max(0.0, centre - half);
  e.high = std::min(1.0, centre + half);
  return e;
}

nlohmann::json to_json(const Efficiency& e) {
  return {{"value", e.value}, {"low", e.low}, {"high", e.high}, {"passed", e.passed}, {"total", e.total}};
}

namespace {

std::size_t count_above(std::span<const float> scores, float threshold) {
  return static_cast<std::size_t>(std::count_if(scores.begin(), scores.end(), [&](float s) { return s > threshold; }));
}

std::vector<float> sorted_descending(std::span<const float> scores) {
  std::vector<float> sorted(scores.begin(), scores.end());
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  return sorted;
}

}  // namespace

WorkingPoint working_point(std::span<const float> signal, std::span<const float> background, double target) {
  WorkingPoint w;
  w.target_background_acceptance = target;
  const std::vector<float> sorted = sorted_descending(background);
  const auto allowed = static_cast<std::size_t>(std::floor(target * static_cast<double>(sorted.size())));
  // Accept score > threshold: with threshold = the (allowed+1)-th highest
  // background score at most `allowed` frames pass (fewer with ties).
  if (sorted.empty()) {
    w.threshold = 0;
  } else if (allowed >= sorted.size()) {
    w.threshold = -std::numeric_limits<float>::infinity();
  } else {
    w.threshold = sorted[allowed];
  }
  w.statistically_limited = target * static_cast<double>(sorted.size()) < 10.0;
  w.background = wilson_efficiency(count_above(background, w.threshold), background.size());
  w.signal = wilson_efficiency(count_above(signal, w.threshold), signal.size());
  return w;
}

nlohmann::json to_json(const WorkingPoint& w) {
  return {{"target_background_acceptance", w.target_background_acceptance},
          {"threshold_logit", w.threshold},
          {"background_accepted", to_json(w.background)},
          {"signal_efficiency", to_json(w.signal)},
          {"statistically_limited", w.statistically_limited}};
}

std::vector<RocPoint> roc_curve(std::span<const float> signal, std::span<const float> background, std::size_t max_points) {
  const std::vector<float> bkg = sorted_descending(background), sig = sorted_descending(signal);
  std::vector<RocPoint> all;
  std::size_t s = 0;
  for (std::size_t b = 0; b < bkg.size(); ++b) {
    if (b + 1 < bkg.size() && bkg[b + 1] == bkg[b]) continue;  // one point per distinct score
    const float threshold = b + 1 < bkg.size() ? bkg[b + 1] : -std::numeric_limits<float>::infinity();
    while (s < sig.size() && sig[s] > threshold) ++s;
    all.push_back({static_cast<double>(b + 1) / static_cast<double>(bkg.size()),
                   sig.empty() ? 0.0 : static_cast<double>(s) / static_cast<double>(sig.size()), threshold});
  }
  if (all.size() <= max_points || max_points < 2) return all;
  std::vector<RocPoint> thinned;
  const double low = std::log(all.front().background_acceptance), high = std::log(all.back().background_acceptance);
  double next = low;
  for (const RocPoint& p : all) {
    if (std::log(p.background_acceptance) >= next || &p == &all.back()) {
      thinned.push_back(p);
      next = std::log(p.background_acceptance) + (high - low) / static_cast<double>(max_points - 1);
    }
  }
  return thinned;
}

std::vector<EnergyBin> efficiency_in_bins(std::span<const float> scores, std::span<const float> energy, float threshold,
                                          std::span<const double> edges) {
  std::vector<EnergyBin> bins;
  for (std::size_t b = 0; b + 1 < edges.size(); ++b) {
    std::size_t passed = 0, total = 0;
    for (std::size_t i = 0; i < scores.size(); ++i) {
      if (energy[i] < edges[b] || energy[i] >= edges[b + 1]) continue;
      ++total;
      passed += scores[i] > threshold ? 1 : 0;
    }
    bins.push_back({edges[b], edges[b + 1], wilson_efficiency(passed, total)});
  }
  return bins;
}

nlohmann::json to_json(const std::vector<EnergyBin>& bins) {
  nlohmann::json out = nlohmann::json::array();
  for (const EnergyBin& b : bins) out.push_back({{"low_mev", b.low_mev}, {"high_mev", b.high_mev}, {"efficiency", to_json(b.efficiency)}});
  return out;
}

double roc_area(std::span<const float> signal, std::span<const float> background) {
  if (signal.empty() || background.empty()) return 0;
  std::vector<float> bkg(background.begin(), background.end());
  std::sort(bkg.begin(), bkg.end());
  double wins = 0;
  for (const float s : signal) {
    const auto below = std::lower_bound(bkg.begin(), bkg.end(), s) - bkg.begin();
    const auto ties = std::upper_bound(bkg.begin(), bkg.end(), s) - bkg.begin() - below;
    wins += static_cast<double>(below) + 0.5 * static_cast<double>(ties);
  }
  return wins / (static_cast<double>(signal.size()) * static_cast<double>(bkg.size()));
}

}  // namespace larsel::models
