#include "larsel/models/structured_pruning.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>

#include "larsel/core/errors.hpp"

namespace larsel::models {
namespace {


bool is_weighted(LayerKind kind) { return kind == LayerKind::conv2d || kind == LayerKind::dense; }

int layer_size(const LayerSpec& s) { return s.kind == LayerKind::conv2d ? s.filters : s.units; }

/// Per layer of a gated architecture, the name of the weighted layer a gate belongs to ("" for non-gates).
std::vector<std::string> gate_owners(const Architecture& a) {
  const std::vector<std::string> names = layer_names(a);
  std::vector<std::string> owners(a.layers.size());
  std::string last;
  for (std::size_t i = 0; i < a.layers.size(); ++i) {
    if (!names[i].empty()) last = names[i];
    if (a.layers[i].kind == LayerKind::gate) owners[i] = last;
  }
  return owners;
}

/// The kept count of gated layer `name`; a gate without one is a core::ConfigError naming the key.
int kept_count(const KeptCounts& keep, const std::string& name) {
  const auto found = keep.find(name);
  if (found == keep.end()) throw core::ConfigError(fmt::format("pruning.keep.{}: the model has a gate there but no kept count", name));
  return found->second;
}

void copy_layer_state(Layer& from, Layer& to) {
  for (auto [source, target] : {std::pair{from.parameters(), to.parameters()}, std::pair{from.buffers(), to.buffers()}}) {
    for (std::size_t p = 0; p < source.size(); ++p) *target[p].values = *source[p].values;
  }
}

FloatBuffer& weights_of(Layer& layer) {
  return std::string(layer.kind()) == "conv2d" ? static_cast<Conv2D&>(layer).weights : static_cast<Dense&>(layer).weights;
}

FloatBuffer& bias_of(Layer& layer) {
  return std::string(layer.kind()) == "conv2d" ? static_cast<Conv2D&>(layer).bias : static_cast<Dense&>(layer).bias;
}

/// Which output channels of a weighted layer survive, and the gate value folded into the next layer.
struct Survivors {
  std::vector<std::uint8_t> keep;
  std::vector<float> scale;
};

/// Copies the surviving rows (outputs) and input channels of `from` into `to`, scaling inputs by their gates.
void copy_surviving(Layer& from, Layer& to, const Survivors& outputs, const Survivors& inputs) {
  const FloatBuffer& w = weights_of(from);
  const FloatBuffer& b = bias_of(from);
  FloatBuffer& w_new = weights_of(to);
  FloatBuffer& b_new = bias_of(to);
  const std::size_t rows = outputs.keep.size(), row_size = w.size() / rows;
  const std::size_t in_channels = inputs.keep.size(), per_channel = row_size / in_channels;
  std::size_t wi = 0, bi = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    if (!outputs.keep[r]) continue;
    b_new.at(bi++) = b[r];
    for (std::size_t c = 0; c < in_channels; ++c) {
      if (!inputs.keep[c]) continue;
      for (std::size_t k = 0; k < per_channel; ++k) w_new.at(wi++) = w[r * row_size + c * per_channel + k] * inputs.scale[c];
    }
  }
  if (wi != w_new.size() || bi != b_new.size()) throw std::logic_error("structured pruning: survivor count mismatch");
}

}  // namespace

float GateConfig::temperature(int epoch, int epochs) const {
  if (epochs <= 1) return temperature_end;
  const double fraction = static_cast<double>(epoch) / static_cast<double>(epochs - 1);
  return static_cast<float>(temperature_start * std::pow(temperature_end / temperature_start, fraction));
}

Architecture with_gates(const Architecture& a, const KeptCounts& keep) {
  const std::vector<std::string> names = layer_names(a);
  for (const auto& [name, count] : keep) {
    const int index = find_layer(a, name);
    if (index < 0) throw core::ConfigError(fmt::format("pruning.keep.{}: no such layer (conv1, conv2, ..., dense1, ...)", name));
    const bool last_weighted = std::none_of(names.begin() + index + 1, names.end(), [](const std::string& n) { return !n.empty(); });
    if (last_weighted) throw core::ConfigError(fmt::format("pruning.keep.{}: the logit layer cannot be pruned", name));
    const int size = layer_size(a.layers[static_cast<std::size_t>(index)]);
    if (count < 1 || count > size) throw core::ConfigError(fmt::format("pruning.keep.{}: {} is not in [1, {}]", name, count, size));
  }
  Architecture gated = a;
  gated.layers.clear();
  for (std::size_t i = 0; i < a.layers.size(); ++i) {
    if (a.layers[i].kind == LayerKind::batchnorm && !keep.empty()) {
      throw core::ConfigError("pruning: fold the batchnorm layers before gate pruning");
    }
    gated.layers.push_back(a.layers[i]);
    const std::size_t owner = i > 0 && a.layers[i].kind == LayerKind::relu ? i - 1 : i;
    const bool relu_next = i + 1 < a.layers.size() && a.layers[i + 1].kind == LayerKind::relu;
    if (!names[owner].empty() && keep.contains(names[owner]) && !(owner == i && relu_next)) {
      LayerSpec gate;
      gate.kind = LayerKind::gate;
      gated.layers.push_back(gate);
    }
  }
  return gated;
}

