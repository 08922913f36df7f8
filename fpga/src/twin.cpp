#include "larsel/fpga/twin.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "larsel/models/layer_quantization.hpp"
#include "twin_packed.hpp"
#include "twin_requantize.hpp"

namespace larsel::fpga {
namespace {

using models::LayerKind;

/// Raw integers of a weight or bias tensor in `format`.
std::vector<std::int64_t> raw_values(const models::FloatBuffer& values, const models::FixedPointFormat& format) {
  std::vector<std::int64_t> raw(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) raw[i] = models::to_raw(values[i], format);
  return raw;
}

/// Conv2d or dense: non-zero weights as taps at the accumulator's fraction, and the aligned bias.
TwinLayer weighted_layer(const models::LayerSpec& spec, models::Layer& layer, const models::FixedPointFormat& input) {
  const models::LayerQuantization& q = *spec.quantization;
  const std::vector<models::Parameter> p = layer.parameters();
  const std::vector<std::int64_t> weights = raw_values(*p.at(0).values, q.weight), bias = raw_values(*p.at(1).values, q.bias);
  TwinLayer t;
  t.input = layer.input_shape(), t.output = layer.output_shape(), t.input_format = input, t.output_format = q.output;
  const std::size_t products = layer.multiply_accumulates() / t.output.size();
  const models::AccumulatorFormat accumulator = models::accumulator_format(input, q, products);
  t.accumulator_fraction = accumulator.fractional_bits();
  t.accumulator_width = accumulator.width;
  t.wide_accumulator = accumulator.width > 32;
  if (accumulator.width > 62) {
    throw std::invalid_argument(fmt::format("twin: a {}-bit accumulator does not fit 64-bit integers", accumulator.width));
  }
  const int product_shift = t.accumulator_fraction - (input.fractional_bits() + q.weight.fractional_bits());
  const int bias_shift = t.accumulator_fraction - q.bias.fractional_bits();
  t.product_shift = product_shift;
  const int channels = t.output.channels;
  const std::size_t per_output = weights.size() / static_cast<std::size_t>(channels);
  const int kernel_height = spec.kind == LayerKind::conv2d ? spec.kernel_height : 1;
  const int kernel_width = spec.kind == LayerKind::conv2d ? spec.kernel_width : 1;
  t.taps.resize(static_cast<std::size_t>(channels));
  for (int f = 0; f < channels; ++f) {
    for (std::size_t k = 0; k < per_output; ++k) {
      const std::int64_t w = weights[static_cast<std::size_t>(f) * per_output + k];
      if (w == 0) continue;  // pruned (or rounded to zero): no multiplier
      const int tap = static_cast<int>(k);
      const int in = spec.kind == LayerKind::conv2d ? tap / (kernel_height * kernel_width) : tap;
      const int dy = spec.kind == LayerKind::conv2d ? tap / kernel_width % kernel_height : 0;
      const int dx = spec.kind == LayerKind::conv2d ? tap % kernel_width : 0;
      t.taps[static_cast<std::size_t>(f)].push_back({in, dy, dx, w * (std::int64_t{1} << product_shift), 0});
    }
    t.bias.push_back(bias[static_cast<std::size_t>(f)] * (std::int64_t{1} << bias_shift));
  }
  if (spec.kind == LayerKind::conv2d) {
    t.kind = TwinLayer::Kind::conv2d;
    t.pad_top = (t.output.height + spec.kernel_height - 1 - t.input.height) / 2;
    t.pad_left = (t.output.width + spec.kernel_width - 1 - t.input.width) / 2;
    t.window_height = spec.kernel_height, t.window_width = spec.kernel_width;
    const std::size_t padded_width = static_cast<std::size_t>(t.output.width + t.window_width - 1);
    const std::size_t padded_plane = static_cast<std::size_t>(t.output.height + t.window_height - 1) * padded_width;
    for (auto& unit : t.taps) {
      for (TwinLayer::Tap& tap : unit) {
        tap.offset = static_cast<std::size_t>(tap.input) * padded_plane + static_cast<std::size_t>(tap.dy) * padded_width +
                     static_cast<std::size_t>(tap.dx);
      }
    }
  } else {
    t.kind = TwinLayer::Kind::dense;
  }
  return t;
}

}  // namespace

Twin::Twin(models::Model& model) : input_(model.input_shape()) {
  const models::Architecture& a = model.architecture();
  if (!models::is_quantized(a)) throw std::invalid_argument("twin: the model is not quantized (larsel compress makes one)");
  models::FixedPointFormat format = models::input_format(a.input_scale);
  std::size_t largest = input_.size(), largest_padded = 0;
  for (std::size_t i = 0; i < a.layers.size(); ++i) {
    const models::LayerSpec& spec = a.layers[i];
    models::Layer& layer = *model.network().layers()[i];
    TwinLayer t;
    if (spec.kind == LayerKind::conv2d || spec.kind == LayerKind::dense) {
      t = weighted_layer(spec, layer, format);
      format = spec.quantization->output;
    } else if (spec.kind == LayerKind::relu || spec.kind == LayerKind::flatten || spec.kind == LayerKind::maxpool) {
      t.kind = spec.kind == LayerKind::relu ? TwinLayer::Kind::relu
               : spec.kind == LayerKind::flatten ? TwinLayer::Kind::flatten : TwinLayer::Kind::maxpool;
      t.input = layer.input_shape(), t.output = layer.output_shape();
      t.window_height = spec.window_height, t.window_width = spec.window_width;
    } else {
      throw std::invalid_argument(fmt::format("twin: layer {} ({}) is not one the kernel runs", i, layer.kind()));
    }
    largest = std::max(largest, t.output.size());
    if (t.kind == TwinLayer::Kind::conv2d) {
      const std::size_t padded_width = static_cast<std::size_t>(t.output.width + t.window_width - 1);
      const std::size_t padded = static_cast<std::size_t>(t.input.channels) *
                                 static_cast<std::size_t>(t.output.height + t.window_height - 1) * padded_width;
      // Slack: sums run over whole 64-byte blocks, and the last row's taps read past the plane (see convolve).
      largest_padded = std::max(largest_padded, padded + static_cast<std::size_t>(t.window_width) + 16);
      largest = std::max(largest, static_cast<std::size_t>(t.output.height) * padded_width + 16);
    }
    if (t.kind == TwinLayer::Kind::relu && !layers_.empty() &&
        (layers_.back().kind == TwinLayer::Kind::conv2d || layers_.back().kind == TwinLayer::Kind::dense)) {
      layers_.back().relu_after = true;  // fused into the output conversion
      continue;
    }
    layers_.push_back(std::move(t));
  }
  logit_format_ = format;
  packed_ = detail::make_packed_plan(layers_, input_);
  if (packed_) {
    detail::make_packed_buffers(*packed_, packed_buffers_);
    return;
  }
  buffer_a_.resize(largest), buffer_b_.resize(largest), padded_.resize(largest_padded);
  sums32_.resize(largest), sums64_.resize(largest), converted_.resize(largest);
}

// Sums are computed on the padded grid (rows of padded_width, the last kernel_width - 1 columns
// unused), so each tap is one contiguous multiply-add over the whole plane: long loops that
// vectorise, instead of rows of 8 or 16. The buffer has kernel_width of slack for the last row.
void Twin::convolve(const TwinLayer& t, const std::int32_t* in, std::int32_t* out) {
  const int padded_height = t.output.height + t.window_height - 1, padded_width = t.output.width + t.window_width - 1;
  const std::size_t padded_plane = static_cast<std::size_t>(padded_height * padded_width);
  std::fill(padded_.begin(), padded_.end(), 0);
  for (int c = 0; c < t.input.channels; ++c) {
    for (int y = 0; y < t.input.height; ++y) {
      const std::int32_t* row = in + (c * t.input.height + y) * t.input.width;
      std::copy(row, row + t.input.width, padded_.data() + c * padded_plane + static_cast<std::size_t>((y + t.pad_top) * padded_width + t.pad_left));
    }
  }
  const std::size_t plane = static_cast<std::size_t>(t.output.height * padded_width);
  const detail::Conversion conversion{t.accumulator_fraction, 0, t.output_format, t.relu_after};  // sums include the bias
  const auto run = [&](auto* sums) {
    using Acc = std::remove_pointer_t<decltype(sums)>;
    for (std::size_t f = 0; f < t.taps.size(); ++f) {
      std::fill(sums, sums + plane, static_cast<Acc>(t.bias[f]));
      for (const TwinLayer::Tap& tap : t.taps[f]) {
        const std::int32_t* __restrict source = padded_.data() + tap.offset;
        Acc* __restrict s = sums;
        const auto w = static_cast<Acc>(tap.weight);
        for (std::size_t k = 0; k < plane; ++k) s[k] += w * static_cast<Acc>(source[k]);
      }
      detail::requantize<Acc>(sums, plane, 0, conversion, converted_.data());
      for (int y = 0; y < t.output.height; ++y) {
        const std::int32_t* row = converted_.data() + static_cast<std::size_t>(y * padded_width);
        std::copy(row, row + t.output.width, out + (static_cast<int>(f) * t.output.height + y) * t.output.width);
      }
    }
  };
  if (t.wide_accumulator) run(sums64_.data());
  else run(sums32_.data());
}

void Twin::dense(const TwinLayer& t, const std::int32_t* in, std::int32_t* out) {
  for (std::size_t u = 0; u < t.taps.size(); ++u) {
    std::int64_t sum = t.bias[u];
    for (const TwinLayer::Tap& tap : t.taps[u]) sum += tap.weight * in[tap.input];
    sums64_[u] = sum;
  }
  const detail::Conversion conversion{t.accumulator_fraction, 0, t.output_format, t.relu_after};  // sums include the bias
  detail::requantize<std::int64_t>(sums64_.data(), t.taps.size(), 0, conversion, out);
}

std::int64_t Twin::raw_logit(std::span<const std::uint8_t> image) {
  if (image.size() != input_.size()) {
    throw std::invalid_argument(fmt::format("twin: an image of {} pixels, the model takes {}", image.size(), input_.size()));
  }
  if (packed_) return detail::run_packed(*packed_, layers_, packed_buffers_, image);
  return generic_logit(image);
}

std::int64_t Twin::generic_logit(std::span<const std::uint8_t> image) {
  std::int32_t* current = buffer_a_.data();
  std::int32_t* next = buffer_b_.data();
  std::copy(image.begin(), image.end(), current);  // pixel = raw value at the input format
  for (const TwinLayer& t : layers_) {
    switch (t.kind) {
      case TwinLayer::Kind::conv2d: convolve(t, current, next); break;
      case TwinLayer::Kind::dense: dense(t, current, next); break;
      case TwinLayer::Kind::relu: {
        std::int32_t* values = current;
        const std::size_t n = t.output.size();
        for (std::size_t k = 0; k < n; ++k) values[k] = std::max(values[k], 0);
        continue;
      }
      case TwinLayer::Kind::maxpool: detail::max_pool(t, current, next); break;
      case TwinLayer::Kind::flatten: continue;  // NCHW order unchanged
    }
    std::swap(current, next);
  }
  return current[0];
}

}  // namespace larsel::fpga
