#include "larsel/models/compressor.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "larsel/core/errors.hpp"
#include "larsel/models/fixed_point_inference.hpp"
#include "larsel/models/magnitude_pruning.hpp"
#include "larsel/models/structured_pruning.hpp"

namespace larsel::models {
namespace {

constexpr std::size_t kCalibrationImages = 4096;
constexpr double kAutoRangeFloor = 1.0 / 16;  // "auto" never fits a range below 1/16 (e.g. all-zero biases)

TrainingConfig stage_config(const CompressRecipe& r, int epochs) {
  TrainingConfig config = r.base.training;
  config.max_epochs = epochs;
  return config;
}

struct Stage {
  const CompressRecipe& recipe;
  const ImageSet& set;
  std::span<const std::size_t> train, validation;
  const CompressionCallbacks& callbacks;
  std::vector<float> teacher_logits;
  std::vector<StageRecord> records;

  StageHooks hooks(bool keep_best) const {
    StageHooks h;
    if (recipe.distillation) h.teacher_logits = teacher_logits, h.distillation = *recipe.distillation;
    h.keep_best = keep_best;
    return h;
  }
  StageRecord& run(const std::string& name, Model& model, const TrainingConfig& config, const StageHooks& h) {
    const TrainingCallbacks progress = callbacks.stage_started ? callbacks.stage_started(name, config) : TrainingCallbacks{};
    records.push_back({name, models::train(model, set, train, validation, config, progress, h), {}});
    return records.back();
  }
  void done() const {
    if (callbacks.stage_done) callbacks.stage_done(records.back());
  }
};

Model prune_structured(Stage& stage, Model& model) {
  const GateConfig& config = stage.recipe.gates;
  Model gated = add_gates(model, config);
  StageHooks h = stage.hooks(false);
  const int epochs = stage.recipe.pruning_epochs;
  h.before_epoch = [&](int epoch, Model& replica) { set_gate_temperature(replica, config.temperature(epoch - 1, epochs)); };
  h.extra_loss = [&](Model& m) { return add_gate_loss_gradients(m, config); };
  StageRecord& record = stage.run("prune", gated, stage_config(stage.recipe, epochs), h);
  nlohmann::json gates = nlohmann::json::array();
  for (const GateState& s : gate_states(gated, config.keep)) {
    gates.push_back({{"layer", s.layer}, {"size", s.size}, {"kept", s.kept}, {"open_gates", s.open}, {"gate_sum", s.sum}});
  }
  Model pruned = remove_gated_units(gated, config.keep);
  record.details = {{"gates", gates}, {"multiply_accumulates", pruned.network().multiply_accumulates()}};
  stage.done();
  return pruned;
}

nlohmann::json sparsity_report(const MagnitudePruner& pruner) {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerSparsity& l : pruner.report()) layers.push_back({{"tensor", l.name}, {"total", l.total}, {"kept", l.kept}});
  return {{"sparsity", pruner.sparsity()}, {"tensors", layers}};
}

void prune_unstructured(Stage& stage, Model& model) {
  const SparsityRecipe& s = stage.recipe.sparsity;
  std::optional<Model> start;  // the rewind point, kept only when rewinding
  if (s.rewind_every_round && s.rounds > 1) start.emplace(model.clone());
  const long steps = static_cast<long>((stage.train.size() + static_cast<std::size_t>(stage.recipe.base.training.batch_size) - 1) /
                                       static_cast<std::size_t>(stage.recipe.base.training.batch_size)) * s.epochs;
  std::unique_ptr<MagnitudePruner> pruner;
  for (int round = 0; round < s.rounds; ++round) {
    const double target = 1.0 - std::pow(1.0 - s.final_sparsity, static_cast<double>(round + 1) / s.rounds);
    // Ramp over the first 70 % of the round, so its last epochs train at the target.
    const SparsitySchedule schedule{target, 1, std::max(1L, steps * 7 / 10), s.frequency};
    pruner = std::make_unique<MagnitudePruner>(prunable_parameters(model.network()), schedule);
    if (round > 0) pruner->mask_zeros();  // the previous rounds' masks (rewound weights were re-masked)
    StageHooks h = stage.hooks(false);
    h.after_step = [&](long step, Model&) { pruner->after_step(step); };
    StageRecord& record = stage.run(fmt::format("sparsify round {}/{}", round + 1, s.rounds), model,
                                    stage_config(stage.recipe, s.epochs), h);
    record.details = sparsity_report(*pruner);
    record.details["target"] = target;
    if (s.rewind_every_round && round + 1 < s.rounds) {
      model.copy_state_from(*start);
      pruner->apply_masks();  // rewind the weights, keep the masks
    }
    stage.done();
  }
}

}  // namespace

