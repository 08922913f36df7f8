#pragma once
// The layer types of the selection CNN. Each is built for one input shape
// and checks it; the forward/backward definitions are in src/, one file per
// kind, and every backward pass is checked against finite differences
// (tests/test_models_layers.cpp).
#include <cstdint>
#include <optional>
#include <random>

#include "larsel/models/layer.hpp"
#include "larsel/models/layer_quantization.hpp"
#include "larsel/models/quantization_aware.hpp"

namespace larsel::models {

enum class Padding { valid, same };

/// 2D convolution, stride 1: out[f] = bias[f] + sum_c weights[f][c] * in[c],
/// as one GEMM per sample on the im2col matrix. `same` pads (k - 1) / 2 zeros
/// each side (odd kernels only).
class Conv2D final : public Layer {
 public:
  Conv2D(Shape input, int filters, int kernel_height, int kernel_width, Padding padding);
  [[nodiscard]] const char* kind() const noexcept override { return "conv2d"; }
  [[nodiscard]] Shape input_shape() const noexcept override { return input_; }
  [[nodiscard]] Shape output_shape() const noexcept override { return output_; }
  void forward(const Batch& in, Batch& out, bool training) override;
  void backward(const Batch& in, const Batch& grad_out, Batch& grad_in) override;
  std::vector<Parameter> parameters() override;
  [[nodiscard]] std::size_t multiply_accumulates() const noexcept override;
  /// He-normal weights for a following ReLU, zero biases.
  void initialise(std::mt19937& rng);

  [[nodiscard]] int kernel_height() const noexcept { return kernel_height_; }
  [[nodiscard]] int kernel_width() const noexcept { return kernel_width_; }
  [[nodiscard]] Padding padding() const noexcept { return padding_; }
  /// Quantization-aware mode (layer_quantization.hpp), or float with nullopt:
  /// forward quantizes weights and bias, sums exactly in double and converts
  /// the sum to the output format, so it equals integer inference bit for bit;
  /// backward passes gradients straight through, zero where anything saturated.
  void set_quantization(std::optional<LayerQuantization> quantization) { quantized_.set(std::move(quantization)); }
  [[nodiscard]] const std::optional<LayerQuantization>& quantization() const noexcept { return quantized_.quantization(); }
  FloatBuffer weights, bias;  // weights [filters][channels][kh][kw]

 private:
  void forward_quantized(const Batch& in, Batch& out, bool training);
  [[nodiscard]] std::size_t patch_size() const noexcept;
  void im2col(std::span<const float> sample, float* columns) const;
  void col2im(const float* columns, std::span<float> sample) const;

  Shape input_, output_;
  int kernel_height_, kernel_width_;
  Padding padding_;
  int pad_top_, pad_left_;
  FloatBuffer weight_gradients_, bias_gradients_;
  FloatBuffer columns_;  // im2col of the last training batch, kept for backward
  QuantizationAwareState quantized_;
};

/// Fully connected: out = weights * flatten(in) + bias, output shape (units, 1, 1).
class Dense final : public Layer {
 public:
  Dense(Shape input, int units);
  [[nodiscard]] const char* kind() const noexcept override { return "dense"; }
  [[nodiscard]] Shape input_shape() const noexcept override { return input_; }
  [[nodiscard]] Shape output_shape() const noexcept override { return {units_, 1, 1}; }
  void forward(const Batch& in, Batch& out, bool training) override;
  void backward(const Batch& in, const Batch& grad_out, Batch& grad_in) override;
  std::vector<Parameter> parameters() override;
  [[nodiscard]] std::size_t multiply_accumulates() const noexcept override;
  /// He-normal (relu_follows) or Glorot-normal weights, zero biases.
  void initialise(std::mt19937& rng, bool relu_follows);
  /// Quantization-aware mode, as Conv2D::set_quantization.
  void set_quantization(std::optional<LayerQuantization> quantization) { quantized_.set(std::move(quantization)); }
  [[nodiscard]] const std::optional<LayerQuantization>& quantization() const noexcept { return quantized_.quantization(); }
  FloatBuffer weights, bias;  // weights [units][inputs]

 private:
  void forward_quantized(const Batch& in, Batch& out, bool training);

  Shape input_;
  int units_;
  FloatBuffer weight_gradients_, bias_gradients_;
  QuantizationAwareState quantized_;
};

class ReLU final : public Layer {
 public:
  explicit ReLU(Shape input) : shape_(input) {}
  [[nodiscard]] const char* kind() const noexcept override { return "relu"; }
  [[nodiscard]] Shape input_shape() const noexcept override { return shape_; }
  [[nodiscard]] Shape output_shape() const noexcept override { return shape_; }
  void forward(const Batch& in, Batch& out, bool training) override;
  void backward(const Batch& in, const Batch& grad_out, Batch& grad_in) override;

