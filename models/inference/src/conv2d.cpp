// Conv2D as im2col + GEMM (Eigen): per sample, columns [C*kh*kw][Ho*Wo] hold
// the input patch of every output pixel, and out = weights * columns + bias.
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <Eigen/Core>
#include <fmt/format.h>

#include "batch_checks.hpp"
#include "eigen_views.hpp"
#include "larsel/models/layers.hpp"

namespace larsel::models {
namespace {

using detail::check_batch;

}  // namespace

Conv2D::Conv2D(Shape input, int filters, int kernel_height, int kernel_width, Padding padding)
    : input_(input), kernel_height_(kernel_height), kernel_width_(kernel_width), padding_(padding) {
  if (filters < 1 || kernel_height < 1 || kernel_width < 1) throw std::invalid_argument("conv2d: filters and kernel must be >= 1");
  if (padding == Padding::same && (kernel_height % 2 == 0 || kernel_width % 2 == 0)) {
    throw std::invalid_argument(fmt::format("conv2d: 'same' padding needs an odd kernel, got {}x{}", kernel_height, kernel_width));
  }
  pad_top_ = padding == Padding::same ? (kernel_height - 1) / 2 : 0;
  pad_left_ = padding == Padding::same ? (kernel_width - 1) / 2 : 0;
  output_ = {filters, input.height + 2 * pad_top_ - kernel_height + 1, input.width + 2 * pad_left_ - kernel_width + 1};
  if (output_.height < 1 || output_.width < 1) {
    throw std::invalid_argument(fmt::format("conv2d: a {}x{} kernel does not fit a {}x{} input without padding",
                                            kernel_height, kernel_width, input.height, input.width));
  }
  weights.assign(static_cast<std::size_t>(filters) * patch_size(), 0.0f);
  bias.assign(static_cast<std::size_t>(filters), 0.0f);
  weight_gradients_.assign(weights.size(), 0.0f);
  bias_gradients_.assign(bias.size(), 0.0f);
}

std::size_t Conv2D::patch_size() const noexcept {
  return static_cast<std::size_t>(input_.channels) * static_cast<std::size_t>(kernel_height_ * kernel_width_);
}

std::size_t Conv2D::multiply_accumulates() const noexcept {
  return patch_size() * static_cast<std::size_t>(output_.channels) * static_cast<std::size_t>(output_.height * output_.width);
}

void Conv2D::initialise(std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, std::sqrt(2.0f / static_cast<float>(patch_size())));
  for (float& w : weights) w = normal(rng);
  std::fill(bias.begin(), bias.end(), 0.0f);
}

std::vector<Parameter> Conv2D::parameters() {
  return {{"weights", &weights, &weight_gradients_, true}, {"bias", &bias, &bias_gradients_, false}};
}

/// Output columns [first, last) whose input column x + offset lies inside [0, width).
static std::pair<int, int> inside_range(int offset, int width, int out_width) {
  return {std::clamp(-offset, 0, out_width), std::clamp(width - offset, 0, out_width)};
}

// Row by row with the padding split off, so the inner loops are plain copies and adds the compiler vectorises.
void Conv2D::im2col(std::span<const float> sample, float* columns) const {
  const int pixels = output_.height * output_.width;
  for (int c = 0; c < input_.channels; ++c) {
    for (int dy = 0; dy < kernel_height_; ++dy) {
      for (int dx = 0; dx < kernel_width_; ++dx) {
        float* row = columns + static_cast<std::ptrdiff_t>(((c * kernel_height_ + dy) * kernel_width_ + dx) * pixels);
        const auto [first, last] = inside_range(dx - pad_left_, input_.width, output_.width);
        for (int y = 0; y < output_.height; ++y) {
          float* out = row + y * output_.width;
          const int iy = y + dy - pad_top_;
          if (iy < 0 || iy >= input_.height) {
            std::fill(out, out + output_.width, 0.0f);
            continue;
          }
          const float* in = sample.data() + (c * input_.height + iy) * input_.width + (dx - pad_left_);
          std::fill(out, out + first, 0.0f);
          for (int x = first; x < last; ++x) out[x] = in[x];
          std::fill(out + last, out + output_.width, 0.0f);
        }
      }
    }
  }
}

void Conv2D::col2im(const float* columns, std::span<float> sample) const {
  std::fill(sample.begin(), sample.end(), 0.0f);
  const int pixels = output_.height * output_.width;
  for (int c = 0; c < input_.channels; ++c) {
    for (int dy = 0; dy < kernel_height_; ++dy) {
      for (int dx = 0; dx < kernel_width_; ++dx) {
        const float* row = columns + static_cast<std::ptrdiff_t>(((c * kernel_height_ + dy) * kernel_width_ + dx) * pixels);
        const auto [first, last] = inside_range(dx - pad_left_, input_.width, output_.width);
        for (int y = 0; y < output_.height; ++y) {
          const int iy = y + dy - pad_top_;
          if (iy < 0 || iy >= input_.height) continue;
          const float* in = row + y * output_.width;
          float* out = sample.data() + (c * input_.height + iy) * input_.width + (dx - pad_left_);
          for (int x = first; x < last; ++x) out[x] += in[x];
        }
      }
    }
  }
}

