// Knowledge distillation for the single-logit classifier: the loss and its
// gradient, and a student that learns more of its teacher from soft outputs.
#include <catch2/catch.hpp>

#include <random>

#include "larsel/models/architecture.hpp"
#include "larsel/models/loss.hpp"

using namespace larsel::models;

namespace {

/// Mean KL(s(z_t/T) || s(z_s/T)) T^2: how far the student is from its teacher.
double teacher_distance(std::span<const float> student, std::span<const float> teacher, float t) {
  const std::vector<float> labels(student.size(), 0.0f);
  return distillation_loss(student, teacher, labels, {}, {t, 1.0f});
}

Network dense_network(int hidden, std::uint64_t seed) {
  const auto json = nlohmann::json::parse(R"({"input_scale": 1, "layers": ["flatten", {"dense": {"units": )" + std::to_string(hidden) +
                                          R"(}}, "relu", {"dense": {"units": 1}}]})");
  return build_network(architecture_from_json(json, "test"), {1, 4, 4}, seed);
}

}  // namespace

TEST_CASE("Distillation loss: value limits and gradient against finite differences", "[models][distillation]") {
  const std::vector<float> student{-2.0f, -0.3f, 0.4f, 3.0f}, teacher{-1.0f, 0.5f, 0.4f, 5.0f}, labels{0, 1, 0, 1};
  const ClassWeights weights{1.5f, 0.8f};
  // alpha = 0 is the plain weighted BCE; a student equal to its teacher has no distillation term.
  CHECK(distillation_loss(student, teacher, labels, weights, {4.0f, 0.0f}) == Approx(binary_cross_entropy(student, labels, weights)));
  CHECK(distillation_loss(teacher, teacher, labels, weights, {3.0f, 1.0f}) == Approx(0.0).margin(1e-12));
  CHECK(distillation_loss(student, teacher, labels, weights, {3.0f, 1.0f}) > 0.0);
  const DistillationConfig config{2.5f, 0.6f};
  std::vector<float> gradients(student.size());
  distillation_loss(student, teacher, labels, weights, config, gradients);
  for (std::size_t i = 0; i < student.size(); ++i) {
    std::vector<float> up = student, down = student;
    const float h = 1e-3f;
    up[i] += h, down[i] -= h;
    const double numeric = (distillation_loss(up, teacher, labels, weights, config) - distillation_loss(down, teacher, labels, weights, config)) / (2 * h);
    CHECK(gradients[i] == Approx(numeric).epsilon(1e-3).margin(1e-5));
  }
  CHECK_THROWS_AS(distillation_loss(student, teacher, labels, weights, {0.0f, 0.5f}), std::invalid_argument);
  CHECK_THROWS_AS(distillation_loss(student, std::vector<float>{1.0f}, labels, weights, config), std::invalid_argument);
}

TEST_CASE("A student trained on its teacher's soft outputs ends closer to the teacher than one trained on labels", "[models][distillation]") {
  Network teacher = dense_network(16, 7);
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Batch inputs;
  inputs.reshape(512, {1, 4, 4});
  for (float& v : inputs.values) v = normal(rng);
  const FloatBuffer teacher_out = teacher.forward(inputs, false).values;
  const std::vector<float> teacher_logits(teacher_out.begin(), teacher_out.end());
  std::vector<float> labels(teacher_logits.size());
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = teacher_logits[i] > 0 ? 1.0f : 0.0f;

  const float temperature = 2.0f;
  std::vector<double> distance;
  for (const float alpha : {0.0f, 0.9f}) {  // hard labels only, then mostly the teacher
    Network student = dense_network(4, 11);
    AdamConfig adam;
    adam.learning_rate = 1e-2f;
    Adam optimiser(student.parameters(), adam);
    std::vector<float> gradients(labels.size());
    Batch grad;
    for (int step = 0; step < 300; ++step) {
      student.zero_gradients();
      const Batch& out = student.forward(inputs, true);
      distillation_loss(out.values, teacher_logits, labels, {}, {temperature, alpha}, gradients);
      grad.reshape(out.count, out.shape);
      std::copy(gradients.begin(), gradients.end(), grad.values.begin());
      student.backward(grad);
      optimiser.step();
    }
    const FloatBuffer& out = student.forward(inputs, false).values;
    distance.push_back(teacher_distance(std::vector<float>(out.begin(), out.end()), teacher_logits, temperature));
  }
  INFO("distance to the teacher: labels only " << distance[0] << ", distilled " << distance[1]);
  CHECK(distance[1] < 0.5 * distance[0]);
}
