// The generated HLS project: its kernel source, compiled with g++ against the
// project's own headers (C simulation), gives the software twin's raw scores
// bit for bit; the resource estimate; the inference backends' interface.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <regex>

#include <nlohmann/json.hpp>

#include "larsel/fpga/backend.hpp"
#include "larsel/fpga/hls_export.hpp"
#include "larsel/models/architecture.hpp"
#include "larsel/models/model_file.hpp"
#include "support.hpp"

namespace models = larsel::models;
namespace fpga = larsel::fpga;

namespace {

std::filesystem::path shipped_model() { return std::filesystem::path(LARSEL_SOURCE_DIR) / "models/default-model.h5"; }

/// A shell command, with its output (stdout and stderr together).
larsel::test::ProcessResult run_shell(const std::string& command_line) {
  larsel::test::TempDir dir;
  const std::string command = command_line + " >'" + (dir / "out").string() + "' 2>&1";
  const int status = std::system(command.c_str());
  larsel::test::ProcessResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = larsel::test::slurp(dir / "out");
  return r;
}

/// `make -C project target`, with its output.
larsel::test::ProcessResult run_make(const std::filesystem::path& project, const std::string& target) {
  return run_shell("make -s -C '" + project.string() + "' " + target);
}

std::vector<std::uint8_t> sparse_frames(std::size_t frame, std::size_t count, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> frames(frame * count);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const bool saturated = (i / frame) % 10 == 9;
    frames[i] = static_cast<std::uint8_t>(saturated ? 255 : rng() % 4 == 0 ? rng() % 256 : 0);
  }
  return frames;
}

/// Exports `model` with `frames` as test vectors and scores the frames with the compiled kernel
/// (csim backend) and the twin: {csim logits, twin logits}.
std::pair<std::vector<double>, std::vector<double>> csim_and_twin(models::Model& model, const std::vector<std::uint8_t>& frames) {
  larsel::test::TempDir dir;
  fpga::HlsExportOptions options;
  options.out = dir / "hls";
  fpga::export_hls_project(model, options, frames);
  fpga::BackendOptions csim_options;
  csim_options.kind = "csim", csim_options.hls_project = options.out;
  auto csim = fpga::make_backend(csim_options, model);
  auto twin = fpga::make_backend({}, model);
  const std::size_t n = frames.size() / model.input_shape().size();
  std::vector<double> from_csim(n), from_twin(n);
  csim->infer(frames, from_csim);
  twin->infer(frames, from_twin);
  return {from_csim, from_twin};
}

models::LayerQuantization formats(const char* weight, const char* bias, const char* output) {
  return {models::parse_fixed_point_format(weight), models::parse_fixed_point_format(bias), models::parse_fixed_point_format(output)};
}

}  // namespace

