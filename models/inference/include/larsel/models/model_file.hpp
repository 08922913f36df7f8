#pragma once
// The model file (HDF5), everything needed to run and judge a trained CNN:
//   attributes  format_version, software, architecture (JSON), input_shape (JSON),
//               preprocess_config (YAML the inputs must be made with: preprocess::to_yaml),
//               preprocess_hash (16 hex digits of the FNV-1a hash of that text),
//               baseline (JSON: the tuned baseline trigger), training (JSON), metrics (JSON)
//               a quantized model's architecture carries each layer's ap_fixed formats, and its
//               weights and biases are stored as their exact fixed-point values
//   /weights/layer<i>_<kind>/<name>   float32 in the layer's natural shape:
//               conv2d weights [filters][channels][kh][kw], dense weights [units][inputs],
//               biases and BatchNorm scale, shift, running_mean, running_variance [channels]
// Loading checks every one of these and says what is wrong with which file. The preprocess
// configuration is carried as its text: whoever runs the model builds the preprocess stage from it
// (preprocess::parse_model_preprocess_config, which checks it makes the images the network takes).
#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "larsel/models/model.hpp"

namespace larsel::models {

inline constexpr std::uint64_t kModelFormatVersion = 1;

struct ModelFile {
  Model model;
  std::string preprocess_yaml;  // preprocess::to_yaml of the configuration the model was trained with
  nlohmann::json baseline;      // to_json(BaselineConfig) tuned on the same training set
  nlohmann::json training;      // configuration, data sets, epochs, timing
  nlohmann::json metrics;       // on the held-out test split

  /// 16 hex digits of the FNV-1a hash of preprocess_yaml: what the file records and is checked against.
  [[nodiscard]] std::string preprocess_hash() const;
};

/// Writes `path`.tmp then renames it; throws std::runtime_error naming the file.
void save_model(const std::filesystem::path& path, ModelFile& file);

/// Throws std::runtime_error "<path>: <what is wrong>" for a missing, corrupt,
/// truncated or mismatched file (format version, architecture, weight shapes,
/// non-finite weights, preprocess hash).
ModelFile load_model(const std::filesystem::path& path);

}  // namespace larsel::models
