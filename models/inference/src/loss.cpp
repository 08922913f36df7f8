#include "larsel/models/loss.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace larsel::models {

float sigmoid(float z) noexcept {
  if (z >= 0) return 1.0f / (1.0f + std::exp(-z));
  const float e = std::exp(z);
  return e / (1.0f + e);
}

namespace {

/// -[p log s(z) + (1 - p) log(1 - s(z))] for a soft target p, stable for any z.
double soft_cross_entropy(double z, double p) { return std::max(z, 0.0) - z * p + std::log1p(std::exp(-std::abs(z))); }

void check_sizes(const char* what, std::size_t logits, std::size_t other, std::size_t labels, std::size_t gradients) {
  if (other != logits || labels != logits || (gradients != 0 && gradients != logits)) {
    throw std::invalid_argument(fmt::format("{}: {} logits, {} teacher logits or labels, {} labels, {} gradients", what, logits,
                                            other, labels, gradients));
  }
}

}  // namespace

double distillation_loss(std::span<const float> student, std::span<const float> teacher, std::span<const float> labels,
                         ClassWeights weights, DistillationConfig config, std::span<float> gradients) {
  check_sizes("distillation_loss", student.size(), teacher.size(), labels.size(), gradients.size());
  if (!(config.temperature > 0) || !(config.alpha >= 0 && config.alpha <= 1)) {
    throw std::invalid_argument(fmt::format("distillation: temperature {} must be > 0 and alpha {} in [0, 1]", config.temperature, config.alpha));
  }
  if (student.empty()) return 0.0;
  const double n = static_cast<double>(student.size()), t = config.temperature, a = config.alpha;
  double loss = 0;
  for (std::size_t i = 0; i < student.size(); ++i) {
    const double zs = student[i], zt = teacher[i], y = labels[i];
    const double w = y > 0.5 ? weights.signal : weights.background;
    const double soft_target = sigmoid(static_cast<float>(zt / t));
    // KL(p_t || p_s) = H(p_t, p_s) - H(p_t): the cross-entropies at the softened logits.
    const double kl = soft_cross_entropy(zs / t, soft_target) - soft_cross_entropy(zt / t, soft_target);
    loss += w * ((1 - a) * soft_cross_entropy(zs, y) + a * t * t * kl);
    if (!gradients.empty()) {
      const double softened = sigmoid(static_cast<float>(zs / t));
      gradients[i] = static_cast<float>(w * ((1 - a) * (sigmoid(student[i]) - y) + a * t * (softened - soft_target)) / n);
    }
  }
  return loss / n;
}

double binary_cross_entropy(std::span<const float> logits, std::span<const float> labels, ClassWeights weights,
                            std::span<float> gradients) {
  check_sizes("binary_cross_entropy", logits.size(), labels.size(), labels.size(), gradients.size());
  if (logits.empty()) return 0.0;
  const double n = static_cast<double>(logits.size());
  double loss = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    const double z = logits[i], y = labels[i];
    const double w = y > 0.5 ? weights.signal : weights.background;
    loss += w * soft_cross_entropy(z, y);  // -[y log s + (1 - y) log(1 - s)]
    if (!gradients.empty()) gradients[i] = static_cast<float>(w * (sigmoid(logits[i]) - y) / n);
  }
  return loss / n;
}

}  // namespace larsel::models
