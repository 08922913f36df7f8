// The FPGA software twin against the integer reference inference of
// larsel::models: raw logits equal for every rounding and overflow mode, for
// layers with int32 and int64 accumulators, and for the shipped model.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include <fmt/format.h>

#include "larsel/fpga/twin.hpp"
#include "larsel/models/architecture.hpp"
#include "larsel/models/fixed_point_inference.hpp"
#include "larsel/models/model_file.hpp"
#include "kernel_sets.hpp"
#include "support.hpp"

#include <nlohmann/json.hpp>

namespace models = larsel::models;

namespace {

models::LayerQuantization formats(const char* weight, const char* bias, const char* output) {
  return {models::parse_fixed_point_format(weight), models::parse_fixed_point_format(bias), models::parse_fixed_point_format(output)};
}

/// conv(4, same) relu pool conv(3, valid) relu pool flatten dense(8) relu dense(1), every layer quantized.
models::Architecture small_quantized(const models::LayerQuantization& hidden, const models::LayerQuantization& logit) {
  models::Architecture a = models::default_architecture();
  a.layers[0].filters = 4;
  a.layers[3].filters = 3;
  a.layers[3].padding = models::Padding::valid;
  a.layers[7].units = 8;
  for (models::LayerSpec& s : a.layers) {
    if (s.kind == models::LayerKind::conv2d || s.kind == models::LayerKind::dense) s.quantization = hidden;
  }
  a.layers.back().quantization = logit;
  return a;
}

/// Images of every kind the twin treats differently, in an order that moves the activity around from one frame
/// to the next (the twin skips the rows that are as in an empty frame and puts back what the last frame changed):
/// random noise over the whole image, empty, a few short tracks (rows anywhere, the borders included), one pixel,
/// and saturated.
void fill_image(std::vector<std::uint8_t>& image, models::Shape shape, std::size_t i, std::mt19937& rng) {
  std::uniform_int_distribution<int> value(1, 255), coin(0, 3);
  std::fill(image.begin(), image.end(), 0);
  const auto pixel = [&](int c, int y, int x) -> std::uint8_t& {
    return image[static_cast<std::size_t>((c * shape.height + y) * shape.width + x)];
  };
  const auto random_below = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint32_t>(n)); };
  switch (i % 6) {
    case 0: for (auto& p : image) p = static_cast<std::uint8_t>(coin(rng) == 0 ? value(rng) : 0); break;
    case 1: break;
    case 2:
    case 4:
      for (int track = 1 + random_below(3); track > 0; --track) {
        const int c = random_below(shape.channels), y0 = random_below(shape.height), x0 = random_below(shape.width);
        for (int y = y0; y < std::min(shape.height, y0 + 1 + random_below(4)); ++y) {
          for (int x = x0; x < std::min(shape.width, x0 + 1 + random_below(3)); ++x) pixel(c, y, x) = static_cast<std::uint8_t>(value(rng));
        }
      }
      break;
    case 3: pixel(random_below(shape.channels), random_below(shape.height), random_below(shape.width)) = static_cast<std::uint8_t>(value(rng)); break;
    default: std::fill(image.begin(), image.end(), std::uint8_t{255}); break;
  }
}

/// Raw logits of the twin with every kernel set this CPU runs against the integer reference: the images that
/// differ, over all sets.
std::size_t mismatches(models::Model& model, std::uint32_t seed, std::size_t count) {
  const models::FixedPointInference reference(model);
  std::vector<std::uint8_t> image(model.input_shape().size());
  std::size_t different = 0;
  for (const larsel::core::KernelSet set : larsel::test::runnable_kernel_sets()) {
    larsel::fpga::Twin twin(model, set);
    std::mt19937 rng(seed);
    std::size_t here = 0;
    for (std::size_t i = 0; i < count; ++i) {
      fill_image(image, model.input_shape(), i, rng);
      here += twin.raw_logit(image) != reference.raw_logit(image) ? 1 : 0;
    }
    if (here != 0) UNSCOPED_INFO("kernel set " << larsel::core::name(set) << " (" << twin.kernel_name() << "): " << here << " of " << count << " differ");
    different += here;
  }
  return different;
}

