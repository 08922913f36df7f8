// larsel tradeoff --point X:report.json ... --x-label LABEL --out curve.png: the
// compression trade-off curve — signal efficiency at 1e-4 background
// acceptance against a compression setting (kept filters, weight bits) —
// from larsel eval reports, with each model's non-zero weights and MACs and
// the float reference the reports were made with.
#include <charconv>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "common.hpp"
#include "larsel/core/file_io.hpp"
#include "larsel/models/model_file.hpp"
#include "model_summary.hpp"
#include "plot.hpp"

namespace larsel::app {
namespace {

struct TradeoffOptions {
  std::vector<std::string> points;
  std::string x_label = "setting", out;
  bool json = false;
};

std::size_t non_zero_weights(models::Model& model) {
  std::size_t count = 0;
  for (const auto& row : layer_table(model)) count += row["non_zero_weights"].get<std::size_t>();
  return count;
}

nlohmann::json read_point(const std::string& spec) {
  const auto colon = spec.find(':');
  double x = 0;
  if (colon == std::string::npos || std::from_chars(spec.data(), spec.data() + colon, x).ec != std::errc()) {
    throw CLI::ValidationError("--point", fmt::format("'{}' is not X:report.json", spec));
  }
  const std::string path = spec.substr(colon + 1);
  // Not const: a missing key reads as null (then a clear type error), never undefined behaviour.
  nlohmann::json report = nlohmann::json::parse(core::read_file(path, "eval report"), nullptr, false);
  if (report.is_discarded() || !report.contains("cnn") || !report["cnn"].contains("at_1e-4") || !report.contains("model")) {
    throw std::runtime_error(fmt::format("{}: not a larsel eval report.json", path));
  }
  auto& at = report["cnn"]["at_1e-4"];
  nlohmann::json point = {{"x", x}, {"report", path}, {"model", report["model"]},
                          {"efficiency_visible_ge_5mev", at["efficiency_visible_ge_5mev"]},
                          {"efficiency_visible_5_10mev", at["efficiency_visible_5_10mev"]},
                          {"background_frames", report["cnn"]["background_frames"]}};
  for (auto& w : report["cnn"]["working_points"]) {
    if (w["target_background_acceptance"].get<double>() == 1e-4) point["efficiency_all_signal"] = w["signal_efficiency"];
  }
  if (report.contains("reference")) point["reference_visible_ge_5mev"] = report["reference"]["at_1e-4"]["efficiency_visible_ge_5mev"];
  if (std::filesystem::exists(report["model"].get<std::string>())) {
    models::ModelFile file = models::load_model(report["model"].get<std::string>());
    point["non_zero_weights"] = non_zero_weights(file.model);
    point["multiply_accumulates"] = file.model.network().multiply_accumulates();
  }
  return point;
}

PlotSeries series(const std::string& label, cv::Scalar colour, const nlohmann::json& points, const char* key) {
  PlotSeries s{label, colour, {}, {}, {}};
  for (const auto& p : points) {
    if (!p.contains(key)) continue;
    s.points.emplace_back(p.at("x").get<double>(), p.at(key).at("value").get<double>());
    s.low.push_back(p.at(key).at("low").get<double>());
    s.high.push_back(p.at(key).at("high").get<double>());
  }
  return s;
}

int run_tradeoff(const TradeoffOptions& o) {
  nlohmann::json points = nlohmann::json::array();
  for (const std::string& spec : o.points) points.push_back(read_point(spec));
  std::sort(points.begin(), points.end(), [](const auto& a, const auto& b) { return a["x"].template get<double>() < b["x"].template get<double>(); });
  if (o.json) {
    fmt::print("{}\n", points.dump(2));
  } else {
    fmt::print("{:>8} {:>10} {:>10}  {:<28} {:<28} {:<28} {}\n", o.x_label.substr(0, 8), "non-zero w", "MAC/frame",
               "eff. visible >= 5 MeV", "eff. visible 5-10 MeV", "eff. all signal", "float reference >= 5 MeV");
    for (const auto& p : points) {
      const auto text = [&p](const char* key) {
        if (!p.contains(key)) return std::string("-");
        const nlohmann::json& e = p.at(key);
        return fmt::format("{:.4f} [{:.4f}, {:.4f}]", e.at("value").get<double>(), e.at("low").get<double>(), e.at("high").get<double>());
      };
      fmt::print("{:>8g} {:>10} {:>10}  {:<28} {:<28} {:<28} {}\n", p["x"].get<double>(), p.value("non_zero_weights", std::size_t{0}),
                 p.value("multiply_accumulates", std::size_t{0}), text("efficiency_visible_ge_5mev"),
                 text("efficiency_visible_5_10mev"), text("efficiency_all_signal"), text("reference_visible_ge_5mev"));
    }
  }
  if (!o.out.empty() && !points.empty()) {
    const double x_min = points.front()["x"].get<double>(), x_max = points.back()["x"].get<double>();
    const double pad = std::max(0.5, 0.05 * (x_max - x_min));
    double lowest = 1.0;  // zoom the y axis onto the curves: a range of whole tenths, so ticks fall on round values
    for (const auto& p : points) {
      for (const char* key : {"efficiency_visible_ge_5mev", "efficiency_visible_5_10mev", "efficiency_all_signal"}) {
        if (p.contains(key)) lowest = std::min(lowest, p.at(key).at("low").get<double>());
      }
    }
    const double y_min = std::max(0.0, std::floor((lowest - 0.01) * 10.0) / 10.0);
    write_plot(o.out, {"signal efficiency at 1e-4 background acceptance", o.x_label, "signal efficiency", x_min - pad, x_max + pad, y_min, 1.0, false},
               {series("visible >= 5 MeV", cv::Scalar(200, 80, 0), points, "efficiency_visible_ge_5mev"),
                series("visible 5-10 MeV", cv::Scalar(0, 120, 240), points, "efficiency_visible_5_10mev"),
                series("all signal frames", cv::Scalar(60, 160, 60), points, "efficiency_all_signal"),
                series("float teacher, visible >= 5 MeV", cv::Scalar(120, 120, 120), points, "reference_visible_ge_5mev")});
    spdlog::info("wrote {}", o.out);
  }
  return 0;
}

}  // namespace

void add_tradeoff_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("tradeoff", "Efficiency at 1e-4 against a compression setting, from larsel eval reports");
  auto o = std::make_shared<TradeoffOptions>();
  cmd->add_option("--point", o->points, "X:report.json (larsel eval --out DIR writes DIR/report.json)")->required();
  cmd->add_option("--x-label", o->x_label, "What X is, e.g. \"conv2 filters kept\"")->capture_default_str();
  cmd->add_option("--out", o->out, "PNG of the curve");
  cmd->add_flag("--json", o->json, "Print JSON instead of the table");
  cmd->callback([&action, o] { action = [o] { return run_tradeoff(*o); }; });
}

}  // namespace larsel::app