Model add_gates(Model& source, const GateConfig& config) {
  Model gated(with_gates(source.architecture(), config.keep), source.input_shape(), 0);
  const auto& from = source.network().layers();
  const auto& to = gated.network().layers();
  std::size_t j = 0;
  for (const auto& layer : to) {
    if (auto* gate = dynamic_cast<Gate*>(layer.get())) {
      std::fill(gate->logits.begin(), gate->logits.end(), config.initial_logit);
      gate->set_temperature(config.temperature_start);
      gate->set_learning_rate_scale(config.learning_rate_scale);
    } else {
      copy_layer_state(*from.at(j++), *layer);
    }
  }
  return gated;
}

void set_gate_temperature(Model& gated, float temperature) {
  for (const auto& layer : gated.network().layers()) {
    if (auto* gate = dynamic_cast<Gate*>(layer.get())) gate->set_temperature(temperature);
  }
}

double add_gate_loss_gradients(Model& gated, const GateConfig& config) {
  const std::vector<std::string> owners = gate_owners(gated.architecture());
  double loss = 0;
  for (std::size_t i = 0; i < owners.size(); ++i) {
    if (owners[i].empty()) continue;
    auto& gate = static_cast<Gate&>(*gated.network().layers()[i]);
    loss += gate.add_budget_gradient(kept_count(config.keep, owners[i]), config.lambda_budget, config.lambda_binary);
  }
  return loss;
}

std::vector<GateState> gate_states(Model& gated, const KeptCounts& keep) {
  const std::vector<std::string> owners = gate_owners(gated.architecture());
  std::vector<GateState> states;
  for (std::size_t i = 0; i < owners.size(); ++i) {
    if (owners[i].empty()) continue;
    const std::vector<float> g = static_cast<Gate&>(*gated.network().layers()[i]).gate_values();
    GateState s{owners[i], static_cast<int>(g.size()), kept_count(keep, owners[i]), 0, 0};
    for (float v : g) s.open += v > 0.5f ? 1 : 0, s.sum += v;
    states.push_back(s);
  }
  return states;
}

std::vector<std::uint8_t> top_k(std::span<const float> logits, int kept) {
  std::vector<std::size_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return logits[a] > logits[b]; });
  std::vector<std::uint8_t> keep(logits.size(), 0);
  for (int i = 0; i < kept && i < static_cast<int>(order.size()); ++i) keep[order[static_cast<std::size_t>(i)]] = 1;
  return keep;
}

void apply_hard_masks(Model& gated, const KeptCounts& keep) {
  const std::vector<std::string> owners = gate_owners(gated.architecture());
  for (std::size_t i = 0; i < owners.size(); ++i) {
    if (owners[i].empty()) continue;
    auto& gate = static_cast<Gate&>(*gated.network().layers()[i]);
    gate.set_hard_mask(top_k(gate.logits, kept_count(keep, owners[i])));
  }
}

Model remove_gated_units(Model& gated, const KeptCounts& keep) {
  const Architecture& a = gated.architecture();
  const std::vector<std::string> names = layer_names(a), owners = gate_owners(a);
  std::map<std::string, Survivors> survivors;  // per weighted layer: its output channels
  Architecture pruned = a;
  pruned.layers.clear();
  for (std::size_t i = 0; i < a.layers.size(); ++i) {
    if (owners[i].empty()) {
      pruned.layers.push_back(a.layers[i]);
      continue;
    }
    auto& gate = static_cast<Gate&>(*gated.network().layers()[i]);
    Survivors s{top_k(gate.logits, kept_count(keep, owners[i])), gate.gate_values()};
    survivors[owners[i]] = s;
    LayerSpec& owner = pruned.layers[static_cast<std::size_t>(find_layer(pruned, owners[i]))];
    (owner.kind == LayerKind::conv2d ? owner.filters : owner.units) = kept_count(keep, owners[i]);
  }
  Model result(pruned, gated.input_shape(), 0);
  Survivors inputs{{1}, {1.0f}};  // the image: one channel
  std::size_t j = 0;
  for (std::size_t i = 0; i < a.layers.size(); ++i) {
    if (!owners[i].empty()) continue;
    Layer& from = *gated.network().layers()[i];
    Layer& to = *result.network().layers()[j++];
    if (!is_weighted(a.layers[i].kind)) {
      copy_layer_state(from, to);
      continue;
    }
    const int size = layer_size(a.layers[i]);
    const Survivors all{std::vector<std::uint8_t>(static_cast<std::size_t>(size), 1), std::vector<float>(static_cast<std::size_t>(size), 1.0f)};
    const auto found = survivors.find(names[i]);
    const Survivors& outputs = found == survivors.end() ? all : found->second;
    copy_surviving(from, to, outputs, inputs);
    inputs = outputs;
  }
  return result;
}

}  // namespace larsel::models
