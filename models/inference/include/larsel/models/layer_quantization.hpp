#pragma once
// The fixed-point formats of one convolution or dense layer in
// quantization-aware training and integer inference (compression.md §1.6):
// weights and bias are stored on their grids, the products are summed in an
// accumulator wide enough never to round or overflow (hls-and-fpga.md §1.6),
// and the sum plus bias is converted once into the output format, before the
// ReLU. The layer's input is the previous layer's output format (ReLU and max
// pooling keep values on that grid), or the image: uint8 pixel x input_scale,
// ap_ufixed<8, 8 - log2(1 / input_scale)> for a power-of-two scale.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "larsel/models/fixed_point.hpp"

namespace larsel::models {

struct LayerQuantization {
  FixedPointFormat weight;
  FixedPointFormat bias;
  FixedPointFormat output;
  bool operator==(const LayerQuantization&) const = default;
};

/// {"weight": "ap_fixed<8,1,AP_RND_CONV,AP_SAT>", "bias": "...", "output": "..."} (HLS spellings).
nlohmann::json to_json(const LayerQuantization& quantization);
/// Strict: the three keys, each an HLS spelling or a format mapping
/// (fixed_point_format_from_json); throws core::ConfigError naming `where` and the key.
LayerQuantization layer_quantization_from_json(const nlohmann::json& json, const std::string& where);

/// A format given either as an HLS spelling ("ap_fixed<8,3,AP_RND,AP_SAT>") or
/// a mapping ({width: 8, integer: 3, rounding: rnd, overflow: sat}); throws
/// core::ConfigError naming `where`.
FixedPointFormat format_from_json(const nlohmann::json& json, const std::string& where);

/// The fractional bits of the CNN input, log2(1 / input_scale), or nullopt
/// when input_scale is not a power of two (then the input is not exact in fixed point).
std::optional<int> input_fractional_bits(float input_scale);

/// The smallest integer_bits (from -width) for which `format` holds
/// `largest_magnitude` without saturating (after rounding); the other fields
/// are kept. Used for "integer: auto" in the compression config.
FixedPointFormat fit_integer_bits(FixedPointFormat format, double largest_magnitude);

/// The overflow-free accumulator of a layer (hls-and-fpga.md §1.6, hls4ml's
/// infer_precision): products of `input` and weight need W_in + W_w bits
/// (an unsigned input counts one more, as a signed value), the sum of
/// `products` terms ceil(log2(products)) more, and adding the aligned bias one
/// more. Such a signed type never rounds or overflows.
struct AccumulatorFormat {
  int width = 0;
  int integer_bits = 0;
  [[nodiscard]] int fractional_bits() const noexcept { return width - integer_bits; }
  [[nodiscard]] std::string to_string() const;  // "ap_fixed<W,I>"
};
AccumulatorFormat accumulator_format(const FixedPointFormat& input, const LayerQuantization& layer, std::size_t products);

/// The format of the CNN input: ap_ufixed<8, 8 - F>, F = input_fractional_bits (which must exist).
FixedPointFormat input_format(float input_scale);

}  // namespace larsel::models
