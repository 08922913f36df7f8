#include "hls_firmware.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace larsel::fpga::detail {
namespace {

using Kind = HlsStage::Kind;

bool weighted(const HlsStage& s) { return s.kind == Kind::conv2d || s.kind == Kind::dense; }

std::string config_name(const HlsStage& s) { return "config_" + s.name; }

std::string shape_comment(const HlsTensor& t) { return fmt::format("{} x {} x {} (rows x columns x channels)", t.height, t.width, t.channels); }

std::string config_struct(const HlsNetwork& net, const HlsStage& s) {
  std::string body;
  const auto field = [&body](const char* name, long long value) { body += fmt::format("  static const unsigned {} = {};\n", name, value); };
  const auto type = [&body, &s](const char* name, const char* suffix) { body += fmt::format("  typedef {}_{} {};\n", s.name, suffix, name); };
  std::string base;
  switch (s.kind) {
    case Kind::read_frames:
      base = "nnet::frame_reader_config";
      field("frame_pixels", net.frame_pixels()), field("words_per_frame", net.words_per_frame());
      break;
    case Kind::zeropad:
      base = "nnet::zeropad2d_config";
      field("in_height", s.input.height), field("in_width", s.input.width), field("n_chan", s.input.channels);
      field("pad_top", s.pad_top), field("pad_bottom", s.pad_bottom), field("pad_left", s.pad_left), field("pad_right", s.pad_right);
      field("out_height", s.output.height), field("out_width", s.output.width);
      break;
    case Kind::conv2d:
      base = "nnet::conv2d_config";
      field("in_height", s.input.height), field("in_width", s.input.width), field("n_chan", s.input.channels);
      field("filt_height", s.kernel_height), field("filt_width", s.kernel_width), field("n_filt", s.output.channels);
      field("out_height", s.output.height), field("out_width", s.output.width);
      field("n_taps", static_cast<long long>(s.taps.size()));
      type("accum_t", "accum_t"), type("weight_t", "weight_t"), type("bias_t", "bias_t");
      break;
    case Kind::relu:
      base = "nnet::activ_config";
      field("n_pixels", s.input.pixels()), field("n_chan", s.input.channels);
      break;
    case Kind::maxpool:
      base = "nnet::pooling2d_config";
      field("in_height", s.input.height), field("in_width", s.input.width), field("n_chan", s.input.channels);
      field("pool_height", s.kernel_height), field("pool_width", s.kernel_width);
      field("out_height", s.output.height), field("out_width", s.output.width);
      break;
    case Kind::dense:
      base = "nnet::dense_config";
      field("n_pixels", s.input.pixels()), field("n_chan", s.input.channels), field("n_out", s.output.channels);
      field("slots_per_unit", s.slots_per_unit), field("slots_per_cycle", s.slots_per_cycle);
      type("accum_t", "accum_t"), type("weight_t", "weight_t"), type("bias_t", "bias_t");
      break;
    case Kind::write_scores: return {};
  }
  return fmt::format("// {}: {} -> {}\nstruct {} : {} {{\n{}}};\n\n", s.name, shape_comment(s.input), shape_comment(s.output),
                     config_name(s), base, body);
}

/// The template call of a stage in the top function.
std::string stage_call(const HlsNetwork& net, std::size_t i) {
  const HlsStage& s = net.stages[i];
  const std::string in = i > 0 ? "s_" + net.stages[i - 1].name : "", out = "s_" + s.name;
  const std::string in_t = i > 0 ? pixel_type_name(net, i - 1) : "", out_t = pixel_type_name(net, i), cfg = config_name(s);
  switch (s.kind) {
    case Kind::read_frames: return fmt::format("nnet::read_frames<{}, {}>(frames, {}, n_frames);", out_t, cfg, out);
    case Kind::zeropad: return fmt::format("nnet::zeropad2d_cl<{}, {}>({}, {}, n_frames);", in_t, cfg, in, out);
    case Kind::conv2d:
      return fmt::format("nnet::conv_2d_cl<{}, {}, {}>({}, {}, w_{}, b_{}, n_frames);", in_t, out_t, cfg, in, out, s.name, s.name);
    case Kind::relu: return fmt::format("nnet::relu<{}, {}, {}>({}, {}, n_frames);", in_t, out_t, cfg, in, out);
    case Kind::maxpool: return fmt::format("nnet::pooling2d_max_cl<{}, {}>({}, {}, n_frames);", in_t, cfg, in, out);
    case Kind::dense:
      return fmt::format("nnet::dense_cl<{}, {}, {}>({}, {}, w_{}, b_{}, n_frames);", in_t, out_t, cfg, in, out, s.name, s.name);
    case Kind::write_scores: return fmt::format("nnet::write_scores<{}>({}, scores, n_frames);", in_t, in);
  }
  return {};
}

}  // namespace

