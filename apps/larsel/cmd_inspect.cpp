// larsel inspect MODEL [--json] [--chart weights.png]: what a model file holds, layer by layer —
// output shape, parameters, non-zero weights, multiply-accumulates, fixed-point formats and accumulators —
// and its recorded metrics (for a compressed model, next to its float teacher's).
#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "larsel/models/model_file.hpp"
#include "model_summary.hpp"
#include "plot.hpp"

namespace larsel::app {
namespace {

struct InspectOptions {
  std::string model, chart;
  bool json = false;
};

void print_report(const nlohmann::ordered_json& r) {
  fmt::print("{}: input {}, input_scale {}, preprocess hash {}\n", r["model"].get<std::string>(), r["input_shape"].dump(),
             r["input_scale"].get<double>(), r["preprocess_hash"].get<std::string>());
  fmt::print("{:<9} {:>10} {:>10} {:>9} {:>9} {:>11}  {}\n", "layer", "output", "parameters", "weights", "non-zero", "MAC/frame", "format");
  for (const auto& l : r["layers"]) {
    fmt::print("{:<9} {:>10} {:>10} {:>9} {:>9} {:>11}  {}\n", l["layer"].get<std::string>(),
               fmt::format("{}x{}x{}", l["output"][0].get<int>(), l["output"][1].get<int>(), l["output"][2].get<int>()),
               l["parameters"].get<std::size_t>(), l["weights"].get<std::size_t>(), l["non_zero_weights"].get<std::size_t>(),
               l["multiply_accumulates"].get<std::size_t>(), l["number_format"].get<std::string>());
  }
  fmt::print("{:<9} {:>10} {:>10} {:>9} {:>9} {:>11}\n", "total", "", r["parameters"].get<std::size_t>(), r["weights"].get<std::size_t>(),
             r["non_zero_weights"].get<std::size_t>(), r["multiply_accumulates"].get<std::size_t>());
  for (const auto& l : r["layers"]) {
    if (!l.contains("formats")) continue;
    const auto& f = l["formats"];
    fmt::print("  {}: input {}, weight {}, bias {}, accumulator {}, output {}\n", l["layer"].get<std::string>(),
               f["input"].get<std::string>(), f["weight"].get<std::string>(), f["bias"].get<std::string>(),
               f["accumulator"].get<std::string>(), f["output"].get<std::string>());
  }
  if (r.contains("compression")) {
    const auto& c = r["compression"];
    fmt::print("compressed from {}: {} of its {} weights are non-zero here ({:.1f} % pruned); {} vs {} MAC/frame\n",
               c["teacher"].get<std::string>(), r["non_zero_weights"].get<std::size_t>(), c["teacher_weights"].get<std::size_t>(),
               c["pruned_percent"].get<double>(), r["multiply_accumulates"].get<std::size_t>(),
               c["teacher_multiply_accumulates"].get<std::size_t>());
  }
  for (const auto& [key, name] : {std::pair{"test_split", "this model"}, std::pair{"test_split_float_teacher", "float teacher"}}) {
    if (!r.contains(key) || !r[key].is_object()) continue;
    const auto& e = r[key];
    fmt::print("recorded on the test split ({}): efficiency {:.4f} ({} of {}) for visible >= 5 MeV at 1e-4 background\n", name,
               e["value"].get<double>(), e["passed"].get<std::size_t>(), e["total"].get<std::size_t>());
  }
}

void write_chart(const std::string& path, const nlohmann::ordered_json& r) {
  std::vector<std::string> names;
  BarSeries teacher{"float teacher", cv::Scalar(160, 160, 160), {}}, total{"kept weights", cv::Scalar(200, 80, 0), {}},
      non_zero{"non-zero", cv::Scalar(0, 120, 240), {}};
  for (const auto& l : r["layers"]) {
    if (l["weights"].get<std::size_t>() == 0) continue;
    names.push_back(l["layer"].get<std::string>());
    teacher.values.push_back(l.value("teacher_weights", 0.0));
    total.values.push_back(l["weights"].get<double>());
    non_zero.values.push_back(l["non_zero_weights"].get<double>());
  }
  std::vector<BarSeries> series{total, non_zero};
  if (r.contains("compression")) series.insert(series.begin(), teacher);
  write_bar_chart(path, "total vs non-zero weights per layer", names, series);
}

int run_inspect(const InspectOptions& o) {
  models::ModelFile file = models::load_model(o.model);
  nlohmann::ordered_json r;
  r["model"] = o.model;
  const models::Shape in = file.model.input_shape();
  r["input_shape"] = {in.channels, in.height, in.width};
  r["input_scale"] = file.model.architecture().input_scale;
  r["preprocess_hash"] = file.preprocess_hash();
  nlohmann::json teacher = file.training.value("teacher", nlohmann::json::object());  // not const: no UB on a missing key
  r["layers"] = layer_table(file.model, teacher.value("weights_per_layer", nlohmann::json::object()));
  std::size_t parameters = 0, weights = 0, non_zero = 0;
  for (const auto& l : r["layers"]) {
    parameters += l["parameters"].get<std::size_t>(), weights += l["weights"].get<std::size_t>();
    non_zero += l["non_zero_weights"].get<std::size_t>();
  }
  r["parameters"] = parameters;
  r["weights"] = weights;
  r["non_zero_weights"] = non_zero;
  r["multiply_accumulates"] = file.model.network().multiply_accumulates();
  if (teacher.contains("weights")) {
    const auto teacher_weights = teacher["weights"].get<std::size_t>();
    r["compression"] = {{"teacher", teacher["path"]}, {"teacher_weights", teacher_weights},
                        {"teacher_multiply_accumulates", teacher["multiply_accumulates"]},
                        {"pruned_percent", 100.0 * (1.0 - static_cast<double>(non_zero) / static_cast<double>(std::max<std::size_t>(1, teacher_weights)))}};
  }
  r["baseline"] = file.baseline;
  for (const auto& [key, metric] : {std::pair{"test_split", "cnn"}, std::pair{"test_split_float_teacher", "float_teacher"}}) {
    if (file.metrics.contains(metric)) r[key] = file.metrics[metric]["at_1e-4"]["efficiency_visible_ge_5mev"];
  }
  if (o.json) {
    fmt::print("{}\n", r.dump(2));
  } else {
    print_report(r);
  }
  if (!o.chart.empty()) {
    write_chart(o.chart, r);
    spdlog::info("wrote {}", o.chart);
  }
  return 0;
}

}  // namespace

void add_inspect_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("inspect", "What a model file holds: per-layer parameters, non-zero weights, MACs, formats");
  auto o = std::make_shared<InspectOptions>();
  cmd->add_option("MODEL", o->model, "Model file (larsel train)")->required();
  cmd->add_flag("--json", o->json, "Print JSON instead of the table");
  cmd->add_option("--chart", o->chart, "Also write a PNG bar chart of total vs non-zero weights per layer");
  cmd->callback([&action, o] { action = [o] { return run_inspect(*o); }; });
}

}  // namespace larsel::app
