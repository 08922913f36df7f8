#pragma once
// Selection performance from per-frame scores: efficiencies with Wilson
// score intervals (68.3 %, well behaved at 0 and 1 passed), working points at
// a target background acceptance, the ROC curve and efficiency in energy bins.
#include <cstddef>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

namespace larsel::models {

struct Efficiency {
  std::size_t passed = 0, total = 0;
  double value = 0, low = 0, high = 0;  // value and its 68.3 % Wilson interval
};
Efficiency wilson_efficiency(std::size_t passed, std::size_t total);
nlohmann::json to_json(const Efficiency& e);

/// A cut `score > threshold` chosen so that at most target x N background frames pass.
struct WorkingPoint {
  double target_background_acceptance = 0;
  float threshold = 0;
  Efficiency background;  // frames accepted of the background set
  Efficiency signal;      // of the signal frames given
  /// Fewer than 10 background frames define the cut (target x N < 10): the
  /// acceptance is known to no better than ~30 %; with target x N < 1 the
  /// cut sits just above every background frame (0 pass), a looser cut than the target asks.
  bool statistically_limited = false;
};

/// Scores need not be sorted.
WorkingPoint working_point(std::span<const float> signal, std::span<const float> background, double target_acceptance);
nlohmann::json to_json(const WorkingPoint& w);

struct RocPoint {
  double background_acceptance, signal_efficiency;
  float threshold;
};
/// The ROC at every distinct background score down to one frame, thinned to
/// at most `max_points` points evenly spaced in log(acceptance).
std::vector<RocPoint> roc_curve(std::span<const float> signal, std::span<const float> background, std::size_t max_points = 400);

struct EnergyBin {
  double low_mev, high_mev;
  Efficiency efficiency;
};
/// Efficiency of `score > threshold` for signal frames binned by `energy` (MeV) at the bin edges given.
std::vector<EnergyBin> efficiency_in_bins(std::span<const float> scores, std::span<const float> energy, float threshold,
                                          std::span<const double> edges);
nlohmann::json to_json(const std::vector<EnergyBin>& bins);

/// Area under the ROC (the probability a signal frame outscores a background frame; ties count half).
double roc_area(std::span<const float> signal, std::span<const float> background);

}  // namespace larsel::models
