#include "larsel/models/quantization_aware.hpp"

#include <algorithm>
#include <stdexcept>

namespace larsel::models {

void QuantizationAwareState::start_forward(const FloatBuffer& weights, const FloatBuffer& bias, std::size_t output_values,
                                           bool training) {
  const LayerQuantization& q = *quantization_;
  effective_weights_.assign(weights.begin(), weights.end());
  quantize(std::span<float>(effective_weights_), q.weight);
  effective_bias_.assign(bias.begin(), bias.end());
  quantize(std::span<float>(effective_bias_), q.bias);
  exact_weights_.assign(effective_weights_.begin(), effective_weights_.end());
  exact_bias_.assign(effective_bias_.begin(), effective_bias_.end());
  pre_quantization_.resize(training ? output_values : 0);
}

void QuantizationAwareState::convert_output(std::span<const double> accumulator, std::span<float> out, std::size_t offset) {
  quantize(accumulator, out, quantization_->output);
  if (pre_quantization_.empty()) return;  // not training
  float* pre = pre_quantization_.data() + offset;
  for (std::size_t i = 0; i < accumulator.size(); ++i) pre[i] = static_cast<float>(accumulator[i]);
}

const Batch& QuantizationAwareState::output_gradient(const Batch& grad_out) {
  if (!enabled()) return grad_out;
  if (pre_quantization_.size() != grad_out.values.size()) {
    throw std::logic_error("quantized layer: backward without a training forward of the same batch");
  }
  masked_gradient_.reshape(grad_out.count, grad_out.shape);
  std::copy(grad_out.values.begin(), grad_out.values.end(), masked_gradient_.values.begin());
  straight_through(std::span<const float>(pre_quantization_.data(), masked_gradient_.values.size()), masked_gradient_.values,
                   quantization_->output);
  return masked_gradient_;
}

void QuantizationAwareState::mask_parameter_gradients(const FloatBuffer& weights, const FloatBuffer& bias,
                                                      FloatBuffer& weight_gradients, FloatBuffer& bias_gradients) const {
  if (!enabled()) return;
  straight_through(weights, weight_gradients, quantization_->weight);
  straight_through(bias, bias_gradients, quantization_->bias);
}

}  // namespace larsel::models
