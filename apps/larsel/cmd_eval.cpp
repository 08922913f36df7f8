// larsel eval --model model.h5 --data test.h5 [--out report/]: the CNN and the model's tuned baseline
// trigger on simulated data sets (plus optional background simulated on the fly for the 1e-5 point):
// ROC, efficiency at 1e-3/1e-4/1e-5 background acceptance, efficiency vs energy. JSON + PNG plots.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
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
  std::vector<std::string> data, probes;
  std::size_t background_frames = 0;
  std::uint64_t background_seed = 909090;
  unsigned threads = 2;
};

struct EvalData {
  models::ImageSet set;
  std::vector<models::StreamEvents> streams;  // the continuous streams among the data sets
};

EvalData load_sets(const EvalOptions& o, const preprocess::PreprocessConfig& config) {
  EvalData data;
  models::ImageSet& set = data.set;
  for (const std::string& file : o.data) {
    ProgressBar bar(fmt::format("preprocess {}", file));
    const std::size_t first = set.size();
    set.append(models::prepare_images(file, config, {o.cache_dir, 32, [&](std::size_t d, std::size_t t) { bar.update(d, t); }, warn_cache}));
    const daq::sim::DatasetReader reader(file);
    if (reader.continuous()) data.streams.push_back({first, set.size() - first, reader.events()});
  }
  if (o.background_frames > 0) {
    const std::string sim_config = daq::sim::DatasetReader(o.data.front()).config_yaml();
    ProgressBar bar(fmt::format("simulate background (seed {})", o.background_seed));
    spdlog::info("simulating {} background frames (seed {}) with the simulation config of {}", o.background_frames,
                 o.background_seed, o.data.front());
    set.append(models::simulate_background_images(sim_config, o.background_seed, o.background_frames, config, o.threads,
                                                  {o.cache_dir, 32, [&](std::size_t d, std::size_t t) { bar.update(d, t); }, warn_cache}));
  }
  return data;
}

/// Per-event figures and the accepted background frames by kind, at the 1e-4 background-frame cut.
void add_event_figures(const EvalData& data, std::span<const std::size_t> all, std::span<const float> scores,
                       nlohmann::json& report) {
  const auto threshold = report["at_1e-4"]["threshold_logit"].get<float>();
  const bool events = std::any_of(data.streams.begin(), data.streams.end(), [](const auto& s) { return !s.events.empty(); });
  if (events) report["events"] = models::evaluate_events(models::event_scores(data.set, data.streams, scores), threshold);
  report["at_1e-4"]["background_by_kind"] = models::background_by_kind(data.set, all, scores, threshold);
}

/// A background-only data set judged at the 1e-4 cuts set by the main data, which it does not move: its
/// frames accepted by dominant kind (e.g. neutron-capture frames, too rare at DUNE's rate to count).
void add_probe(const EvalOptions& o, models::ModelFile& file, const preprocess::PreprocessConfig& config, std::size_t baseline,
               const std::string& probe, nlohmann::json& report) {
  ProgressBar bar(fmt::format("preprocess {}", probe));
  const models::ImageSet set =
      models::prepare_images(probe, config, {o.cache_dir, 32, [&](std::size_t d, std::size_t t) { bar.update(d, t); }, warn_cache});
  bar.clear();
  std::vector<std::size_t> all(set.size());
  std::iota(all.begin(), all.end(), std::size_t{0});
  const std::vector<float> logits = file.model.logits(set, all, o.threads);
  const std::vector<float> baseline_scores = models::baseline_scores(set, all, baseline);
  fmt::print("probe {} at the 1e-4 cuts above: background-only frames accepted by dominant kind\n", probe);
  for (const auto& [who, scores] : {std::pair{"cnn", std::span<const float>(logits)}, std::pair{"baseline", std::span<const float>(baseline_scores)}}) {
    const auto threshold = report[who]["at_1e-4"]["threshold_logit"].get<float>();
    const nlohmann::json table = models::background_by_kind(set, all, scores, threshold);
    report[who]["probes"][probe] = table;
    for (const auto& row : table) {
      const auto& a = row["accepted"];
      fmt::print("  {:<9} {:<16} {:>9} frames  {:>6} accepted  ({:.2e}, 68 % up to {:.2e})\n", who, row["dominant_kind"].get<std::string>(),
                 row["frames"].get<std::size_t>(), a["passed"].get<std::size_t>(), a["value"].get<double>(), a["high"].get<double>());
    }
  }
}

