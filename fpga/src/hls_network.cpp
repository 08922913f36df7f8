#include "hls_network.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace larsel::fpga::detail {
namespace {

using models::LayerKind;

HlsTensor tensor(const models::Shape& shape) { return {shape.height, shape.width, shape.channels}; }

std::vector<std::int64_t> raw_values(const models::FloatBuffer& values, const models::FixedPointFormat& format) {
  std::vector<std::int64_t> raw(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) raw[i] = models::to_raw(values[i], format);
  return raw;
}

/// Shared by conv2d and dense: types, accumulator, raw bias; returns the raw weights.
std::vector<std::int64_t> fill_weighted(HlsStage& s, const models::LayerSpec& spec, models::Layer& layer) {
  const models::LayerQuantization& q = *spec.quantization;
  const std::vector<models::Parameter> p = layer.parameters();
  s.weight_type = q.weight, s.bias_type = q.bias, s.output_type = q.output;
  const std::size_t products = layer.multiply_accumulates() / layer.output_shape().size();
  s.accumulator = models::accumulator_format(s.input_type, q, products);
  s.bias_raw = raw_values(*p.at(1).values, q.bias);
  std::vector<std::int64_t> weights = raw_values(*p.at(0).values, q.weight);
  s.total_weights = weights.size();
  s.nonzero_weights = static_cast<std::size_t>(std::count_if(weights.begin(), weights.end(), [](std::int64_t w) { return w != 0; }));
  return weights;
}

/// Conv weights [filter][channel][ky][kx] -> taps in hls4ml's window order, zeros left out.
void fill_conv_taps(HlsStage& s, const std::vector<std::int64_t>& weights) {
  const int kh = s.kernel_height, kw = s.kernel_width, channels = s.input.channels;
  for (int f = 0; f < s.output.channels; ++f) {
    for (int c = 0; c < channels; ++c) {
      for (int ky = 0; ky < kh; ++ky) {
        for (int kx = 0; kx < kw; ++kx) {
          const std::int64_t w = weights[static_cast<std::size_t>(((f * channels + c) * kh + ky) * kw + kx)];
          if (w != 0) s.taps.push_back({f, (ky * kw + kx) * channels + c, w});
        }
      }
    }
  }
}

/// Dense weights [unit][c * pixels + p] -> per (pixel, unit) slots of (channel, weight), padded with zeros.
void fill_dense_slots(HlsStage& s, const std::vector<std::int64_t>& weights) {
  const int pixels = s.input.pixels(), channels = s.input.channels, units = s.output.channels;
  const std::size_t inputs = static_cast<std::size_t>(pixels * channels);
  s.slots.assign(static_cast<std::size_t>(pixels), std::vector<std::vector<HlsDenseSlot>>(static_cast<std::size_t>(units)));
  s.slots_per_unit = 1;
  for (int p = 0; p < pixels; ++p) {
    for (int u = 0; u < units; ++u) {
      auto& row = s.slots[static_cast<std::size_t>(p)][static_cast<std::size_t>(u)];
      for (int c = 0; c < channels; ++c) {
        const std::int64_t w = weights[static_cast<std::size_t>(u) * inputs + static_cast<std::size_t>(c * pixels + p)];
        if (w != 0) row.push_back({c, w});
      }
      s.slots_per_unit = std::max(s.slots_per_unit, static_cast<int>(row.size()));
    }
  }
  for (auto& pixel : s.slots) {
    for (auto& row : pixel) row.resize(static_cast<std::size_t>(s.slots_per_unit), HlsDenseSlot{0, 0});
  }
}

HlsStage zero_padding(const HlsStage& conv, const models::LayerSpec& spec, int index) {
  HlsStage pad;
  pad.kind = HlsStage::Kind::zeropad, pad.name = fmt::format("pad{}", index);
  pad.input = conv.input, pad.input_type = pad.output_type = conv.input_type;
  pad.pad_top = (spec.kernel_height - 1) / 2, pad.pad_bottom = spec.kernel_height - 1 - pad.pad_top;
  pad.pad_left = (spec.kernel_width - 1) / 2, pad.pad_right = spec.kernel_width - 1 - pad.pad_left;
  pad.output = {conv.input.height + spec.kernel_height - 1, conv.input.width + spec.kernel_width - 1, conv.input.channels};
  return pad;
}

/// Dense layers take one slot per cycle when that keeps up with the slowest other stage, else all at once.
void choose_dense_parallelism(std::vector<HlsStage>& stages) {
  long long slowest = 0;
  for (const HlsStage& s : stages) {
    if (s.kind != HlsStage::Kind::dense) slowest = std::max(slowest, stage_cycles(s));
  }
  for (HlsStage& s : stages) {
    if (s.kind != HlsStage::Kind::dense) continue;
    s.slots_per_cycle = 1;
    if (stage_cycles(s) > slowest) s.slots_per_cycle = s.slots_per_unit;
  }
}

}  // namespace

