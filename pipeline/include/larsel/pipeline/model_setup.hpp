#pragma once
// What the pipeline takes from the model file: the network, the preprocess
// configuration it was trained with, its selection threshold, and its hash.
#include <string>

#include "larsel/models/model_file.hpp"
#include "larsel/pipeline/config.hpp"

namespace larsel::pipeline {

/// SHA-1 of the file's bytes, 40 hex digits; throws naming the file when unreadable.
std::string file_sha1(const std::string& path);

/// The selection threshold: `selection.threshold`, or the model's working point at
/// `selection.working_point` (its test-split metrics); throws daq::ConfigError when the model has none.
double selection_threshold(const SelectionConfig& selection, const models::ModelFile& model, const std::string& model_path);

}  // namespace larsel::pipeline