std::string pixel_type_name(const HlsNetwork& net, std::size_t i) {
  const HlsStage& s = net.stages[i];
  if (s.kind == Kind::read_frames) return "input_pixel_t";
  if (weighted(s)) return s.name + "_pixel_t";
  return pixel_type_name(net, i - 1);
}

int stream_depth(const HlsStage& stage) { return std::max(2, stage.output.width); }

std::string defines_header(const HlsNetwork& net) {
  std::string text =
      "#ifndef LARSEL_CNN_DEFINES_H_\n#define LARSEL_CNN_DEFINES_H_\n"
      "// One type per tensor. Stream elements are pixels: nnet::array<element, channels>.\n"
      "// Accumulators are wide enough that no sum rounds or overflows (hls-and-fpga.md §1.6).\n"
      "#include \"ap_fixed.h\"\n#include \"ap_int.h\"\n#include \"nnet/nnet_common.h\"\n\n";
  text += fmt::format("typedef {} input_t;\ntypedef nnet::array<input_t, 1> input_pixel_t;\n\n", hls_type(net.stages[0].output_type));
  for (std::size_t i = 0; i < net.stages.size(); ++i) {
    const HlsStage& s = net.stages[i];
    if (!weighted(s)) continue;
    text += fmt::format("typedef {} {}_weight_t;\n", hls_type(s.weight_type), s.name);
    text += fmt::format("typedef {} {}_bias_t;\n", hls_type(s.bias_type), s.name);
    text += fmt::format("typedef {} {}_accum_t;\n", s.accumulator.to_string(), s.name);
    text += fmt::format("typedef {} {}_result_t;\n", hls_type(s.output_type), s.name);
    text += fmt::format("typedef nnet::array<{}_result_t, {}> {};\n\n", s.name, s.output.channels, pixel_type_name(net, i));
  }
  return text + "#endif\n";
}

std::string parameters_header(const HlsNetwork& net) {
  std::string text =
      "#ifndef LARSEL_CNN_PARAMETERS_H_\n#define LARSEL_CNN_PARAMETERS_H_\n"
      "// One compile-time configuration per layer; the layer templates read only these.\n"
      "#include \"defines.h\"\n#include \"nnet/nnet_io.h\"\n#include \"nnet/nnet_padding_stream.h\"\n"
      "#include \"nnet/nnet_conv2d_stream.h\"\n#include \"nnet/nnet_activation_stream.h\"\n"
      "#include \"nnet/nnet_pooling_stream.h\"\n#include \"nnet/nnet_dense_stream.h\"\n\n";
  for (const HlsStage& s : net.stages) text += config_struct(net, s);
  return text + "#endif\n";
}

