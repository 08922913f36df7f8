// BatchNorm folding: y = a * (w x + b - mean) + shift = (a w) x + (a (b - mean) + shift).
#include "fold_batch_norm.hpp"

#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "larsel/models/layers.hpp"

namespace larsel::models {
namespace {

/// Rescales output channel c of `weights` [channels][per_channel] and `bias` [channels]
/// by the inference transform of `norm`.
void fold_into(FloatBuffer& weights, FloatBuffer& bias, const BatchNorm& norm) {
  if (norm.scale.size() != bias.size() || weights.size() % bias.size() != 0) {
    throw std::logic_error("fold_batch_norm: batchnorm channels do not match the layer's outputs");
  }
  const std::size_t per_channel = weights.size() / bias.size();
  for (std::size_t c = 0; c < bias.size(); ++c) {
    const double a = double{norm.scale[c]} / std::sqrt(double{norm.running_variance[c]} + double{norm.epsilon()});
    for (std::size_t k = c * per_channel; k < (c + 1) * per_channel; ++k) weights[k] = static_cast<float>(weights[k] * a);
    bias[c] = static_cast<float>((double{bias[c]} - norm.running_mean[c]) * a + norm.shift[c]);
  }
}

/// A copy of `layer` (a new object of the same kind, parameters copied); never a BatchNorm here.
std::unique_ptr<Layer> copy_layer(const Layer& layer) {
  if (const auto* conv = dynamic_cast<const Conv2D*>(&layer)) return std::make_unique<Conv2D>(*conv);
  if (const auto* dense = dynamic_cast<const Dense*>(&layer)) return std::make_unique<Dense>(*dense);
  if (const auto* relu = dynamic_cast<const ReLU*>(&layer)) return std::make_unique<ReLU>(*relu);
  if (const auto* pool = dynamic_cast<const Pool2D*>(&layer)) return std::make_unique<Pool2D>(*pool);
  if (const auto* flatten = dynamic_cast<const Flatten*>(&layer)) return std::make_unique<Flatten>(*flatten);
  throw std::invalid_argument(fmt::format("fold_batch_norm: cannot copy a layer of kind '{}'", layer.kind()));
}

/// Folds `norm` into `layer` if it is a Conv2D or Dense; false for any other kind.
bool fold_into_layer(Layer& layer, const BatchNorm& norm) {
  if (auto* conv = dynamic_cast<Conv2D*>(&layer)) {
    fold_into(conv->weights, conv->bias, norm);
    return true;
  }
  if (auto* dense = dynamic_cast<Dense*>(&layer)) {
    fold_into(dense->weights, dense->bias, norm);
    return true;
  }
  return false;
}

}  // namespace

Network fold_batch_norm(const Network& network) {
  Network folded;
  const auto& layers = network.layers();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if (dynamic_cast<const BatchNorm*>(layers[i].get()) != nullptr) {  // not consumed by the layer before
      const std::string before = i == 0 ? "nothing (it is the first layer)" : fmt::format("a {} layer", layers[i - 1]->kind());
      throw std::invalid_argument(fmt::format(
          "fold_batch_norm: the batchnorm at layer {} follows {}; only a batchnorm right after a conv2d or dense layer can be folded",
          i, before));
    }
    std::unique_ptr<Layer> layer = copy_layer(*layers[i]);
    const auto* next_norm = i + 1 < layers.size() ? dynamic_cast<const BatchNorm*>(layers[i + 1].get()) : nullptr;
    if (next_norm != nullptr && fold_into_layer(*layer, *next_norm)) ++i;  // the batchnorm is consumed
    folded.add(std::move(layer));
  }
  return folded;
}

}  // namespace larsel::models