void Conv2D::forward_quantized(const Batch& in, Batch& out, bool training) {
  quantized_.start_forward(weights, bias, out.values.size(), training);
  const auto patch = static_cast<Eigen::Index>(patch_size());
  const Eigen::Index pixels = output_.height * output_.width;
  const std::size_t per_sample = patch_size() * static_cast<std::size_t>(pixels);
  columns_.resize(training ? per_sample * static_cast<std::size_t>(in.count) : per_sample);
  std::vector<double>& exact_inputs = quantized_.exact_inputs;
  exact_inputs.resize(per_sample);
  quantized_.sums.resize(output_.size());
  const Eigen::Map<const DoubleMatrix> w(quantized_.exact_weights().data(), output_.channels, patch);
  const Eigen::Map<const Eigen::VectorXd> b(quantized_.exact_bias().data(), output_.channels);
  const Eigen::Map<const DoubleMatrix> columns_exact(exact_inputs.data(), patch, pixels);
  Eigen::Map<DoubleMatrix> sums(quantized_.sums.data(), output_.channels, pixels);
  for (int i = 0; i < in.count; ++i) {
    float* columns = columns_.data() + (training ? per_sample * static_cast<std::size_t>(i) : 0);
    im2col(in.sample(i), columns);
    std::copy(columns, columns + per_sample, exact_inputs.begin());
    sums.noalias() = w * columns_exact;
    sums.colwise() += b;
    quantized_.convert_output(quantized_.sums, out.sample(i), static_cast<std::size_t>(i) * output_.size());
  }
}

void Conv2D::forward(const Batch& in, Batch& out, bool training) {
  check_batch(in, input_, "conv2d input");
  if (quantized_.enabled()) {
    out.reshape(in.count, output_);
    return forward_quantized(in, out, training);
  }
  out.reshape(in.count, output_);
  const auto patch = static_cast<Eigen::Index>(patch_size());
  const Eigen::Index pixels = output_.height * output_.width;
  const std::size_t per_sample = patch_size() * static_cast<std::size_t>(pixels);
  columns_.resize(training ? per_sample * static_cast<std::size_t>(in.count) : per_sample);
  const ConstMatrixView w(weights.data(), output_.channels, patch);
  const Eigen::Map<const Eigen::VectorXf> b(bias.data(), output_.channels);
  for (int i = 0; i < in.count; ++i) {
    float* columns = columns_.data() + (training ? per_sample * static_cast<std::size_t>(i) : 0);
    im2col(in.sample(i), columns);
    MatrixView o(out.sample(i).data(), output_.channels, pixels);
    o.noalias() = w * ConstMatrixView(columns, patch, pixels);
    o.colwise() += b;
  }
}

void Conv2D::backward(const Batch& in, const Batch& grad_out, Batch& grad_in) {
  check_batch(grad_out, output_, "conv2d output gradient");
  const auto patch = static_cast<Eigen::Index>(patch_size());
  const Eigen::Index pixels = output_.height * output_.width;
  const std::size_t per_sample = patch_size() * static_cast<std::size_t>(pixels);
  if (columns_.size() != per_sample * static_cast<std::size_t>(in.count)) {
    throw std::logic_error("conv2d: backward without a training forward of the same batch");
  }
  grad_in.reshape(in.count, input_);
  const Batch& gradient = quantized_.output_gradient(grad_out);
  const ConstMatrixView w(quantized_.weights_in_use(weights), output_.channels, patch);
  MatrixView dw(weight_gradients_.data(), output_.channels, patch);
  Eigen::Map<Eigen::VectorXf> db(bias_gradients_.data(), output_.channels);
  RowMatrix column_gradients(patch, pixels);
  for (int i = 0; i < in.count; ++i) {
    const ConstMatrixView columns(columns_.data() + per_sample * static_cast<std::size_t>(i), patch, pixels);
    const ConstMatrixView g(gradient.sample(i).data(), output_.channels, pixels);
    dw.noalias() += g * columns.transpose();
    db += g.rowwise().sum();
    column_gradients.noalias() = w.transpose() * g;
    col2im(column_gradients.data(), grad_in.sample(i));
  }
  quantized_.mask_parameter_gradients(weights, bias, weight_gradients_, bias_gradients_);
}

}  // namespace larsel::models