/// A quantized architecture from its layers, each conv2d and dense layer quantized with `hidden` (the last with `logit`).
models::Architecture quantized(std::vector<models::LayerSpec> layers, const models::LayerQuantization& hidden,
                               const models::LayerQuantization& logit) {
  models::Architecture a;
  a.layers = std::move(layers);
  for (models::LayerSpec& s : a.layers) {
    if (s.kind == models::LayerKind::conv2d || s.kind == models::LayerKind::dense) s.quantization = hidden;
  }
  a.layers.back().quantization = logit;
  return a;
}

models::LayerSpec conv(int filters, int kernel = 3, models::Padding padding = models::Padding::same) {
  models::LayerSpec s;
  s.kind = models::LayerKind::conv2d, s.filters = filters, s.kernel_height = s.kernel_width = kernel, s.padding = padding;
  return s;
}
models::LayerSpec pool(int height, int width) {
  models::LayerSpec s;
  s.kind = models::LayerKind::maxpool, s.window_height = height, s.window_width = width;
  return s;
}
models::LayerSpec dense(int units) {
  models::LayerSpec s;
  s.kind = models::LayerKind::dense, s.units = units;
  return s;
}
models::LayerSpec plain(models::LayerKind kind) {
  models::LayerSpec s;
  s.kind = kind;
  return s;
}

}  // namespace

TEST_CASE("Twin equals the integer reference inference for every mode", "[twin]") {
  const models::Shape input{1, 24, 16};
  const std::vector<std::pair<models::LayerQuantization, models::LayerQuantization>> cases = {
      {formats("ap_fixed<8,1,AP_RND_CONV,AP_SAT>", "ap_fixed<16,6,AP_RND_CONV,AP_SAT>", "ap_fixed<16,6,AP_RND,AP_SAT>"),
       formats("ap_fixed<8,1,AP_RND_CONV,AP_SAT>", "ap_fixed<16,6,AP_RND_CONV,AP_SAT>", "ap_fixed<16,8,AP_RND,AP_SAT>")},
      {formats("ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<16,6>"), formats("ap_fixed<16,6>", "ap_fixed<16,6>", "ap_fixed<16,6>")},
      {formats("ap_fixed<6,1,AP_RND_INF,AP_SAT_SYM>", "ap_fixed<6,2,AP_RND_ZERO,AP_SAT>", "ap_fixed<6,2,AP_RND_MIN_INF,AP_SAT>"),
       formats("ap_fixed<4,1,AP_TRN_ZERO,AP_SAT_ZERO>", "ap_fixed<8,3,AP_TRN,AP_SAT>", "ap_fixed<8,2,AP_RND_CONV,AP_WRAP>")},
      {formats("ap_fixed<12,2,AP_RND,AP_SAT>", "ap_fixed<20,2,AP_RND,AP_SAT>", "ap_ufixed<16,8,AP_RND,AP_SAT>"),  // bias finer than the products
       formats("ap_fixed<12,2,AP_RND,AP_SAT>", "ap_fixed<20,2,AP_RND,AP_SAT>", "ap_fixed<20,10,AP_TRN,AP_SAT_SYM>")},
  };
  for (std::size_t c = 0; c < cases.size(); ++c) {
    INFO("case " << c);
    models::Model model(small_quantized(cases[c].first, cases[c].second), input, 11 + c);
    const larsel::fpga::Twin twin(model);
    CHECK(mismatches(model, static_cast<std::uint32_t>(c), 300) == 0);
  }
  // Both accumulator widths occur among these cases.
  models::Model wide(small_quantized(cases[3].first, cases[3].second), input, 1);
  bool any_wide = false, any_narrow = false;
  const larsel::fpga::Twin wide_twin(wide);
  for (const auto& layer : wide_twin.weighted_layers()) (layer.accumulator_width > 32 ? any_wide : any_narrow) = true;
  models::Model narrow(small_quantized(cases[0].first, cases[0].second), input, 1);
  const larsel::fpga::Twin narrow_twin(narrow);
  for (const auto& layer : narrow_twin.weighted_layers()) {
    if (layer.convolution) any_narrow = any_narrow || layer.accumulator_width <= 32;
  }
  CHECK(any_wide);
  CHECK(any_narrow);
}