long long stage_cycles(const HlsStage& s) {
  switch (s.kind) {
    case HlsStage::Kind::zeropad: return s.output.pixels();
    case HlsStage::Kind::dense: return static_cast<long long>(s.input.pixels()) * (s.slots_per_unit / s.slots_per_cycle);
    case HlsStage::Kind::write_scores: return 1;
    default: return s.input.pixels();
  }
}

std::string hls_type(const models::FixedPointFormat& format) { return format.to_string(); }

HlsNetwork describe_hls_network(models::Model& model) {
  const models::Architecture& a = model.architecture();
  if (!models::is_quantized(a)) throw std::invalid_argument("export-hls: the model is not quantized (larsel compress makes one)");
  HlsNetwork net;
  net.input = model.input_shape();
  if (net.input.channels != 1) throw std::invalid_argument("export-hls: the kernel reads one-channel frames");
  HlsStage reader;
  reader.kind = HlsStage::Kind::read_frames, reader.name = "input";
  reader.input = reader.output = tensor(net.input);
  reader.input_type = reader.output_type = models::input_format(a.input_scale);
  net.stages.push_back(reader);
  const std::vector<std::string> names = models::layer_names(a);
  int relus = 0, pools = 0, pads = 0;
  for (std::size_t i = 0; i < a.layers.size(); ++i) {
    const models::LayerSpec& spec = a.layers[i];
    models::Layer& layer = *model.network().layers()[i];
    const HlsStage& previous = net.stages.back();
    HlsStage s;
    s.input = previous.output, s.input_type = s.output_type = previous.output_type;
    s.output = tensor(layer.output_shape());
    if (spec.kind == LayerKind::flatten) continue;  // the dense layer reads the pixel stream in flatten order
    if (spec.kind == LayerKind::conv2d) {
      if (spec.padding == models::Padding::same) {
        net.stages.push_back(zero_padding(s, spec, ++pads));
        s.input = net.stages.back().output;
      }
      s.kind = HlsStage::Kind::conv2d, s.name = names[i];
      s.kernel_height = spec.kernel_height, s.kernel_width = spec.kernel_width;
      fill_conv_taps(s, fill_weighted(s, spec, layer));
    } else if (spec.kind == LayerKind::dense) {
      s.kind = HlsStage::Kind::dense, s.name = names[i];
      fill_dense_slots(s, fill_weighted(s, spec, layer));
    } else if (spec.kind == LayerKind::relu) {
      s.kind = HlsStage::Kind::relu, s.name = fmt::format("relu{}", ++relus);
    } else if (spec.kind == LayerKind::maxpool) {
      s.kind = HlsStage::Kind::maxpool, s.name = fmt::format("pool{}", ++pools);
      s.kernel_height = spec.window_height, s.kernel_width = spec.window_width;
    } else {
      throw std::invalid_argument(fmt::format("export-hls: layer {} ({}) has no HLS template", i, layer.kind()));
    }
    net.stages.push_back(std::move(s));
  }
  HlsStage writer;
  writer.kind = HlsStage::Kind::write_scores, writer.name = "scores";
  writer.input = writer.output = net.stages.back().output;
  writer.input_type = writer.output_type = net.stages.back().output_type;
  if (writer.input.pixels() * writer.input.channels != 1) throw std::invalid_argument("export-hls: the model must end in one logit");
  net.logit_type = writer.input_type;
  net.stages.push_back(writer);
  choose_dense_parallelism(net.stages);
  return net;
}

}  // namespace larsel::fpga::detail
