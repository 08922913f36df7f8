// larsel eval --model model.h5 --data test.h5 [--out report/]: the CNN and the model's tuned baseline
// trigger on simulated data sets (plus optional background simulated on the fly for the 1e-5 point):
// ROC, efficiency at 1e-3/1e-4/1e-5 background acceptance, efficiency vs energy. JSON + PNG plots.
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "common.hpp"
#include "larsel/daq/sim/dataset.hpp"
#include "larsel/models/baseline_trigger.hpp"
#include "larsel/models/evaluation.hpp"
#include "larsel/models/image_preparation.hpp"
#include "larsel/models/model_file.hpp"
#include "larsel/pipeline/model_setup.hpp"
#include "model_summary.hpp"
#include "plot.hpp"
#include "progress_bar.hpp"
#include "training_data.hpp"

namespace larsel::app {
namespace {

struct EvalOptions {
  std::string model, reference, out, cache_dir = ".larsel-cache";
  std::vector<std::string> data;
  std::size_t background_frames = 0;
  std::uint64_t background_seed = 909090;
  unsigned threads = 2;
};

models::ImageSet load_sets(const EvalOptions& o, const preprocess::PreprocessConfig& config) {
  models::ImageSet set;
  for (const std::string& file : o.data) {
    ProgressBar bar(fmt::format("preprocess {}", file));
    set.append(models::prepare_images(file, config, {o.cache_dir, 32, [&](std::size_t d, std::size_t t) { bar.update(d, t); }, warn_cache}));
  }
  if (o.background_frames > 0) {
    const std::string sim_config = daq::sim::DatasetReader(o.data.front()).config_yaml();
    ProgressBar bar(fmt::format("simulate background (seed {})", o.background_seed));
    spdlog::info("simulating {} background frames (seed {}) with the simulation config of {}", o.background_frames,
                 o.background_seed, o.data.front());
    set.append(models::simulate_background_images(sim_config, o.background_seed, o.background_frames, config, o.threads,
                                                  {o.cache_dir, 32, [&](std::size_t d, std::size_t t) { bar.update(d, t); }, warn_cache}));
  }
  return set;
}


std::string efficiency_text(const nlohmann::json& e) {
  const double value = e["value"].get<double>();
  return fmt::format("{:.4f} (+{:.4f} -{:.4f})", value, std::max(0.0, e["high"].get<double>() - value),
                     std::max(0.0, value - e["low"].get<double>()));
}

void print_summary(const std::string& name, const nlohmann::json& r) {
  fmt::print("{}: {} signal and {} background frames, ROC area {:.5f}\n", name, r["signal_frames"].get<std::size_t>(),
             r["background_frames"].get<std::size_t>(), r["roc_area"].get<double>());
  for (const auto& w : r["working_points"]) {
    const auto& b = w["background_accepted"];
    fmt::print("  at {:g} background acceptance: signal efficiency {}  (background {}/{} accepted{})\n",
               w["target_background_acceptance"].get<double>(), efficiency_text(w["signal_efficiency"]),
               b["passed"].get<std::size_t>(), b["total"].get<std::size_t>(),
               w["statistically_limited"].get<bool>() ? "; too few background frames to set this point well" : "");
  }
  fmt::print("  at 1e-4: visible >= 5 MeV {}   visible 5-10 MeV {}\n", efficiency_text(r["at_1e-4"]["efficiency_visible_ge_5mev"]),
             efficiency_text(r["at_1e-4"]["efficiency_visible_5_10mev"]));
}

PlotSeries roc_series(const std::string& label, cv::Scalar colour, const nlohmann::json& r) {
  PlotSeries s{label, colour, {}, {}, {}};
  for (const auto& p : r["roc"]["points"]) s.points.emplace_back(p[0].get<double>(), p[1].get<double>());
  return s;
}

PlotSeries bin_series(const std::string& label, cv::Scalar colour, const nlohmann::json& bins) {
  PlotSeries s{label, colour, {}, {}, {}};
  for (const auto& b : bins) {
    if (b["efficiency"]["total"].get<std::size_t>() == 0) continue;
    s.points.emplace_back(0.5 * (b["low_mev"].get<double>() + b["high_mev"].get<double>()), b["efficiency"]["value"].get<double>());
    s.low.push_back(b["efficiency"]["low"].get<double>());
    s.high.push_back(b["efficiency"]["high"].get<double>());
  }
  return s;
}

void write_report(const std::filesystem::path& dir, const nlohmann::json& report) {
  std::filesystem::create_directories(dir);
  std::ofstream json((dir / "report.json").string());
  if (!(json << report.dump(2) << '\n')) throw std::runtime_error(fmt::format("{}: cannot write report.json", dir.string()));
  const cv::Scalar blue(200, 80, 0), orange(0, 120, 240), grey(120, 120, 120);
  const auto& cnn = report["cnn"];
  const auto& base = report["baseline"];
  std::vector<PlotSeries> rocs{roc_series("CNN", blue, cnn), roc_series("baseline trigger", orange, base)};
  if (report.contains("reference")) rocs.push_back(roc_series("reference (float) CNN", grey, report["reference"]));
  const double min_acceptance = std::min(0.1, 1.0 / std::max<double>(1.0, cnn["background_frames"].get<double>()));
  write_plot((dir / "roc.png").string(),
             {"ROC: signal efficiency vs background frames accepted", "background acceptance (fraction of background frames)",
              "signal efficiency", min_acceptance, 1.0, 0.0, 1.0, true},
             rocs, {1e-5, 1e-4, 1e-3});
  for (const auto& [key, name] : {std::pair{"efficiency_vs_visible_energy", "visible energy [MeV]"},
                                  std::pair{"efficiency_vs_nu_energy", "neutrino energy [MeV]"}}) {
    const double x_max = cnn["at_1e-4"][key].back()["high_mev"].get<double>();
    std::vector<PlotSeries> series{bin_series("CNN", blue, cnn["at_1e-4"][key]), bin_series("baseline trigger", orange, base["at_1e-4"][key])};
    if (report.contains("reference")) series.push_back(bin_series("reference (float) CNN", grey, report["reference"]["at_1e-4"][key]));
    write_plot((dir / (std::string(key) + ".png")).string(),
               {"signal efficiency at 1e-4 background acceptance", name, "signal efficiency", 0.0, x_max, 0.0, 1.0, false}, series);
  }
}

/// The reference (e.g. the float teacher of a compressed model) on the same
/// frames, and the efficiency at 1e-4 for visible >= 5 MeV next to the model's.
void add_reference(const EvalOptions& o, const models::ModelFile& file, const models::ImageSet& set,
                   std::span<const std::size_t> all, nlohmann::json& report) {
  models::ModelFile reference = models::load_model(o.reference);
  if (reference.preprocess_hash() != file.preprocess_hash()) {
    throw std::runtime_error(fmt::format("{}: made with a different preprocess configuration than {}", o.reference, o.model));
  }
  report["reference"] = models::evaluate_selection(models::split_by_label(set, all, reference.model.logits(set, all, o.threads)), true);
  report["reference"]["model"] = o.reference;
  report["reference"]["layers"] = layer_table(reference.model);
  fmt::print("reference {}: {}\n", o.reference, model_summary_line(report["reference"]["layers"]));
  print_summary(fmt::format("reference {}", o.reference), report["reference"]);
  const auto at = [](const nlohmann::json& r) { return r["at_1e-4"]["efficiency_visible_ge_5mev"]["value"].get<double>(); };
  fmt::print("at 1e-4, visible >= 5 MeV: {} {:.4f}, reference {:.4f} (difference {:+.4f})\n", o.model, at(report["cnn"]),
             at(report["reference"]), at(report["cnn"]) - at(report["reference"]));
}

int run_eval(const EvalOptions& o) {
  models::ModelFile file = models::load_model(o.model);
  const preprocess::PreprocessConfig config = pipeline::model_preprocess_config(file, o.model);
  const models::ImageSet set = load_sets(o, config);
  std::vector<std::size_t> all(set.size());
  std::iota(all.begin(), all.end(), std::size_t{0});
  const auto start = std::chrono::steady_clock::now();
  const std::vector<float> logits = file.model.logits(set, all, o.threads);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("CNN inference: {} frames in {:.1f} s ({:.1f} us per frame, {} threads)", set.size(), seconds,
               seconds * 1e6 / static_cast<double>(std::max<std::size_t>(1, set.size())), o.threads);
  const std::size_t baseline = baseline_grid_column(file.baseline, o.model);
  nlohmann::json report = {
      {"model", o.model}, {"data", o.data}, {"extra_background", {{"frames", o.background_frames}, {"seed", o.background_seed}}},
      {"cnn", models::evaluate_selection(models::split_by_label(set, all, logits), true)},
      {"baseline", models::evaluate_selection(models::split_by_label(set, all, models::baseline_scores(set, all, baseline)), true)}};
  report["baseline"]["config"] = file.baseline;
  report["cnn"]["layers"] = layer_table(file.model);
  fmt::print("model {}: {}\n", o.model, model_summary_line(report["cnn"]["layers"]));
  print_summary("CNN", report["cnn"]);
  print_summary(fmt::format("baseline trigger {}", file.baseline.dump()), report["baseline"]);
  if (!o.reference.empty()) add_reference(o, file, set, all, report);
  if (!o.out.empty()) {
    write_report(o.out, report);
    spdlog::info("wrote {}/report.json, roc.png, efficiency_vs_visible_energy.png, efficiency_vs_nu_energy.png", o.out);
  }
  return 0;
}

}  // namespace

void add_eval_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("eval", "Evaluate a model file and its baseline trigger on simulated data sets (ROC, efficiencies)");
  auto o = std::make_shared<EvalOptions>();
  cmd->add_option("--model", o->model, "Model file (larsel train)")->required();
  cmd->add_option("--data", o->data, "Simulated data sets (larsel simulate) with signal and background")->required()->check(CLI::ExistingFile);
  cmd->add_option("--reference", o->reference, "Also evaluate this model (e.g. the float teacher) on the same frames")
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", o->out, "Directory for report.json and the PNG plots");
  cmd->add_option("--background-frames", o->background_frames,
                  "Also simulate this many background frames on the fly (1e-5 needs ~1e6; at most 1e7, 2 KB of memory each), "
                  "with the data's simulation config")
      ->check(CLI::Range(0, 10'000'000))
      ->capture_default_str();
  cmd->add_option("--background-seed", o->background_seed, "Seed of those frames")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--cache-dir", o->cache_dir, "Where preprocessed images are cached ('' for none)")->capture_default_str();
  cmd->add_option("--threads", o->threads, "Worker threads")->check(CLI::Range(1, 256))->capture_default_str();
  cmd->callback([&action, o] { action = [o] { return run_eval(*o); }; });
}

}  // namespace larsel::app
