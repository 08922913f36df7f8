#pragma once
// The integer reference inference of a quantized model: raw integer weights
// and activations, 64-bit accumulators and requantize_raw at every layer
// output — the arithmetic of the HLS kernel (compression.md §1.6: "keep an
// integer reference inference that uses the same rounding and overflow
// modes"). The quantization-aware forward pass of the float layers equals it
// bit for bit (tests/test_quantization_aware.cpp). Written for clarity, not
// speed: the fast CPU path is the FPGA twin.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "larsel/models/architecture.hpp"
#include "larsel/models/layer_quantization.hpp"
#include "larsel/models/model.hpp"

namespace larsel::models {

class FixedPointInference {
 public:
  /// Reads the quantized weights of `model` (whose architecture must be
  /// quantized, else std::invalid_argument) as raw integers.
  explicit FixedPointInference(Model& model);

  /// The logit's raw integer in logit_format() for one uint8 image of the model's input shape.
  [[nodiscard]] std::int64_t raw_logit(std::span<const std::uint8_t> image) const;
  /// raw_logit(image) * 2^-F.
  [[nodiscard]] double logit(std::span<const std::uint8_t> image) const;
  [[nodiscard]] const FixedPointFormat& logit_format() const noexcept { return logit_format_; }

  /// Per weighted layer: its name, the input format and the accumulator.
  struct LayerFormats {
    std::string name;
    FixedPointFormat input;
    LayerQuantization quantization;
    AccumulatorFormat accumulator;
  };
  [[nodiscard]] const std::vector<LayerFormats>& layer_formats() const noexcept { return formats_; }

 private:
  struct Step {
    LayerKind kind = LayerKind::relu;
    Shape input, output;
    int kernel_height = 1, kernel_width = 1, pad_top = 0, pad_left = 0;  // conv2d
    int window_height = 1, window_width = 1;                             // maxpool
    std::vector<std::int64_t> weights, bias;                             // raw
    int product_fractional_bits = 0, bias_fractional_bits = 0;
    FixedPointFormat output_format;
  };
  void convolve(const Step& step, const std::vector<std::int64_t>& in, std::vector<std::int64_t>& out) const;
  void dense(const Step& step, const std::vector<std::int64_t>& in, std::vector<std::int64_t>& out) const;
  static void max_pool(const Step& step, const std::vector<std::int64_t>& in, std::vector<std::int64_t>& out);

  Shape input_shape_;
  std::vector<Step> steps_;
  std::vector<LayerFormats> formats_;
  FixedPointFormat logit_format_;
};

}  // namespace larsel::models