TEST_CASE("export-hls: the C simulation of the generated kernel equals the twin on 10,000 preprocessed frames", "[hls_export][cli]") {
  larsel::test::TempDir dir;
  const auto project = dir / "hls";
  const auto run = larsel::test::run_larsel("export-hls --model '" + shipped_model().string() + "' --out '" + project.string() +
                                            "' --test-frames 10000 --stress-frames 64");
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  CHECK_THAT(run.out, Catch::Contains("II 2196 cycles") && Catch::Contains("budget 32 us per frame: met"));
  for (const char* file : {"firmware/larsel_cnn.cpp", "firmware/parameters.h", "firmware/defines.h", "firmware/weights/w_conv1.h",
                           "firmware/nnet/nnet_conv2d_stream.h", "tb/larsel_cnn_tb.cpp", "build_prj.tcl", "Makefile", "link.cfg",
                           "README.md", "estimate.json", "hls_compat/ap_fixed.h"}) {
    CHECK(std::filesystem::is_regular_file(project / file));
  }
  const std::string kernel = larsel::test::slurp(project / "firmware/larsel_cnn.cpp");
  CHECK_THAT(kernel, Catch::Contains("extern \"C\" void larsel_cnn(const ap_uint<512>* frames, int* scores, unsigned n_frames)") &&
                         Catch::Contains("#pragma HLS DATAFLOW") && Catch::Contains("m_axi port = frames") &&
                         Catch::Contains("s_axilite port = return"));
  const auto csim = run_make(project, "csim");
  INFO(csim.out);
  CHECK(csim.exit_code == 0);
  CHECK_THAT(csim.out, Catch::Contains("csim: 10064 frames, 0 mismatches against the twin"));

  // The comparison can fail: one weight of conv1 off by one raw step must show.
  const auto weights = project / "firmware/weights/w_conv1.h";
  std::string text = larsel::test::slurp(weights);
  std::smatch first_tap;
  REQUIRE(std::regex_search(text, first_tap, std::regex(R"(\{(\d+), (\d+), (-?\d+)\})")));
  const std::string altered = "{" + first_tap[1].str() + ", " + first_tap[2].str() + ", " + std::to_string(std::stoi(first_tap[3].str()) + 1) + "}";
  text.replace(static_cast<std::size_t>(first_tap.position(0)), static_cast<std::size_t>(first_tap.length(0)), altered);
  std::ofstream(weights) << text;
  REQUIRE(run_make(project, "build/csim_tb").exit_code == 0);
  const auto broken = run_shell("cd '" + project.string() + "' && ./build/csim_tb tb_data 500");  // the first 500 frames suffice
  CHECK(broken.exit_code == 1);
  CHECK_THAT(broken.out, Catch::Matches(R"([\s\S]*csim: 500 frames, [1-9]\d* mismatches[\s\S]*)"));
}

TEST_CASE("csim backend: the kernel source equals the twin for other formats, valid padding and wide accumulators", "[hls_export]") {
  const models::Shape input{1, 24, 16};
  const std::vector<std::pair<models::LayerQuantization, models::LayerQuantization>> cases = {
      {formats("ap_fixed<6,1,AP_RND_INF,AP_SAT_SYM>", "ap_fixed<6,2,AP_RND_ZERO,AP_SAT>", "ap_fixed<6,2,AP_RND_MIN_INF,AP_SAT>"),
       formats("ap_fixed<4,1,AP_TRN_ZERO,AP_SAT_ZERO>", "ap_fixed<8,3,AP_TRN,AP_SAT>", "ap_fixed<8,2,AP_RND_CONV,AP_WRAP>")},
      {formats("ap_fixed<12,2,AP_RND,AP_SAT>", "ap_fixed<20,2,AP_RND,AP_SAT>", "ap_ufixed<16,8,AP_RND,AP_SAT>"),
       formats("ap_fixed<12,2,AP_RND,AP_SAT>", "ap_fixed<20,2,AP_RND,AP_SAT>", "ap_fixed<20,10,AP_TRN,AP_SAT_SYM>")},
  };
  for (std::size_t c = 0; c < cases.size(); ++c) {
    INFO("case " << c);
    models::Architecture a = models::default_architecture();
    a.layers[0].filters = 4, a.layers[3].filters = 3, a.layers[3].padding = models::Padding::valid, a.layers[7].units = 8;
    for (models::LayerSpec& s : a.layers) {
      if (s.kind == models::LayerKind::conv2d || s.kind == models::LayerKind::dense) s.quantization = cases[c].first;
    }
    a.layers.back().quantization = cases[c].second;
    models::Model model(a, input, 21 + c);
    const auto [from_csim, from_twin] = csim_and_twin(model, sparse_frames(input.size(), 400, static_cast<std::uint32_t>(c)));
    std::size_t different = 0, distinct = 0;
    for (std::size_t i = 0; i < 400; ++i) {
      different += from_csim[i] != from_twin[i] ? 1 : 0;
      distinct += i > 0 && from_twin[i] != from_twin[i - 1] ? 1 : 0;
    }
    CHECK(different == 0);
    CHECK(distinct > 100);  // the frames reach many different scores
  }
}

