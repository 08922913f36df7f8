// The software twin (include/larsel/fpga/twin.hpp): the model's layers as raw
// integers, and the path that runs them: the packed plan laid out for the
// kernel set's kernel, or the generic path.
#include "larsel/fpga/twin.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "larsel/models/layer_quantization.hpp"
#include "twin_generic.hpp"
#include "twin_kernel.hpp"
#include "twin_plan.hpp"

namespace larsel::fpga {

namespace detail {
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

std::vector<TwinLayer> twin_layers(models::Model& model, models::FixedPointFormat& logit_format) {
  const models::Architecture& a = model.architecture();
  if (!models::is_quantized(a)) throw std::invalid_argument("twin: the model is not quantized (larsel compress makes one)");
  models::FixedPointFormat format = models::input_format(a.input_scale);
  std::vector<TwinLayer> layers;
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
    if (t.kind == TwinLayer::Kind::relu && !layers.empty() &&
        (layers.back().kind == TwinLayer::Kind::conv2d || layers.back().kind == TwinLayer::Kind::dense)) {
      layers.back().relu_after = true;  // fused into the output conversion
      continue;
    }
    layers.push_back(std::move(t));
  }
  logit_format = format;
  return layers;
}

}  // namespace detail

struct Twin::Impl {
  models::Shape input;
  std::vector<detail::TwinLayer> layers;
  models::FixedPointFormat logit_format;
  detail::TwinKernel kernel;
  std::shared_ptr<const detail::PackedPlan> plan;  // immutable, shared by copies; null: the generic path
  detail::PackedBuffers buffers;                    // the packed path's
  std::optional<detail::GenericTwin> generic;       // the generic path's buffers
};

Twin::Twin(models::Model& model, std::optional<core::KernelSet> kernels) : impl_(std::make_unique<Impl>()) {
  const core::KernelSet set = kernels ? *kernels : core::selected_kernel_set();
  const std::vector<std::string> missing = core::missing_features(set);
  if (!missing.empty()) {
    throw std::invalid_argument(fmt::format("twin: this CPU cannot run the {} kernels (it lacks {})", core::name(set), fmt::join(missing, ", ")));
  }
  Impl& m = *impl_;
  m.input = model.input_shape();
  m.layers = detail::twin_layers(model, m.logit_format);
  m.kernel = detail::twin_kernel(set);
  m.plan = detail::make_packed_plan(m.layers, m.input, m.kernel.traits);
  if (m.plan) {
    detail::make_packed_buffers(*m.plan, m.buffers);
    const std::vector<std::uint8_t> empty(m.input.size(), 0);  // an empty frame, all rows computed, remembered
    m.kernel.run(*m.plan, m.layers, m.buffers, empty);
    detail::remember_empty_frame(*m.plan, m.buffers);
  } else {
    m.generic.emplace(m.layers, m.input);
  }
}

Twin::Twin(const Twin& other) : impl_(std::make_unique<Impl>(*other.impl_)) {}
Twin& Twin::operator=(const Twin& other) {
  if (this != &other) impl_ = std::make_unique<Impl>(*other.impl_);
  return *this;
}
Twin::Twin(Twin&&) noexcept = default;
Twin& Twin::operator=(Twin&&) noexcept = default;
Twin::~Twin() = default;

std::int64_t Twin::raw_logit(std::span<const std::uint8_t> image) {
  Impl& m = *impl_;
  if (image.size() != m.input.size()) {
    throw std::invalid_argument(fmt::format("twin: an image of {} pixels, the model takes {}", image.size(), m.input.size()));
  }
  if (m.plan) return m.kernel.run(*m.plan, m.layers, m.buffers, image);
  return m.generic->raw_logit(m.layers, image);
}

const models::FixedPointFormat& Twin::logit_format() const noexcept { return impl_->logit_format; }
std::size_t Twin::input_size() const noexcept { return impl_->input.size(); }
bool Twin::packed() const noexcept { return impl_->plan != nullptr; }
core::KernelSet Twin::kernel_set() const noexcept { return impl_->plan ? impl_->kernel.traits.set : core::KernelSet::baseline; }
std::string Twin::kernel_name() const {
  return impl_->plan ? fmt::format("{}-packed", core::name(impl_->kernel.traits.set)) : std::string("generic");
}

std::vector<TwinLayerSummary> Twin::weighted_layers() const {
  std::vector<TwinLayerSummary> summary;
  for (const detail::TwinLayer& t : impl_->layers) {
    if (t.kind != detail::TwinLayer::Kind::conv2d && t.kind != detail::TwinLayer::Kind::dense) continue;
    std::size_t weights = 0;
    for (const auto& unit : t.taps) weights += unit.size();
    summary.push_back({t.kind == detail::TwinLayer::Kind::conv2d, weights, t.accumulator_width});
  }
  return summary;
}

}  // namespace larsel::fpga
