#pragma once
// The twin's generic path, for the models the packed plan cannot run exactly
// (activations or weights beyond int16, lane sums that could overflow int32,
// poolings other than 2x2, 2x1, 1x2): int32 activations, int32 or int64
// accumulators by each layer's overflow-free width, tap-by-tap plane
// multiply-adds in plain loops the compiler vectorises (for the baseline).
#include <cstdint>
#include <span>
#include <vector>

#include "twin_layers.hpp"

namespace larsel::fpga::detail {

class GenericTwin {
 public:
  GenericTwin(const std::vector<TwinLayer>& layers, models::Shape input);
  /// The raw logit of one image (of the model's input size).
  std::int64_t raw_logit(const std::vector<TwinLayer>& layers, std::span<const std::uint8_t> image);

 private:
  void convolve(const TwinLayer& layer, const std::int32_t* in, std::int32_t* out);
  void dense(const TwinLayer& layer, const std::int32_t* in, std::int32_t* out);

  std::vector<std::int32_t> buffer_a_, buffer_b_, padded_;
  std::vector<std::int32_t> sums32_, converted_;
  std::vector<std::int64_t> sums64_;
};

}  // namespace larsel::fpga::detail
