#pragma once
// A sequential network: layers applied in order, with the activations of the
// last training forward kept for the backward pass.
#include <memory>
#include <span>
#include <vector>

#include "larsel/models/layer.hpp"

namespace larsel::models {

class Network {
 public:
  /// Appends a layer; throws std::invalid_argument if its input shape is not the current output shape.
  void add(std::unique_ptr<Layer> layer);
  [[nodiscard]] Shape input_shape() const;
  [[nodiscard]] Shape output_shape() const;
  [[nodiscard]] const std::vector<std::unique_ptr<Layer>>& layers() const noexcept { return layers_; }

  /// The last layer's output for `in` (kept until the next forward).
  const Batch& forward(const Batch& in, bool training);
  /// The output of layer `index` in the last forward (calibration of fixed-point ranges).
  [[nodiscard]] const Batch& layer_output(std::size_t index) const { return activations_.at(index); }
  /// After a training forward, with its input still alive: accumulates parameter gradients from dL/doutput.
  void backward(const Batch& grad_output);
  [[nodiscard]] std::vector<Parameter> parameters();
  /// Parameters and non-trained buffers, named as parameters() names them: what a model file stores.
  [[nodiscard]] std::vector<Parameter> state();
  void zero_gradients();
  [[nodiscard]] std::size_t multiply_accumulates() const noexcept;

 private:
  std::vector<std::unique_ptr<Layer>> layers_;
  const Batch* input_ = nullptr;    // of the last forward (not copied)
  std::vector<Batch> activations_;  // activations_[i] = output of layer i
  Batch gradient_, next_gradient_;
};

/// Adam (Kingma & Ba 2015) with decoupled weight decay (AdamW, Loshchilov & Hutter 2019).
struct AdamConfig {
  float learning_rate = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float epsilon = 1e-8f;
  float weight_decay = 1e-4f;  // applied to parameters marked `decays`
};

class Adam {
 public:
  Adam(std::vector<Parameter> parameters, AdamConfig config);
  /// One update from the accumulated gradients.
  void step();
  [[nodiscard]] const AdamConfig& config() const noexcept { return config_; }

 private:
  std::vector<Parameter> parameters_;
  AdamConfig config_;
  std::vector<std::vector<float>> first_moment_, second_moment_;
  long steps_ = 0;
};

}  // namespace larsel::models