TEST_CASE("csim backend: a dense layer too slow at one slot per cycle multiplies all its slots at once, bit-exact", "[hls_export]") {
  const auto q = formats("ap_fixed<8,1,AP_RND_CONV,AP_SAT>", "ap_fixed<16,4,AP_RND_CONV,AP_SAT>", "ap_fixed<16,6,AP_RND,AP_SAT>");
  models::Architecture a;
  a.input_scale = 1.0f / 16;
  models::LayerSpec conv;
  conv.kind = models::LayerKind::conv2d, conv.filters = 8, conv.padding = models::Padding::valid, conv.quantization = q;
  models::LayerSpec relu, flatten, dense, logit;
  relu.kind = models::LayerKind::relu, flatten.kind = models::LayerKind::flatten;
  dense.kind = models::LayerKind::dense, dense.units = 4, dense.quantization = q;
  logit = dense, logit.units = 1;
  a.layers = {conv, relu, flatten, dense, relu, logit};
  const models::Shape input{1, 8, 8};
  models::Model model(a, input, 5);
  const auto e = fpga::estimate_hls_resources(model, "xcu250-figd2104-2L-e", 250);
  const auto dense1 = std::find_if(e["layers"].begin(), e["layers"].end(), [](const auto& l) { return l["name"] == "dense1"; });
  REQUIRE(dense1 != e["layers"].end());
  CHECK((*dense1)["cycles_per_frame"] == 36);  // 6 x 6 pixels, all 8 slots of each unit per cycle
  CHECK((*dense1)["multipliers"] == 4 * 8);
  const auto [from_csim, from_twin] = csim_and_twin(model, sparse_frames(input.size(), 300, 17));
  REQUIRE(from_csim.size() == 300);
  CHECK(from_csim == from_twin);
}

TEST_CASE("Resource estimate: the shipped model fits the 32 us budget at 250 MHz, multipliers are its non-zero weights", "[hls_export]") {
  models::ModelFile shipped = models::load_model(shipped_model());
  const auto e = fpga::estimate_hls_resources(shipped.model, "xcu250-figd2104-2L-e", 250);
  CHECK(e["meets_budget"].get<bool>());
  CHECK(e["initiation_interval_us"].get<double>() <= 32.0);
  CHECK(e["initiation_interval_cycles"] == 2196);  // conv1 reads its zero-padded 122 x 18 input one pixel per cycle
  CHECK(e["total"]["dsp"].get<double>() == 0);      // 8-bit weights: LUT multipliers (hls4ml's rule)
  std::size_t conv_multipliers = 0;
  for (const auto& layer : e["layers"]) {
    if (layer["name"] == "conv1" || layer["name"] == "conv2") {
      CHECK(layer["multipliers"].get<double>() == layer["nonzero_weights"].get<double>());
      conv_multipliers += layer["nonzero_weights"].get<std::size_t>();
    }
  }
  CHECK(conv_multipliers == 27 + 216);
  const auto dense1 = std::find_if(e["layers"].begin(), e["layers"].end(), [](const auto& l) { return l["name"] == "dense1"; });
  REQUIRE(dense1 != e["layers"].end());
  CHECK((*dense1)["multipliers"] == 8);          // one slot per unit per cycle: it keeps up without more
  CHECK((*dense1)["cycles_per_frame"] == 960);   // 120 pixels x 8 slots, under the II
  const auto slower = fpga::estimate_hls_resources(shipped.model, "xcu250-figd2104-2L-e", 50);
  CHECK_FALSE(slower["meets_budget"].get<bool>());  // 2196 cycles at 50 MHz = 43.9 us
  CHECK_THROWS_WITH(fpga::estimate_hls_resources(shipped.model, "xc7z020", 250), Catch::Contains("no resource table") && Catch::Contains("xcu250"));

  // 16-bit weights go to DSP48E2 slices.
  models::Architecture wide = shipped.model.architecture();
  for (auto& s : wide.layers) {
    if (s.quantization) s.quantization->weight = models::parse_fixed_point_format("ap_fixed<16,4,AP_RND_CONV,AP_SAT>");
  }
  models::Model wide_model(wide, shipped.model.input_shape(), 3);
  CHECK(fpga::estimate_hls_resources(wide_model, "xcu250-figd2104-2L-e", 250)["total"]["dsp"].get<double>() > 0);
}