TEST_CASE("Twin's packed path equals the integer reference for every layout and conversion it takes", "[twin]") {
  using models::LayerKind;
  const auto relu = plain(LayerKind::relu), flatten = plain(LayerKind::flatten);
  const auto rnd = formats("ap_fixed<8,1,AP_RND_CONV,AP_SAT>", "ap_fixed<16,4,AP_RND_CONV,AP_SAT>", "ap_fixed<16,6,AP_RND,AP_SAT>");
  const auto logit = formats("ap_fixed<8,1,AP_RND_CONV,AP_SAT>", "ap_fixed<16,4,AP_RND_CONV,AP_SAT>", "ap_fixed<16,8,AP_RND,AP_SAT>");
  struct Case {
    const char* what;
    models::Shape input;
    std::vector<models::LayerSpec> layers;
    models::LayerQuantization hidden, logit;
    bool packed;
  };
  const std::vector<Case> cases = {
      {"odd channel counts, a 5x5 valid convolution, no pooling after it, a ReLU after the pooling", {1, 24, 16},
       {conv(3, 5, models::Padding::valid), relu, conv(5), pool(2, 2), relu, flatten, dense(10), relu, dense(1)}, rnd, logit, true},
      {"1x2 and 2x1 pooling, AP_TRN with AP_SAT_SYM", {1, 24, 16},
       {conv(4), relu, pool(1, 2), conv(6), relu, pool(2, 1), flatten, dense(1)},
       formats("ap_fixed<8,1,AP_RND_CONV,AP_SAT>", "ap_fixed<16,4,AP_RND_CONV,AP_SAT>", "ap_fixed<12,4,AP_TRN,AP_SAT_SYM>"), logit, true},
      {"odd image sizes: pooling drops the last row and column", {1, 23, 15},
       {conv(4), relu, pool(2, 2), conv(3), relu, pool(2, 2), flatten, dense(9), relu, dense(1)}, rnd, logit, true},
      {"a conversion without the vector kernel (AP_RND_CONV), pooled first", {1, 24, 16},
       {conv(4), relu, pool(2, 2), conv(4), relu, pool(2, 2), flatten, dense(8), relu, dense(1)},
       formats("ap_fixed<8,1,AP_RND_CONV,AP_SAT>", "ap_fixed<16,4,AP_RND_CONV,AP_SAT>", "ap_fixed<12,4,AP_RND_CONV,AP_SAT>"), logit, true},
      {"AP_WRAP and AP_SAT_ZERO are not monotone: converted, then pooled", {1, 24, 16},
       {conv(4), relu, pool(2, 2), conv(4), pool(2, 2), flatten, dense(8), relu, dense(1)},
       formats("ap_fixed<6,1,AP_RND,AP_SAT>", "ap_fixed<8,2,AP_RND,AP_SAT>", "ap_fixed<7,2,AP_RND,AP_WRAP>"),
       formats("ap_fixed<6,1,AP_RND,AP_SAT>", "ap_fixed<8,2,AP_RND,AP_SAT>", "ap_fixed<8,3,AP_TRN,AP_SAT_ZERO>"), true},
      {"AP_SAT_ZERO hidden layers", {1, 24, 16},
       {conv(4), relu, pool(2, 2), conv(4), relu, pool(2, 2), flatten, dense(8), relu, dense(1)},
       formats("ap_fixed<6,1,AP_RND,AP_SAT>", "ap_fixed<8,2,AP_RND,AP_SAT>", "ap_fixed<7,2,AP_RND_ZERO,AP_SAT_ZERO>"), logit, true},
      {"a bias finer than the products: accumulators beyond 31 bits, converted in int64", {1, 24, 16},
       {conv(4), relu, pool(2, 2), conv(4), relu, pool(2, 2), flatten, dense(8), relu, dense(1)},
       formats("ap_fixed<8,1,AP_RND_CONV,AP_SAT>", "ap_fixed<16,-6,AP_RND_CONV,AP_SAT>", "ap_fixed<16,6,AP_RND,AP_SAT>"), logit, true},
      {"weights beyond int8: the image in int16 row pairs, dense sums emptied in chunks", {1, 24, 16},
       {conv(4), relu, pool(2, 2), conv(4), relu, flatten, dense(12), relu, dense(1)},
       formats("ap_fixed<14,2,AP_RND_CONV,AP_SAT>", "ap_fixed<16,4,AP_RND_CONV,AP_SAT>", "ap_fixed<16,6,AP_RND,AP_SAT>"), logit, true},
      {"a long dense layer: its int32 lane sums emptied into int64 in chunks", {1, 32, 32}, {conv(8), relu, flatten, dense(2), relu, dense(1)},
       formats("ap_fixed<14,2,AP_RND_CONV,AP_SAT>", "ap_fixed<16,4,AP_RND_CONV,AP_SAT>", "ap_fixed<16,6,AP_RND,AP_SAT>"), logit, true},
      {"rows wider than a 64-byte window", {1, 10, 72}, {conv(3), relu, pool(2, 2), conv(4), relu, pool(2, 2), flatten, dense(1)},
       rnd, logit, true},
      {"a two-channel image", {2, 16, 16}, {conv(3), relu, pool(2, 2), conv(4), relu, pool(2, 2), flatten, dense(1)}, rnd, logit, true},
      {"dense layers only", {1, 8, 8}, {flatten, dense(12), relu, dense(9), relu, dense(1)}, rnd, logit, true},
      {"a 3x3 pooling: the generic path", {1, 24, 16}, {conv(4), relu, pool(3, 3), conv(4), relu, pool(2, 2), flatten, dense(1)}, rnd, logit,
       false},
      {"activations beyond int16: the generic path", {1, 24, 16}, {conv(4), relu, pool(2, 2), flatten, dense(1)},
       formats("ap_fixed<8,1,AP_RND_CONV,AP_SAT>", "ap_fixed<16,4,AP_RND_CONV,AP_SAT>", "ap_ufixed<16,6,AP_RND,AP_SAT>"), logit, false},
  };
  for (std::size_t c = 0; c < cases.size(); ++c) {
    INFO("case " << c << ": " << cases[c].what);
    models::Model model(quantized(cases[c].layers, cases[c].hidden, cases[c].logit), cases[c].input, 21 + c);
    for (const larsel::core::KernelSet set : larsel::test::runnable_kernel_sets()) {
      INFO("kernel set " << larsel::core::name(set));
      CHECK(larsel::fpga::Twin(model, set).packed() == cases[c].packed);
    }
    CHECK(mismatches(model, static_cast<std::uint32_t>(100 + c), 300) == 0);
  }
}

