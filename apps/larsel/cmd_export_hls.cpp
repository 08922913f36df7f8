// larsel export-hls --model M --out DIR [--part P] [--clock MHZ]: the compressed model as a
// self-contained Vitis HLS project (fpga/include/larsel/fpga/hls_export.hpp), with testbench
// vectors: preprocessed frames and the software twin's raw scores for them.
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "larsel/daq/sim/sim_config.hpp"
#include "larsel/fpga/hls_export.hpp"
#include "larsel/models/image_preparation.hpp"
#include "larsel/models/model_file.hpp"
#include "larsel/pipeline/model_setup.hpp"
#include "progress_bar.hpp"

namespace larsel::app {
namespace {

struct ExportHlsOptions {
  std::string model, out, test_data;
  fpga::HlsExportOptions hls;
  std::size_t test_frames = 2000, stress_frames = 64;
  std::uint64_t seed = 1;
  unsigned threads = 2;
};

/// Preprocessed test frames: the first N of a simulated data set, or N simulated background frames;
/// then `stress_frames` frames of uniformly random pixels, which reach the saturation paths.
std::vector<std::uint8_t> test_vectors(const ExportHlsOptions& o, const models::ModelFile& file) {
  const preprocess::PreprocessConfig config = pipeline::model_preprocess_config(file, o.model);
  models::ImageSet set;
  ProgressBar bar("preprocess test frames");
  const models::PrepareOptions prepare{"", 32, [&](std::size_t d, std::size_t t) { bar.update(d, t); }, {}};
  if (!o.test_data.empty()) {
    set = models::prepare_images(o.test_data, config, prepare);
  } else if (o.test_frames > 0) {
    set = models::simulate_background_images(daq::sim::to_yaml(daq::sim::SimConfig{}), o.seed, o.test_frames, config, o.threads, prepare);
  }
  bar.clear();
  const std::size_t frame = file.model.input_shape().size(), count = std::min(o.test_frames, set.size());
  std::vector<std::uint8_t> frames(set.pixels.begin(), set.pixels.begin() + static_cast<std::ptrdiff_t>(count * frame));
  std::mt19937 rng(static_cast<std::uint32_t>(o.seed));
  for (std::size_t i = 0; i < o.stress_frames * frame; ++i) frames.push_back(static_cast<std::uint8_t>(rng() & 0xff));
  spdlog::info("test vectors: {} preprocessed frames ({}) and {} random frames", count,
               o.test_data.empty() ? "simulated background" : o.test_data, o.stress_frames);
  return frames;
}

int run_export_hls(const ExportHlsOptions& o) {
  models::ModelFile file = models::load_model(o.model);
  fpga::HlsExportOptions hls = o.hls;
  hls.out = o.out, hls.model_label = o.model;
  fpga::estimate_hls_resources(file.model, hls.part, hls.clock_mhz);  // bad part or clock: fail before the slow part
  const std::vector<std::uint8_t> frames = test_vectors(o, file);
  if (frames.empty()) throw std::invalid_argument("export-hls: no test frames (--test-frames 0 and --stress-frames 0)");
  const fpga::HlsExportResult result = fpga::export_hls_project(file.model, hls, frames);
  fmt::print("{}", result.estimate_text);
  spdlog::info("wrote {} (kernel larsel_cnn, {} testbench frames); `make -C {} csim` runs the C simulation", o.out, result.test_frames, o.out);
  return 0;
}

}  // namespace

void add_export_hls_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("export-hls", "Write a quantized model as a Vitis HLS project (kernel, testbench, Tcl, v++ Makefile, estimate)");
  auto o = std::make_shared<ExportHlsOptions>();
  cmd->add_option("--model", o->model, "Quantized model file (larsel compress)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", o->out, "Project directory to write")->required();
  cmd->add_option("--part", o->hls.part, "FPGA part (sets the resource table and set_part)")->capture_default_str();
  cmd->add_option("--clock", o->hls.clock_mhz, "Kernel clock, MHz")->check(CLI::Range(1.0, 1000.0))->capture_default_str();
  cmd->add_option("--platform", o->hls.platform, "Alveo platform for v++")->capture_default_str();
  cmd->add_option("--test-data", o->test_data, "Simulated data set (larsel simulate) for the testbench; default: simulated background")
      ->check(CLI::ExistingFile);
  cmd->add_option("--test-frames", o->test_frames, "Preprocessed testbench frames (at most)")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  cmd->add_option("--stress-frames", o->stress_frames, "Extra frames of random pixels (saturation paths)")
      ->check(CLI::Range(0, 1'000'000))
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of the simulated and random frames")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--threads", o->threads, "Worker threads for the simulation")->check(CLI::Range(1, 256))->capture_default_str();
  cmd->callback([&action, o] { action = [o] { return run_export_hls(*o); }; });
}

}  // namespace larsel::app