 private:
  Shape shape_;
};

enum class PoolKind { max, average };

/// Non-overlapping pooling (stride = window); rows or columns that do not fill a window are dropped.
class Pool2D final : public Layer {
 public:
  Pool2D(Shape input, PoolKind pool, int window_height, int window_width);
  [[nodiscard]] const char* kind() const noexcept override { return pool_ == PoolKind::max ? "maxpool" : "avgpool"; }
  [[nodiscard]] Shape input_shape() const noexcept override { return input_; }
  [[nodiscard]] Shape output_shape() const noexcept override { return output_; }
  void forward(const Batch& in, Batch& out, bool training) override;
  void backward(const Batch& in, const Batch& grad_out, Batch& grad_in) override;
  [[nodiscard]] int window_height() const noexcept { return window_height_; }
  [[nodiscard]] int window_width() const noexcept { return window_width_; }

 private:
  Shape input_, output_;
  PoolKind pool_;
  int window_height_, window_width_;
};

/// (c, h, w) -> (c * h * w, 1, 1); the values do not move (NCHW order).
class Flatten final : public Layer {
 public:
  explicit Flatten(Shape input) : input_(input) {}
  [[nodiscard]] const char* kind() const noexcept override { return "flatten"; }
  [[nodiscard]] Shape input_shape() const noexcept override { return input_; }
  [[nodiscard]] Shape output_shape() const noexcept override { return {static_cast<int>(input_.size()), 1, 1}; }
  void forward(const Batch& in, Batch& out, bool training) override;
  void backward(const Batch& in, const Batch& grad_out, Batch& grad_in) override;

 private:
  Shape input_;
};

/// Per-channel batch normalisation: batch statistics in training (running
/// averages updated with `momentum`), running statistics in inference. Folded
/// into the preceding convolution or dense layer at export.
class BatchNorm final : public Layer {
 public:
  explicit BatchNorm(Shape input, float momentum = 0.1f, float epsilon = 1e-5f);
  [[nodiscard]] const char* kind() const noexcept override { return "batchnorm"; }
  [[nodiscard]] Shape input_shape() const noexcept override { return shape_; }
  [[nodiscard]] Shape output_shape() const noexcept override { return shape_; }
  void forward(const Batch& in, Batch& out, bool training) override;
  void backward(const Batch& in, const Batch& grad_out, Batch& grad_in) override;
  std::vector<Parameter> parameters() override;
  std::vector<Parameter> buffers() override;
  [[nodiscard]] float epsilon() const noexcept { return epsilon_; }
  FloatBuffer scale, shift, running_mean, running_variance;  // one per channel

 private:
  Shape shape_;
  float momentum_, epsilon_;
  FloatBuffer scale_gradients_, shift_gradients_;
  FloatBuffer batch_mean_, batch_inverse_std_;  // of the last training batch
};

/// A learnable gate per channel, y[c] = x[c] g[c] with g[c] = sigmoid(a[c] / T)
/// (compression.md §2.3, the CancelOut/AutoPruner-style gate): put after the
/// ReLU of a convolution (one gate per filter) or a dense layer (per neuron).
/// The budget term drives the number of open gates towards the kept count k
/// while the temperature T is annealed; the k largest logits survive.
class Gate final : public Layer {
 public:
  /// Logits start at `initial_logit` (4: every gate open, sigmoid(4) = 0.982).
  explicit Gate(Shape input, float initial_logit = 4.0f);
  [[nodiscard]] const char* kind() const noexcept override { return "gate"; }
  [[nodiscard]] Shape input_shape() const noexcept override { return shape_; }
  [[nodiscard]] Shape output_shape() const noexcept override { return shape_; }
  void forward(const Batch& in, Batch& out, bool training) override;
  void backward(const Batch& in, const Batch& grad_out, Batch& grad_in) override;
  std::vector<Parameter> parameters() override;
  /// The temperature and the hard mask: copied with the model's state (clones, replicas).
  std::vector<Parameter> buffers() override;

  void set_temperature(float temperature);
  /// The logits' learning-rate multiplier: Adam moves a parameter by about
  /// one learning rate per step, and a logit must travel from 4 to below 0 in
  /// the first epochs, before the annealed temperature freezes it.
  void set_learning_rate_scale(float scale) { learning_rate_scale_ = scale; }
  [[nodiscard]] float temperature() const noexcept { return temperature_[0]; }
  /// g[c] for every channel (ignoring a hard mask).
  [[nodiscard]] std::vector<float> gate_values() const;
  /// Adds the gradient of lambda_budget (sum g - kept)^2 + lambda_binary sum g (1 - g)
  /// to the logits' gradient and returns the value of that term.
  double add_budget_gradient(int kept, float lambda_budget, float lambda_binary);
  /// From now on channels with keep[c] == 0 output exactly 0 (the masked
  /// model physical removal is compared with); an empty vector removes the mask.
  void set_hard_mask(std::vector<std::uint8_t> keep);

  FloatBuffer logits;  // one per channel

 private:
  void update_gates();

  Shape shape_;
  FloatBuffer logit_gradients_;
  FloatBuffer temperature_;
  FloatBuffer gates_;  // g of the last forward (mask applied)
  FloatBuffer mask_;   // 1 = kept, 0 = output exactly 0; all 1 without a hard mask
  float learning_rate_scale_ = 1.0f;
};

}  // namespace larsel::models
