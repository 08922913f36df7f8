#pragma once
// The software twin of the HLS kernel: the integer arithmetic of a quantized
// model (models::FixedPointInference's, bit for bit) written for speed on one
// CPU core. Activations are raw integers in int32; accumulators are int32 or
// int64 by the layer's overflow-free accumulator width; convolutions run tap by
// tap over whole zero-padded planes (loops the compiler vectorises); pruned
// weights are skipped; every buffer is allocated once, none per frame.
#include <cstdint>
#include <span>
#include <vector>

#include "larsel/models/fixed_point.hpp"
#include "larsel/models/model.hpp"

namespace larsel::fpga {

/// One layer of the twin, with its weights as raw integers.
struct TwinLayer {
  enum class Kind { conv2d, dense, relu, maxpool, flatten };
  struct Tap {
    int input;             // conv2d: input channel; dense: input index
    int dy = 0, dx = 0;    // conv2d: kernel offset
    std::int64_t weight;   // raw, pre-shifted to the accumulator's fraction
    std::size_t offset;    // conv2d: where the tap reads in the zero-padded input planes
  };
  Kind kind = Kind::relu;
  models::Shape input, output;
  int pad_top = 0, pad_left = 0, window_height = 1, window_width = 1;
  std::vector<std::vector<Tap>> taps;  // per output channel or unit: the non-zero weights only
  std::vector<std::int64_t> bias;      // raw, at the accumulator's fraction
  int accumulator_fraction = 0;        // fractional bits of the accumulator
  bool wide_accumulator = false;       // int64 (else int32 holds every sum)
  bool relu_after = false;             // a ReLU follows, fused into the output conversion
  models::FixedPointFormat output_format;
};

class Twin {
 public:
  /// Reads the quantized weights of `model`; std::invalid_argument if it is
  /// not quantized or has a layer the twin does not run.
  explicit Twin(models::Model& model);

  /// The logit's raw integer in logit_format() for one uint8 image of the model's input shape.
  std::int64_t raw_logit(std::span<const std::uint8_t> image);
  [[nodiscard]] const models::FixedPointFormat& logit_format() const noexcept { return logit_format_; }
  [[nodiscard]] std::size_t input_size() const noexcept { return input_.size(); }
  [[nodiscard]] const std::vector<TwinLayer>& layers() const noexcept { return layers_; }

 private:
  void convolve(const TwinLayer& layer, const std::int32_t* in, std::int32_t* out);
  void dense(const TwinLayer& layer, const std::int32_t* in, std::int32_t* out);

  models::Shape input_;
  std::vector<TwinLayer> layers_;
  std::vector<std::int32_t> buffer_a_, buffer_b_, padded_;
  std::vector<std::int32_t> sums32_, converted_;
  std::vector<std::int64_t> sums64_;
  models::FixedPointFormat logit_format_;
};

}  // namespace larsel::fpga
