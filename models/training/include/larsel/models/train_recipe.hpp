#pragma once
// Everything `larsel train` needs, from one YAML file (models/default-train.yaml
// is the shipped model's):
//   data:         files (larsel simulate outputs), validation_fraction, test_fraction,
//                 split_seed, cache_dir, warmup_frames, background_frames, background_seed,
//                 hard_negative_pool, hard_negatives
//   preprocess:   the preprocess configuration (as `larsel preprocess --config`)
//   architecture: see architecture.hpp
//   training:     seed, max_epochs, batch_size, patience, learning_rate, weight_decay,
//                 signal_weight, background_weight, threads
// Unknown keys and out-of-range values are daq::ConfigErrors naming the key.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "larsel/models/architecture.hpp"
#include "larsel/models/image_set.hpp"
#include "larsel/models/trainer.hpp"
#include "larsel/preprocess/config.hpp"

namespace larsel::models {

enum class Split : std::uint8_t { train, validation, test };

struct DataRecipe {
  std::vector<std::string> files;
  double validation_fraction = 0.15;
  double test_fraction = 0.15;
  std::uint64_t split_seed = 1;
  std::string cache_dir = ".larsel-cache";  // empty: no cache
  std::size_t warmup_frames = 32;
  /// A background-only stream simulated on the fly with the first file's simulation config, split like a file.
  std::size_t background_frames = 0;
  std::uint64_t background_seed = 202;
  /// Hard negatives (`larsel train`): after the first training, this many more background frames are
  /// simulated and scored, and the `hard_negatives` highest-scoring join the training split for a second one.
  std::size_t hard_negative_pool = 0;
  std::size_t hard_negatives = 0;
};
/// Frames are split in blocks of this many consecutive frames, so one event's frames share a split.
inline constexpr std::size_t kSplitBlockFrames = 64;

struct TrainRecipe {
  DataRecipe data;
  preprocess::PreprocessConfig preprocess;
  Architecture architecture = default_architecture();
  TrainingConfig training;
};

TrainRecipe parse_train_recipe(const std::string& yaml_text, const std::string& source);
/// The full recipe (every default filled in) for the model file's metadata.
nlohmann::json to_json(const TrainRecipe& recipe);

/// Frame `frame` of file `file` goes to the test split with probability
/// test_fraction, else to validation with validation_fraction, else to
/// training, decided by a hash of (split_seed, file, frame) alone.
Split split_of(const DataRecipe& data, std::size_t file, std::size_t frame);

}  // namespace larsel::models
