#pragma once
// The selection CNN's architecture as data: a list of layer specifications,
// read from the `architecture` section of the training YAML and stored as a
// JSON attribute in the model file, from which the network is rebuilt.
//
//   architecture:
//     input_scale: 0.0625          # CNN input = uint8 pixel x input_scale
//     layers:
//       - {conv2d: {filters: 8, kernel: 3, padding: same}}
//       - relu
//       - {maxpool: {window: [2, 2]}}
//       - flatten
//       - {dense: {units: 16}}
//       - relu
//       - {dense: {units: 1}}       # the logit
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "larsel/models/layer_quantization.hpp"
#include "larsel/models/layers.hpp"
#include "larsel/models/network.hpp"

namespace larsel::models {

enum class LayerKind { conv2d, dense, relu, maxpool, avgpool, flatten, batchnorm, gate };

struct LayerSpec {
  LayerKind kind = LayerKind::relu;
  int filters = 0;                          // conv2d
  int kernel_height = 3, kernel_width = 3;  // conv2d
  Padding padding = Padding::same;          // conv2d
  int window_height = 2, window_width = 2;  // maxpool, avgpool
  int units = 0;                            // dense
  std::optional<LayerQuantization> quantization;  // conv2d, dense: fixed-point formats (quantization-aware)
};

struct Architecture {
  float input_scale = 1.0f / 16.0f;  // uint8 pixel -> float input: keeps first-layer activations O(1)
  std::vector<LayerSpec> layers;
};

/// Two 3x3 convolutions (8 and 16 filters) with 2x2 max pooling, a dense
/// layer of 16 and one logit: 0.72 M multiply-accumulates on a 120 x 16 image.
Architecture default_architecture();

/// Strict reading: unknown layer kinds or keys and out-of-range values throw
/// core::ConfigError naming `source` and the layer.
Architecture architecture_from_json(const nlohmann::json& json, const std::string& source);
nlohmann::json to_json(const Architecture& architecture);

/// Names of the weighted layers as the compression config refers to them:
/// "conv1", "conv2", ... and "dense1", ... in order; "" for other layers.
std::vector<std::string> layer_names(const Architecture& architecture);
/// The index in architecture.layers of the layer called `name`, or -1.
int find_layer(const Architecture& architecture, const std::string& name);
/// True when any layer carries fixed-point formats.
bool is_quantized(const Architecture& architecture);

/// The network for `input` (channels x rows x columns); the last layer must
/// give one value (the logit). Weights are initialised from `seed`. A quantized
/// architecture must quantize every conv2d and dense layer, use only relu,
/// maxpool and flatten between them, and have a power-of-two input_scale
/// (else core::ConfigError): then its forward pass is exact fixed point.
Network build_network(const Architecture& architecture, Shape input, std::uint64_t seed);

}  // namespace larsel::models
