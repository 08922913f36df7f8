// Unstructured magnitude pruning (compression.md §3.2): the cubic sparsity
// schedule, per-tensor masks of the smallest |w|, frozen masks during
// fine-tuning, and pruning a small CNN while it trains.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "larsel/models/architecture.hpp"
#include "larsel/models/loss.hpp"
#include "larsel/models/magnitude_pruning.hpp"

using namespace larsel::models;

namespace {

/// A free-standing tensor and its gradient, wrapped as a prunable Parameter.
struct TestTensor {
  FloatBuffer values, gradients;
  TestTensor(std::initializer_list<float> v) : values(v), gradients(values.size(), 0.0f) {}
  Parameter parameter(const std::string& name) { return {name, &values, &gradients, true}; }
};

std::vector<std::size_t> zero_indices(const FloatBuffer& values) {
  std::vector<std::size_t> zeros;
  for (std::size_t i = 0; i < values.size(); ++i)
    if (values[i] == 0.0f) zeros.push_back(i);
  return zeros;
}

}  // namespace

TEST_CASE("A later pruning round keeps the earlier masks while its own ramp starts low", "[pruning]") {
  TestTensor w{0.1f, -0.9f, 0.2f, 0.8f, -0.3f, 0.7f, 0.4f, -0.6f, 0.5f, 0.05f};
  std::vector<Parameter> one{w.parameter("weights")};
  MagnitudePruner first(one, SparsitySchedule{0.5, 1, 1, 1});
  first.after_step(1);
  const std::vector<std::size_t> pruned = zero_indices(w.values);
  REQUIRE(pruned.size() == 5);
  for (std::size_t i : pruned) w.values[i] = 1.0f;  // as after a rewind and an optimiser step, before re-masking
  for (std::size_t i : pruned) w.values[i] = 0.0f;  // ... re-masked by the round's end
  MagnitudePruner second(one, SparsitySchedule{0.7, 1, 10, 1});
  second.mask_zeros();
  for (std::size_t i : pruned) w.values[i] = 2.0f;  // the optimiser moves masked weights: they must not come back
  second.after_step(1);  // the ramp's target here is far below 50 %
  for (std::size_t i : pruned) CHECK(w.values[i] == 0.0f);
  second.after_step(10);
  CHECK(zero_indices(w.values).size() == 7);
  CHECK(second.sparsity() == Approx(0.7));
}

TEST_CASE("Magnitude pruning schedule follows the cubic ramp between begin and end", "[pruning]") {
  const SparsitySchedule s{0.8, 100, 200, 10};
  CHECK(s.sparsity_at(50) == 0.0);
  CHECK(s.sparsity_at(100) == 0.0);
  CHECK(s.sparsity_at(125) == Approx(0.8 * (1 - 0.75 * 0.75 * 0.75)));  // 0.4625
  CHECK(s.sparsity_at(150) == Approx(0.7));                              // 0.8 * (1 - 0.5^3)
  CHECK(s.sparsity_at(200) == Approx(0.8));
  CHECK(s.sparsity_at(1000) == Approx(0.8));

  CHECK(s.is_update_step(100));
  CHECK(s.is_update_step(110));
  CHECK_FALSE(s.is_update_step(115));
  CHECK_FALSE(s.is_update_step(90));
  CHECK_FALSE(s.is_update_step(210));
  const SparsitySchedule uneven{0.8, 100, 200, 30};  // 30 does not divide 100: end_step still updates
  CHECK(uneven.is_update_step(190));
  CHECK(uneven.is_update_step(200));
  CHECK_FALSE(uneven.is_update_step(199));
  const SparsitySchedule one_shot{0.5, 7, 7, 1};
  CHECK(one_shot.sparsity_at(6) == 0.0);
  CHECK(one_shot.sparsity_at(7) == 0.5);
  CHECK(one_shot.is_update_step(7));
}

TEST_CASE("Magnitude pruning schedule validation names the field", "[pruning]") {
  CHECK_THROWS_WITH((SparsitySchedule{1.0, 0, 10, 1}.validate()), Catch::Contains("final_sparsity"));
  CHECK_THROWS_WITH((SparsitySchedule{-0.1, 0, 10, 1}.sparsity_at(3)), Catch::Contains("final_sparsity"));
  CHECK_THROWS_WITH((SparsitySchedule{0.5, -1, 10, 1}.validate()), Catch::Contains("begin_step"));
  CHECK_THROWS_WITH((SparsitySchedule{0.5, 10, 9, 1}.validate()), Catch::Contains("end_step"));
  CHECK_THROWS_WITH((SparsitySchedule{0.5, 0, 10, 0}.validate()), Catch::Contains("frequency"));
  CHECK_THROWS_AS(MagnitudePruner({}, SparsitySchedule{0.5, 0, 10, 0}), std::invalid_argument);
  CHECK_THROWS_WITH(MagnitudePruner({Parameter{"w", nullptr, nullptr, true}}, SparsitySchedule{0.5, 0, 10, 1}),
                    Catch::Contains("'w'"));
}