TEST_CASE("Backends: one interface, clear errors for a bad kind, a missing project or a float model", "[backend]") {
  models::ModelFile shipped = models::load_model(shipped_model());
  fpga::BackendOptions options;
  options.kind = "gpu";
  CHECK_THROWS_WITH(fpga::make_backend(options, shipped.model), Catch::Contains("not one of twin, csim, float, xrt"));
  options.kind = "csim";
  CHECK_THROWS_WITH(fpga::make_backend(options, shipped.model), Catch::Contains("not a project written by larsel export-hls"));
  models::Model float_model(models::default_architecture(), shipped.model.input_shape(), 1);
  options.kind = "twin";
  CHECK_THROWS_WITH(fpga::make_backend(options, float_model), Catch::Contains("not quantized"));

  // On frames as sparse as preprocessed ones (no layer saturates), the float network follows the
  // twin within the output rounding of the fixed-point layers.
  std::vector<std::uint8_t> frames(shipped.model.input_shape().size() * 200);
  std::mt19937 rng(9);
  for (auto& p : frames) p = static_cast<std::uint8_t>(rng() % 64 == 0 ? rng() % 48 : 0);
  options.kind = "float";
  auto reference = fpga::make_backend(options, shipped.model);
  options.kind = "twin";
  auto twin = fpga::make_backend(options, shipped.model);
  CHECK(reference->name() == "float");
  CHECK(twin->name() == "twin");
  std::vector<double> a(200), b(200);
  reference->infer(frames, a);
  twin->infer(frames, b);
  double worst = 0;
  for (std::size_t i = 0; i < 200; ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  INFO("largest |float - twin| " << worst);
  CHECK(worst < 1.0);
  CHECK_THROWS_AS(twin->infer(std::span(frames).first(100), b), std::invalid_argument);
}

TEST_CASE("larsel score: csim equals the twin on a simulated data set, xrt without a card fails in one clear line", "[hls_export][cli]") {
  larsel::test::TempDir dir;
  const auto data = dir / "sim.h5";
  const auto sim = larsel::test::run_larsel("simulate --signal 60 --background 60 --seed 5 --out '" + data.string() + "'");
  INFO(sim.err);
  REQUIRE(sim.exit_code == 0);
  const auto project = dir / "hls";
  const std::string model = "--model '" + shipped_model().string() + "' ";
  const auto exported = larsel::test::run_larsel("export-hls " + model + "--out '" + project.string() + "' --test-data '" + data.string() + "'");
  INFO(exported.err);
  REQUIRE(exported.exit_code == 0);
  const auto csim = run_make(project, "csim");
  CHECK_THAT(csim.out, Catch::Contains("csim: 184 frames, 0 mismatches"));  // 120 simulated + 64 random
  const auto scored = larsel::test::run_larsel("score " + model + "--data '" + data.string() + "' --backend csim --hls-project '" +
                                               project.string() + "' --compare twin --out '" + (dir / "scores.csv").string() + "'");
  INFO(scored.err);
  CHECK(scored.exit_code == 0);
  CHECK_THAT(scored.out, Catch::Contains("0 of 120 logits differ from csim"));
  CHECK(std::count(std::istreambuf_iterator<char>(std::ifstream(dir / "scores.csv").rdbuf()), {}, '\n') == 121);

  const auto xrt = larsel::test::run_larsel("score " + model + "--data '" + data.string() + "' --backend xrt --xclbin '" +
                                            (dir / "missing.xclbin").string() + "'");
  CHECK(xrt.exit_code != 0);
  CHECK_THAT(xrt.err, LARSEL_HAVE_XRT ? Catch::Contains("missing.xclbin") : Catch::Contains("built without XRT"));
  CHECK(std::count(xrt.err.begin(), xrt.err.end(), '\n') <= 1);
}
