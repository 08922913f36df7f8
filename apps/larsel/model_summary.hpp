#pragma once
// The per-layer table `larsel inspect` prints and `larsel eval` records:
// parameters, weights, non-zero weights, multiply-accumulates, and for a
// quantized model its fixed-point formats and accumulators.
#include <nlohmann/json.hpp>

#include "larsel/models/model.hpp"

namespace larsel::app {

/// One row per layer; `teacher_weights` maps layer names ("conv1", ...) to the
/// float teacher's weight counts, recorded by larsel compress (may be empty).
nlohmann::ordered_json layer_table(models::Model& model, const nlohmann::json& teacher_weights = nlohmann::json::object());

/// "8,174 weights (4,087 non-zero), 318,728 MAC/frame, weights 8/8/8/8 bits, outputs 16/16/16/16 bits".
std::string model_summary_line(const nlohmann::ordered_json& layers);

}  // namespace larsel::app