std::string weights_header(const HlsStage& s) {
  std::string guard = fmt::format("LARSEL_CNN_W_{}_H_", s.name);
  std::transform(guard.begin(), guard.end(), guard.begin(), [](char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); });
  const std::string layout = s.kind == Kind::conv2d ? "pruned weights are absent"
                                                    : fmt::format("pruned weights are absent from the slot lists, which are padded with "
                                                                  "{{0, 0}} to the longest row ({} slots)", s.slots_per_unit);
  std::string text = fmt::format("#ifndef {0}\n#define {0}\n// {1}: {2} of {3} weights non-zero; {8}.\n"
                                 "// Raw integers: weight = raw * 2^-{4} ({5}), bias = raw * 2^-{6} ({7}).\n#include \"../nnet/nnet_common.h\"\n\n",
                                 guard, s.name, s.nonzero_weights, s.total_weights, s.weight_type.fractional_bits(),
                                 hls_type(s.weight_type), s.bias_type.fractional_bits(), hls_type(s.bias_type), layout);
  if (s.kind == Kind::conv2d) {
    text += fmt::format("// {{filter, window index (ky * {} + kx) * {} + c, raw weight}}\n", s.kernel_width, s.input.channels);
    text += fmt::format("static const nnet::conv_tap w_{}[{}] = {{\n", s.name, s.taps.size());
    for (const HlsConvTap& t : s.taps) text += fmt::format("    {{{}, {}, {}}},\n", t.filter, t.window_index, t.weight_raw);
    text += "};\n";
  } else {
    text += fmt::format("// [pixel][unit][slot] {{channel, raw weight}}; {{0, 0}} pads a unit's row to {} slots\n", s.slots_per_unit);
    text += fmt::format("static const nnet::dense_slot w_{}[{}][{}][{}] = {{\n", s.name, s.slots.size(), s.output.channels, s.slots_per_unit);
    for (const auto& pixel : s.slots) {
      text += "    {";
      for (const auto& row : pixel) {
        text += "{";
        for (const HlsDenseSlot& slot : row) text += fmt::format("{{{}, {}}}, ", slot.channel, slot.weight_raw);
        text += "}, ";
      }
      text += "},\n";
    }
    text += "};\n";
  }
  text += fmt::format("static const int b_{}[{}] = {{{}}};\n\n#endif\n", s.name, s.bias_raw.size(), fmt::join(s.bias_raw, ", "));
  return text;
}

std::string kernel_header(const HlsNetwork& net) {
  return fmt::format(
      "#ifndef LARSEL_CNN_H_\n#define LARSEL_CNN_H_\n#include \"defines.h\"\n\n"
      "// Frames of {} pixels (raw {} bytes) packed from word f * {} of `frames` (64 pixels per\n"
      "// 512-bit word, pixel b in bits [8b+7:8b]); scores[f] = raw bits of frame f's logit ({}).\n"
      "extern \"C\" void larsel_cnn(const ap_uint<512>* frames, int* scores, unsigned n_frames);\n\n#endif\n",
      net.frame_pixels(), hls_type(net.stages[0].output_type), net.words_per_frame(), hls_type(net.logit_type));
}

std::string kernel_source(const HlsNetwork& net) {
  std::string text = "// Generated by larsel export-hls. The network as one DATAFLOW region of stream layers:\n// ";
  for (std::size_t i = 0; i < net.stages.size(); ++i) text += (i ? " -> " : "") + net.stages[i].name;
  text += "\n#include \"larsel_cnn.h\"\n#include \"parameters.h\"\n";
  for (const HlsStage& s : net.stages) {
    if (weighted(s)) text += fmt::format("#include \"weights/w_{}.h\"\n", s.name);
  }
  const int tb_words = kTestbenchBatchFrames * net.words_per_frame();
  text += fmt::format(
      "\nextern \"C\" void larsel_cnn(const ap_uint<512>* frames, int* scores, unsigned n_frames) {{\n"
      "// Two AXI masters (one per bank-mappable bundle); depth = the testbench's batch, for cosim only.\n"
      "#pragma HLS INTERFACE m_axi port = frames offset = slave bundle = gmem0 depth = {} max_read_burst_length = 64\n"
      "#pragma HLS INTERFACE m_axi port = scores offset = slave bundle = gmem1 depth = {}\n"
      "#pragma HLS INTERFACE s_axilite port = frames bundle = control\n"
      "#pragma HLS INTERFACE s_axilite port = scores bundle = control\n"
      "#pragma HLS INTERFACE s_axilite port = n_frames bundle = control\n"
      "#pragma HLS INTERFACE s_axilite port = return bundle = control\n"
      "#pragma HLS DATAFLOW\n",
      tb_words, kTestbenchBatchFrames);
  for (std::size_t i = 0; i < net.stages.size(); ++i) {
    const HlsStage& s = net.stages[i];
    if (s.kind != Kind::write_scores) {
      text += fmt::format("\n  hls::stream<{0}> s_{1}(\"s_{1}\");  // {2}\n#pragma HLS STREAM variable = s_{1} depth = {3}\n",
                          pixel_type_name(net, i), s.name, shape_comment(s.output), stream_depth(s));
    }
    text += "  " + stage_call(net, i) + "\n";
  }
  return text + "}\n";
}

}  // namespace larsel::fpga::detail
