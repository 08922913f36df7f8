// BatchNorm folding keeps the inference output; the ONNX export, read back by
// the ONNX checker and run by OpenCV dnn, computes what Network::forward does.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <memory>
#include <random>
#include <type_traits>

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>
#include <opencv2/dnn.hpp>

#include "larsel/models/layers.hpp"
#include "larsel/models/network.hpp"
#include "larsel/models/onnx_export.hpp"
#include "support.hpp"

using namespace larsel::models;

namespace {

constexpr Shape cnn_input{1, 120, 16};  // the real CNN input: 120 x 16 preprocessed pixels
constexpr float input_scale = 1.0f / 16.0f;

/// Random weights and non-zero biases (initialise() zeroes them).
void randomise(FloatBuffer& weights, FloatBuffer& bias, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 0.1f);
  for (float& b : bias) b = normal(rng);
  const float spread = std::sqrt(2.0f / static_cast<float>(weights.size() / bias.size()));
  std::normal_distribution<float> he(0.0f, spread);
  for (float& w : weights) w = he(rng);
}

/// Non-trivial running statistics, scale and shift.
void randomise(BatchNorm& norm, std::mt19937& rng) {
  std::uniform_real_distribution<float> scale(0.5f, 1.5f), variance(0.3f, 2.0f);
  std::normal_distribution<float> shift(0.0f, 0.3f), mean(0.0f, 0.5f);
  for (float& v : norm.scale) v = scale(rng);
  for (float& v : norm.shift) v = shift(rng);
  for (float& v : norm.running_mean) v = mean(rng);
  for (float& v : norm.running_variance) v = variance(rng);
}

/// Appends a layer of type L built on the network's current output shape.
template <typename L, typename... Args>
L& append(Network& network, Shape input, std::mt19937& rng, Args... args) {
  auto layer = std::make_unique<L>(network.layers().empty() ? input : network.output_shape(), args...);
  L& ref = *layer;
  if constexpr (std::is_same_v<L, Conv2D> || std::is_same_v<L, Dense>) randomise(ref.weights, ref.bias, rng);
  if constexpr (std::is_same_v<L, BatchNorm>) randomise(ref, rng);
  network.add(std::move(layer));
  return ref;
}

/// The selection CNN's kinds of layer, with non-square kernels and pool windows that drop
/// rows and columns (floor), so a swapped axis or a wrong transpose changes the output.
Network test_network(std::mt19937& rng) {
  Network n;
  append<Conv2D>(n, cnn_input, rng, 6, 5, 3, Padding::same);  // 6 x 120 x 16
  append<BatchNorm>(n, cnn_input, rng);
  append<ReLU>(n, cnn_input, rng);
  append<Pool2D>(n, cnn_input, rng, PoolKind::max, 4, 3);  // 6 x 30 x 5 (one column dropped)
  append<Conv2D>(n, cnn_input, rng, 8, 3, 2, Padding::valid);  // 8 x 28 x 4
  append<ReLU>(n, cnn_input, rng);
  append<Pool2D>(n, cnn_input, rng, PoolKind::average, 3, 2);  // 8 x 9 x 2 (one row dropped)
  append<Flatten>(n, cnn_input, rng);
  append<Dense>(n, cnn_input, rng, 16);
  append<BatchNorm>(n, cnn_input, rng);
  append<ReLU>(n, cnn_input, rng);
  append<Dense>(n, cnn_input, rng, 1);
  return n;
}

/// `count` images of random uint8 pixel values, as float.
Batch random_pixels(std::mt19937& rng, int count) {
  Batch b;
  b.reshape(count, cnn_input);
  std::uniform_int_distribution<int> pixel(0, 255);
  for (float& v : b.values) v = static_cast<float>(pixel(rng));
  return b;
}

Batch scaled(Batch b, float scale) {
  for (float& v : b.values) v *= scale;
  return b;
}

/// OpenCV dnn's output for the pixel batch, [count][outputs] flattened.
std::vector<float> run_opencv(cv::dnn::Net& net, const Batch& pixels) {
  const std::vector<int> dims{pixels.count, pixels.shape.channels, pixels.shape.height, pixels.shape.width};
  const cv::Mat blob(dims, CV_32F, const_cast<float*>(pixels.values.data()));
  net.setInput(blob, "image");
  const cv::Mat out = net.forward();
  REQUIRE(out.type() == CV_32F);
  REQUIRE(out.isContinuous());
  return {out.ptr<float>(), out.ptr<float>() + out.total()};
}

double max_abs(std::span<const float> values) {
  double largest = 0;
  for (const float v : values) largest = std::max(largest, std::abs(double{v}));
  return largest;
}

double max_abs_difference(std::span<const float> a, std::span<const float> b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(double{a[i]} - double{b[i]}));
  return worst;
}

}  // namespace

