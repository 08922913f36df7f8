// ONNX export: one graph node (or two, Flatten + Gemm) per layer of the
// BatchNorm-folded network. Tensors are NCHW until the first Flatten, then
// [N, features]; initializers are float32 raw_data (little-endian).
#include "larsel/models/onnx_export.hpp"

#include <bit>
#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include "fold_batch_norm.hpp"
#include "larsel/models/layers.hpp"

namespace larsel::models {
namespace {

static_assert(std::endian::native == std::endian::little, "ONNX raw_data is little-endian");

constexpr std::int64_t opset_version = 13;
constexpr const char* input_name = "image";
constexpr const char* output_name = "logit";
constexpr const char* batch_dim = "N";

/// A float32 graph input or output with a symbolic batch dimension first.
void set_value_info(onnx::ValueInfoProto& info, const std::string& name, const std::vector<std::int64_t>& dims) {
  info.set_name(name);
  auto* tensor = info.mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(onnx::TensorProto::FLOAT);
  auto* shape = tensor->mutable_shape();
  shape->add_dim()->set_dim_param(batch_dim);
  for (const std::int64_t d : dims) shape->add_dim()->set_dim_value(d);
}

onnx::AttributeProto& add_attribute(onnx::NodeProto& node, const std::string& name, onnx::AttributeProto::AttributeType type) {
  auto* attribute = node.add_attribute();
  attribute->set_name(name);
  attribute->set_type(type);
  return *attribute;
}

void add_int(onnx::NodeProto& node, const std::string& name, std::int64_t value) {
  add_attribute(node, name, onnx::AttributeProto::INT).set_i(value);
}

void add_ints(onnx::NodeProto& node, const std::string& name, const std::vector<std::int64_t>& values) {
  auto& attribute = add_attribute(node, name, onnx::AttributeProto::INTS);
  for (const std::int64_t v : values) attribute.add_ints(v);
}

/// Appends nodes to a graph, threading the current tensor from one to the next.
class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::GraphProto& graph) : graph_(graph), current_(input_name) {}

  /// A float32 initializer named `name` with shape `dims`.
  std::string add_initializer(const std::string& name, const std::vector<std::int64_t>& dims, std::span<const float> values) {
    auto* tensor = graph_.add_initializer();
    tensor->set_name(name);
    tensor->set_data_type(onnx::TensorProto::FLOAT);
    for (const std::int64_t d : dims) tensor->add_dims(d);
    tensor->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
    return name;
  }

  /// A node reading the current tensor (then `extra_inputs`) whose output becomes the current tensor.
  onnx::NodeProto& add_node(const std::string& op_type, const std::string& name, const std::vector<std::string>& extra_inputs = {}) {
    auto* node = graph_.add_node();
    node->set_op_type(op_type);
    node->set_name(name);
    node->add_input(current_);
    for (const std::string& input : extra_inputs) node->add_input(input);
    current_ = name + "_out";
    node->add_output(current_);
    return *node;
  }

  /// Makes the current tensor the graph output `name` (renaming the last node's output).
  void finish(const std::string& name) {
    if (graph_.node_size() == 0) add_node("Identity", "identity");
    graph_.mutable_node(graph_.node_size() - 1)->set_output(0, name);
    current_ = name;
  }

 private:
  onnx::GraphProto& graph_;
  std::string current_;
};

void add_conv(GraphBuilder& graph, const Conv2D& conv, const std::string& name) {
  const Shape in = conv.input_shape(), out = conv.output_shape();
  const std::string weights = graph.add_initializer(
      name + "_weights", {out.channels, in.channels, conv.kernel_height(), conv.kernel_width()}, conv.weights);
  const std::string bias = graph.add_initializer(name + "_bias", {out.channels}, conv.bias);
  auto& node = graph.add_node("Conv", name, {weights, bias});
  add_ints(node, "kernel_shape", {conv.kernel_height(), conv.kernel_width()});
  add_ints(node, "strides", {1, 1});
  const std::int64_t pad_top = conv.padding() == Padding::same ? (conv.kernel_height() - 1) / 2 : 0;
  const std::int64_t pad_left = conv.padding() == Padding::same ? (conv.kernel_width() - 1) / 2 : 0;
  add_ints(node, "pads", {pad_top, pad_left, pad_top, pad_left});  // begin (h, w), end (h, w)
}

