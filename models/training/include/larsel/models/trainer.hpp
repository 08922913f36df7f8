#pragma once
// Mini-batch training with AdamW and early stopping on the validation loss.
// Each mini-batch is split into two fixed shards whose gradients are summed
// in a fixed order, one shard per core: the result depends on the seed only,
// not on the number of threads (BatchNorm sees each shard as its batch).
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "larsel/models/image_set.hpp"
#include "larsel/models/loss.hpp"
#include "larsel/models/model.hpp"
#include "larsel/models/network.hpp"

namespace larsel::models {

struct TrainingConfig {
  std::uint64_t seed = 1;          // weight initialisation and batch order
  int max_epochs = 30;
  int batch_size = 64;
  int patience = 4;                // epochs without a better validation loss before stopping
  AdamConfig adam;
  ClassWeights class_weights;
  unsigned threads = 2;            // 1 or 2 (the two shards)
  /// The validation metric: signal efficiency at this background acceptance.
  double validation_acceptance = 1e-3;
};

struct EpochRecord {
  int epoch = 0;  // from 1
  double train_loss = 0, validation_loss = 0;
  double validation_efficiency = 0;  // at TrainingConfig::validation_acceptance
  double seconds = 0;
  bool improved = false;  // the best validation loss so far: these weights are kept
};

struct TrainingResult {
  std::vector<EpochRecord> epochs;
  int best_epoch = 0;
  bool stopped_early = false;
  double seconds = 0;
};

struct TrainingCallbacks {
  std::function<void(int epoch, std::size_t batch, std::size_t batches, double running_loss)> batch_done;
  std::function<void(const EpochRecord&)> epoch_done;
};

/// What a compression stage adds to plain training (compressor.hpp).
struct StageHooks {
  /// Before each epoch (from 1), for every training replica: e.g. the gate temperature.
  std::function<void(int epoch, Model& replica)> before_epoch;
  /// After the shards' gradients are summed into `model`, before the optimiser
  /// step: adds the gradients of extra loss terms and returns their value.
  std::function<double(Model& model)> extra_loss;
  /// After each optimiser step (steps count from 1 over the whole call),
  /// before the other replica receives the weights: e.g. re-applying pruning masks.
  std::function<void(long step, Model& model)> after_step;
  /// Knowledge distillation: the teacher's logit for every image of the set
  /// (indexed like the set), or empty for plain labels.
  std::span<const float> teacher_logits;
  DistillationConfig distillation;
  /// true: early stopping, ending with the epoch of lowest validation loss;
  /// false: all max_epochs run and the last weights are kept (pruning stages).
  bool keep_best = true;
};

/// Trains `model` in place on set[train]; ends with the weights of the epoch
/// of lowest validation loss on set[validation] (see StageHooks::keep_best).
TrainingResult train(Model& model, const ImageSet& set, std::span<const std::size_t> train,
                     std::span<const std::size_t> validation, const TrainingConfig& config,
                     const TrainingCallbacks& callbacks = {}, const StageHooks& hooks = {});

/// Mean weighted BCE and the validation metric of `model` on set[indices].
std::pair<double, double> validation_metrics(Model& model, const ImageSet& set, std::span<const std::size_t> indices,
                                             const TrainingConfig& config);

}  // namespace larsel::models
