#pragma once
// What the pipeline takes from the model file: the network, the preprocess
// configuration it was trained with and its selection threshold.
#include <string>

#include "larsel/models/model_file.hpp"
#include "larsel/pipeline/config.hpp"

namespace larsel::pipeline {

/// The selection threshold: `selection.threshold`, or the model's working point at
/// `selection.working_point` (its test-split metrics); throws core::ConfigError when the model has none.
double selection_threshold(const SelectionConfig& selection, const models::ModelFile& model, const std::string& model_path);

}  // namespace larsel::pipeline
