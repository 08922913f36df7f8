#include "larsel/models/architecture.hpp"

#include <array>
#include <map>

#include <fmt/format.h>

#include "larsel/core/errors.hpp"
#include "larsel/core/json_fields.hpp"

namespace larsel::models {
namespace {

using nlohmann::json;

const std::map<std::string, LayerKind> kKinds = {
    {"conv2d", LayerKind::conv2d},   {"dense", LayerKind::dense},     {"relu", LayerKind::relu},
    {"maxpool", LayerKind::maxpool}, {"avgpool", LayerKind::avgpool}, {"flatten", LayerKind::flatten},
    {"batchnorm", LayerKind::batchnorm}, {"gate", LayerKind::gate}};

std::string kind_name(LayerKind kind) {
  for (const auto& [name, k] : kKinds) {
    if (k == kind) return name;
  }
  return "?";
}

int read_int(const json& options, const char* key, int fallback, int min, int max, const std::string& where) {
  if (!options.contains(key)) return fallback;
  const json& v = options.at(key);
  if (!v.is_number_integer() || v.get<long long>() < min || v.get<long long>() > max) {
    throw core::ConfigError(fmt::format("{}.{}: {} is not an integer in [{}, {}]", where, key, core::shown(v), min, max));
  }
  return v.get<int>();
}

/// `key: 3` or `key: [3, 5]` (height, width).
std::array<int, 2> read_pair(const json& options, const char* key, std::array<int, 2> fallback, const std::string& where) {
  if (!options.contains(key)) return fallback;
  const json& v = options.at(key);
  if (v.is_array() && v.size() == 2) {
    json pair = {{"h", v[0]}, {"w", v[1]}};
    return {read_int(pair, "h", 0, 1, 64, where + "." + key), read_int(pair, "w", 0, 1, 64, where + "." + key)};
  }
  const int both = read_int(options, key, 0, 1, 64, where);
  return {both, both};
}

void check_keys(const json& options, std::initializer_list<const char*> allowed, const std::string& where) {
  if (options.is_null()) return;
  if (!options.is_object()) throw core::ConfigError(fmt::format("{}: expected a mapping of options", where));
  for (const auto& item : options.items()) {
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return item.key() == a; })) {
      throw core::ConfigError(fmt::format("{}.{}: unknown key", where, item.key()));
    }
  }
}

LayerSpec layer_from_json(const json& entry, const std::string& where) {
  std::string name;
  json options;
  if (entry.is_string()) {
    name = entry.get<std::string>();
  } else if (entry.is_object() && entry.size() == 1) {
    name = entry.begin().key();
    options = entry.begin().value().is_null() ? json::object() : entry.begin().value();
  } else {
    throw core::ConfigError(fmt::format("{}: expected a layer name or {{kind: {{options}}}}, got {}", where, core::shown(entry)));
  }
  const auto kind = kKinds.find(name);
  if (kind == kKinds.end() || kind->second == LayerKind::gate) {  // gates are added by gate pruning, not written
    throw core::ConfigError(fmt::format("{}: unknown layer '{}' (conv2d, dense, relu, maxpool, avgpool, flatten, batchnorm)", where, name));
  }
  LayerSpec spec;
  spec.kind = kind->second;
  const std::string at = where + " " + name;
  switch (spec.kind) {
    case LayerKind::conv2d: {
      check_keys(options, {"filters", "kernel", "padding", "quantization"}, at);
      if (!options.contains("filters")) throw core::ConfigError(fmt::format("{}.filters: required", at));
      spec.filters = read_int(options, "filters", 0, 1, 1024, at);
      const auto k = read_pair(options, "kernel", {3, 3}, at);
      spec.kernel_height = k[0], spec.kernel_width = k[1];
      if (options.contains("padding") && !options.at("padding").is_string()) {
        throw core::ConfigError(fmt::format("{}.padding: {} is not same or valid", at, core::shown(options.at("padding"))));
      }
      const std::string padding = options.value("padding", std::string("same"));
      if (padding != "same" && padding != "valid") throw core::ConfigError(fmt::format("{}.padding: '{}' is not same or valid", at, padding));
      spec.padding = padding == "same" ? Padding::same : Padding::valid;
      break;
    }
    case LayerKind::dense:
      check_keys(options, {"units", "quantization"}, at);
      if (!options.contains("units")) throw core::ConfigError(fmt::format("{}.units: required", at));
      spec.units = read_int(options, "units", 0, 1, 65536, at);
      break;
    case LayerKind::maxpool:
    case LayerKind::avgpool: {
      check_keys(options, {"window"}, at);
      const auto w = read_pair(options, "window", {2, 2}, at);
      spec.window_height = w[0], spec.window_width = w[1];
      break;
    }
    default:
      check_keys(options, {}, at);
  }
  if (options.contains("quantization")) {
    spec.quantization = layer_quantization_from_json(options.at("quantization"), at + ".quantization");
  }
  return spec;
}

}  // namespace

