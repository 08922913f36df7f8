#include "model_summary.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "larsel/models/fixed_point_inference.hpp"

namespace larsel::app {
namespace {

std::size_t count_non_zero(const models::FloatBuffer& values) {
  return static_cast<std::size_t>(std::count_if(values.begin(), values.end(), [](float v) { return v != 0.0f; }));
}

/// Per weighted layer of a quantized model: its formats and the overflow-free accumulator.
std::map<std::string, models::FixedPointInference::LayerFormats> quantized_formats(models::Model& model) {
  std::map<std::string, models::FixedPointInference::LayerFormats> formats;
  if (!models::is_quantized(model.architecture())) return formats;
  const models::FixedPointInference integer(model);
  for (const auto& f : integer.layer_formats()) formats[f.name] = f;
  return formats;
}

}  // namespace

nlohmann::ordered_json layer_table(models::Model& model, const nlohmann::json& teacher_weights) {
  models::Network& network = model.network();
  const std::vector<std::string> names = models::layer_names(model.architecture());
  const auto formats = quantized_formats(model);
  nlohmann::ordered_json layers = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < network.layers().size(); ++i) {
    models::Layer& layer = *network.layers()[i];
    std::size_t parameters = 0, weights = 0, non_zero = 0;
    for (const models::Parameter& p : layer.parameters()) {
      parameters += p.values->size();
      if (p.name == "weights") weights += p.values->size(), non_zero += count_non_zero(*p.values);
    }
    const models::Shape out = layer.output_shape();
    nlohmann::ordered_json row = {{"layer", names[i].empty() ? layer.kind() : names[i]}, {"kind", layer.kind()},
                                  {"output", {out.channels, out.height, out.width}}, {"parameters", parameters},
                                  {"weights", weights}, {"non_zero_weights", non_zero},
                                  {"multiply_accumulates", layer.multiply_accumulates()}};
    if (teacher_weights.contains(names[i])) row["teacher_weights"] = teacher_weights[names[i]];
    const auto f = formats.find(names[i]);
    if (f != formats.end()) {
      row["number_format"] = fmt::format("w {} / out {}", f->second.quantization.weight.to_string(), f->second.quantization.output.to_string());
      row["weight_bits"] = f->second.quantization.weight.width;
      row["formats"] = {{"input", f->second.input.to_string()}, {"weight", f->second.quantization.weight.to_string()},
                        {"bias", f->second.quantization.bias.to_string()}, {"output", f->second.quantization.output.to_string()},
                        {"accumulator", f->second.accumulator.to_string()}};
    } else {
      row["number_format"] = parameters ? "float32" : "";
    }
    layers.push_back(row);
  }
  return layers;
}

std::string model_summary_line(const nlohmann::ordered_json& layers) {
  std::size_t weights = 0, non_zero = 0, macs = 0;
  std::vector<std::string> weight_bits, output_bits;
  for (const auto& l : layers) {
    weights += l["weights"].get<std::size_t>(), non_zero += l["non_zero_weights"].get<std::size_t>();
    macs += l["multiply_accumulates"].get<std::size_t>();
    if (l.contains("formats")) {
      weight_bits.push_back(std::to_string(l["weight_bits"].get<int>()));
      output_bits.push_back(std::to_string(models::parse_fixed_point_format(l["formats"]["output"].get<std::string>()).width));
    }
  }
  std::string text = fmt::format("{} weights ({} non-zero), {} MAC/frame", weights, non_zero, macs);
  if (!weight_bits.empty()) text += fmt::format(", weights {} bits, outputs {} bits", fmt::join(weight_bits, "/"), fmt::join(output_bits, "/"));
  else text += ", float32";
  return text;
}

}  // namespace larsel::app
