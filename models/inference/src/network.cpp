#include "larsel/models/network.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace larsel::models {

void Network::add(std::unique_ptr<Layer> layer) {
  if (!layers_.empty() && !(layer->input_shape() == output_shape())) {
    const Shape want = output_shape(), got = layer->input_shape();
    throw std::invalid_argument(fmt::format("network: layer {} ({}) takes {}x{}x{} but the previous layer gives {}x{}x{}",
                                            layers_.size(), layer->kind(), got.channels, got.height, got.width,
                                            want.channels, want.height, want.width));
  }
  layers_.push_back(std::move(layer));
  activations_.resize(layers_.size());
}

Shape Network::input_shape() const {
  if (layers_.empty()) throw std::logic_error("network: no layers");
  return layers_.front()->input_shape();
}

Shape Network::output_shape() const {
  if (layers_.empty()) throw std::logic_error("network: no layers");
  return layers_.back()->output_shape();
}

const Batch& Network::forward(const Batch& in, bool training) {
  if (layers_.empty()) throw std::logic_error("network: no layers");
  input_ = &in;
  for (std::size_t i = 0; i < layers_.size(); ++i) layers_[i]->forward(i == 0 ? in : activations_[i - 1], activations_[i], training);
  return activations_.back();
}

void Network::backward(const Batch& grad_output) {
  if (input_ == nullptr) throw std::logic_error("network: backward before forward");
  gradient_ = grad_output;
  for (std::size_t i = layers_.size(); i-- > 0;) {
    layers_[i]->backward(i == 0 ? *input_ : activations_[i - 1], gradient_, next_gradient_);
    std::swap(gradient_, next_gradient_);
  }
}

std::vector<Parameter> Network::parameters() {
  std::vector<Parameter> all;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    for (Parameter p : layers_[i]->parameters()) {
      p.name = fmt::format("layer{}_{}/{}", i, layers_[i]->kind(), p.name);
      all.push_back(p);
    }
  }
  return all;
}

std::vector<Parameter> Network::state() {
  std::vector<Parameter> all;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    for (auto list : {layers_[i]->parameters(), layers_[i]->buffers()}) {
      for (Parameter p : list) {
        p.name = fmt::format("layer{}_{}/{}", i, layers_[i]->kind(), p.name);
        all.push_back(p);
      }
    }
  }
  return all;
}

void Network::zero_gradients() {
  for (const auto& layer : layers_) {
    for (const Parameter& p : layer->parameters()) std::fill(p.gradients->begin(), p.gradients->end(), 0.0f);
  }
}

std::size_t Network::multiply_accumulates() const noexcept {
  std::size_t total = 0;
  for (const auto& layer : layers_) total += layer->multiply_accumulates();
  return total;
}

Adam::Adam(std::vector<Parameter> parameters, AdamConfig config) : parameters_(std::move(parameters)), config_(config) {
  for (const Parameter& p : parameters_) {
    first_moment_.emplace_back(p.values->size(), 0.0f);
    second_moment_.emplace_back(p.values->size(), 0.0f);
  }
}

void Adam::step() {
  ++steps_;
  const float b1 = config_.beta1, b2 = config_.beta2;
  const float correction1 = 1.0f - std::pow(b1, static_cast<float>(steps_));
  const float correction2 = 1.0f - std::pow(b2, static_cast<float>(steps_));
  for (std::size_t k = 0; k < parameters_.size(); ++k) {
    FloatBuffer& w = *parameters_[k].values;
    const FloatBuffer& g = *parameters_[k].gradients;
    std::vector<float>& m = first_moment_[k];
    std::vector<float>& v = second_moment_[k];
    const float rate = config_.learning_rate * parameters_[k].learning_rate_scale;
    const float decay = parameters_[k].decays ? config_.learning_rate * config_.weight_decay : 0.0f;
    for (std::size_t i = 0; i < w.size(); ++i) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      w[i] -= rate * (m[i] / correction1) / (std::sqrt(v[i] / correction2) + config_.epsilon) + decay * w[i];
    }
  }
}

}  // namespace larsel::models
