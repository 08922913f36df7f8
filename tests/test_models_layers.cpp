// Every layer's backward pass against central finite differences of
// J = sum(out * g) for a random upstream gradient g, with respect to the
// inputs and to every parameter; the loss gradient against its own differences.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <random>

#include "larsel/models/layers.hpp"
#include "larsel/models/loss.hpp"
#include "larsel/models/network.hpp"

using namespace larsel::models;

namespace {

/// Random values; with spacing > 0 a shuffled grid (-1.5 .. 1.5) whose values differ by at
/// least `spacing` (no ties for max pooling) and avoid zero (no ReLU kink).
Batch random_batch(std::mt19937& rng, int count, Shape shape, float spacing = 0) {
  Batch b;
  b.reshape(count, shape);
  if (spacing <= 0) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (float& v : b.values) v = normal(rng);
    return b;
  }
  for (std::size_t i = 0; i < b.values.size(); ++i) b.values[i] = (static_cast<float>(i) + 0.5f) * spacing;
  const float middle = 0.5f * static_cast<float>(b.values.size()) * spacing;
  for (float& v : b.values) v -= middle;
  std::shuffle(b.values.begin(), b.values.end(), rng);
  return b;
}

double objective(Layer& layer, const Batch& in, const Batch& upstream) {
  Batch out;
  layer.forward(in, out, true);
  return std::inner_product(out.values.begin(), out.values.end(), upstream.values.begin(), 0.0);
}

/// Central difference of the objective for one value (input or parameter) perturbed in place.
double numeric_derivative(Layer& layer, const Batch& in, const Batch& upstream, float& value, float step) {
  const float saved = value;
  value = saved + step;
  const double up = objective(layer, in, upstream);
  value = saved - step;
  const double down = objective(layer, in, upstream);
  value = saved;
  return (up - down) / (2.0 * static_cast<double>(step));
}

void check_close(double numeric, double analytic, const std::string& what) {
  INFO(what << ": numeric " << numeric << ", analytic " << analytic);
  CHECK(std::abs(numeric - analytic) <= 2e-3 + 2e-2 * std::abs(analytic));
}

void check_gradients(Layer& layer, int count, std::mt19937& rng, float spacing = 0) {
  Batch in = random_batch(rng, count, layer.input_shape(), spacing);
  const Batch upstream = random_batch(rng, count, layer.output_shape());
  auto parameters = layer.parameters();
  for (auto& p : parameters) std::fill(p.gradients->begin(), p.gradients->end(), 0.0f);
  Batch out, grad_in;
  layer.forward(in, out, true);
  layer.backward(in, upstream, grad_in);
  REQUIRE(grad_in.values.size() == in.values.size());
  const float step = spacing > 0 ? spacing / 4 : 1e-2f;
  for (std::size_t i = 0; i < in.values.size(); ++i) {
    check_close(numeric_derivative(layer, in, upstream, in.values[i], step), grad_in.values[i],
                std::string(layer.kind()) + " input " + std::to_string(i));
  }
  for (auto& p : parameters) {
    const std::vector<float> analytic(p.gradients->begin(), p.gradients->end());
    for (std::size_t i = 0; i < p.values->size(); ++i) {
      check_close(numeric_derivative(layer, in, upstream, (*p.values)[i], 1e-2f), analytic[i],
                  std::string(layer.kind()) + " " + p.name + " " + std::to_string(i));
    }
  }
}

}  // namespace

TEST_CASE("Conv2D gradients match finite differences, valid and same padding", "[models][gradients]") {
  std::mt19937 rng(1);
  Conv2D valid({2, 6, 5}, 3, 3, 3, Padding::valid);
  valid.initialise(rng);
  CHECK(valid.output_shape() == Shape{3, 4, 3});
  check_gradients(valid, 2, rng);
  Conv2D same({2, 5, 6}, 2, 3, 5, Padding::same);
  same.initialise(rng);
  CHECK(same.output_shape() == Shape{2, 5, 6});
  check_gradients(same, 3, rng);
  CHECK(same.multiply_accumulates() == 2u * 3 * 5 * 2 * 5 * 6);
  CHECK_THROWS_WITH(Conv2D({1, 4, 4}, 1, 2, 2, Padding::same), Catch::Contains("odd kernel"));
  CHECK_THROWS_WITH(Conv2D({1, 2, 8}, 1, 3, 3, Padding::valid), Catch::Contains("does not fit"));
}