TEST_CASE("Magnitude pruning zeros round(s n) weights per tensor, the smallest magnitudes first", "[pruning]") {
  TestTensor a{0.9f, -0.05f, 0.3f, -0.7f, 0.2f, 0.01f, -0.5f, 0.1f, 0.6f, -0.2f};
  TestTensor ties{0.3f, -0.3f, 0.3f, 0.1f};
  MagnitudePruner pruner({a.parameter("a"), ties.parameter("ties")}, SparsitySchedule{0.7, 0, 4, 1});
  pruner.after_step(4);  // the end of the ramp: s = 0.7

  // round(0.7 * 10) = 7: all but 0.9, -0.7 and 0.6.
  CHECK(zero_indices(a.values) == std::vector<std::size_t>{1, 2, 4, 5, 6, 7, 9});
  CHECK(a.values[0] == 0.9f);
  CHECK(a.values[3] == -0.7f);
  CHECK(a.values[8] == 0.6f);
  // round(0.7 * 4) = 3: 0.1, then the tied |0.3| at the lower indices.
  CHECK(zero_indices(ties.values) == std::vector<std::size_t>{0, 1, 3});

  const auto report = pruner.report();
  REQUIRE(report.size() == 2);
  CHECK(report[0].name == "a");
  CHECK(report[0].total == 10);
  CHECK(report[0].kept == 3);
  CHECK(report[1].total == 4);
  CHECK(report[1].kept == 1);
  CHECK(pruner.sparsity() == Approx(10.0 / 14.0));
}

TEST_CASE("Frozen pruning masks stay fixed while Adam keeps training", "[pruning]") {
  TestTensor w{0.8f, -0.1f, 0.5f, 0.05f, -0.6f, 0.2f, -0.02f, 0.4f};
  Parameter parameter = w.parameter("w");
  MagnitudePruner pruner({parameter}, SparsitySchedule{0.75, 0, 10, 1});
  pruner.after_step(5);  // s = 0.75 (1 - 0.5^3) = 0.65625: round(5.25) = 5 pruned
  const std::vector<std::size_t> pruned = zero_indices(w.values);
  CHECK(pruned == std::vector<std::size_t>{1, 3, 5, 6, 7});
  pruner.freeze();

  Adam adam({parameter}, AdamConfig{0.1f});
  for (long step = 6; step <= 12; ++step) {
    // Push the pruned weights hardest: unfrozen, they would now outgrow the kept ones.
    for (std::size_t i = 0; i < w.gradients.size(); ++i) w.gradients[i] = -1.0f;
    adam.step();
    pruner.after_step(step);
    CHECK(zero_indices(w.values) == pruned);
  }
  CHECK(pruner.report()[0].kept == 3);
  CHECK(w.values[0] > 0.8f);  // the kept weights did train
}

TEST_CASE("A small CNN trained with magnitude pruning to 70 percent ends within 1 percent of it", "[pruning]") {
  const Architecture architecture = architecture_from_json(nlohmann::json::parse(R"({"layers": [
      {"conv2d": {"filters": 4, "kernel": 3, "padding": "same"}}, "relu", {"maxpool": {"window": [2, 2]}},
      "flatten", {"dense": {"units": 8}}, "relu", {"dense": {"units": 1}}]})"), "test");
  Network network = build_network(architecture, {1, 16, 8}, 3);
  const std::vector<Parameter> prunable = prunable_parameters(network);
  REQUIRE(prunable.size() == 3);  // weights only, no biases

  const SparsitySchedule schedule{0.70, 2, 12, 2};
  MagnitudePruner pruner(prunable, schedule);
  Adam adam(network.parameters(), AdamConfig{1e-2f});
  std::mt19937 rng(11);
  std::normal_distribution<float> pixel(0.0f, 1.0f);
  Batch images, gradient;
  std::vector<float> labels(16);
  for (long step = 0; step < 20; ++step) {
    images.reshape(16, {1, 16, 8});
    for (float& v : images.values) v = pixel(rng);
    for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<float>(i % 2);
    network.zero_gradients();
    const Batch& logits = network.forward(images, true);
    gradient.reshape(logits.count, logits.shape);
    binary_cross_entropy(logits.values, labels, {}, gradient.values);
    network.backward(gradient);
    adam.step();
    if (step == 14) pruner.freeze();
    pruner.after_step(step);
  }

  CHECK(pruner.sparsity() == Approx(0.70).margin(0.01));
  const auto report = pruner.report();
  REQUIRE(report.size() == 3);
  const std::vector<std::size_t> weight_counts{4 * 9, 4 * 8 * 4 * 8, 8};  // conv 4x1x3x3, dense 128->8, dense 8->1
  std::size_t zeros = 0, total = 0;
  for (std::size_t t = 0; t < report.size(); ++t) {
    CHECK(report[t].name == prunable[t].name);
    CHECK(report[t].total == weight_counts[t]);
    CHECK(report[t].total == prunable[t].values->size());
    zeros += zero_indices(*prunable[t].values).size();
    total += report[t].total;
  }
  CHECK(report[0].name == "layer0_conv2d/weights");
  CHECK(static_cast<double>(zeros) / static_cast<double>(total) >= pruner.sparsity());  // masked weights are exactly 0
}
