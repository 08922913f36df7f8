#pragma once
// Pieces shared by the quantization-aware Conv2D and Dense (layers.hpp).
// Exactness: inputs and weights sit on power-of-two grids, so every product
// is an integer times one LSB; a double holds such sums exactly while they
// stay below 2^53 LSB, which check_exact_accumulation (fixed_point_inference.hpp)
// guarantees for a whole network. Summation order then cannot matter, and the
// conversion of the exact sum is what requantize_raw does to the integer accumulator.
#include <span>
#include <stdexcept>

#include "larsel/models/layer_quantization.hpp"
#include "larsel/models/tensor.hpp"

namespace larsel::models::detail {

/// effective = Q(values) in `format`.
inline void quantize_copy(const FloatBuffer& values, const FixedPointFormat& format, FloatBuffer& effective) {
  effective.assign(values.begin(), values.end());
  quantize(std::span<float>(effective), format);
}

/// out = Q(accumulator) in the output format; keeps the unconverted sum in
/// `pre` (when given) for the straight-through mask of backward.
inline void convert_output(std::span<const double> accumulator, std::span<float> out, const FixedPointFormat& format,
                           float* pre) {
  quantize(accumulator, out, format);
  if (pre != nullptr) {
    for (std::size_t i = 0; i < accumulator.size(); ++i) pre[i] = static_cast<float>(accumulator[i]);
  }
}

/// The output gradient with the straight-through mask of the output conversion applied.
inline const Batch& mask_output_gradient(const Batch& grad_out, const FloatBuffer& pre, const FixedPointFormat& format,
                                         Batch& masked) {
  if (pre.size() != grad_out.values.size()) {
    throw std::logic_error("quantized layer: backward without a training forward of the same batch");
  }
  masked.reshape(grad_out.count, grad_out.shape);
  std::copy(grad_out.values.begin(), grad_out.values.end(), masked.values.begin());
  straight_through(std::span<const float>(pre.data(), masked.values.size()), masked.values, format);
  return masked;
}

}  // namespace larsel::models::detail