void add_pool(GraphBuilder& graph, const Pool2D& pool, const std::string& name) {
  const bool is_max = std::string_view(pool.kind()) == "maxpool";
  auto& node = graph.add_node(is_max ? "MaxPool" : "AveragePool", name);
  add_ints(node, "kernel_shape", {pool.window_height(), pool.window_width()});
  add_ints(node, "strides", {pool.window_height(), pool.window_width()});  // non-overlapping
  add_ints(node, "pads", {0, 0, 0, 0});
  add_int(node, "ceil_mode", 0);  // partial windows are dropped
}

void add_dense(GraphBuilder& graph, const Dense& dense, const std::string& name) {
  const auto units = static_cast<std::int64_t>(dense.bias.size());
  const auto inputs = static_cast<std::int64_t>(dense.input_shape().size());
  const std::string weights = graph.add_initializer(name + "_weights", {units, inputs}, dense.weights);
  const std::string bias = graph.add_initializer(name + "_bias", {units}, dense.bias);
  auto& node = graph.add_node("Gemm", name, {weights, bias});  // x [N, inputs] * weights^T + bias
  add_int(node, "transB", 1);
}

/// The nodes of every layer of the folded network, from the scaled image to the output.
void add_layers(GraphBuilder& graph, const Network& folded, float input_scale) {
  if (input_scale != 1.0f) graph.add_node("Mul", "input_scale", {graph.add_initializer("input_scale_value", {1}, std::span(&input_scale, 1))});
  bool flat = false;  // [N, features] after a Flatten, [N, C, H, W] before
  const auto& layers = folded.layers();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const Layer& layer = *layers[i];
    const std::string name = fmt::format("layer{}_{}", i, layer.kind());
    const bool needs_flat = dynamic_cast<const Dense*>(&layer) != nullptr || dynamic_cast<const Flatten*>(&layer) != nullptr;
    if (needs_flat && !flat) add_int(graph.add_node("Flatten", name + "_flatten"), "axis", 1);
    flat = flat || needs_flat;
    if (const auto* conv = dynamic_cast<const Conv2D*>(&layer); conv != nullptr && !flat) {
      add_conv(graph, *conv, name);
    } else if (const auto* pool = dynamic_cast<const Pool2D*>(&layer); pool != nullptr && !flat) {
      add_pool(graph, *pool, name);
    } else if (const auto* dense = dynamic_cast<const Dense*>(&layer)) {
      add_dense(graph, *dense, name);
    } else if (dynamic_cast<const ReLU*>(&layer) != nullptr) {
      graph.add_node("Relu", name);
    } else if (dynamic_cast<const Flatten*>(&layer) == nullptr) {
      throw std::invalid_argument(fmt::format("export_onnx: layer {} ({}) cannot be exported here", i, layer.kind()));
    }
  }
  if (!flat) add_int(graph.add_node("Flatten", "output_flatten"), "axis", 1);
}

onnx::ModelProto build_model(const Network& network, float input_scale, const std::string& producer_version) {
  const Network folded = fold_batch_norm(network);
  onnx::ModelProto model;
  model.set_ir_version(onnx::IR_VERSION);
  model.set_producer_name("larsel");
  model.set_producer_version(producer_version);
  model.set_doc_string("LArSel selection CNN: image = uint8 pixels as float, logit = signal score before the sigmoid");
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(opset_version);
  auto* graph = model.mutable_graph();
  graph->set_name("larsel_cnn");
  const Shape in = folded.input_shape();
  set_value_info(*graph->add_input(), input_name, {in.channels, in.height, in.width});
  set_value_info(*graph->add_output(), output_name, {static_cast<std::int64_t>(folded.output_shape().size())});
  GraphBuilder builder(*graph);
  add_layers(builder, folded, input_scale);
  builder.finish(output_name);
  return model;
}

}  // namespace

void export_onnx(const Network& network, float input_scale, const std::filesystem::path& path,
                 const std::string& producer_version) {
  if (network.layers().empty()) throw std::invalid_argument("export_onnx: the network has no layers");
  const onnx::ModelProto model = build_model(network, input_scale, producer_version);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error(fmt::format("export_onnx: cannot open {} for writing", path.string()));
  if (!model.SerializeToOstream(&out) || !out.flush()) {
    throw std::runtime_error(fmt::format("export_onnx: writing {} failed", path.string()));
  }
}

bool onnx_export_available() noexcept { return true; }

}  // namespace larsel::models
