// larsel preprocess IN.h5 --out OUT.h5 [--config pre.yaml] [--quality report.json]: denoise + downsize a
// simulated data set into CNN input images (an image-set file, models/image_set_file.hpp, the format
// training caches), optionally measuring the denoising quality against the truth.
#include <chrono>
#include <fstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "common.hpp"
#include "larsel/core/file_io.hpp"
#include "larsel/daq/sim/dataset.hpp"
#include "larsel/daq/sim/frame_simulator.hpp"
#include "larsel/daq/sim/sim_config.hpp"
#include "larsel/models/image_set_file.hpp"
#include "larsel/preprocess/preprocessor.hpp"
#include "larsel/preprocess/quality.hpp"

namespace larsel::app {
namespace {

using daq::Frame;

struct PreprocessOptions {
  std::string input, output, config_path, quality_path;
  std::size_t warmup = 32;
  bool scalar = false, print_config = false;
};

/// Re-simulates frame `index` of the data set with its per-pixel truth and checks it is the stored frame.
class TruthReplay {
 public:
  explicit TruthReplay(const daq::sim::DatasetReader& reader)
      : sim_(daq::sim::parse_sim_config(reader.config_yaml(), "data set config"), reader.seed()), adc_(Frame::kPixels) {}
  const daq::sim::SignalImages& images(std::size_t index, const daq::sim::FrameTruth& stored,
                                       std::span<const std::uint16_t> raw, const std::string& file) {
    daq::sim::FrameTruth truth;
    sim_.simulate(index, stored.label, std::span<std::uint16_t, Frame::kPixels>(adc_.data(), Frame::kPixels), truth, &images_);
    if (!std::equal(adc_.begin(), adc_.end(), raw.begin())) {
      throw std::runtime_error(fmt::format("{}: frame {} cannot be re-simulated from the file's config and seed "
                                           "(made by another version?), so there is no per-pixel truth for --quality",
                                           file, index));
    }
    return images_;
  }

 private:
  daq::sim::FrameSimulator sim_;
  std::vector<std::uint16_t> adc_;
  daq::sim::SignalImages images_;
};

void warm_up(preprocess::Preprocessor& pre, const daq::sim::DatasetReader& reader, std::size_t frames) {
  std::vector<std::uint16_t> adc(Frame::kPixels);
  std::vector<std::uint8_t> image(pre.config().output_pixels());
  for (std::size_t i = 0; i < std::min(frames, reader.size()); ++i) {
    reader.read_frame(i, std::span<std::uint16_t, Frame::kPixels>(adc.data(), Frame::kPixels));
    pre.process(preprocess::FrameAdc(adc.data(), Frame::kPixels), {image, {}, {}});
  }
}

int run_preprocess(const PreprocessOptions& o) {
  const preprocess::PreprocessConfig config =
      o.config_path.empty() ? preprocess::PreprocessConfig{}
                            : preprocess::parse_preprocess_config(core::read_file(o.config_path, "preprocess config"), o.config_path);
  if (o.print_config) return fmt::print("{}", preprocess::to_yaml(config)), 0;
  if (o.input.empty() || o.output.empty()) throw CLI::RequiredError("IN and --out");
  const daq::sim::DatasetReader reader(o.input);
  preprocess::Preprocessor pre(config, o.scalar ? preprocess::Implementation::scalar : preprocess::Implementation::optimised);
  models::ImageSet images;
  images.shape = {1, static_cast<int>(config.output_rows()), static_cast<int>(config.output_columns())};
  warm_up(pre, reader, o.warmup);
  std::optional<TruthReplay> replay;
  if (!o.quality_path.empty()) replay.emplace(reader);
  preprocess::QualityAccumulator quality;
  std::vector<std::uint16_t> adc(Frame::kPixels);
  std::vector<std::uint8_t> image(config.output_pixels());
  std::vector<std::int16_t> denoised(Frame::kPixels), filtered(Frame::kPixels);
  std::chrono::nanoseconds busy{0};
  for (std::size_t i = 0; i < reader.size(); ++i) {
    reader.read_frame(i, std::span<std::uint16_t, Frame::kPixels>(adc.data(), Frame::kPixels));
    const auto start = std::chrono::steady_clock::now();
    pre.process(preprocess::FrameAdc(adc.data(), Frame::kPixels), {image, denoised, replay ? filtered : std::span<std::int16_t>{}});
    busy += std::chrono::steady_clock::now() - start;
    const daq::sim::FrameTruth& truth = reader.truth(i);
    const auto kind = daq::sim::dominant_background_kind(truth);
    images.push_back(image, static_cast<std::uint8_t>(truth.label), truth.nu_energy_mev, truth.visible_energy_mev, truth.event,
                     kind ? static_cast<std::uint8_t>(*kind) : models::kNoBackgroundKind);
    if (replay) quality.add(adc, filtered, denoised, reader.truth(i), replay->images(i, reader.truth(i), adc, o.input));
  }
  models::write_image_set(o.output, images, {o.input, preprocess::to_yaml(config), pre.kernel_name(), ""});
  spdlog::info("wrote {}: {} images of {} x {} ({} kernel, {:.1f} us per frame incl. denoised output; "
               "`larsel bench preprocess` for the timing that matters)",
               o.output, reader.size(), config.output_rows(), config.output_columns(), pre.kernel_name(),
               reader.size() ? static_cast<double>(busy.count()) / 1e3 / static_cast<double>(reader.size()) : 0.0);
  if (replay) {
    auto report = quality.report();
    report["preprocess_config"] = preprocess::to_yaml(config);
    report["source"] = o.input;
    std::ofstream out(o.quality_path);
    if (!(out << report.dump(2) << '\n')) throw std::runtime_error(fmt::format("{}: cannot write the quality report", o.quality_path));
    fmt::print("{}\n", report.dump(2));
  }
  return 0;
}

}  // namespace

void add_preprocess_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("preprocess", "Denoise + downsize a simulated data set into CNN input images (an HDF5 image set)");
  auto o = std::make_shared<PreprocessOptions>();
  cmd->add_option("IN", o->input, "Simulated data set (HDF5, from larsel simulate)")->check(CLI::ExistingFile);
  cmd->add_option("--out", o->output, "Image set to write (HDF5: images, labels, energies; the format of training's cache)");
  cmd->add_option("--config", o->config_path, "Preprocess YAML (see --print-config)")->check(CLI::ExistingFile);
  cmd->add_option("--warmup", o->warmup, "Frames run first to settle the streaming pedestals and noise")
      ->check(CLI::Range(0, 100'000))
      ->capture_default_str();
  cmd->add_option("--quality", o->quality_path, "Write the quality report (JSON) from per-pixel truth, re-simulated from the file");
  cmd->add_flag("--scalar", o->scalar, "Use the scalar reference instead of the optimised kernel");
  cmd->add_flag("--print-config", o->print_config, "Print the full configuration as YAML and exit");
  cmd->callback([&action, o] { action = [o] { return run_preprocess(*o); }; });
}

}  // namespace larsel::app
