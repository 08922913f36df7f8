#pragma once
// The HLS kernel's view of a quantized model: the chain of stream stages the
// top function calls (frame reader, zero padding, convolutions, ReLUs,
// pooling, dense layers, score writer), each with its tensor shapes, its
// ap_fixed types and, for weighted stages, its non-zero weights as raw
// integers. The firmware writer and the resource estimate both read it.
#include <cstdint>
#include <string>
#include <vector>

#include "larsel/models/fixed_point.hpp"
#include "larsel/models/layer_quantization.hpp"
#include "larsel/models/model.hpp"

namespace larsel::fpga::detail {

struct HlsTensor {
  int height = 1, width = 1, channels = 1;
  [[nodiscard]] int pixels() const noexcept { return height * width; }
};

struct HlsConvTap {
  int filter, window_index;  // window_index = (ky * kw + kx) * channels + c
  std::int64_t weight_raw;
};

struct HlsDenseSlot {
  int channel;
  std::int64_t weight_raw;  // 0 in padding slots
};

struct HlsStage {
  enum class Kind { read_frames, zeropad, conv2d, relu, maxpool, dense, write_scores };
  Kind kind = Kind::relu;
  std::string name;                       // conv1, relu1, pad1, pool1, dense1, ...
  HlsTensor input, output;
  models::FixedPointFormat input_type, output_type;  // element types of the streams in and out
  int kernel_height = 1, kernel_width = 1;           // conv2d; maxpool window
  int pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;  // zeropad
  // conv2d, dense:
  models::FixedPointFormat weight_type, bias_type;
  models::AccumulatorFormat accumulator;
  std::vector<HlsConvTap> taps;                      // conv2d: the non-zero weights
  std::vector<std::vector<std::vector<HlsDenseSlot>>> slots;  // dense: [pixel][unit][slot]
  int slots_per_unit = 0;                            // dense
  int slots_per_cycle = 1;                           // dense: 1, or slots_per_unit when one slot per cycle is too slow
  std::vector<std::int64_t> bias_raw;
  std::size_t nonzero_weights = 0, total_weights = 0;
};

/// Cycles a stage spends per frame: one pixel (or dense slot row) per cycle.
long long stage_cycles(const HlsStage& stage);

struct HlsNetwork {
  models::Shape input;                 // channels x height x width of one frame
  std::vector<HlsStage> stages;        // read_frames first, write_scores last
  models::FixedPointFormat logit_type;
  [[nodiscard]] int frame_pixels() const noexcept { return static_cast<int>(input.size()); }
  [[nodiscard]] int words_per_frame() const noexcept { return (frame_pixels() + 63) / 64; }
};

/// The stages of `model`; std::invalid_argument naming the layer when it is not
/// quantized or has a layer without an HLS template (the kernel takes one input channel).
HlsNetwork describe_hls_network(models::Model& model);

/// The C++ spelling of a format, e.g. ap_fixed<16,7,AP_RND,AP_SAT>.
std::string hls_type(const models::FixedPointFormat& format);

}  // namespace larsel::fpga::detail
