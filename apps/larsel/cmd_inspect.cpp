// larsel inspect MODEL [--json] [--chart weights.png]: what a model file holds, layer by layer —
// output shape, parameters, non-zero weights, multiply-accumulates, number format — and its recorded metrics.
#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "larsel/models/model_file.hpp"
#include "plot.hpp"

namespace larsel::app {
namespace {

struct InspectOptions {
  std::string model, chart;
  bool json = false;
};

nlohmann::ordered_json layer_table(models::Network& network) {
  nlohmann::ordered_json layers = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < network.layers().size(); ++i) {
    models::Layer& layer = *network.layers()[i];
    std::size_t parameters = 0, non_zero = 0;
    for (const models::Parameter& p : layer.parameters()) {
      parameters += p.values->size();
      non_zero += static_cast<std::size_t>(std::count_if(p.values->begin(), p.values->end(), [](float v) { return v != 0.0f; }));
    }
    const models::Shape out = layer.output_shape();
    layers.push_back({{"layer", fmt::format("layer{}_{}", i, layer.kind())},
                      {"output", {out.channels, out.height, out.width}},
                      {"parameters", parameters},
                      {"non_zero", non_zero},
                      {"multiply_accumulates", layer.multiply_accumulates()},
                      {"number_format", parameters ? "float32" : ""}});
  }
  return layers;
}

void print_report(const nlohmann::ordered_json& r) {
  fmt::print("{}: input {}, input_scale {}, preprocess hash {}\n", r["model"].get<std::string>(), r["input_shape"].dump(),
             r["input_scale"].get<double>(), r["preprocess_hash"].get<std::string>());
  fmt::print("{:<18} {:>14} {:>11} {:>10} {:>14}  {}\n", "layer", "output", "parameters", "non-zero", "MAC/frame", "format");
  for (const auto& l : r["layers"]) {
    fmt::print("{:<18} {:>14} {:>11} {:>10} {:>14}  {}\n", l["layer"].get<std::string>(),
               fmt::format("{}x{}x{}", l["output"][0].get<int>(), l["output"][1].get<int>(), l["output"][2].get<int>()),
               l["parameters"].get<std::size_t>(), l["non_zero"].get<std::size_t>(), l["multiply_accumulates"].get<std::size_t>(),
               l["number_format"].get<std::string>());
  }
  fmt::print("{:<18} {:>14} {:>11} {:>10} {:>14}\n", "total", "", r["parameters"].get<std::size_t>(), r["non_zero"].get<std::size_t>(),
             r["multiply_accumulates"].get<std::size_t>());
  if (r["test_split"].is_object()) {
    const auto& e = r["test_split"];
    fmt::print("recorded on the test split: efficiency {:.4f} ({} of {}) for visible >= 5 MeV at 1e-4 background\n",
               e["value"].get<double>(), e["passed"].get<std::size_t>(), e["total"].get<std::size_t>());
  }
}

void write_chart(const std::string& path, const nlohmann::ordered_json& r) {
  std::vector<std::string> names;
  BarSeries total{"parameters", cv::Scalar(200, 80, 0), {}}, non_zero{"non-zero", cv::Scalar(0, 120, 240), {}};
  for (const auto& l : r["layers"]) {
    if (l["parameters"].get<std::size_t>() == 0) continue;
    names.push_back(l["layer"].get<std::string>());
    total.values.push_back(l["parameters"].get<double>());
    non_zero.values.push_back(l["non_zero"].get<double>());
  }
  write_bar_chart(path, "total vs non-zero weights per layer", names, {total, non_zero});
}

int run_inspect(const InspectOptions& o) {
  models::ModelFile file = models::load_model(o.model);
  models::Network& network = file.model.network();
  nlohmann::ordered_json r;
  r["model"] = o.model;
  const models::Shape in = file.model.input_shape();
  r["input_shape"] = {in.channels, in.height, in.width};
  r["input_scale"] = file.model.architecture().input_scale;
  r["preprocess_hash"] = models::preprocess_hash(file.preprocess_config());
  r["layers"] = layer_table(network);
  std::size_t parameters = 0, non_zero = 0;
  for (const auto& l : r["layers"]) parameters += l["parameters"].get<std::size_t>(), non_zero += l["non_zero"].get<std::size_t>();
  r["parameters"] = parameters;
  r["non_zero"] = non_zero;
  r["multiply_accumulates"] = network.multiply_accumulates();
  r["baseline"] = file.baseline;
  r["test_split"] = file.metrics.contains("cnn") ? file.metrics["cnn"]["at_1e-4"]["efficiency_visible_ge_5mev"] : nlohmann::json();
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
