#pragma once
// Pieces `larsel train` and `larsel compress` share: the preprocessed data
// split into training, validation and test frames, and the epoch progress
// bar with one log line per epoch.
#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "larsel/models/image_preparation.hpp"
#include "larsel/models/image_set.hpp"
#include "larsel/models/train_recipe.hpp"
#include "larsel/models/trainer.hpp"
#include "progress_bar.hpp"

namespace larsel::app {

struct SplitData {
  models::ImageSet set;
  std::vector<std::size_t> train, validation, test;
};

/// Preprocesses (cached) every data file of the recipe, and the background it asks to simulate on
/// the fly, and splits the frames (in blocks of kSplitBlockFrames; partial-signal frames in none);
/// throws if the training or validation split lacks signal or background.
SplitData load_data(const models::TrainRecipe& recipe);

/// `frames` background-only stream frames with the first data file's simulation config (cached).
models::ImageSet simulated_background(const models::TrainRecipe& recipe, std::uint64_t seed, std::size_t frames, unsigned threads);

/// Hard negatives: simulates data.hard_negative_pool more background frames, scores them with `model`
/// and adds the data.hard_negatives highest-scoring to the set and the training split; returns how many.
std::size_t add_hard_negatives(SplitData& d, const models::TrainRecipe& recipe, models::Model& model);

/// The recipe's cache and warm-up with progress shown on `bar`.
models::PrepareOptions prepare_options(const models::DataRecipe& data, ProgressBar& bar);

/// The column of the baseline tuning grid a model file's baseline trigger is
/// (its scores are precomputed per column); throws naming `model` if absent.
std::size_t baseline_grid_column(const nlohmann::json& baseline, const std::string& model);

/// A progress bar over the batches of each epoch and one log line per epoch.
class EpochProgress {
 public:
  EpochProgress() : bar_("") {}
  /// Callbacks for a training of `max_epochs` epochs, labelled `stage` (may be empty).
  models::TrainingCallbacks callbacks(const models::TrainingConfig& config, std::string stage = {});
  void clear() { bar_.clear(); }

 private:
  ProgressBar bar_;
  double epoch_seconds_sum_ = 0;
  int epochs_done_ = 0;
  std::string last_validation_;
  std::chrono::steady_clock::time_point epoch_start_;
};

}  // namespace larsel::app