TEST_CASE("Twin equals the integer reference on the shipped model and skips its pruned weights", "[twin]") {
  models::ModelFile shipped = models::load_model(std::filesystem::path(LARSEL_SOURCE_DIR) / "models/default-model.h5");
  CHECK(mismatches(shipped.model, 5, 1000) == 0);
  const larsel::fpga::Twin twin(shipped.model);
  std::size_t taps = 0;
  for (const auto& layer : twin.weighted_layers()) taps += layer.non_zero_weights;
  std::size_t non_zero = 0;
  for (const auto& layer : shipped.model.network().layers()) {
    for (const auto& p : layer->parameters()) {
      if (p.name == "weights") non_zero += static_cast<std::size_t>(std::count_if(p.values->begin(), p.values->end(), [](float v) { return v != 0.0f; }));
    }
  }
  CHECK(taps == non_zero);
  CHECK(twin.packed());  // the shipped model runs the fast path
  // A copy shares the plan but has its own buffers.
  larsel::fpga::Twin first(shipped.model);
  larsel::fpga::Twin second = first;
  std::vector<std::uint8_t> image(shipped.model.input_shape().size(), 0);
  image[100] = 200, image[1000] = 17;
  const std::int64_t expected = models::FixedPointInference(shipped.model).raw_logit(image);
  CHECK(second.raw_logit(image) == expected);
  CHECK(first.raw_logit(image) == expected);
  models::Model float_model(models::default_architecture(), shipped.model.input_shape(), 1);
  CHECK_THROWS_WITH(larsel::fpga::Twin(float_model), Catch::Contains("not quantized"));
}