TEST_CASE("ONNX export folds the batchnorms into the conv2d and dense layers before them", "[models][fold][onnx]") {
  std::mt19937 rng(11);
  Network network = test_network(rng);
  const larsel::test::TempDir dir;
  const auto path = dir / "folded.onnx";
  export_onnx(network, input_scale, path, "test");
  onnx::ModelProto model;
  std::ifstream in(path, std::ios::binary);
  REQUIRE(model.ParseFromIstream(&in));
  std::size_t weighted = 0;
  for (const auto& node : model.graph().node()) {
    CHECK(node.op_type() != "BatchNormalization");
    weighted += node.op_type() == "Conv" || node.op_type() == "Gemm";
  }
  CHECK(weighted == 4);  // test_network: two conv2d and two dense layers, two of them followed by a batchnorm

  const Batch pixels = random_pixels(rng, 8);
  cv::dnn::Net net = cv::dnn::readNetFromONNX(path.string());
  const std::vector<float> got = run_opencv(net, pixels);
  const auto& unfolded = network.forward(scaled(pixels, input_scale), false).values;
  const double difference = max_abs_difference(got, std::vector<float>(unfolded.begin(), unfolded.end()));
  INFO("max |folded export - unfolded forward| = " << difference);
  CHECK(difference <= 1e-5);
  // The batchnorms matter: with them made identities the output moves, so the comparison is not vacuous.
  for (const auto& layer : network.layers()) {
    if (auto* norm = dynamic_cast<BatchNorm*>(layer.get())) {
      std::fill(norm->scale.begin(), norm->scale.end(), 1.0f);
      std::fill(norm->shift.begin(), norm->shift.end(), 0.0f);
      std::fill(norm->running_mean.begin(), norm->running_mean.end(), 0.0f);
    }
  }
  CHECK(max_abs_difference(network.forward(scaled(pixels, input_scale), false).values, got) > 1e-2);
}

TEST_CASE("ONNX export rejects a batchnorm that follows no conv2d or dense layer", "[models][fold][onnx]") {
  std::mt19937 rng(12);
  const larsel::test::TempDir dir;
  Network after_relu;
  append<Conv2D>(after_relu, cnn_input, rng, 2, 3, 3, Padding::same);
  append<ReLU>(after_relu, cnn_input, rng);
  append<BatchNorm>(after_relu, cnn_input, rng);
  CHECK_THROWS_AS(export_onnx(after_relu, input_scale, dir / "a.onnx", "test"), std::invalid_argument);
  CHECK_THROWS_WITH(export_onnx(after_relu, input_scale, dir / "a.onnx", "test"),
                    Catch::Matchers::Contains("batchnorm at layer 2 follows a relu layer"));

  Network first;
  append<BatchNorm>(first, cnn_input, rng);
  CHECK_THROWS_AS(export_onnx(first, input_scale, dir / "b.onnx", "test"), std::invalid_argument);
  CHECK_FALSE(std::filesystem::exists(dir / "a.onnx"));
}

TEST_CASE("ONNX export runs in OpenCV dnn with the output of Network forward", "[models][onnx]") {
  std::mt19937 rng(13);
  Network network = test_network(rng);
  const larsel::test::TempDir dir;
  const auto path = dir / "cnn.onnx";
  export_onnx(network, input_scale, path, "test");

  SECTION("a valid opset 13 model whose inferred output shape is [N, 1]") {
    REQUIRE_NOTHROW(onnx::checker::check_model(path.string()));
    onnx::ModelProto model;
    std::ifstream in(path, std::ios::binary);
    REQUIRE(model.ParseFromIstream(&in));
    CHECK(model.opset_import(0).version() == 13);
    CHECK(model.graph().input(0).name() == "image");
    CHECK(model.graph().output(0).name() == "logit");
    CHECK(model.graph().node(0).op_type() == "Mul");
    REQUIRE_NOTHROW(onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(),
                                                       onnx::ShapeInferenceOptions(true, 1)));
  }

  SECTION("OpenCV dnn matches forward(training = false) on scaled pixels") {
    cv::dnn::Net net = cv::dnn::readNetFromONNX(path.string());
    const Batch pixels = random_pixels(rng, 8);
    const auto& expected_values = network.forward(scaled(pixels, input_scale), false).values;
    const std::vector<float> expected(expected_values.begin(), expected_values.end());
    const std::vector<float> got = run_opencv(net, pixels);
    const double difference = max_abs_difference(got, expected);
    INFO("max |OpenCV - Network| over 8 images = " << difference << ", max |logit| = " << max_abs(expected));
    CHECK(difference <= 1e-5);

    Batch one = pixels;  // the batch dimension is symbolic: one image works too
    one.reshape(1, cnn_input);
    CHECK(max_abs_difference(run_opencv(net, one), std::span(expected).first(1)) <= 1e-5);
  }
}

TEST_CASE("ONNX export to an unwritable path throws naming the path", "[models][onnx]") {
  std::mt19937 rng(14);
  const Network network = test_network(rng);
  const larsel::test::TempDir dir;
  const auto missing = dir / "no_such_dir" / "cnn.onnx";
  CHECK_THROWS_AS(export_onnx(network, input_scale, missing, "test"), std::runtime_error);
  CHECK_THROWS_WITH(export_onnx(network, input_scale, missing, "test"), Catch::Matchers::Contains(missing.string()));
  CHECK_THROWS_AS(export_onnx(network, input_scale, dir.path(), "test"), std::runtime_error);  // a directory
}