TEST_CASE("Conv2D computes a known convolution", "[models]") {
  Conv2D conv({1, 3, 3}, 1, 3, 3, Padding::same);
  std::iota(conv.weights.begin(), conv.weights.end(), 1.0f);  // 1..9
  conv.bias = {0.5f};
  Batch in;
  in.reshape(1, {1, 3, 3});
  std::fill(in.values.begin(), in.values.end(), 0.0f);
  in.values[4] = 1.0f;  // centre impulse: the output is the kernel flipped, plus the bias
  Batch out;
  conv.forward(in, out, false);
  for (int i = 0; i < 9; ++i) CHECK(out.values[static_cast<std::size_t>(i)] == Approx(9 - i + 0.5f));
}

TEST_CASE("Dense, ReLU, pooling, flatten and gate gradients match finite differences", "[models][gradients]") {
  std::mt19937 rng(2);
  Dense dense({3, 2, 2}, 4);
  dense.initialise(rng, true);
  check_gradients(dense, 3, rng);
  ReLU relu({2, 3, 4});
  check_gradients(relu, 2, rng, 0.05f);
  Pool2D max_pool({2, 5, 4}, PoolKind::max, 2, 2);
  CHECK(max_pool.output_shape() == Shape{2, 2, 2});  // the fifth row is dropped
  check_gradients(max_pool, 2, rng, 0.05f);
  Pool2D average({3, 4, 6}, PoolKind::average, 2, 3);
  check_gradients(average, 2, rng);
  Flatten flatten({2, 3, 2});
  CHECK(flatten.output_shape() == Shape{12, 1, 1});
  check_gradients(flatten, 2, rng);
  Gate gate({3, 2, 2});
  gate.logits = {1.5f, -0.5f, 0.2f};
  gate.set_temperature(0.7f);
  check_gradients(gate, 3, rng);
}

TEST_CASE("BatchNorm gradients match finite differences in training mode", "[models][gradients]") {
  std::mt19937 rng(3);
  BatchNorm norm({3, 2, 3});
  std::normal_distribution<float> normal(1.0f, 0.3f);
  for (float& s : norm.scale) s = normal(rng);
  for (float& s : norm.shift) s = normal(rng) - 1.0f;
  check_gradients(norm, 4, rng);
  // Inference uses the running statistics: after many batches of N(2, 3^2) they approach them.
  BatchNorm fresh({1, 4, 4}, 0.1f);
  std::normal_distribution<float> data(2.0f, 3.0f);
  Batch in, out;
  in.reshape(16, {1, 4, 4});
  for (int k = 0; k < 200; ++k) {
    for (float& v : in.values) v = data(rng);
    fresh.forward(in, out, true);
  }
  CHECK(fresh.running_mean[0] == Approx(2.0f).margin(0.3f));
  CHECK(fresh.running_variance[0] == Approx(9.0f).epsilon(0.15f));
}

