#include "larsel/models/fixed_point_inference.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace larsel::models {
namespace {

std::vector<std::int64_t> raw_values(const FloatBuffer& values, const FixedPointFormat& format) {
  std::vector<std::int64_t> raw(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) raw[i] = to_raw(values[i], format);
  return raw;
}

/// Sum (fractional bits `sum_f`) plus bias (bias_f), aligned without rounding, converted to `out`.
std::int64_t finish(std::int64_t sum, int sum_f, std::int64_t bias, int bias_f, const FixedPointFormat& out) {
  const int f = std::max(sum_f, bias_f);
  const std::int64_t total = sum * (std::int64_t{1} << (f - sum_f)) + bias * (std::int64_t{1} << (f - bias_f));
  return requantize_raw(total, f, out);
}

}  // namespace

FixedPointInference::FixedPointInference(Model& model) : input_shape_(model.input_shape()) {
  const Architecture& a = model.architecture();
  if (!is_quantized(a)) throw std::invalid_argument("fixed-point inference: the model is not quantized");
  const std::vector<std::string> names = layer_names(a);
  FixedPointFormat input = input_format(a.input_scale);
  for (std::size_t i = 0; i < a.layers.size(); ++i) {
    const LayerSpec& spec = a.layers[i];
    Layer& layer = *model.network().layers()[i];
    Step step;
    step.kind = spec.kind, step.input = layer.input_shape(), step.output = layer.output_shape();
    if (spec.kind == LayerKind::conv2d || spec.kind == LayerKind::dense) {
      const LayerQuantization& q = *spec.quantization;
      const bool conv = spec.kind == LayerKind::conv2d;
      const FloatBuffer& weights = conv ? static_cast<Conv2D&>(layer).weights : static_cast<Dense&>(layer).weights;
      const FloatBuffer& bias = conv ? static_cast<Conv2D&>(layer).bias : static_cast<Dense&>(layer).bias;
      step.weights = raw_values(weights, q.weight);
      step.bias = raw_values(bias, q.bias);
      step.product_fractional_bits = input.fractional_bits() + q.weight.fractional_bits();
      step.bias_fractional_bits = q.bias.fractional_bits();
      step.output_format = q.output;
      if (conv) {
        step.kernel_height = spec.kernel_height, step.kernel_width = spec.kernel_width;
        step.pad_top = spec.padding == Padding::same ? (spec.kernel_height - 1) / 2 : 0;
        step.pad_left = spec.padding == Padding::same ? (spec.kernel_width - 1) / 2 : 0;
      }
      const std::size_t products = layer.multiply_accumulates() / layer.output_shape().size();
      formats_.push_back({names[i], input, q, accumulator_format(input, q, products)});
      if (formats_.back().accumulator.width > 62) {
        throw std::invalid_argument(fmt::format("fixed-point inference: {} needs a {}-bit accumulator", names[i],
                                                formats_.back().accumulator.width));
      }
      input = q.output;
    } else if (spec.kind == LayerKind::maxpool) {
      step.window_height = spec.window_height, step.window_width = spec.window_width;
    } else if (spec.kind != LayerKind::relu && spec.kind != LayerKind::flatten) {
      throw std::invalid_argument(fmt::format("fixed-point inference: layer {} cannot be quantized", i));
    }
    steps_.push_back(std::move(step));
  }
  logit_format_ = input;
}

void FixedPointInference::convolve(const Step& s, const std::vector<std::int64_t>& in, std::vector<std::int64_t>& out) const {
  const Shape& i = s.input;
  const Shape& o = s.output;
  for (int f = 0; f < o.channels; ++f) {
    for (int y = 0; y < o.height; ++y) {
      for (int x = 0; x < o.width; ++x) {
        std::int64_t sum = 0;
        for (int c = 0; c < i.channels; ++c) {
          for (int dy = 0; dy < s.kernel_height; ++dy) {
            const int iy = y + dy - s.pad_top;
            if (iy < 0 || iy >= i.height) continue;
            for (int dx = 0; dx < s.kernel_width; ++dx) {
              const int ix = x + dx - s.pad_left;
              if (ix < 0 || ix >= i.width) continue;
              const std::size_t w = static_cast<std::size_t>(((f * i.channels + c) * s.kernel_height + dy) * s.kernel_width + dx);
              sum += s.weights[w] * in[static_cast<std::size_t>((c * i.height + iy) * i.width + ix)];
            }
          }
        }
        out[static_cast<std::size_t>((f * o.height + y) * o.width + x)] =
            finish(sum, s.product_fractional_bits, s.bias[static_cast<std::size_t>(f)], s.bias_fractional_bits, s.output_format);
      }
    }
  }
}

void FixedPointInference::dense(const Step& s, const std::vector<std::int64_t>& in, std::vector<std::int64_t>& out) const {
  const std::size_t inputs = s.input.size();
  for (std::size_t u = 0; u < s.output.size(); ++u) {
    std::int64_t sum = 0;
    for (std::size_t k = 0; k < inputs; ++k) sum += s.weights[u * inputs + k] * in[k];
    out[u] = finish(sum, s.product_fractional_bits, s.bias[u], s.bias_fractional_bits, s.output_format);
  }
}

void FixedPointInference::max_pool(const Step& s, const std::vector<std::int64_t>& in, std::vector<std::int64_t>& out) {
  const Shape& i = s.input;
  const Shape& o = s.output;
  for (int c = 0; c < o.channels; ++c) {
    for (int y = 0; y < o.height; ++y) {
      for (int x = 0; x < o.width; ++x) {
        std::int64_t best = in[static_cast<std::size_t>((c * i.height + y * s.window_height) * i.width + x * s.window_width)];
        for (int dy = 0; dy < s.window_height; ++dy) {
          for (int dx = 0; dx < s.window_width; ++dx) {
            const int iy = y * s.window_height + dy, ix = x * s.window_width + dx;
            best = std::max(best, in[static_cast<std::size_t>((c * i.height + iy) * i.width + ix)]);
          }
        }
        out[static_cast<std::size_t>((c * o.height + y) * o.width + x)] = best;
      }
    }
  }
}

std::int64_t FixedPointInference::raw_logit(std::span<const std::uint8_t> image) const {
  if (image.size() != input_shape_.size()) {
    throw std::invalid_argument(fmt::format("fixed-point inference: an image of {} pixels, the model takes {}", image.size(),
                                            input_shape_.size()));
  }
  std::vector<std::int64_t> current(image.begin(), image.end()), next;  // pixel = raw value at the input format
  for (const Step& step : steps_) {
    next.assign(step.output.size(), 0);
    switch (step.kind) {
      case LayerKind::conv2d: convolve(step, current, next); break;
      case LayerKind::dense: dense(step, current, next); break;
      case LayerKind::maxpool: max_pool(step, current, next); break;
      case LayerKind::relu:
        for (std::size_t k = 0; k < current.size(); ++k) next[k] = std::max<std::int64_t>(current[k], 0);
        break;
      default: next = current;  // flatten: NCHW order unchanged
    }
    current.swap(next);
  }
  return current.at(0);
}

double FixedPointInference::logit(std::span<const std::uint8_t> image) const {
  return from_raw(raw_logit(image), logit_format_);
}

}  // namespace larsel::models
