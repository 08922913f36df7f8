// Dense layer: one GEMM for the whole batch, out[N][units] = in[N][D] * weights^T + bias.
#include <cmath>

#include <Eigen/Core>

#include "batch_checks.hpp"
#include "eigen_views.hpp"
#include "larsel/models/layers.hpp"

namespace larsel::models {

Dense::Dense(Shape input, int units) : input_(input), units_(units) {
  if (units < 1) throw std::invalid_argument("dense: units must be >= 1");
  weights.assign(static_cast<std::size_t>(units) * input.size(), 0.0f);
  bias.assign(static_cast<std::size_t>(units), 0.0f);
  weight_gradients_.assign(weights.size(), 0.0f);
  bias_gradients_.assign(bias.size(), 0.0f);
}

std::size_t Dense::multiply_accumulates() const noexcept { return weights.size(); }

void Dense::initialise(std::mt19937& rng, bool relu_follows) {
  const float fan_in = static_cast<float>(input_.size()), fan_out = static_cast<float>(units_);
  std::normal_distribution<float> normal(0.0f, relu_follows ? std::sqrt(2.0f / fan_in) : std::sqrt(2.0f / (fan_in + fan_out)));
  for (float& w : weights) w = normal(rng);
  std::fill(bias.begin(), bias.end(), 0.0f);
}

std::vector<Parameter> Dense::parameters() {
  return {{"weights", &weights, &weight_gradients_, true}, {"bias", &bias, &bias_gradients_, false}};
}

void Dense::forward_quantized(const Batch& in, Batch& out, bool training) {
  quantized_.start_forward(weights, bias, out.values.size(), training);
  quantized_.exact_inputs.assign(in.values.begin(), in.values.end());
  quantized_.sums.resize(out.values.size());
  const auto inputs = static_cast<Eigen::Index>(input_.size());
  Eigen::Map<DoubleMatrix> sums(quantized_.sums.data(), in.count, units_);
  sums.noalias() = Eigen::Map<const DoubleMatrix>(quantized_.exact_inputs.data(), in.count, inputs) *
                   Eigen::Map<const DoubleMatrix>(quantized_.exact_weights().data(), units_, inputs).transpose();
  sums.rowwise() += Eigen::Map<const Eigen::RowVectorXd>(quantized_.exact_bias().data(), units_);
  quantized_.convert_output(quantized_.sums, out.values, 0);
}

void Dense::forward(const Batch& in, Batch& out, bool training) {
  detail::check_batch(in, input_, "dense input");
  out.reshape(in.count, output_shape());
  if (quantized_.enabled()) return forward_quantized(in, out, training);
  const auto inputs = static_cast<Eigen::Index>(input_.size());
  const ConstMatrixView x(in.values.data(), in.count, inputs), w(weights.data(), units_, inputs);
  MatrixView y(out.values.data(), in.count, units_);
  y.noalias() = x * w.transpose();
  y.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(bias.data(), units_);
}

void Dense::backward(const Batch& in, const Batch& grad_out, Batch& grad_in) {
  detail::check_batch(grad_out, output_shape(), "dense output gradient");
  grad_in.reshape(in.count, input_);
  const auto inputs = static_cast<Eigen::Index>(input_.size());
  const Batch& gradient = quantized_.output_gradient(grad_out);
  const ConstMatrixView x(in.values.data(), in.count, inputs);
  const ConstMatrixView w(quantized_.weights_in_use(weights), units_, inputs);
  const ConstMatrixView g(gradient.values.data(), in.count, units_);
  MatrixView(weight_gradients_.data(), units_, inputs).noalias() += g.transpose() * x;
  Eigen::Map<Eigen::RowVectorXf>(bias_gradients_.data(), units_) += g.colwise().sum();
  MatrixView(grad_in.values.data(), in.count, inputs).noalias() = g * w;
  quantized_.mask_parameter_gradients(weights, bias, weight_gradients_, bias_gradients_);
}

}  // namespace larsel::models