Architecture default_architecture() {
  const auto layer = [](LayerKind kind) {
    LayerSpec spec;
    spec.kind = kind;
    return spec;
  };
  LayerSpec conv1 = layer(LayerKind::conv2d), conv2 = layer(LayerKind::conv2d);
  LayerSpec dense1 = layer(LayerKind::dense), logit = layer(LayerKind::dense);
  conv1.filters = 8, conv2.filters = 16, dense1.units = 16, logit.units = 1;
  const LayerSpec relu = layer(LayerKind::relu), pool = layer(LayerKind::maxpool);
  Architecture a;
  a.layers = {conv1, relu, pool, conv2, relu, pool, layer(LayerKind::flatten), dense1, relu, logit};
  return a;
}

Architecture architecture_from_json(const json& j, const std::string& source) {
  const std::string where = source + ": architecture";
  if (!j.is_object()) throw core::ConfigError(fmt::format("{}: expected a mapping with input_scale and layers", where));
  check_keys(j, {"input_scale", "layers"}, where);
  Architecture a;
  if (j.contains("input_scale")) {
    const json& s = j.at("input_scale");
    if (!s.is_number() || !(s.get<double>() > 0) || s.get<double>() > 1e3) {
      throw core::ConfigError(fmt::format("{}.input_scale: {} is not a positive number", where, core::shown(s)));
    }
    a.input_scale = s.get<float>();
  }
  if (!j.contains("layers") || !j.at("layers").is_array() || j.at("layers").empty()) {
    throw core::ConfigError(fmt::format("{}.layers: expected a non-empty list of layers", where));
  }
  for (std::size_t i = 0; i < j.at("layers").size(); ++i) {
    a.layers.push_back(layer_from_json(j.at("layers")[i], fmt::format("{}.layers[{}]", where, i)));
  }
  return a;
}

json to_json(const Architecture& a) {
  json layers = json::array();
  for (const LayerSpec& s : a.layers) {
    const std::string name = kind_name(s.kind);
    switch (s.kind) {
      case LayerKind::conv2d: {
        json options = {{"filters", s.filters},
                        {"kernel", {s.kernel_height, s.kernel_width}},
                        {"padding", s.padding == Padding::same ? "same" : "valid"}};
        if (s.quantization) options["quantization"] = to_json(*s.quantization);
        layers.push_back({{name, options}});
        break;
      }
      case LayerKind::dense: {
        json options = {{"units", s.units}};
        if (s.quantization) options["quantization"] = to_json(*s.quantization);
        layers.push_back({{name, options}});
        break;
      }
      case LayerKind::maxpool:
      case LayerKind::avgpool:
        layers.push_back({{name, {{"window", {s.window_height, s.window_width}}}}});
        break;
      default:
        layers.push_back(name);
    }
  }
  return {{"input_scale", a.input_scale}, {"layers", layers}};
}

