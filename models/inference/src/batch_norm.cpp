// Per-channel batch normalisation (Ioffe & Szegedy 2015): y = scale * xhat + shift,
// xhat = (x - mean) / sqrt(variance + epsilon) over the batch and the channel's pixels.
#include <cmath>

#include "batch_checks.hpp"
#include "larsel/models/layers.hpp"

namespace larsel::models {

BatchNorm::BatchNorm(Shape input, float momentum, float epsilon) : shape_(input), momentum_(momentum), epsilon_(epsilon) {
  const auto channels = static_cast<std::size_t>(input.channels);
  scale.assign(channels, 1.0f);
  shift.assign(channels, 0.0f);
  running_mean.assign(channels, 0.0f);
  running_variance.assign(channels, 1.0f);
  scale_gradients_.assign(channels, 0.0f);
  shift_gradients_.assign(channels, 0.0f);
  batch_mean_.assign(channels, 0.0f);
  batch_inverse_std_.assign(channels, 1.0f);
}

std::vector<Parameter> BatchNorm::parameters() {
  return {{"scale", &scale, &scale_gradients_, false}, {"shift", &shift, &shift_gradients_, false}};
}

std::vector<Parameter> BatchNorm::buffers() {
  return {{"running_mean", &running_mean, nullptr, false}, {"running_variance", &running_variance, nullptr, false}};
}

namespace {

/// Calls visit(index) for every value of channel c in the batch.
template <typename Visit>
void for_each_in_channel(const Batch& b, int c, Visit&& visit) {
  const std::size_t pixels = static_cast<std::size_t>(b.shape.height * b.shape.width);
  for (int n = 0; n < b.count; ++n) {
    const std::size_t first = static_cast<std::size_t>(n) * b.shape.size() + static_cast<std::size_t>(c) * pixels;
    for (std::size_t p = first; p < first + pixels; ++p) visit(p);
  }
}

}  // namespace

void BatchNorm::forward(const Batch& in, Batch& out, bool training) {
  detail::check_batch(in, shape_, "batchnorm input");
  out.reshape(in.count, shape_);
  const double values = static_cast<double>(in.count) * shape_.height * shape_.width;
  for (int c = 0; c < shape_.channels; ++c) {
    const auto ch = static_cast<std::size_t>(c);
    float mean = running_mean[ch], inverse_std = 1.0f / std::sqrt(running_variance[ch] + epsilon_);
    if (training) {
      double sum = 0, sum2 = 0;
      for_each_in_channel(in, c, [&](std::size_t i) { sum += in.values[i]; sum2 += double{in.values[i]} * in.values[i]; });
      const double m = sum / values, variance = std::max(0.0, sum2 / values - m * m);
      mean = static_cast<float>(m);
      inverse_std = static_cast<float>(1.0 / std::sqrt(variance + epsilon_));
      batch_mean_[ch] = mean;
      batch_inverse_std_[ch] = inverse_std;
      const double unbiased = values > 1 ? variance * values / (values - 1) : variance;
      running_mean[ch] = (1 - momentum_) * running_mean[ch] + momentum_ * mean;
      running_variance[ch] = (1 - momentum_) * running_variance[ch] + momentum_ * static_cast<float>(unbiased);
    }
    const float a = scale[ch] * inverse_std, b = shift[ch] - a * mean;
    for_each_in_channel(in, c, [&](std::size_t i) { out.values[i] = a * in.values[i] + b; });
  }
}

void BatchNorm::backward(const Batch& in, const Batch& grad_out, Batch& grad_in) {
  detail::check_batch(grad_out, shape_, "batchnorm output gradient");
  grad_in.reshape(in.count, shape_);
  const double values = static_cast<double>(in.count) * shape_.height * shape_.width;
  for (int c = 0; c < shape_.channels; ++c) {
    const auto ch = static_cast<std::size_t>(c);
    const float mean = batch_mean_[ch], inverse_std = batch_inverse_std_[ch];
    double sum_g = 0, sum_g_xhat = 0;
    for_each_in_channel(in, c, [&](std::size_t i) {
      sum_g += grad_out.values[i];
      sum_g_xhat += double{grad_out.values[i]} * (in.values[i] - mean) * inverse_std;
    });
    shift_gradients_[ch] += static_cast<float>(sum_g);
    scale_gradients_[ch] += static_cast<float>(sum_g_xhat);
    // dx = scale * inv_std / M * (M g - sum g - xhat sum(g xhat))
    const double k = scale[ch] * inverse_std / values;
    for_each_in_channel(in, c, [&](std::size_t i) {
      const double xhat = (in.values[i] - mean) * inverse_std;
      grad_in.values[i] = static_cast<float>(k * (values * grad_out.values[i] - sum_g - xhat * sum_g_xhat));
    });
  }
}

}  // namespace larsel::models
