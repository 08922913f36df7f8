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

double binary_cross_entropy(std::span<const float> logits, std::span<const float> labels, ClassWeights weights,
                            std::span<float> gradients) {
  if (labels.size() != logits.size() || (!gradients.empty() && gradients.size() != logits.size())) {
    throw std::invalid_argument(fmt::format("binary_cross_entropy: {} logits, {} labels, {} gradients", logits.size(),
                                            labels.size(), gradients.size()));
  }
  if (logits.empty()) return 0.0;
  const double n = static_cast<double>(logits.size());
  double loss = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    const double z = logits[i], y = labels[i];
    const double w = y > 0.5 ? weights.signal : weights.background;
    // -[y log s + (1 - y) log(1 - s)] = max(z, 0) - z y + log(1 + exp(-|z|))
    loss += w * (std::max(z, 0.0) - z * y + std::log1p(std::exp(-std::abs(z))));
    if (!gradients.empty()) gradients[i] = static_cast<float>(w * (sigmoid(logits[i]) - y) / n);
  }
  return loss / n;
}

}  // namespace larsel::models
