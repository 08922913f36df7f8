// Structured pruning with a chosen kept count (compression.md §2.3): the
// budget term's gradient, annealed gates that end with exactly k open, and
// physical removal that reproduces the masked model (bit for bit in fixed
// point, where sums are exact).
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "larsel/core/errors.hpp"
#include "larsel/models/architecture.hpp"
#include "larsel/models/fixed_point_inference.hpp"
#include "larsel/models/loss.hpp"
#include "larsel/models/structured_pruning.hpp"

using namespace larsel::models;

namespace {

const Shape kInput{1, 24, 16};

/// conv1(6) relu pool conv2(4, valid) relu pool flatten dense1(8) relu dense2(1).
Architecture toy_architecture() {
  Architecture a = default_architecture();
  a.layers[0].filters = 6;
  a.layers[3].filters = 4;
  a.layers[3].padding = Padding::valid;
  a.layers[7].units = 8;
  return a;
}

/// Noise images; signal ones carry a bright vertical line at a random column.
ImageSet line_images(std::size_t count, std::uint32_t seed) {
  ImageSet set;
  set.shape = kInput;
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> noise(0, 40), column(1, 14);
  set.pixels.resize(count * kInput.size());
  for (auto& p : set.pixels) p = static_cast<std::uint8_t>(noise(rng));
  for (std::size_t i = 0; i < count; ++i) {
    set.labels.push_back(static_cast<std::uint8_t>(i % 2));
    if (i % 2 == 0) continue;
    const int x = column(rng);
    for (int y = 3; y < 21; ++y) set.pixels[i * kInput.size() + static_cast<std::size_t>(y * 16 + x)] = 220;
  }
  return set;
}

std::vector<std::size_t> all_indices(const ImageSet& set) {
  std::vector<std::size_t> all(set.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  return all;
}

/// Full-batch Adam with the gate budget, temperature annealed over `epochs` x `steps`.
void train_gated(Model& gated, const ImageSet& set, const GateConfig& config, int epochs, int steps) {
  Batch batch, grad;
  fill_batch(set, all_indices(set), gated.architecture().input_scale, batch);
  std::vector<float> labels(set.labels.begin(), set.labels.end()), gradients(labels.size());
  Adam adam(gated.network().parameters(), AdamConfig{.learning_rate = 0.02f});
  for (int epoch = 0; epoch < epochs; ++epoch) {
    set_gate_temperature(gated, config.temperature(epoch, epochs));
    for (int step = 0; step < steps; ++step) {
      gated.network().zero_gradients();
      const Batch& logits = gated.network().forward(batch, true);
      binary_cross_entropy(logits.values, labels, ClassWeights{}, gradients);
      grad.reshape(logits.count, logits.shape);
      std::copy(gradients.begin(), gradients.end(), grad.values.begin());
      gated.network().backward(grad);
      add_gate_loss_gradients(gated, config);
      adam.step();
    }
  }
}

std::vector<float> forward(Model& model, const ImageSet& set) {
  Batch batch;
  fill_batch(set, all_indices(set), model.architecture().input_scale, batch);
  const Batch& out = model.network().forward(batch, false);
  return {out.values.begin(), out.values.end()};
}

Architecture quantized(Architecture a) {
  const LayerQuantization q{parse_fixed_point_format("ap_fixed<8,1,AP_RND_CONV,AP_SAT>"),
                            parse_fixed_point_format("ap_fixed<16,6,AP_RND,AP_SAT>"),
                            parse_fixed_point_format("ap_fixed<16,6,AP_RND,AP_SAT>")};
  for (LayerSpec& s : a.layers) {
    if (s.kind == LayerKind::conv2d || s.kind == LayerKind::dense) s.quantization = q;
  }
  return a;
}

}  // namespace

TEST_CASE("Gate budget gradient matches finite differences", "[gates]") {
  Gate gate({5, 1, 1});
  gate.logits = {2.0f, 1.0f, 0.3f, -0.4f, -1.2f};
  gate.set_temperature(0.8f);
  for (const auto& p : gate.parameters()) std::fill(p.gradients->begin(), p.gradients->end(), 0.0f);
  gate.add_budget_gradient(2, 0.05f, 0.01f);
  const std::vector<float> analytic(gate.parameters()[0].gradients->begin(), gate.parameters()[0].gradients->end());
  for (std::size_t c = 0; c < 5; ++c) {
    const float saved = gate.logits[c];
    const float h = 1e-2f;
    double up = 0, down = 0;
    Gate probe = gate;
    probe.logits[c] = saved + h;
    up = probe.add_budget_gradient(2, 0.05f, 0.01f);
    probe.logits[c] = saved - h;
    down = probe.add_budget_gradient(2, 0.05f, 0.01f);
    CHECK(analytic[c] == Approx((up - down) / (2 * h)).margin(1e-4));
  }
}

TEST_CASE("Gate pruning keeps exactly the chosen count, and removal reproduces the masked model", "[gates]") {
  const ImageSet set = line_images(256, 9);
  Model dense_model(toy_architecture(), kInput, 3);
  GateConfig config;
  config.keep = {{"conv1", 2}, {"conv2", 3}, {"dense1", 3}};
  config.lambda_budget = 0.05f;
  Model gated = add_gates(dense_model, config);
  CHECK(gated.network().layers().size() == dense_model.network().layers().size() + 3);
  train_gated(gated, set, config, 8, 25);

  // The budget drove the soft gates to the asked count before any hard top-k.
  for (const GateState& s : gate_states(gated, config.keep)) {
    INFO(s.layer << ": " << s.open << " open, sum " << s.sum);
    CHECK(s.open == s.kept);
  }

  Model pruned = remove_gated_units(gated, config.keep);
  const Architecture& a = pruned.architecture();
  CHECK(a.layers.size() == toy_architecture().layers.size());
  CHECK(a.layers[0].filters == 2);
  CHECK(a.layers[3].filters == 3);
  CHECK(a.layers[7].units == 3);
  CHECK(pruned.network().multiply_accumulates() < dense_model.network().multiply_accumulates() / 2);

  // Float: the masked model (hard top-k gates) and the smaller one agree to rounding.
  apply_hard_masks(gated, config.keep);
  const std::vector<float> masked = forward(gated, set), removed = forward(pruned, set);
  for (std::size_t i = 0; i < set.size(); ++i) CHECK(removed[i] == Approx(masked[i]).margin(1e-4).epsilon(1e-5));
}

TEST_CASE("Physical removal is bit-identical to the masked model in fixed point", "[gates]") {
  const ImageSet set = line_images(128, 4);
  GateConfig config;
  config.keep = {{"conv1", 3}, {"dense1", 5}};
  Model source(toy_architecture(), kInput, 8);
  Model gated_float = add_gates(source, config);
  // Distinct logits so top-k is decided; a temperature at which every gate value is exactly 1.
  for (const auto& layer : gated_float.network().layers()) {
    if (auto* gate = dynamic_cast<Gate*>(layer.get())) {
      for (std::size_t c = 0; c < gate->logits.size(); ++c) gate->logits[c] = 4.0f + static_cast<float>((c * 5) % 7);
    }
  }
  set_gate_temperature(gated_float, 0.01f);
  Model masked(quantized(gated_float.architecture()), kInput, 0);
  masked.copy_state_from(gated_float);
  apply_hard_masks(masked, config.keep);
  Model removed = remove_gated_units(masked, config.keep);
  REQUIRE(is_quantized(removed.architecture()));
  CHECK(forward(masked, set) == forward(removed, set));
  const FixedPointInference integer(removed);
  const std::vector<float> logits = forward(removed, set);
  for (std::size_t i = 0; i < set.size(); ++i) CHECK(static_cast<double>(logits[i]) == integer.logit(set.image(i)));
}

TEST_CASE("Gate pruning refuses counts and layers it cannot honour", "[gates]") {
  const Architecture a = toy_architecture();
  CHECK_THROWS_WITH(with_gates(a, {{"conv9", 2}}), Catch::Contains("pruning.keep.conv9: no such layer"));
  CHECK_THROWS_WITH(with_gates(a, {{"conv1", 7}}), Catch::Contains("pruning.keep.conv1: 7 is not in [1, 6]"));
  CHECK_THROWS_WITH(with_gates(a, {{"dense2", 1}}), Catch::Contains("logit layer"));
  CHECK(top_k(std::vector<float>{0.1f, 3.0f, 3.0f, -1.0f}, 2) == std::vector<std::uint8_t>{0, 1, 1, 0});
}
