#include "larsel/models/compress_recipe.hpp"

#include <fmt/format.h>

#include "larsel/core/errors.hpp"
#include "larsel/core/yaml_section.hpp"
#include "larsel/models/layer_quantization.hpp"

namespace larsel::models {
namespace {


/// An HLS spelling, or a mapping whose `integer` may be "auto".
FormatChoice read_format(const YAML::Node& node, const FormatChoice& fallback, const std::string& where) {
  if (!node || node.IsNull()) return fallback;
  FormatChoice choice = fallback;
  if (node.IsScalar()) {
    choice.format = format_from_json(node.Scalar(), where);
    choice.auto_integer = false;
    return choice;
  }
  if (!node.IsMap()) throw core::ConfigError(fmt::format("{}: expected an HLS type or a mapping", where));
  nlohmann::json j = to_json(fallback.format);
  for (const auto& item : node) {
    const auto key = core::scalar_text(item.first, where);
    const YAML::Node& value = item.second;
    if (key == "integer" && value.IsScalar() && value.Scalar() == "auto") {
      choice.auto_integer = true;
      continue;
    }
    if (key == "integer") choice.auto_integer = false;
    long long integer = 0;
    bool boolean = false;
    if (YAML::convert<long long>::decode(value, integer)) j[key] = integer;
    else if (key == "signed" && YAML::convert<bool>::decode(value, boolean)) j[key] = boolean;
    else j[key] = value.Scalar();
  }
  choice.format = format_from_json(j, where);
  return choice;
}

void read_quantization(const core::YamlSection& s, QuantizationRecipe& q, const std::string& where) {
  s.read("enabled", q.enabled);
  q.weight = read_format(s.child("weight"), q.weight, where + ".weight");
  q.bias = read_format(s.child("bias"), q.bias, where + ".bias");
  q.activation = read_format(s.child("activation"), q.activation, where + ".activation");
  q.logit = read_format(s.child("logit"), q.logit, where + ".logit");
  const YAML::Node layers = s.child("layers");
  if (!layers || layers.IsNull()) return;
  if (!layers.IsMap()) throw core::ConfigError(fmt::format("{}.layers: expected a mapping of layer name to formats", where));
  for (const auto& item : layers) {
    const auto name = core::scalar_text(item.first, where + ".layers");
    const std::string at = fmt::format("{}.layers.{}", where, name);
    const core::YamlSection layer(item.second, at, {"weight", "bias", "output"});
    QuantizationRecipe::LayerOverride o;
    if (layer.has("weight")) o.weight = read_format(layer.child("weight"), q.weight, at + ".weight");
    if (layer.has("bias")) o.bias = read_format(layer.child("bias"), q.bias, at + ".bias");
    if (layer.has("output")) o.output = read_format(layer.child("output"), q.activation, at + ".output");
    q.layers[name] = o;
  }
}

void read_pruning(const core::YamlSection& s, CompressRecipe& r, const std::string& where) {
  s.read("epochs", r.pruning_epochs, 1, 1000);
  GateConfig& g = r.gates;
  double lambda_budget = g.lambda_budget, lambda_binary = g.lambda_binary, t0 = g.temperature_start,
         t1 = g.temperature_end, logit = g.initial_logit, scale = g.learning_rate_scale;
  s.read("lambda_budget", lambda_budget, 0, 1e3);
  s.read("lambda_binary", lambda_binary, 0, 1e3);
  s.read("temperature_start", t0, 1e-4, 1e3);
  s.read("temperature_end", t1, 1e-4, 1e3);
  s.read("initial_logit", logit, -20, 20);
  s.read("learning_rate_scale", scale, 1e-3, 1e4);
  g.lambda_budget = static_cast<float>(lambda_budget), g.lambda_binary = static_cast<float>(lambda_binary);
  g.temperature_start = static_cast<float>(t0), g.temperature_end = static_cast<float>(t1);
  g.initial_logit = static_cast<float>(logit), g.learning_rate_scale = static_cast<float>(scale);
  const YAML::Node keep = s.child("keep");
  if (!keep || keep.IsNull()) return;
  if (!keep.IsMap()) throw core::ConfigError(fmt::format("{}.keep: expected a mapping of layer name to kept count", where));
  const std::string at = where + ".keep";
  const core::YamlSection counts(keep, at, [&] {
    std::set<std::string> names;
    for (const auto& item : keep) names.insert(core::scalar_text(item.first, at));
    return names;
  }());
  for (const auto& item : keep) {
    const std::string name = item.first.Scalar();  // a scalar: the section checked every key
    int count = 0;
    counts.read(name.c_str(), count, 1, 65536);
    g.keep[name] = count;
  }
}

void read_sparsity(const core::YamlSection& s, SparsityRecipe& p) {
  s.read("final", p.final_sparsity, 0.0, 0.99);
  s.read("rounds", p.rounds, 1, 100);
  s.read("epochs", p.epochs, 1, 1000);
  int frequency = static_cast<int>(p.frequency);
  s.read("frequency", frequency, 1, 1000000);
  p.frequency = frequency;
  s.read_choice("rewind", p.rewind_every_round, std::map<std::string, bool>{{"never", false}, {"every_round", true}});
}

void read_finetune_and_distillation(const core::YamlSection& top, CompressRecipe& r, const std::string& source) {
  const core::YamlSection f(top.child("finetune"), source + ": finetune", {"epochs", "patience", "learning_rate"});
  f.read("epochs", r.finetune_epochs, 0, 1000);
  f.read("patience", r.finetune_patience, 1, 1000);
  double rate = r.finetune_learning_rate;
  f.read("learning_rate", rate, 1e-7, 1.0);
  r.finetune_learning_rate = static_cast<float>(rate);
  const core::YamlSection d(top.child("distillation"), source + ": distillation", {"enabled", "temperature", "alpha"});
  bool enabled = r.distillation.has_value();
  DistillationConfig config = r.distillation.value_or(DistillationConfig{});
  double temperature = config.temperature, alpha = config.alpha;
  d.read("enabled", enabled);
  d.read("temperature", temperature, 0.1, 100);
  d.read("alpha", alpha, 0.0, 1.0);
  config.temperature = static_cast<float>(temperature), config.alpha = static_cast<float>(alpha);
  r.distillation = enabled ? std::optional(config) : std::nullopt;
}

}  // namespace

CompressRecipe parse_compress_recipe(const std::string& yaml_text, const std::string& source) try {
  const YAML::Node root = core::load_yaml(yaml_text, source);
  CompressRecipe r;
  if (root.IsNull()) return r;
  const core::YamlSection top(root, source, {"data", "preprocess", "architecture", "training", "teacher", "pretrain", "pruning",
                                       "sparsity", "quantization", "finetune", "distillation"});
  YAML::Node base;
  for (const char* key : {"data", "preprocess", "architecture", "training"}) {
    if (top.has(key)) base[key] = top.child(key);
  }
  YAML::Emitter text;
  text << base;
  r.base = parse_train_recipe(base.size() ? text.c_str() : "", source);
  if (top.has("teacher")) {
    if (!top.child("teacher").IsScalar()) throw core::ConfigError(fmt::format("{}: teacher: expected a model file path", source));
    r.teacher = top.child("teacher").Scalar();
  }
  core::YamlSection(top.child("pretrain"), source + ": pretrain", {"epochs"}).read("epochs", r.pretrain_epochs, 0, 10000);
  if (r.teacher.empty() && r.pretrain_epochs == 0) r.pretrain_epochs = r.base.training.max_epochs;
  read_pruning(core::YamlSection(top.child("pruning"), source + ": pruning",
                           {"keep", "epochs", "lambda_budget", "lambda_binary", "temperature_start", "temperature_end",
                            "initial_logit", "learning_rate_scale"}),
               r, source + ": pruning");
  read_sparsity(core::YamlSection(top.child("sparsity"), source + ": sparsity", {"final", "rounds", "epochs", "frequency", "rewind"}),
                r.sparsity);
  read_quantization(core::YamlSection(top.child("quantization"), source + ": quantization",
                                {"enabled", "weight", "bias", "activation", "logit", "layers"}),
                    r.quantization, source + ": quantization");
  read_finetune_and_distillation(top, r, source);
  return r;
} catch (const YAML::Exception& e) {
  throw core::config_error_from(e, source);
}

namespace {

nlohmann::json to_json(const FormatChoice& c) {
  nlohmann::json j = models::to_json(c.format);
  if (c.auto_integer) j["integer"] = "auto";
  return j;
}

}  // namespace

nlohmann::json to_json(const CompressRecipe& r) {
  const QuantizationRecipe& q = r.quantization;
  nlohmann::json layers = nlohmann::json::object();
  for (const auto& [name, o] : q.layers) {
    nlohmann::json entry = nlohmann::json::object();
    if (o.weight) entry["weight"] = to_json(*o.weight);
    if (o.bias) entry["bias"] = to_json(*o.bias);
    if (o.output) entry["output"] = to_json(*o.output);
    layers[name] = entry;
  }
  const GateConfig& g = r.gates;
  return {{"base", to_json(r.base)},
          {"teacher", r.teacher},
          {"pretrain", {{"epochs", r.pretrain_epochs}}},
          {"pruning", {{"keep", g.keep}, {"epochs", r.pruning_epochs}, {"lambda_budget", g.lambda_budget},
                       {"lambda_binary", g.lambda_binary}, {"temperature_start", g.temperature_start},
                       {"temperature_end", g.temperature_end}, {"initial_logit", g.initial_logit},
                       {"learning_rate_scale", g.learning_rate_scale}}},
          {"sparsity", {{"final", r.sparsity.final_sparsity}, {"rounds", r.sparsity.rounds}, {"epochs", r.sparsity.epochs},
                        {"frequency", r.sparsity.frequency}, {"rewind", r.sparsity.rewind_every_round ? "every_round" : "never"}}},
          {"quantization", {{"enabled", q.enabled}, {"weight", to_json(q.weight)}, {"bias", to_json(q.bias)},
                            {"activation", to_json(q.activation)}, {"logit", to_json(q.logit)}, {"layers", layers}}},
          {"finetune", {{"epochs", r.finetune_epochs}, {"patience", r.finetune_patience}, {"learning_rate", r.finetune_learning_rate}}},
          {"distillation", r.distillation ? nlohmann::json{{"enabled", true}, {"temperature", r.distillation->temperature},
                                                           {"alpha", r.distillation->alpha}}
                                          : nlohmann::json{{"enabled", false}}}};
}

}  // namespace larsel::models
