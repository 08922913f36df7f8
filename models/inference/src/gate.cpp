// Gate layer (compression.md §2.3): y = x g, g = sigmoid(a / T) per channel.
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "batch_checks.hpp"
#include "larsel/models/layers.hpp"
#include "larsel/models/loss.hpp"

namespace larsel::models {

Gate::Gate(Shape input, float initial_logit) : shape_(input) {
  const auto channels = static_cast<std::size_t>(input.channels);
  logits.assign(channels, initial_logit);
  logit_gradients_.assign(channels, 0.0f);
  temperature_.assign(1, 1.0f);
  gates_.assign(channels, 1.0f);
  mask_.assign(channels, 1.0f);
}

std::vector<Parameter> Gate::parameters() { return {{"logits", &logits, &logit_gradients_, false, learning_rate_scale_}}; }

std::vector<Parameter> Gate::buffers() {
  return {{"temperature", &temperature_, nullptr, false}, {"mask", &mask_, nullptr, false}};
}

void Gate::set_temperature(float temperature) {
  if (!(temperature > 0) || !std::isfinite(temperature)) {
    throw std::invalid_argument(fmt::format("gate: temperature {} is not a positive number", temperature));
  }
  temperature_[0] = temperature;
}

std::vector<float> Gate::gate_values() const {
  std::vector<float> g(logits.size());
  for (std::size_t c = 0; c < g.size(); ++c) g[c] = sigmoid(logits[c] / temperature_[0]);
  return g;
}

void Gate::set_hard_mask(std::vector<std::uint8_t> keep) {
  if (!keep.empty() && keep.size() != logits.size()) {
    throw std::invalid_argument(fmt::format("gate: a mask of {} for {} channels", keep.size(), logits.size()));
  }
  for (std::size_t c = 0; c < mask_.size(); ++c) mask_[c] = keep.empty() || keep[c] ? 1.0f : 0.0f;
}

void Gate::update_gates() {
  const std::vector<float> g = gate_values();
  for (std::size_t c = 0; c < g.size(); ++c) gates_[c] = mask_[c] != 0.0f ? g[c] : 0.0f;
}

void Gate::forward(const Batch& in, Batch& out, bool /*training*/) {
  detail::check_batch(in, shape_, "gate input");
  update_gates();
  out.reshape(in.count, shape_);
  const std::size_t plane = static_cast<std::size_t>(shape_.height) * static_cast<std::size_t>(shape_.width);
  for (int i = 0; i < in.count; ++i) {
    const std::span<const float> x = in.sample(i);
    const std::span<float> y = out.sample(i);
    for (std::size_t c = 0; c < gates_.size(); ++c) {
      for (std::size_t p = c * plane; p < (c + 1) * plane; ++p) y[p] = x[p] * gates_[c];
    }
  }
}

// dL/da_c = (1/T) g_c (1 - g_c) sum_{samples, pixels} dL/dy x; dL/dx = g dL/dy.
void Gate::backward(const Batch& in, const Batch& grad_out, Batch& grad_in) {
  detail::check_batch(grad_out, shape_, "gate output gradient");
  grad_in.reshape(in.count, shape_);
  const std::size_t plane = static_cast<std::size_t>(shape_.height) * static_cast<std::size_t>(shape_.width);
  const float inverse_temperature = 1.0f / temperature_[0];
  for (std::size_t c = 0; c < gates_.size(); ++c) {
    double sensitivity = 0;
    for (int i = 0; i < in.count; ++i) {
      const std::span<const float> x = in.sample(i), g = grad_out.sample(i);
      const std::span<float> gx = grad_in.sample(i);
      for (std::size_t p = c * plane; p < (c + 1) * plane; ++p) {
        sensitivity += static_cast<double>(g[p]) * x[p];
        gx[p] = g[p] * gates_[c];
      }
    }
    logit_gradients_[c] += static_cast<float>(sensitivity) * inverse_temperature * gates_[c] * (1.0f - gates_[c]);
  }
}

double Gate::add_budget_gradient(int kept, float lambda_budget, float lambda_binary) {
  const std::vector<float> g = gate_values();
  double open = 0, binary = 0;
  for (float v : g) open += v, binary += static_cast<double>(v) * (1.0 - v);
  const double excess = open - kept;
  const double inverse_temperature = 1.0 / temperature_[0];
  for (std::size_t c = 0; c < g.size(); ++c) {
    const double slope = inverse_temperature * g[c] * (1.0 - g[c]);
    logit_gradients_[c] += static_cast<float>(slope * (2.0 * lambda_budget * excess + lambda_binary * (1.0 - 2.0 * g[c])));
  }
  return lambda_budget * excess * excess + lambda_binary * binary;
}

}  // namespace larsel::models
