#pragma once
// Everything `larsel train` needs, from one YAML file (models/default-train.yaml
// is the shipped model's):
//   data:         files (larsel simulate outputs), validation_fraction, test_fraction,
//                 split_seed, cache_dir, warmup_frames
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
};

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