TEST_CASE("Weighted binary cross-entropy: value, gradient and no overflow", "[models][gradients]") {
  const std::vector<float> logits{-3.0f, -0.5f, 0.0f, 0.7f, 4.0f}, labels{0, 1, 0, 1, 1};
  const ClassWeights weights{2.0f, 0.5f};
  std::vector<float> gradients(logits.size());
  const double loss = binary_cross_entropy(logits, labels, weights, gradients);
  double expected = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    const double s = 1 / (1 + std::exp(-double{logits[i]}));
    expected += labels[i] > 0.5f ? -2.0 * std::log(s) : -0.5 * std::log(1 - s);
  }
  CHECK(loss == Approx(expected / 5));
  for (std::size_t i = 0; i < logits.size(); ++i) {
    std::vector<float> up = logits, down = logits;
    up[i] += 1e-3f;
    down[i] -= 1e-3f;
    const double numeric = (binary_cross_entropy(up, labels, weights) - binary_cross_entropy(down, labels, weights)) / 2e-3;
    CHECK(gradients[i] == Approx(numeric).margin(1e-4));
  }
  const std::vector<float> extreme{-1000.0f, 1000.0f}, wrong{1, 0};
  CHECK(std::isfinite(binary_cross_entropy(extreme, wrong, {})));
  CHECK(binary_cross_entropy(extreme, wrong, {}) == Approx(1000.0));
  CHECK(sigmoid(-1000.0f) == 0.0f);
  CHECK_THROWS_AS(binary_cross_entropy(logits, std::vector<float>{1, 0}, {}), std::invalid_argument);
}

namespace {

/// 1 x 8 x 8 noise images; signal ones carry a bright vertical line at a random column.
void line_images(std::mt19937& rng, int count, Batch& images, std::vector<float>& labels) {
  std::normal_distribution<float> noise(0.0f, 0.5f);
  std::uniform_int_distribution<int> column(0, 7);
  images.reshape(count, {1, 8, 8});
  labels.assign(static_cast<std::size_t>(count), 0.0f);
  for (int n = 0; n < count; ++n) {
    auto pixels = images.sample(n);
    for (float& p : pixels) p = noise(rng);
    if (n % 2 == 0) continue;
    labels[static_cast<std::size_t>(n)] = 1.0f;
    const int x = column(rng);
    for (int y = 0; y < 8; ++y) pixels[static_cast<std::size_t>(y * 8 + x)] += 1.5f;
  }
}

}  // namespace

TEST_CASE("A small CNN trained with Adam learns to find a line in noise", "[models][training]") {
  std::mt19937 rng(7);
  Network net;
  auto conv = std::make_unique<Conv2D>(Shape{1, 8, 8}, 4, 3, 3, Padding::same);
  conv->initialise(rng);
  net.add(std::move(conv));
  net.add(std::make_unique<ReLU>(Shape{4, 8, 8}));
  net.add(std::make_unique<Pool2D>(Shape{4, 8, 8}, PoolKind::max, 2, 2));
  net.add(std::make_unique<Flatten>(Shape{4, 4, 4}));
  auto dense = std::make_unique<Dense>(Shape{64, 1, 1}, 1);
  dense->initialise(rng, false);
  net.add(std::move(dense));
  CHECK_THROWS_WITH(net.add(std::make_unique<ReLU>(Shape{2, 1, 1})), Catch::Contains("takes 2x1x1 but the previous layer gives 1x1x1"));
  CHECK(net.multiply_accumulates() == 4u * 9 * 64 + 64);

  Adam adam(net.parameters(), AdamConfig{1e-2f});
  Batch images, gradient;
  std::vector<float> labels;
  auto loss_on = [&](const Batch& x, const std::vector<float>& y, bool train) {
    const Batch& logits = net.forward(x, train);
    gradient.reshape(logits.count, logits.shape);
    return binary_cross_entropy(logits.values, y, {}, gradient.values);
  };
  line_images(rng, 256, images, labels);
  const double initial = loss_on(images, labels, false);
  for (int step = 0; step < 150; ++step) {
    line_images(rng, 32, images, labels);
    net.zero_gradients();
    loss_on(images, labels, true);
    net.backward(gradient);
    adam.step();
  }
  line_images(rng, 256, images, labels);
  const double final_loss = loss_on(images, labels, false);
  const Batch& logits = net.forward(images, false);
  int correct = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) correct += (logits.values[i] > 0) == (labels[i] > 0.5f);
  INFO("loss " << initial << " -> " << final_loss << ", accuracy " << correct << "/256");
  CHECK(final_loss < initial / 5);
  CHECK(correct >= 245);
}
