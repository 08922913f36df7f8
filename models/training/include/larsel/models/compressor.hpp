#pragma once
// The staged compression driver (compression.md §5, PQuant's train.py):
//   1. pretrain      float epochs with early stopping (or start from the teacher)
//   2. prune         gate pruning to the kept counts, then physical removal
//   3. sparsify      unstructured magnitude pruning in rounds (optional rewind)
//   4. quantize      fixed-point formats per layer ("auto" integer bits from the
//                    weights and a calibration pass), masks frozen
//   5. fine-tune     quantization-aware, with distillation from the teacher
// and finally the weights are baked onto their fixed-point grids, so the model
// file holds exactly what the integer inference and the HLS kernel use.
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "larsel/models/compress_recipe.hpp"
#include "larsel/models/image_set.hpp"
#include "larsel/models/model.hpp"
#include "larsel/models/trainer.hpp"

namespace larsel::models {

struct StageRecord {
  std::string name;
  TrainingResult training;
  nlohmann::json details;  // gate states, sparsity per layer, resolved formats
};

struct CompressionResult {
  Model model;    // the compressed model
  Model teacher;  // the float model it was distilled from
  std::vector<StageRecord> stages;
  [[nodiscard]] nlohmann::json to_json() const;
};

struct CompressionCallbacks {
  /// Called as each stage starts; returns the training callbacks for its epochs.
  std::function<TrainingCallbacks(const std::string& stage, const TrainingConfig& config)> stage_started;
  std::function<void(const StageRecord&)> stage_done;
};

/// Checks before any training what can be checked without data: the kept
/// counts against `architecture`, the layer names of quantization overrides,
/// and that the accumulators fit (auto integer bits taken as written).
/// Throws core::ConfigError naming the key.
void check_compress_recipe(const CompressRecipe& recipe, const Architecture& architecture, Shape input);

/// Runs the stages of `recipe` from `start` (a float model: the teacher's
/// weights, or freshly initialised when recipe.pretrain_epochs > 0) on
/// set[train], judging epochs on set[validation].
CompressionResult compress(const CompressRecipe& recipe, Model start, const ImageSet& set,
                           std::span<const std::size_t> train, std::span<const std::size_t> validation,
                           const CompressionCallbacks& callbacks = {});

/// The per-layer formats `recipe` gives `model` (float, already pruned):
/// auto integer bits from the largest weight, bias and calibrated output
/// (images set[calibration]). Returns the quantized architecture.
Architecture resolve_quantization(const QuantizationRecipe& recipe, Model& model, const ImageSet& set,
                                  std::span<const std::size_t> calibration);

/// Replaces every conv2d and dense weight and bias by its fixed-point value
/// (what the QAT forward pass uses): the exported tensors are the grid values.
void bake_quantization(Model& model);

}  // namespace larsel::models
