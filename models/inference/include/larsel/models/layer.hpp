#pragma once
// A network layer: forward on a mini-batch and the matching backward pass.
// Layers are built for one input shape; parameters and their gradients are
// flat float vectors the optimiser updates by name.
#include <string>
#include <vector>

#include "larsel/models/tensor.hpp"

namespace larsel::models {

/// A trainable tensor of a layer and its gradient (same length), e.g. "weights".
struct Parameter {
  std::string name;
  FloatBuffer* values = nullptr;
  FloatBuffer* gradients = nullptr;
  bool decays = true;  // weight decay applies (not to biases and normalisation shifts)
  float learning_rate_scale = 1.0f;  // multiplies the optimiser's learning rate (gate logits learn faster)
};

class Layer {
 public:
  virtual ~Layer() = default;
  Layer() = default;
  Layer(const Layer&) = default;
  Layer& operator=(const Layer&) = default;

  [[nodiscard]] virtual const char* kind() const noexcept = 0;
  [[nodiscard]] virtual Shape input_shape() const noexcept = 0;
  [[nodiscard]] virtual Shape output_shape() const noexcept = 0;
  /// out = layer(in). With `training`, keeps what backward needs and uses batch statistics.
  virtual void forward(const Batch& in, Batch& out, bool training) = 0;
  /// For the input of the last training forward: adds dL/dparameters to the
  /// parameter gradients and writes dL/din from dL/dout.
  virtual void backward(const Batch& in, const Batch& grad_out, Batch& grad_in) = 0;
  [[nodiscard]] virtual std::vector<Parameter> parameters() { return {}; }
  /// State saved with the model but not trained (BatchNorm running statistics); `gradients` is null.
  [[nodiscard]] virtual std::vector<Parameter> buffers() { return {}; }
  /// Multiply-accumulates per sample in inference (the FPGA budget).
  [[nodiscard]] virtual std::size_t multiply_accumulates() const noexcept { return 0; }
};

}  // namespace larsel::models
