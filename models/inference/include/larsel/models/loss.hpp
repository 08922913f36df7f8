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

/// Knowledge distillation (Hinton et al. 2015) for a single-logit classifier
/// (compression.md §4): the softmaxes become sigmoids.
struct DistillationConfig {
  float temperature = 4.0f;  // T: softens both outputs (typical 2-10)
  float alpha = 0.7f;        // weight of the teacher term (typical 0.5-0.9)
};

/// Mean over samples of w(y) [(1 - a) BCE(s(z_s), y) + a T^2 KL(s(z_t/T) || s(z_s/T))],
/// w the class weight of the hard label; writes dLoss/dz_s into `gradients`
/// when not empty: w [(1 - a)(s(z_s) - y) + a T (s(z_s/T) - s(z_t/T))] / n.
double distillation_loss(std::span<const float> student_logits, std::span<const float> teacher_logits,
                         std::span<const float> labels, ClassWeights weights, DistillationConfig config,
                         std::span<float> gradients = {});

/// 1 / (1 + exp(-z)) without overflow.
float sigmoid(float z) noexcept;

}  // namespace larsel::models
