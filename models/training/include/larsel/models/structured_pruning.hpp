#pragma once
// Structured pruning with a user-chosen kept count (compression.md §2.3, the
// reconstruction of AutoPruner / modified CancelOut): a Gate after each
// chosen convolution (per filter) or dense layer (per neuron), trained with
//   L = L_task + lambda_budget sum_l (sum_j g_lj - k_l)^2 + lambda_binary sum g (1 - g)
// while the gate temperature is annealed geometrically; then the k largest
// gate logits survive (exactly k, whatever the soft gates did), their gate
// values are folded into the next layer's input weights (exact: the gate
// follows a ReLU and max pooling commutes with a positive scale), and the
// other filters or neurons are physically removed (§5.3).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "larsel/models/architecture.hpp"
#include "larsel/models/model.hpp"

namespace larsel::models {

/// Layer name ("conv1", "dense1", ... as layer_names gives them) -> kept filters or neurons.
using KeptCounts = std::map<std::string, int>;

struct GateConfig {
  KeptCounts keep;
  float lambda_budget = 1e-2f;       // §2.3 suggested default
  float lambda_binary = 1e-3f;       // §2.3 suggested default
  float temperature_start = 1.0f;    // T0
  float temperature_end = 0.05f;     // T_min
  float initial_logit = 4.0f;        // sigmoid(4) = 0.982: every gate open (CancelOut)
  float learning_rate_scale = 10.0f; // gate logits' learning rate / the weights' (see Gate)

  /// T_e = T0 (T_min / T0)^(e / (epochs - 1)) for epoch e in [0, epochs): T0 first, T_min last.
  [[nodiscard]] float temperature(int epoch, int epochs) const;
};

/// `architecture` with a gate after each layer in `keep` (after its ReLU when
/// one follows). Throws core::ConfigError naming the layer for an unknown name,
/// the last (logit) layer, a count outside [1, size], or a batchnorm layer in
/// the network (fold it first).
Architecture with_gates(const Architecture& architecture, const KeptCounts& keep);

/// The gated model for `source`'s weights (gates fully open at initial_logit).
Model add_gates(Model& source, const GateConfig& config);

/// Sets every gate's temperature (on each training replica, each epoch).
void set_gate_temperature(Model& gated, float temperature);

/// Adds the budget and binarisation gradients of every gate to its logits'
/// gradient; returns the value of those loss terms.
double add_gate_loss_gradients(Model& gated, const GateConfig& config);

/// Per gated layer name: the number of gates above 0.5 and the sum of gate values.
struct GateState {
  std::string layer;
  int size = 0, kept = 0, open = 0;  // open: gates > 0.5
  double sum = 0;
};
std::vector<GateState> gate_states(Model& gated, const KeptCounts& keep);

/// keep[c] = 1 for the `kept` largest logits (ties: the lower index).
std::vector<std::uint8_t> top_k(std::span<const float> logits, int kept);

/// Applies the hard top-k mask to every gate: the masked model, whose
/// outputs physical removal reproduces.
void apply_hard_masks(Model& gated, const KeptCounts& keep);

/// The model without gates and with only the top-k filters or neurons of
/// each gated layer, the survivors' gate values folded into the next weighted layer.
Model remove_gated_units(Model& gated, const KeptCounts& keep);

}  // namespace larsel::models
