// Quantization-aware training (compression.md §1): the quantized forward pass
// of the float layers equals the integer reference inference bit for bit, for
// several rounding and overflow modes, before and after training steps; the
// straight-through gradient stops where an output saturated; configurations
// that cannot be exact are refused.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "larsel/core/errors.hpp"
#include "larsel/models/architecture.hpp"
#include "larsel/models/fixed_point_inference.hpp"
#include "larsel/models/loss.hpp"
#include "larsel/models/model.hpp"

using namespace larsel::models;

namespace {

LayerQuantization formats(const std::string& weight, const std::string& bias, const std::string& output) {
  return {parse_fixed_point_format(weight), parse_fixed_point_format(bias), parse_fixed_point_format(output)};
}

/// conv(4, same) relu pool conv(3, valid) relu pool flatten dense(8) relu dense(1), every layer quantized.
Architecture small_quantized(const LayerQuantization& hidden, const LayerQuantization& logit) {
  Architecture a = default_architecture();
  a.layers[0].filters = 4;
  a.layers[3].filters = 3;
  a.layers[3].padding = Padding::valid;
  a.layers[7].units = 8;
  for (LayerSpec& s : a.layers) {
    if (s.kind == LayerKind::conv2d || s.kind == LayerKind::dense) s.quantization = hidden;
  }
  a.layers.back().quantization = logit;
  return a;
}

/// Random sparse "events": mostly zero pixels with some bright blobs, as the preprocessed images are.
ImageSet random_images(std::size_t count, Shape shape, std::uint32_t seed) {
  ImageSet set;
  set.shape = shape;
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> value(0, 255), coin(0, 3);
  for (std::size_t i = 0; i < count * shape.size(); ++i) set.pixels.push_back(coin(rng) == 0 ? static_cast<std::uint8_t>(value(rng)) : 0);
  for (std::size_t i = 0; i < count; ++i) set.labels.push_back(static_cast<std::uint8_t>(i % 2));
  return set;
}

/// Every image's QAT-forward logit equals the integer inference's, as values (exact doubles).
void check_bit_exact(Model& model, const ImageSet& set, bool training_mode) {
  const FixedPointInference integer(model);
  std::vector<std::size_t> all(set.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  Batch batch;
  fill_batch(set, all, model.architecture().input_scale, batch);
  const Batch& logits = model.network().forward(batch, training_mode);
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < set.size(); ++i) {
    if (static_cast<double>(logits.values[i]) != integer.logit(set.image(i))) ++mismatches;
  }
  CHECK(mismatches == 0);
}

}  // namespace

TEST_CASE("Quantized forward pass equals integer inference bit for bit", "[qat]") {
  const Shape input{1, 24, 16};
  const ImageSet images = random_images(200, input, 7);
  struct Case {
    const char* name;
    LayerQuantization hidden, logit;
  };
  const std::vector<Case> cases = {
      {"8-bit weights, rnd_conv, sat", formats("ap_fixed<8,1,AP_RND_CONV,AP_SAT>", "ap_fixed<16,6,AP_RND_CONV,AP_SAT>", "ap_fixed<16,6,AP_RND,AP_SAT>"),
       formats("ap_fixed<8,1,AP_RND_CONV,AP_SAT>", "ap_fixed<16,6,AP_RND_CONV,AP_SAT>", "ap_fixed<16,8,AP_RND,AP_SAT>")},
      {"hls4ml default, trn, wrap", formats("ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<16,6>"),
       formats("ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<16,6>")},
      {"narrow outputs that saturate", formats("ap_fixed<6,1,AP_RND_INF,AP_SAT_SYM>", "ap_fixed<6,2,AP_RND_ZERO,AP_SAT>", "ap_fixed<6,2,AP_RND_MIN_INF,AP_SAT>"),
       formats("ap_fixed<4,1,AP_TRN_ZERO,AP_SAT_ZERO>", "ap_fixed<8,3,AP_TRN,AP_SAT>", "ap_fixed<8,2,AP_RND_CONV,AP_WRAP>")},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      Model model(small_quantized(c.hidden, c.logit), input, 11);
      check_bit_exact(model, images, false);
      check_bit_exact(model, images, true);
    }
  }
}

