#pragma once
// Sigmoid + binary cross-entropy on logits, with class weights (the signal
// class is rarer in the physics than in a balanced training set, and the
// working point sits at 1e-4 background acceptance).
#include <span>

namespace larsel::models {

struct ClassWeights {
  float signal = 1.0f;
  float background = 1.0f;
};

/// Mean weighted BCE of sigmoid(logits) against labels (1 = signal, 0 = background),
/// computed stably from the logits; writes dLoss/dlogit into `gradients` when not empty.
double binary_cross_entropy(std::span<const float> logits, std::span<const float> labels, ClassWeights weights,
                            std::span<float> gradients = {});

/// 1 / (1 + exp(-z)) without overflow.
float sigmoid(float z) noexcept;

}  // namespace larsel::models
