#pragma once
// Everything `larsel compress` needs, from one YAML file
// (models/default-compress.yaml is the shipped compressed model's):
//   data, preprocess, architecture, training   as in the training recipe (train_recipe.hpp);
//                 training.max_epochs and patience apply to pretraining
//   teacher:      a float model file: the starting weights and the distillation
//                 teacher (its preprocess configuration is used); without one,
//                 the architecture is pretrained and becomes the teacher
//   pretrain:     {epochs}                       extra float epochs before pruning
//   pruning:      {keep: {conv1: 6, ...}, epochs, lambda_budget, lambda_binary,
//                  temperature_start, temperature_end, initial_logit, learning_rate_scale}
//   sparsity:     {final, rounds, epochs, frequency, rewind: never | every_round}
//   quantization: {enabled, weight, bias, activation, logit, layers: {conv1: {weight, bias, output}}}
//                 each format an HLS type or {width, integer (or auto), rounding, overflow, signed}
//   finetune:     {epochs, patience, learning_rate}
//   distillation: {enabled, temperature, alpha}
// Unknown keys and out-of-range values are daq::ConfigErrors naming the key.
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "larsel/models/fixed_point.hpp"
#include "larsel/models/loss.hpp"
#include "larsel/models/structured_pruning.hpp"
#include "larsel/models/train_recipe.hpp"

namespace larsel::models {

/// A format whose integer bits may be chosen from the data ("integer: auto").
struct FormatChoice {
  FixedPointFormat format;
  bool auto_integer = false;
};

struct QuantizationRecipe {
  bool enabled = true;
  FormatChoice weight{{8, 1, true, Quantization::rnd_conv, Overflow::sat}, true};
  FormatChoice bias{{16, 6, true, Quantization::rnd_conv, Overflow::sat}, true};
  FormatChoice activation{{16, 6, true, Quantization::rnd, Overflow::sat}, true};  // hidden layers' outputs
  FormatChoice logit{{16, 8, true, Quantization::rnd, Overflow::sat}, true};       // the last layer's output
  struct LayerOverride {
    std::optional<FormatChoice> weight, bias, output;
  };
  std::map<std::string, LayerOverride> layers;  // by layer name
};

struct SparsityRecipe {
  double final_sparsity = 0;  // 0: no unstructured pruning
  int rounds = 1;             // round r prunes to 1 - (1 - final)^((r + 1) / rounds)
  int epochs = 4;             // per round
  long frequency = 50;        // optimiser steps between mask updates
  bool rewind_every_round = false;  // lottery-ticket rewind to the stage's starting weights, masks kept
};

struct CompressRecipe {
  TrainRecipe base;
  std::string teacher;  // model file; empty: pretrain base.architecture
  int pretrain_epochs = 0;
  GateConfig gates;     // gates.keep empty: no structured pruning
  int pruning_epochs = 6;
  SparsityRecipe sparsity;
  QuantizationRecipe quantization;
  int finetune_epochs = 10;
  int finetune_patience = 4;
  float finetune_learning_rate = 3e-4f;
  std::optional<DistillationConfig> distillation = DistillationConfig{};
};

CompressRecipe parse_compress_recipe(const std::string& yaml_text, const std::string& source);
nlohmann::json to_json(const CompressRecipe& recipe);

}  // namespace larsel::models