TEST_CASE("Quantization-aware training steps keep the forward pass bit-exact and learn", "[qat]") {
  const Shape input{1, 24, 16};
  ImageSet images = random_images(128, input, 3);
  // Signal images get a bright vertical line, so there is something to learn.
  for (std::size_t i = 0; i < images.size(); ++i) {
    if (images.labels[i] == 0) continue;
    for (int y = 4; y < 20; ++y) images.pixels[i * input.size() + static_cast<std::size_t>(y * 16 + 8)] = 200;
  }
  const LayerQuantization hidden = formats("ap_fixed<8,1,AP_RND_CONV,AP_SAT>", "ap_fixed<16,6,AP_RND,AP_SAT>", "ap_fixed<16,6,AP_RND,AP_SAT>");
  Model model(small_quantized(hidden, hidden), input, 5);
  std::vector<std::size_t> all(images.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  Batch batch;
  fill_batch(images, all, model.architecture().input_scale, batch);
  std::vector<float> labels(images.labels.begin(), images.labels.end()), gradients(labels.size());
  Adam adam(model.network().parameters(), AdamConfig{.learning_rate = 0.01f});
  const FloatBuffer before = static_cast<Conv2D&>(*model.network().layers()[0]).weights;
  double first_loss = 0, last_loss = 0;
  for (int step = 0; step < 30; ++step) {
    model.network().zero_gradients();
    const Batch& logits = model.network().forward(batch, true);
    const double loss = binary_cross_entropy(logits.values, labels, ClassWeights{}, gradients);
    (step == 0 ? first_loss : last_loss) = loss;
    Batch grad;
    grad.reshape(logits.count, logits.shape);
    std::copy(gradients.begin(), gradients.end(), grad.values.begin());
    model.network().backward(grad);
    adam.step();
  }
  CHECK(static_cast<Conv2D&>(*model.network().layers()[0]).weights != before);
  CHECK(last_loss < 0.5 * first_loss);
  check_bit_exact(model, images, false);
}

TEST_CASE("Straight-through gradient is zero where the layer output saturated", "[qat]") {
  Dense dense(Shape{2, 1, 1}, 2);
  dense.weights = {1.0f, 0.0f, 0.0f, 1.0f};  // identity
  dense.set_quantization(formats("ap_fixed<8,2,AP_RND,AP_SAT>", "ap_fixed<8,2,AP_RND,AP_SAT>", "ap_fixed<8,2,AP_RND,AP_SAT>"));
  Batch in, out, grad_out, grad_in;
  in.reshape(1, {2, 1, 1});
  in.values = {0.5f, 1.96875f};  // the second is at ap_fixed<8,2>'s max: not saturated
  dense.forward(in, out, true);
  grad_out.reshape(1, {2, 1, 1});
  grad_out.values = {1.0f, 1.0f};
  dense.backward(in, grad_out, grad_in);
  CHECK(grad_in.values[1] == 1.0f);
  in.values = {0.5f, 1.99f};  // above max after rounding? 1.99 rounds to 2.0 and saturates at 1.984375
  dense.forward(in, out, true);
  CHECK(out.values[1] == 1.984375f);
  dense.backward(in, grad_out, grad_in);
  CHECK(grad_in.values[0] == 1.0f);
  CHECK(grad_in.values[1] == 0.0f);
}

TEST_CASE("Quantized architectures that cannot be exact are refused", "[qat]") {
  const Shape input{1, 24, 16};
  const LayerQuantization hidden = formats("ap_fixed<8,1>", "ap_fixed<8,1>", "ap_fixed<16,6>");
  Architecture scale = small_quantized(hidden, hidden);
  scale.input_scale = 0.1f;
  CHECK_THROWS_WITH(Model(scale, input, 1), Catch::Contains("power of two"));
  Architecture too_wide = small_quantized(formats("ap_fixed<32,8>", "ap_fixed<8,1>", "ap_fixed<16,6>"), hidden);
  CHECK_THROWS_WITH(Model(too_wide, input, 1), Catch::Contains("quantization.weight: ap_fixed<32,8,AP_TRN,AP_WRAP> is wider than 24 bits"));
  // 24-bit activations times 24-bit weights summed over 36 products: 24 + 24 + 6 + 1 (bias) = 55 bits, beyond a double's 53.
  Architecture wide = small_quantized(formats("ap_fixed<24,4>", "ap_fixed<8,1>", "ap_fixed<24,12>"), hidden);
  CHECK_THROWS_WITH(Model(wide, input, 1), Catch::Contains("layer 3 (conv2d) needs a 55-bit accumulator"));
  Architecture partial = small_quantized(hidden, hidden);
  partial.layers[3].quantization.reset();
  CHECK_THROWS_WITH(Model(partial, input, 1), Catch::Contains("layer 3 (conv2d) has no quantization"));
  Architecture unquantized = default_architecture();
  Model float_model(unquantized, input, 1);
  CHECK_THROWS_WITH(FixedPointInference(float_model), Catch::Contains("not quantized"));
}

TEST_CASE("Layer quantization round-trips through the architecture JSON", "[qat]") {
  const LayerQuantization hidden = formats("ap_fixed<8,1,AP_RND_CONV,AP_SAT>", "ap_ufixed<12,4,AP_RND,AP_SAT>", "ap_fixed<16,6,AP_RND,AP_SAT>");
  const Architecture a = small_quantized(hidden, hidden);
  const Architecture back = architecture_from_json(to_json(a), "test");
  REQUIRE(back.layers.size() == a.layers.size());
  for (std::size_t i = 0; i < a.layers.size(); ++i) CHECK(back.layers[i].quantization == a.layers[i].quantization);
  nlohmann::json bad = to_json(a);
  bad["layers"][0]["conv2d"]["quantization"]["weight"] = "ap_fixed<8>";
  CHECK_THROWS_WITH(architecture_from_json(bad, "test"), Catch::Contains("layers[0] conv2d.quantization.weight"));
}