/// Per-frame figures, then per-event ones and the background table.
nlohmann::json evaluate(const EvalData& data, std::span<const std::size_t> all, std::span<const float> scores) {
  nlohmann::json r = models::evaluate_selection(models::split_by_label(data.set, all, scores), true);
  add_event_figures(data, all, scores, r);
  return r;
}

std::string efficiency_text(const nlohmann::json& e);

void print_event_figures(const nlohmann::json& r) {
  if (r.contains("events")) {
    const auto& e = r["events"];
    const auto half = e["visible_mev_at_half_efficiency"];
    fmt::print("  per event ({} events; {}):\n    at 1e-4: visible >= 5 MeV {}   5-10 MeV {}   2-5 MeV {}   50 % at {} MeV visible\n",
               e["events"].get<std::size_t>(), e["rule"].get<std::string>(), efficiency_text(e["efficiency_visible_ge_5mev"]),
               efficiency_text(e["efficiency_visible_5_10mev"]), efficiency_text(e["efficiency_visible_2_5mev"]),
               half.is_null() ? std::string("-") : fmt::format("{:.2f}", half.get<double>()));
  }
  fmt::print("  background-only frames accepted at 1e-4, by dominant kind:\n");
  for (const auto& row : r["at_1e-4"]["background_by_kind"]) {
    const auto& a = row["accepted"];
    fmt::print("    {:<16} {:>9} frames  {:>6} accepted  ({:.2e})\n", row["dominant_kind"].get<std::string>(),
               row["frames"].get<std::size_t>(), a["passed"].get<std::size_t>(), a["value"].get<double>());
  }
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
  fmt::print("  per frame at 1e-4: visible >= 5 MeV {}   5-10 MeV {}   2-5 MeV {}\n",
             efficiency_text(r["at_1e-4"]["efficiency_visible_ge_5mev"]), efficiency_text(r["at_1e-4"]["efficiency_visible_5_10mev"]),
             efficiency_text(r["at_1e-4"]["efficiency_visible_2_5mev"]));
  print_event_figures(r);
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

/// The efficiency axis starts a little below the lowest efficiency any curve has at 1e-5..1 acceptance.
double roc_floor(const std::vector<PlotSeries>& rocs) {
  double lowest = 1;
  for (const PlotSeries& s : rocs) {
    for (const auto& p : s.points) lowest = p.x >= 1e-5 ? std::min(lowest, p.y) : lowest;
  }
  return std::clamp(std::floor((lowest - 0.02) * 20) / 20, 0.0, 0.95);
}

/// Efficiency against `key` for every selector: per event where the data have events, else per frame.
std::vector<PlotSeries> energy_series(const nlohmann::json& report, const char* key, bool per_event) {
  const cv::Scalar blue(200, 80, 0), orange(0, 120, 240), grey(120, 120, 120);
  const auto bins = [&](const nlohmann::json& r) -> const nlohmann::json& { return per_event ? r["events"][key] : r["at_1e-4"][key]; };
  std::vector<PlotSeries> series{bin_series("CNN", blue, bins(report["cnn"])), bin_series("baseline trigger", orange, bins(report["baseline"]))};
  if (report.contains("reference")) series.push_back(bin_series("reference (float) CNN", grey, bins(report["reference"])));
  return series;
}

void write_report(const std::filesystem::path& dir, const nlohmann::json& report) {
  std::filesystem::create_directories(dir);
  std::ofstream json((dir / "report.json").string());
  if (!(json << report.dump(2) << '\n')) throw std::runtime_error(fmt::format("{}: cannot write report.json", dir.string()));
  const cv::Scalar blue(200, 80, 0), orange(0, 120, 240), grey(120, 120, 120);
  const auto& cnn = report["cnn"];
  std::vector<PlotSeries> rocs{roc_series("CNN", blue, cnn), roc_series("baseline trigger", orange, report["baseline"])};
  if (report.contains("reference")) rocs.push_back(roc_series("reference (float) CNN", grey, report["reference"]));
  const double min_acceptance = std::min(1e-5, 1.0 / std::max<double>(1.0, cnn["background_frames"].get<double>()));
  write_plot((dir / "roc.png").string(),
             {"ROC per frame (log background acceptance, zoomed efficiency)", "background-only frames accepted (fraction)",
              "signal-frame efficiency", min_acceptance, 1.0, roc_floor(rocs), 1.0, true},
             rocs, {1e-5, 1e-4, 1e-3});
  const bool per_event = cnn.contains("events");
  const std::string what = per_event ? "per-event efficiency" : "signal-frame efficiency";
  write_plot((dir / "efficiency_vs_visible_energy.png").string(),
             {what + " at 1e-4 background: the turn-on (68 % bands)", "visible energy [MeV]", what, 0.0, 20.0, 0.0, 1.0, false},
             energy_series(report, "efficiency_vs_visible_energy", per_event), {5.0});
  // Zoomed on >= 5 MeV, where the target is: points below 5 MeV are left out, not clamped to the edge.
  std::vector<PlotSeries> zoomed = energy_series(report, "efficiency_vs_visible_energy", per_event);
  double lowest = 1;
  for (PlotSeries& series : zoomed) {
    for (std::size_t i = series.points.size(); i-- > 0;) {
      if (series.points[i].x >= 5) {
        lowest = std::min(lowest, series.low[i]);
        continue;
      }
      series.points.erase(series.points.begin() + static_cast<std::ptrdiff_t>(i));
      series.low.erase(series.low.begin() + static_cast<std::ptrdiff_t>(i));
      series.high.erase(series.high.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  write_plot((dir / "efficiency_vs_visible_energy_zoom.png").string(),
             {what + " at 1e-4 background, >= 5 MeV zoomed (68 % bands)", "visible energy [MeV]", what, 5.0, 50.0,
              std::clamp(std::floor((lowest - 0.02) * 20) / 20, 0.0, 0.95), 1.0, false},
             zoomed);
  write_plot((dir / "efficiency_vs_nu_energy.png").string(),
             {what + " at 1e-4 background (68 % bands)", "neutrino energy [MeV]", what, 0.0, 60.0, 0.0, 1.0, false},
             energy_series(report, "efficiency_vs_nu_energy", per_event));
}

/// The reference (e.g. the float teacher of a compressed model) on the same
/// frames, and the efficiency at 1e-4 for visible >= 5 MeV next to the model's.
void add_reference(const EvalOptions& o, const models::ModelFile& file, const EvalData& data,
                   std::span<const std::size_t> all, nlohmann::json& report) {
  models::ModelFile reference = models::load_model(o.reference);
  if (reference.preprocess_hash() != file.preprocess_hash()) {
    throw std::runtime_error(fmt::format("{}: made with a different preprocess configuration than {}", o.reference, o.model));
  }
  report["reference"] = evaluate(data, all, reference.model.logits(data.set, all, o.threads));
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
  const EvalData data = load_sets(o, config);
  const models::ImageSet& set = data.set;
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
      {"cnn", evaluate(data, all, logits)},
      {"baseline", evaluate(data, all, models::baseline_scores(set, all, baseline))}};
  report["baseline"]["config"] = file.baseline;
  report["cnn"]["layers"] = layer_table(file.model);
  fmt::print("model {}: {}\n", o.model, model_summary_line(report["cnn"]["layers"]));
  print_summary("CNN", report["cnn"]);
  print_summary(fmt::format("baseline trigger {}", file.baseline.dump()), report["baseline"]);
  if (!o.reference.empty()) add_reference(o, file, data, all, report);
  for (const std::string& probe : o.probes) add_probe(o, file, config, baseline, probe, report);
  if (!o.out.empty()) {
    write_report(o.out, report);
    spdlog::info("wrote {}/report.json, roc.png, efficiency_vs_visible_energy{{,_zoom}}.png, efficiency_vs_nu_energy.png", o.out);
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
  cmd->add_option("--probe", o->probes,
                  "Background-only data sets judged at the 1e-4 cuts the --data set (their frames do not move the cuts): "
                  "accepted frames by dominant kind, e.g. a neutron-capture-enriched stream")
      ->check(CLI::ExistingFile);
  cmd->add_option("--background-seed", o->background_seed, "Seed of those frames")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--cache-dir", o->cache_dir, "Where preprocessed images are cached ('' for none)")->capture_default_str();
  cmd->add_option("--threads", o->threads, "Worker threads")->check(CLI::Range(1, 256))->capture_default_str();
  cmd->callback([&action, o] { action = [o] { return run_eval(*o); }; });
}

}  // namespace larsel::app