TEST_CASE("larsel bench infer times the twin of every kernel set, the float network and OpenCV dnn in one run", "[twin][cli]") {
  const auto model = std::filesystem::path(LARSEL_SOURCE_DIR) / "models/default-model.h5";
  const auto run = larsel::test::run_larsel("bench infer --frames 100 --rounds 2 --no-csim --model '" + model.string() + "'");
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  const auto j = nlohmann::json::parse(run.out);
  CHECK_FALSE(j["machine"]["cpu_model"].get<std::string>().empty());
  CHECK(j["machine"]["kernel_sets_this_cpu_runs"].size() >= 1);
  // Every kernel set this CPU runs is timed, and says which kernels ran.
  std::size_t sets = 0;
  for (const larsel::core::KernelSet set : larsel::test::runnable_kernel_sets()) {
    const std::string name(larsel::core::name(set));
    INFO("kernel set " << name);
    REQUIRE(j["kernel_sets"].contains(name));
    const auto& k = j["kernel_sets"][name];
    CHECK(k["twin"]["kernel"] == name + "-packed");
    CHECK_FALSE(k["preprocess"]["kernel"].get<std::string>().empty());
    for (const char* timed : {"twin", "twin_every_row_busy", "preprocess", "preprocess_plus_twin"}) {
      INFO(timed);
      CHECK(k[timed]["frames"] == 200);
      CHECK(k[timed]["median_us"].get<double>() > 0);
      CHECK(k[timed]["p99_us"].get<double>() >= k[timed]["median_us"].get<double>());
      CHECK(k[timed]["round_medians_us"].size() == 2);
    }
    if (LARSEL_HAVE_OPENCV_DNN) CHECK(k["opencv_dnn_over_twin_per_round"].size() == 2);
    CHECK(k["bit_exact_with_integer_reference"]["frames"].get<int>() > 0);
    CHECK(k["bit_exact_with_integer_reference"]["differ"] == 0);
    if (set != larsel::core::KernelSet::baseline) {  // the counts agree with the rounds and the goals the JSON states
      const double twin_max = k["goals"]["twin_median_us_max"].get<double>(), ratio_min = k["goals"]["opencv_dnn_over_twin_min"].get<double>();
      const auto& rounds = k["twin"]["round_medians_us"];
      CHECK(k["rounds_meeting_goal"]["twin_median"].get<long>() ==
            std::count_if(rounds.begin(), rounds.end(), [&](const auto& us) { return us.template get<double>() <= twin_max; }));
      if (LARSEL_HAVE_OPENCV_DNN) {
        const auto& ratios = k.at("opencv_dnn_over_twin_per_round");
        CHECK(k["rounds_meeting_goal"]["opencv_dnn_over_twin"].get<long>() ==
              std::count_if(ratios.begin(), ratios.end(), [&](const auto& r) { return r.template get<double>() >= ratio_min; }));
      } else {
        CHECK_FALSE(k["rounds_meeting_goal"].contains("opencv_dnn_over_twin"));
      }
    }
    ++sets;
  }
  CHECK(j["kernel_sets"].size() == sets);
  CHECK(j["every_twin_bit_exact"] == true);
  CHECK(j["float"]["frames"] == 200);
  if (LARSEL_HAVE_OPENCV_DNN) {
    CHECK(j["opencv_dnn_onnx"]["frames"] == 200);
  } else {  // a build without OpenCV dnn or ONNX export says so in the JSON
    CHECK_THAT(j["opencv_dnn_onnx"].get<std::string>(), Catch::Contains("not built"));
  }
  CHECK_FALSE(j.contains("csim"));
  // One set, by name; one this CPU cannot run, or no set at all, is refused in one line.
  const auto one = larsel::test::run_larsel("bench infer --frames 100 --rounds 1 --no-csim --kernel-sets baseline --model '" + model.string() + "'");
  REQUIRE(one.exit_code == 0);
  CHECK(nlohmann::json::parse(one.out)["kernel_sets"].size() == 1);
  CHECK(larsel::test::run_larsel("bench infer --kernel-sets sse9 --no-csim").exit_code == 2);
  const auto float_model = std::filesystem::path(LARSEL_SOURCE_DIR) / "models/default-float-model.h5";
  const auto refused = larsel::test::run_larsel("bench infer --frames 100 --model '" + float_model.string() + "'");
  CHECK(refused.exit_code != 0);
  CHECK_THAT(refused.err, Catch::Contains("not quantized"));
}