namespace {

std::unique_ptr<Layer> make_layer(const LayerSpec& s, Shape in, bool relu_follows, std::mt19937& rng) {
  switch (s.kind) {
    case LayerKind::conv2d: {
      auto conv = std::make_unique<Conv2D>(in, s.filters, s.kernel_height, s.kernel_width, s.padding);
      conv->initialise(rng);
      conv->set_quantization(s.quantization);
      return conv;
    }
    case LayerKind::dense: {
      auto dense = std::make_unique<Dense>(in, s.units);
      dense->initialise(rng, relu_follows);
      dense->set_quantization(s.quantization);
      return dense;
    }
    case LayerKind::relu: return std::make_unique<ReLU>(in);
    case LayerKind::maxpool: return std::make_unique<Pool2D>(in, PoolKind::max, s.window_height, s.window_width);
    case LayerKind::avgpool: return std::make_unique<Pool2D>(in, PoolKind::average, s.window_height, s.window_width);
    case LayerKind::flatten: return std::make_unique<Flatten>(in);
    case LayerKind::batchnorm: return std::make_unique<BatchNorm>(in);
    case LayerKind::gate: return std::make_unique<Gate>(in);
  }
  throw std::logic_error("architecture: unhandled layer kind");
}

/// The rules under which a quantized forward pass is exact fixed point (see build_network).
void check_quantized(const Architecture& a) {
  if (!input_fractional_bits(a.input_scale)) {
    throw core::ConfigError(fmt::format("architecture.input_scale: {} is not a power of two, so the quantized network's "
                                  "input is not exact in fixed point", a.input_scale));
  }
  for (std::size_t i = 0; i < a.layers.size(); ++i) {
    const LayerSpec& s = a.layers[i];
    const bool weighted = s.kind == LayerKind::conv2d || s.kind == LayerKind::dense;
    if (weighted && !s.quantization) {
      throw core::ConfigError(fmt::format("architecture: layer {} ({}) has no quantization but others have", i, kind_name(s.kind)));
    }
    if (weighted) {
      for (const auto& [field, format] : {std::pair{"weight", &s.quantization->weight}, {"bias", &s.quantization->bias},
                                          {"output", &s.quantization->output}}) {
        // Values are held in float between layers: exact for 24 significant bits (fixed_point.hpp quantize).
        if (format->width > 24) {
          throw core::ConfigError(fmt::format("architecture: layer {} ({}) quantization.{}: {} is wider than 24 bits, which a float "
                                        "cannot hold exactly", i, kind_name(s.kind), field, format->to_string()));
        }
      }
    }
    // A gate keeps values on their grid only while it is hard with kept gates of exactly 1: allowed so
    // that a masked model can be compared with its physically pruned one; FixedPointInference refuses it.
    if (!weighted && s.kind != LayerKind::relu && s.kind != LayerKind::maxpool && s.kind != LayerKind::flatten &&
        s.kind != LayerKind::gate) {
      throw core::ConfigError(fmt::format("architecture: layer {} ({}) cannot be in a quantized network (conv2d, dense, relu, "
                                    "maxpool, flatten; fold batchnorm first)", i, kind_name(s.kind)));
    }
  }
}

/// The quantized forward pass sums in double: exact only while the
/// accumulator fits a double's 53-bit significand. Moves `input` on to the layer's output format.
void check_accumulator(const Architecture& a, std::size_t index, const Layer& layer, FixedPointFormat& input) {
  const LayerQuantization& q = *a.layers[index].quantization;
  const std::size_t outputs = layer.output_shape().size();
  const std::size_t products = outputs ? layer.multiply_accumulates() / outputs : 0;
  const AccumulatorFormat accumulator = accumulator_format(input, q, products);
  if (accumulator.width > 53) {
    throw core::ConfigError(fmt::format("architecture: layer {} ({}) needs a {}-bit accumulator for {} x {} ({} products per "
                                  "output); more than 53 bits cannot be summed exactly: use narrower formats",
                                  index, kind_name(a.layers[index].kind), accumulator.width, input.to_string(),
                                  q.weight.to_string(), products));
  }
  input = q.output;
}

}  // namespace

std::vector<std::string> layer_names(const Architecture& a) {
  std::vector<std::string> names;
  int convs = 0, denses = 0;
  for (const LayerSpec& s : a.layers) {
    if (s.kind == LayerKind::conv2d) names.push_back(fmt::format("conv{}", ++convs));
    else if (s.kind == LayerKind::dense) names.push_back(fmt::format("dense{}", ++denses));
    else names.emplace_back();
  }
  return names;
}

int find_layer(const Architecture& a, const std::string& name) {
  const std::vector<std::string> names = layer_names(a);
  const auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() || name.empty() ? -1 : static_cast<int>(it - names.begin());
}

bool is_quantized(const Architecture& a) {
  return std::any_of(a.layers.begin(), a.layers.end(), [](const LayerSpec& s) { return s.quantization.has_value(); });
}

Network build_network(const Architecture& a, Shape input, std::uint64_t seed) {
  if (is_quantized(a)) check_quantized(a);
  std::mt19937 rng(static_cast<std::mt19937::result_type>(seed ^ (seed >> 32)));
  Network network;
  Shape shape = input;
  FixedPointFormat quantized_input = is_quantized(a) ? input_format(a.input_scale) : FixedPointFormat{};
  for (std::size_t i = 0; i < a.layers.size(); ++i) {
    const bool relu_follows = i + 1 < a.layers.size() && a.layers[i + 1].kind == LayerKind::relu;
    std::unique_ptr<Layer> layer;
    try {
      layer = make_layer(a.layers[i], shape, relu_follows, rng);
    } catch (const std::invalid_argument& e) {
      throw core::ConfigError(fmt::format("architecture: layer {} ({}) does not fit its {}x{}x{} input: {}", i,
                                    kind_name(a.layers[i].kind), shape.channels, shape.height, shape.width, e.what()));
    }
    if (a.layers[i].quantization) check_accumulator(a, i, *layer, quantized_input);
    shape = layer->output_shape();
    network.add(std::move(layer));
  }
  if (shape.size() != 1) {
    throw core::ConfigError(fmt::format("architecture: the last layer gives {}x{}x{} values, not the one logit", shape.channels,
                                  shape.height, shape.width));
  }
  return network;
}

}  // namespace larsel::models
