#pragma once
// The quantization-aware state Conv2D and Dense share (layers.hpp): the layer's formats, its
// parameters quantized, and what forward keeps for backward.
// Exactness: inputs and weights sit on power-of-two grids, so every product is an integer times one
// LSB; a double holds such sums exactly while they stay below 2^53 LSB, which
// check_exact_accumulation (fixed_point_inference.hpp) guarantees for a whole network. Summation
// order then cannot matter, and the conversion of the exact sum is what requantize_raw does to the
// integer accumulator.
#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "larsel/models/layer_quantization.hpp"
#include "larsel/models/tensor.hpp"

namespace larsel::models {

class QuantizationAwareState {
 public:
  /// Quantization-aware mode, or float with nullopt.
  void set(std::optional<LayerQuantization> quantization) { quantization_ = std::move(quantization); }
  [[nodiscard]] const std::optional<LayerQuantization>& quantization() const noexcept { return quantization_; }
  [[nodiscard]] bool enabled() const noexcept { return quantization_.has_value(); }

  /// Quantizes `weights` and `bias` to their formats, as floats and as exact doubles (exact_weights(),
  /// exact_bias()), and sizes the training copy of the unconverted outputs: `output_values` of them when
  /// `training`, none otherwise.
  void start_forward(const FloatBuffer& weights, const FloatBuffer& bias, std::size_t output_values, bool training);
  [[nodiscard]] const std::vector<double>& exact_weights() const noexcept { return exact_weights_; }
  [[nodiscard]] const std::vector<double>& exact_bias() const noexcept { return exact_bias_; }
  /// Room for the layer's exact inputs and sums: members, so no forward allocates after the first.
  std::vector<double> exact_inputs, sums;

  /// out = Q(accumulator) in the output format; in training, keeps the unconverted sums at `offset` of
  /// the training copy for the straight-through mask of backward.
  void convert_output(std::span<const double> accumulator, std::span<float> out, std::size_t offset);

  /// The weights forward used: quantized in this mode, else `weights` itself.
  [[nodiscard]] const float* weights_in_use(const FloatBuffer& weights) const noexcept {
    return enabled() ? effective_weights_.data() : weights.data();
  }
  /// `grad_out` with the straight-through mask of the output conversion applied (itself in float mode).
  const Batch& output_gradient(const Batch& grad_out);
  /// Zeroes the parameter gradients where the parameter saturated its format (nothing in float mode).
  void mask_parameter_gradients(const FloatBuffer& weights, const FloatBuffer& bias, FloatBuffer& weight_gradients,
                                FloatBuffer& bias_gradients) const;

 private:
  std::optional<LayerQuantization> quantization_;
  FloatBuffer effective_weights_, effective_bias_;  // quantized weights and bias
  std::vector<double> exact_weights_, exact_bias_;  // the same, as exact doubles
  FloatBuffer pre_quantization_;                    // output before conversion, kept for the straight-through mask
  Batch masked_gradient_;
};

}  // namespace larsel::models