TEST_CASE("Every kernel set's twin equals the integer reference on freshly compressed models of other shapes", "[twin][compress]") {
  using larsel::test::run_larsel;
  const larsel::test::TempDir dir;
  const auto quoted = [](const std::filesystem::path& p) { return fmt::format("'{}'", p.string()); };
  REQUIRE(run_larsel("simulate --signal 60 --background 120 --seed 41 --out " + quoted(dir / "sim.h5")).exit_code == 0);
  // From the shipped teacher (8, 16, 16): more filters and a dense layer twice the shipped one's; fewer filters,
  // an odd count among them (a channel pair with one channel).
  struct Kept {
    const char* name;
    int conv1, conv2, dense1;
  };
  for (const Kept& kept : {Kept{"wider", 8, 12, 16}, Kept{"narrower", 4, 5, 12}}) {
    INFO(kept.name);
    const std::filesystem::path recipe = dir / (std::string(kept.name) + ".yaml"), out = dir / (std::string(kept.name) + ".h5");
    std::ofstream(recipe) << "data: {files: [" << (dir / "sim.h5").string() << "], validation_fraction: 0.2, test_fraction: 0.2, cache_dir: "
                          << (dir / "cache").string() << "}\n"
                          << "training: {batch_size: 16, learning_rate: 0.003}\n"
                          << "teacher: " << (std::filesystem::path(LARSEL_SOURCE_DIR) / "models/default-float-model.h5").string() << "\n"
                          << "pruning: {keep: {conv1: " << kept.conv1 << ", conv2: " << kept.conv2 << ", dense1: " << kept.dense1 << "}, epochs: 1}\n"
                          << "sparsity: {final: 0.5, rounds: 1, epochs: 1, frequency: 2}\n"
                          << "quantization:\n  weight: {width: 8, integer: auto, rounding: rnd_conv, overflow: sat}\n"
                          << "finetune: {epochs: 1}\n";
    const auto compressed = run_larsel("compress --config " + quoted(recipe) + " --out " + quoted(out));
    INFO(compressed.err);
    REQUIRE(compressed.exit_code == 0);
    models::ModelFile file = models::load_model(out);
    const models::Architecture& a = file.model.architecture();
    CHECK(a.layers[0].filters == kept.conv1);
    CHECK(a.layers[3].filters == kept.conv2);
    CHECK(a.layers[7].units == kept.dense1);
    for (const larsel::core::KernelSet set : larsel::test::runnable_kernel_sets()) CHECK(larsel::fpga::Twin(file.model, set).packed());
    CHECK(mismatches(file.model, 7, 300) == 0);
    // And on simulated frames through the model's preprocessing, as larsel bench infer checks every kernel set.
    const auto bench = run_larsel("bench infer --frames 100 --rounds 1 --no-csim --distinct-frames 32 --model " + quoted(out));
    INFO(bench.err);
    REQUIRE(bench.exit_code == 0);
    CHECK(nlohmann::json::parse(bench.out)["every_twin_bit_exact"] == true);
  }
}
