#include "larsel/pipeline/model_setup.hpp"

#include <cmath>

#include <fmt/format.h>

#include "larsel/core/errors.hpp"

namespace larsel::pipeline {

preprocess::PreprocessConfig model_preprocess_config(const models::ModelFile& model, const std::string& model_path) {
  const models::Shape input = model.model.input_shape();
  return preprocess::parse_model_preprocess_config(model.preprocess_yaml, model_path, static_cast<std::size_t>(input.height),
                                                   static_cast<std::size_t>(input.width));
}

double selection_threshold(const SelectionConfig& selection, const models::ModelFile& model, const std::string& model_path) {
  if (!selection.threshold_from_model) return selection.threshold;
  const auto cnn = model.metrics.find("cnn");
  if (cnn != model.metrics.end() && cnn->contains("working_points")) {
    for (const auto& point : (*cnn)["working_points"]) {
      const double target = point.value("target_background_acceptance", 0.0);
      if (std::abs(target - selection.working_point) <= 1e-6 * selection.working_point && point.contains("threshold_logit")) {
        return point["threshold_logit"].get<double>();
      }
    }
  }
  throw core::ConfigError(fmt::format("selection.threshold: model {} has no working point at background acceptance {} "
                                     "(set selection.threshold to a logit, or working_point to 1e-3, 1e-4 or 1e-5)",
                                     model_path, selection.working_point));
}

}  // namespace larsel::pipeline
