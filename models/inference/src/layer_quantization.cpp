#include "larsel/models/layer_quantization.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "larsel/core/errors.hpp"
#include "larsel/core/json_fields.hpp"

namespace larsel::models {

using nlohmann::json;

json to_json(const LayerQuantization& q) {
  return {{"weight", q.weight.to_string()}, {"bias", q.bias.to_string()}, {"output", q.output.to_string()}};
}

FixedPointFormat format_from_json(const json& j, const std::string& where) {
  try {
    if (j.is_string()) return parse_fixed_point_format(j.get<std::string>());
    if (j.is_object()) return fixed_point_format_from_json(j);
  } catch (const std::invalid_argument& e) {
    throw core::ConfigError(fmt::format("{}: {}", where, e.what()));
  }
  throw core::ConfigError(fmt::format("{}: expected an HLS type such as \"ap_fixed<8,3,AP_RND,AP_SAT>\" or a mapping, got {}",
                                where, core::shown(j)));
}

LayerQuantization layer_quantization_from_json(const json& j, const std::string& where) {
  if (!j.is_object()) throw core::ConfigError(fmt::format("{}: expected a mapping with weight, bias and output", where));
  for (const auto& item : j.items()) {
    if (item.key() != "weight" && item.key() != "bias" && item.key() != "output") {
      throw core::ConfigError(fmt::format("{}.{}: unknown key (weight, bias, output)", where, item.key()));
    }
  }
  LayerQuantization q;
  for (const auto& [key, format] : {std::pair{"weight", &q.weight}, {"bias", &q.bias}, {"output", &q.output}}) {
    if (!j.contains(key)) throw core::ConfigError(fmt::format("{}.{}: required", where, key));
    *format = format_from_json(j.at(key), where + "." + key);
  }
  return q;
}

std::optional<int> input_fractional_bits(float input_scale) {
  int exponent = 0;
  const float mantissa = std::frexp(input_scale, &exponent);
  if (mantissa != 0.5f) return std::nullopt;
  return 1 - exponent;  // input_scale = 2^(exponent - 1)
}

FixedPointFormat fit_integer_bits(FixedPointFormat format, double largest_magnitude) {
  if (!std::isfinite(largest_magnitude)) {
    throw std::invalid_argument(fmt::format("fixed-point: cannot fit integer bits to {}", largest_magnitude));
  }
  const int width = format.width;
  for (int integer = -width; integer <= kMaxFixedPointWidth + 24; ++integer) {
    format.integer_bits = integer;
    if (std::abs(format.fractional_bits()) > kMaxFixedPointFractionalBits) continue;
    const double rounded = std::ldexp(std::nearbyint(std::ldexp(largest_magnitude, format.fractional_bits())),
                                      -format.fractional_bits());
    if (rounded <= format.max_value()) return format;
  }
  throw std::invalid_argument(fmt::format("fixed-point: no integer_bits lets a {}-bit format hold {}", width, largest_magnitude));
}

std::string AccumulatorFormat::to_string() const { return fmt::format("ap_fixed<{},{}>", width, integer_bits); }

AccumulatorFormat accumulator_format(const FixedPointFormat& input, const LayerQuantization& layer, std::size_t products) {
  const int input_width = input.width + (input.is_signed ? 0 : 1);
  const int input_integer = input.integer_bits + (input.is_signed ? 0 : 1);
  const int weight_width = layer.weight.width + (layer.weight.is_signed ? 0 : 1);
  const int weight_integer = layer.weight.integer_bits + (layer.weight.is_signed ? 0 : 1);
  int growth = 0;
  while ((std::size_t{1} << growth) < products) ++growth;
  const int sum_integer = input_integer + weight_integer + growth;
  const int sum_fraction = (input_width - input_integer) + (weight_width - weight_integer);
  const int bias_integer = layer.bias.integer_bits + (layer.bias.is_signed ? 0 : 1);
  const int fraction = std::max(sum_fraction, layer.bias.fractional_bits());
  const int integer = std::max(sum_integer, bias_integer) + 1;
  return {integer + fraction, integer};
}

FixedPointFormat input_format(float input_scale) {
  const std::optional<int> fraction = input_fractional_bits(input_scale);
  if (!fraction) throw std::invalid_argument(fmt::format("input_scale {} is not a power of two", input_scale));
  FixedPointFormat format;
  format.width = 8, format.integer_bits = 8 - *fraction, format.is_signed = false;
  return format;
}

}  // namespace larsel::models
