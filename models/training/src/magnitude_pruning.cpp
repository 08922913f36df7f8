// Unstructured magnitude pruning with a cubic sparsity schedule
// (compression.md §3.2; Zhu & Gupta 2017; tfmot PolynomialDecay).
#include "larsel/models/magnitude_pruning.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <tuple>
#include <utility>

namespace larsel::models {

void SparsitySchedule::validate() const {
  if (!(final_sparsity >= 0.0 && final_sparsity < 1.0))
    throw std::invalid_argument("SparsitySchedule: final_sparsity must be in [0, 1)");
  if (begin_step < 0) throw std::invalid_argument("SparsitySchedule: begin_step must be >= 0");
  if (end_step < begin_step) throw std::invalid_argument("SparsitySchedule: end_step must be >= begin_step");
  if (frequency < 1) throw std::invalid_argument("SparsitySchedule: frequency must be >= 1");
}

double SparsitySchedule::sparsity_at(long step) const {
  validate();
  if (step < begin_step) return 0.0;
  if (step >= end_step) return final_sparsity;
  // 0 <= progress < 1 here, and end_step > begin_step.
  const double progress = static_cast<double>(step - begin_step) / static_cast<double>(end_step - begin_step);
  const double remaining = 1.0 - progress;
  return final_sparsity * (1.0 - remaining * remaining * remaining);
}

bool SparsitySchedule::is_update_step(long step) const {
  if (step < begin_step || step > end_step) return false;
  return step == end_step || (step - begin_step) % frequency == 0;
}

MagnitudePruner::MagnitudePruner(std::vector<Parameter> prunable, SparsitySchedule schedule)
    : parameters_(std::move(prunable)), schedule_(schedule) {
  schedule_.validate();
  masks_.reserve(parameters_.size());
  for (const Parameter& p : parameters_) {
    if (p.values == nullptr) throw std::invalid_argument("MagnitudePruner: parameter '" + p.name + "' has no values");
    masks_.emplace_back(p.values->size(), std::uint8_t{1});
  }
}

void MagnitudePruner::after_step(long step) {
  if (!frozen_ && schedule_.is_update_step(step)) update_masks(schedule_.sparsity_at(step));
  apply_masks();
}

void MagnitudePruner::apply_masks() {
  for (std::size_t t = 0; t < parameters_.size(); ++t) {
    FloatBuffer& values = *parameters_[t].values;
    const std::vector<std::uint8_t>& mask = masks_[t];
    for (std::size_t i = 0; i < values.size(); ++i)
      if (mask[i] == 0) values[i] = 0.0f;
  }
}

namespace {

/// Mask of `values` pruning the `count` smallest |w|. Ties are broken
/// deterministically: already pruned weights first (so masks only grow while
/// the target rises), then smaller |w|, then lower index.
std::vector<std::uint8_t> smallest_magnitude_mask(const FloatBuffer& values, const std::vector<std::uint8_t>& previous,
                                                  std::size_t count) {
  std::vector<std::size_t> order(values.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  const auto prune_first = [&](std::size_t a, std::size_t b) {
    const auto key = [&](std::size_t i) { return std::make_tuple(previous[i], std::fabs(values[i]), i); };
    return key(a) < key(b);
  };
  std::vector<std::uint8_t> mask(values.size(), std::uint8_t{1});
  if (count == 0) return mask;
  std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(count - 1), order.end(), prune_first);
  for (std::size_t k = 0; k < count; ++k) mask[order[k]] = 0;
  return mask;
}

}  // namespace

void MagnitudePruner::update_masks(double target) {
  for (std::size_t t = 0; t < parameters_.size(); ++t) {
    const std::size_t n = masks_[t].size();
    // Masks only grow: a later, lower target (a new round's ramp) keeps what is already pruned.
    const auto masked = static_cast<std::size_t>(std::count(masks_[t].begin(), masks_[t].end(), std::uint8_t{0}));
    const auto count = std::max(masked, static_cast<std::size_t>(std::llround(target * static_cast<double>(n))));
    masks_[t] = smallest_magnitude_mask(*parameters_[t].values, masks_[t], std::min(count, n));
  }
}

double MagnitudePruner::sparsity() const {
  std::size_t total = 0, kept = 0;
  for (const LayerSparsity& layer : report()) {
    total += layer.total;
    kept += layer.kept;
  }
  return total == 0 ? 0.0 : static_cast<double>(total - kept) / static_cast<double>(total);
}

std::vector<LayerSparsity> MagnitudePruner::report() const {
  std::vector<LayerSparsity> layers;
  layers.reserve(parameters_.size());
  for (std::size_t t = 0; t < parameters_.size(); ++t) {
    const auto kept = static_cast<std::size_t>(std::count(masks_[t].begin(), masks_[t].end(), std::uint8_t{1}));
    layers.push_back({parameters_[t].name, masks_[t].size(), kept});
  }
  return layers;
}

std::vector<Parameter> prunable_parameters(Network& network) {
  std::vector<Parameter> prunable;
  for (const Parameter& p : network.parameters())
    if (p.decays) prunable.push_back(p);
  return prunable;
}

void MagnitudePruner::mask_zeros() {
  for (std::size_t p = 0; p < parameters_.size(); ++p) {
    const FloatBuffer& w = *parameters_[p].values;
    for (std::size_t i = 0; i < w.size(); ++i) masks_[p][i] = w[i] != 0.0f ? 1 : 0;
  }
}

void MagnitudePruner::freeze_at_zeros() {
  mask_zeros();
  frozen_ = true;
}

}  // namespace larsel::models