void bake_quantization(Model& model) {
  const Architecture& a = model.architecture();
  for (std::size_t i = 0; i < a.layers.size(); ++i) {
    if (!a.layers[i].quantization) continue;
    Layer& layer = *model.network().layers()[i];
    std::vector<Parameter> p = layer.parameters();  // weights, bias
    quantize(std::span<float>(*p.at(0).values), a.layers[i].quantization->weight);
    quantize(std::span<float>(*p.at(1).values), a.layers[i].quantization->bias);
  }
}

namespace {

/// Per layer, the largest output the float model gives on the calibration
/// images: the largest value (positive part) and the largest magnitude.
struct OutputRange {
  double largest_positive = 0, largest_magnitude = 0;
};

std::vector<OutputRange> calibrate_outputs(Model& model, const ImageSet& set, std::span<const std::size_t> calibration) {
  const auto& layers = model.network().layers();
  std::vector<OutputRange> largest(layers.size());
  Batch batch;
  for (std::size_t begin = 0; begin < calibration.size(); begin += 256) {
    fill_batch(set, calibration.subspan(begin, std::min<std::size_t>(256, calibration.size() - begin)),
               model.architecture().input_scale, batch);
    model.network().forward(batch, false);
    for (std::size_t i = 0; i < layers.size(); ++i) {
      for (float v : model.network().layer_output(i).values) {
        largest[i].largest_positive = std::max(largest[i].largest_positive, double(v));
        largest[i].largest_magnitude = std::max(largest[i].largest_magnitude, std::fabs(double(v)));
      }
    }
  }
  return largest;
}

FixedPointFormat resolve(const FormatChoice& choice, double largest, const std::string& where) {
  try {
    return choice.auto_integer ? fit_integer_bits(choice.format, std::max(largest, kAutoRangeFloor)) : choice.format;
  } catch (const std::invalid_argument& e) {
    throw core::ConfigError(fmt::format("{}: {}", where, e.what()));
  }
}

/// The range an output format must hold. Before a ReLU only the positive part
/// matters if negative values saturate (a signed sat format); under wrap, or
/// unsigned, a large negative value would wrap to a positive one, so |x| counts.
double output_range(const OutputRange& range, const FormatChoice& choice, bool relu_follows) {
  const bool negatives_saturate = choice.format.is_signed && choice.format.overflow != Overflow::wrap;
  return relu_follows && negatives_saturate ? range.largest_positive : range.largest_magnitude;
}

double largest_magnitude(const FloatBuffer& values) {
  double m = 0;
  for (float v : values) m = std::max(m, std::fabs(double(v)));
  return m;
}

/// The format choices of one weighted layer, per-layer overrides applied.
struct LayerChoices {
  std::size_t index;
  std::string name;
  FormatChoice weight, bias, output;
};

/// Every weighted layer of `a` with its formats: the hidden layers' outputs
/// take `activation`, the last layer's `logit`. Throws core::ConfigError for an
/// override that names no layer.
std::vector<LayerChoices> layer_choices(const QuantizationRecipe& q, const Architecture& a) {
  for (const auto& [name, o] : q.layers) {
    if (find_layer(a, name) < 0) throw core::ConfigError(fmt::format("quantization.layers.{}: no such layer", name));
  }
  const std::vector<std::string> names = layer_names(a);
  std::vector<LayerChoices> choices;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) continue;
    const auto found = q.layers.find(names[i]);
    const QuantizationRecipe::LayerOverride o = found == q.layers.end() ? QuantizationRecipe::LayerOverride{} : found->second;
    choices.push_back({i, names[i], o.weight.value_or(q.weight), o.bias.value_or(q.bias), o.output.value_or(q.activation)});
  }
  if (!choices.empty()) {
    const auto found = q.layers.find(choices.back().name);
    const bool output_overridden = found != q.layers.end() && found->second.output;
    if (!output_overridden) choices.back().output = q.logit;
  }
  return choices;
}

}  // namespace

Architecture resolve_quantization(const QuantizationRecipe& q, Model& model, const ImageSet& set,
                                  std::span<const std::size_t> calibration) {
  Architecture a = model.architecture();
  const std::vector<LayerChoices> choices = layer_choices(q, a);
  const std::vector<OutputRange> outputs = calibrate_outputs(model, set, calibration.subspan(0, std::min(calibration.size(), kCalibrationImages)));
  for (const LayerChoices& c : choices) {
    const std::vector<Parameter> p = model.network().layers()[c.index]->parameters();
    const bool relu_follows = c.index + 1 < a.layers.size() && a.layers[c.index + 1].kind == LayerKind::relu;
    const std::string where = "quantization.layers." + c.name;
    a.layers[c.index].quantization = LayerQuantization{
        resolve(c.weight, largest_magnitude(*p.at(0).values), where + ".weight"),
        resolve(c.bias, largest_magnitude(*p.at(1).values), where + ".bias"),
        resolve(c.output, output_range(outputs[c.index], c.output, relu_follows), where + ".output")};
  }
  return a;
}

