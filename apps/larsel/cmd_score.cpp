// larsel score --model M --data sim.h5 [--backend twin|csim|float|xrt] [--compare B]: the logits of
// a simulated data set's frames (preprocessed with the model's configuration) from one inference
// backend, optionally checked against a second one (raw equality for two integer backends).
#include <chrono>
#include <fstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "larsel/fpga/backend.hpp"
#include "larsel/models/image_preparation.hpp"
#include "larsel/models/model_file.hpp"
#include "larsel/pipeline/model_setup.hpp"
#include "progress_bar.hpp"

namespace larsel::app {
namespace {

struct ScoreOptions {
  std::string model, data, out, compare;
  fpga::BackendOptions backend;
  std::string hls_project, xclbin;
  std::size_t max_frames = 0;
};

std::vector<double> run_backend(fpga::InferenceBackend& backend, std::span<const std::uint8_t> frames, std::size_t n, double& us_per_frame) {
  std::vector<double> logits(n);
  const auto start = std::chrono::steady_clock::now();
  backend.infer(frames, logits);
  us_per_frame = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / static_cast<double>(std::max<std::size_t>(n, 1));
  return logits;
}

int run_score(ScoreOptions o) {
  models::ModelFile file = models::load_model(o.model);
  o.backend.hls_project = o.hls_project, o.backend.xclbin = o.xclbin;
  auto backend = fpga::make_backend(o.backend, file.model);  // a missing card or project fails before the preprocessing
  std::unique_ptr<fpga::InferenceBackend> reference;
  if (!o.compare.empty()) {
    fpga::BackendOptions r = o.backend;
    r.kind = o.compare;
    reference = fpga::make_backend(r, file.model);
  }
  ProgressBar bar(fmt::format("preprocess {}", o.data));
  const models::ImageSet set = models::prepare_images(o.data, pipeline::model_preprocess_config(file, o.model), {"", 32, [&](std::size_t d, std::size_t t) { bar.update(d, t); }, {}});
  bar.clear();
  const std::size_t n = o.max_frames > 0 ? std::min(o.max_frames, set.size()) : set.size();
  const std::span<const std::uint8_t> frames(set.pixels.data(), n * set.shape.size());
  double us = 0, reference_us = 0;
  const std::vector<double> logits = run_backend(*backend, frames, n, us);
  fmt::print("{}: {} frames, {:.2f} us per frame\n", backend->name(), n, us);
  if (reference) {
    const std::vector<double> expected = run_backend(*reference, frames, n, reference_us);
    std::size_t different = 0;
    double worst = 0;
    for (std::size_t i = 0; i < n; ++i) {
      different += logits[i] != expected[i] ? 1 : 0;
      worst = std::max(worst, std::abs(logits[i] - expected[i]));
    }
    fmt::print("{}: {:.2f} us per frame; {} of {} logits differ from {} (largest difference {})\n", reference->name(), reference_us, different, n,
               backend->name(), worst);
    if (different > 0 && o.compare != "float" && o.backend.kind != "float") return 1;  // integer backends must agree bit for bit
  }
  if (!o.out.empty()) {
    std::ofstream out(o.out);
    out << "frame,label,logit\n";
    for (std::size_t i = 0; i < n; ++i) out << fmt::format("{},{},{}\n", i, set.labels[i], logits[i]);
    if (!out.flush()) throw std::runtime_error(fmt::format("{}: cannot write", o.out));
    spdlog::info("wrote {}", o.out);
  }
  return 0;
}

}  // namespace

void add_score_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("score", "Logits of a data set's frames from one inference backend (twin, csim, float, xrt), optionally checked against another");
  auto o = std::make_shared<ScoreOptions>();
  cmd->add_option("--model", o->model, "Model file (quantized for twin, csim, xrt)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--data", o->data, "Simulated data set (larsel simulate)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--backend", o->backend.kind, "twin | csim | float | xrt")->check(CLI::IsMember({"twin", "csim", "float", "xrt"}))->capture_default_str();
  cmd->add_option("--compare", o->compare, "Also run this backend; two integer backends must agree bit for bit (exit 1 if not)")
      ->check(CLI::IsMember({"twin", "csim", "float", "xrt"}));
  cmd->add_option("--hls-project", o->hls_project, "csim: a project written by larsel export-hls");
  cmd->add_option("--xclbin", o->xclbin, "xrt: the kernel binary (make -C PROJECT xclbin)");
  cmd->add_option("--device", o->backend.device_index, "xrt: card index")->check(CLI::Range(0, 63))->capture_default_str();
  cmd->add_option("--batch", o->backend.batch_frames, "xrt: frames per kernel run")->check(CLI::Range(1, 1'000'000))->capture_default_str();
  cmd->add_option("--frames", o->max_frames, "Score at most this many frames (0: all)")->check(CLI::Range(0, 1'000'000'000))->capture_default_str();
  cmd->add_option("--out", o->out, "CSV of frame, label, logit");
  cmd->callback([&action, o] { action = [o] { return run_score(*o); }; });
}

}  // namespace larsel::app
