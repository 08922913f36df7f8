#pragma once
// What the pipeline takes from the model file: the network, the preprocess
// configuration it was trained with and its selection threshold.
#include <string>

#include "larsel/models/model_file.hpp"
#include "larsel/pipeline/config.hpp"
#include "larsel/preprocess/config.hpp"

namespace larsel::pipeline {

/// The preprocess configuration `model` was trained with, checked to make the images its network
/// takes; throws naming `model_path`.
preprocess::PreprocessConfig model_preprocess_config(const models::ModelFile& model, const std::string& model_path);

/// The selection threshold: `selection.threshold`, or the model's working point at
/// `selection.working_point` (its test-split metrics); throws core::ConfigError when the model has none.
double selection_threshold(const SelectionConfig& selection, const models::ModelFile& model, const std::string& model_path);

}  // namespace larsel::pipeline
