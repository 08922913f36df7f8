#pragma once
// Unstructured magnitude pruning (compression.md §3.2 "Plain magnitude
// pruning"): per tensor, keep the largest (1 - s) fraction of |w| and hold the
// rest at exactly zero, with the target s ramped by the cubic schedule of
// Zhu & Gupta 2017 (tfmot PolynomialDecay). Masks are recomputed every
// `frequency` steps and then frozen for fine-tuning (§3.2).
//
// Usage, once per mini-batch:
//   MagnitudePruner pruner(prunable_parameters(network), schedule);
//   ... network.backward(...); adam.step(); pruner.after_step(step);
// after_step re-applies the masks after every optimiser step, so masked
// weights are exactly 0 whenever the network runs forward. Their gradients
// and Adam moments are not masked: whatever the optimiser writes into a
// masked weight is overwritten with 0 before it is used.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "larsel/models/layer.hpp"
#include "larsel/models/network.hpp"

namespace larsel::models {

/// s(t) = s_f + (0 - s_f)(1 - (t - begin_step) / (end_step - begin_step))^3,
/// 0 before begin_step and s_f after end_step (Zhu & Gupta 2017, as tfmot's
/// PolynomialDecay with initial sparsity 0 and power 3).
struct SparsitySchedule {
  double final_sparsity = 0.0;  // in [0, 1)
  long begin_step = 0;          // >= 0
  long end_step = 0;            // >= begin_step (equal: one-shot pruning at begin_step)
  long frequency = 1;           // >= 1: steps between mask updates

  /// Throws std::invalid_argument naming the offending field.
  void validate() const;
  /// The target sparsity of the polynomial at `step` (validates first).
  [[nodiscard]] double sparsity_at(long step) const;
  /// Masks are recomputed at begin_step + k * frequency up to end_step, and at
  /// end_step itself so that the final sparsity is always reached (tfmot skips
  /// end_step when frequency does not divide end_step - begin_step).
  [[nodiscard]] bool is_update_step(long step) const;
};

/// Pruning state of one tensor, for logs and tests.
struct LayerSparsity {
  std::string name;
  std::size_t total = 0;
  std::size_t kept = 0;  // weights with a non-zero mask
};

class MagnitudePruner {
 public:
  /// `prunable` must outlive the pruner (it points into the network); pass
  /// weights only (see prunable_parameters). Throws std::invalid_argument on
  /// a parameter without values or an invalid schedule.
  MagnitudePruner(std::vector<Parameter> prunable, SparsitySchedule schedule);

  /// Call after each optimiser step: at schedule points (unless frozen)
  /// recomputes the masks for sparsity_at(step), then zeros masked weights.
  void after_step(long step);
  /// Masks no longer change; after_step only re-applies them (fine-tuning).
  void freeze() noexcept { frozen_ = true; }
  /// Masks exactly the weights that are 0 now: carries the masks of an earlier
  /// pruner over (the next pruning round, or a rebuilt network). Masks only
  /// grow afterwards: a schedule target below the masked count prunes nothing more.
  void mask_zeros();
  /// mask_zeros(), then freeze(): the masks of fine-tuning.
  void freeze_at_zeros();
  [[nodiscard]] bool frozen() const noexcept { return frozen_; }
  /// Sets every masked weight to exactly 0.
  void apply_masks();
  /// Fraction of masked weights over all prunable tensors (0 with no weights).
  [[nodiscard]] double sparsity() const;
  [[nodiscard]] std::vector<LayerSparsity> report() const;
  [[nodiscard]] const SparsitySchedule& schedule() const noexcept { return schedule_; }

 private:
  /// Per tensor, masks the round(target * n) weights of smallest |w|.
  void update_masks(double target);

  std::vector<Parameter> parameters_;
  std::vector<std::vector<std::uint8_t>> masks_;  // 1 = kept, 0 = pruned; one per parameter
  SparsitySchedule schedule_;
  bool frozen_ = false;
};

/// The parameters of `network` that weight decay applies to (convolution and
/// dense weights; not biases or BatchNorm scale/shift): the tensors to prune.
std::vector<Parameter> prunable_parameters(Network& network);

}  // namespace larsel::models
