// make_backend and the two in-process backends: the twin and the float network.
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "larsel/fpga/backend.hpp"
#include "larsel/fpga/twin.hpp"

namespace larsel::fpga {

std::unique_ptr<InferenceBackend> make_csim_backend(const BackendOptions& options, std::size_t frame_size,
                                                    const models::FixedPointFormat& logit_format);

namespace {

std::size_t check_sizes(std::span<const std::uint8_t> frames, std::span<double> logits, std::size_t frame_size, const std::string& name) {
  if (frames.size() % frame_size != 0) {
    throw std::invalid_argument(fmt::format("{} backend: {} bytes are not whole {}-pixel frames", name, frames.size(), frame_size));
  }
  const std::size_t n = frames.size() / frame_size;
  if (logits.size() < n) throw std::invalid_argument(fmt::format("{} backend: {} logits for {} frames", name, logits.size(), n));
  return n;
}

class TwinBackend final : public InferenceBackend {
 public:
  explicit TwinBackend(models::Model& model) : twin_(model) {}
  [[nodiscard]] std::string name() const override { return "twin"; }
  [[nodiscard]] std::string kernel() const override { return twin_.kernel_name(); }
  [[nodiscard]] std::size_t frame_size() const override { return twin_.input_size(); }
  [[nodiscard]] models::FixedPointFormat logit_format() const override { return twin_.logit_format(); }
  void infer(std::span<const std::uint8_t> frames, std::span<double> logits) override {
    const std::size_t n = check_sizes(frames, logits, frame_size(), name()), size = frame_size();
    const int fraction = twin_.logit_format().fractional_bits();
    for (std::size_t i = 0; i < n; ++i) {
      logits[i] = std::ldexp(static_cast<double>(twin_.raw_logit(frames.subspan(i * size, size))), -fraction);
    }
  }

 private:
  Twin twin_;
};

/// The same architecture and weights in floating point (quantization dropped): the reference.
class FloatBackend final : public InferenceBackend {
 public:
  explicit FloatBackend(models::Model& model) : network_(float_architecture(model), model.input_shape(), 0), logit_format_() {
    network_.copy_state_from(model);
    if (models::is_quantized(model.architecture())) {
      const auto& layers = model.architecture().layers;
      for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
        if (it->quantization) {
          logit_format_ = it->quantization->output;
          break;
        }
      }
    }
    input_.reshape(1, model.input_shape());
  }
  [[nodiscard]] std::string name() const override { return "float"; }
  [[nodiscard]] std::size_t frame_size() const override { return network_.input_shape().size(); }
  [[nodiscard]] models::FixedPointFormat logit_format() const override { return logit_format_; }
  void infer(std::span<const std::uint8_t> frames, std::span<double> logits) override {
    const std::size_t n = check_sizes(frames, logits, frame_size(), name()), size = frame_size();
    const float scale = network_.architecture().input_scale;
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t p = 0; p < size; ++p) input_.values[p] = static_cast<float>(frames[i * size + p]) * scale;
      logits[i] = network_.network().forward(input_, false).values[0];
    }
  }

 private:
  static models::Architecture float_architecture(models::Model& model) {
    models::Architecture a = model.architecture();
    for (auto& spec : a.layers) spec.quantization.reset();
    return a;
  }
  models::Model network_;
  models::FixedPointFormat logit_format_;
  models::Batch input_;
};

}  // namespace

std::unique_ptr<InferenceBackend> make_backend(const BackendOptions& options, models::Model& model) {
  if (options.kind == "float") return std::make_unique<FloatBackend>(model);
  if (options.kind != "twin" && options.kind != "csim" && options.kind != "xrt") {
    throw std::invalid_argument(fmt::format("backend '{}' is not one of twin, csim, float, xrt", options.kind));
  }
  if (!models::is_quantized(model.architecture())) {
    throw std::invalid_argument(fmt::format("backend {}: the model is not quantized (larsel compress makes one; 'float' runs any model)", options.kind));
  }
  auto twin = std::make_unique<TwinBackend>(model);
  if (options.kind == "twin") return twin;
  if (options.kind == "csim") return make_csim_backend(options, twin->frame_size(), twin->logit_format());
  return make_xrt_backend(options, twin->frame_size(), twin->logit_format());
}

}  // namespace larsel::fpga