void check_compress_recipe(const CompressRecipe& recipe, const Architecture& architecture, Shape input) {
  Architecture pruned = with_gates(architecture, recipe.gates.keep);
  std::erase_if(pruned.layers, [](const LayerSpec& s) { return s.kind == LayerKind::gate; });
  for (const auto& [name, count] : recipe.gates.keep) {
    LayerSpec& s = pruned.layers[static_cast<std::size_t>(find_layer(pruned, name))];
    (s.kind == LayerKind::conv2d ? s.filters : s.units) = count;
  }
  const std::vector<LayerChoices> choices = layer_choices(recipe.quantization, pruned);
  if (!recipe.quantization.enabled) return;
  for (const LayerChoices& c : choices) {
    pruned.layers[c.index].quantization = LayerQuantization{c.weight.format, c.bias.format, c.output.format};
  }
  Model probe(pruned, input, 0);  // throws if an accumulator is too wide or a layer cannot be quantized
}

namespace {

Model quantized_copy(const QuantizationRecipe& q, Model& model, const ImageSet& set, std::span<const std::size_t> calibration) {
  const Architecture architecture = resolve_quantization(q, model, set, calibration);
  try {
    Model quantized(architecture, model.input_shape(), 0);
    quantized.copy_state_from(model);
    return quantized;
  } catch (const core::ConfigError& e) {
    throw core::ConfigError(fmt::format("quantization: the formats resolved from the data do not fit ({}): give explicit "
                                       "integer bits or narrower widths", e.what()));
  }
}

}  // namespace

CompressionResult compress(const CompressRecipe& recipe, Model start, const ImageSet& set, std::span<const std::size_t> train,
                           std::span<const std::size_t> validation, const CompressionCallbacks& callbacks) {
  Stage stage{recipe, set, train, validation, callbacks, {}, {}};
  if (recipe.pretrain_epochs > 0) {
    TrainingConfig config = stage_config(recipe, recipe.pretrain_epochs);
    stage.run("pretrain", start, config, StageHooks{});
    stage.done();
  }
  Model teacher = start.clone();
  if (recipe.distillation) {
    std::vector<std::size_t> all(set.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    stage.teacher_logits = teacher.logits(set, all, recipe.base.training.threads);
  }
  Model model = recipe.gates.keep.empty() ? std::move(start) : prune_structured(stage, start);
  if (recipe.sparsity.final_sparsity > 0) prune_unstructured(stage, model);
  if (recipe.quantization.enabled) {
    model = quantized_copy(recipe.quantization, model, set, train);
  }
  if (recipe.finetune_epochs > 0) {
    MagnitudePruner masks(prunable_parameters(model.network()), SparsitySchedule{});
    if (recipe.sparsity.final_sparsity > 0) masks.freeze_at_zeros();
    StageHooks h = stage.hooks(true);
    if (masks.frozen()) h.after_step = [&](long, Model&) { masks.apply_masks(); };
    TrainingConfig config = stage_config(recipe, recipe.finetune_epochs);
    config.patience = recipe.finetune_patience;
    config.adam.learning_rate = recipe.finetune_learning_rate;
    StageRecord& record = stage.run(recipe.quantization.enabled ? "fine-tune (quantization-aware)" : "fine-tune", model, config, h);
    record.details = sparsity_report(masks);
    stage.done();
  }
  if (recipe.quantization.enabled) bake_quantization(model);
  return {std::move(model), std::move(teacher), std::move(stage.records)};
}

nlohmann::json CompressionResult::to_json() const {
  nlohmann::json stages_json = nlohmann::json::array();
  for (const StageRecord& s : stages) {
    nlohmann::json epochs = nlohmann::json::array();
    for (const EpochRecord& e : s.training.epochs) {
      epochs.push_back({{"epoch", e.epoch}, {"train_loss", e.train_loss}, {"validation_loss", e.validation_loss},
                        {"validation_efficiency", e.validation_efficiency}, {"seconds", e.seconds}});
    }
    stages_json.push_back({{"stage", s.name}, {"best_epoch", s.training.best_epoch}, {"seconds", s.training.seconds},
                           {"epochs", epochs}, {"details", s.details}});
  }
  return stages_json;
}

}  // namespace larsel::models
