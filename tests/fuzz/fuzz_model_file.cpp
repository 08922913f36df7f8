// Fuzz harness: model files (models/inference/include/larsel/models/model_file.hpp), read by models::load_model
// for `larsel run`, `eval`, `compress`, `export-hls`. Raw bytes are not fed to libhdf5 (Debian's is
// not instrumented and crashes on some corrupt files: not this project's code). Instead the input
// decides the content of a well-formed HDF5 file, which the harness writes to a temporary file:
// the architecture (layer kinds and counts, filters, kernels, padding, pooling windows, units,
// fixed-point formats, input_scale, one option replaced by an arbitrary JSON value), the
// preprocess configuration and its hash, input_shape, format_version, missing or invalid
// attributes, and each weight tensor (present or not, its shape, its HDF5 type, its values: NaN,
// infinities, on or off the fixed-point grid). load_model must return a model or throw
// std::runtime_error with a message; a model it returns must run a forward pass, and the preprocess
// configuration it carries must build (parse_model_preprocess_config) or be refused with a message.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <H5Cpp.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "fuzz_targets.hpp"
#include "larsel/core/hashing.hpp"
#include "larsel/core/hdf5_attributes.hpp"
#include "larsel/models/architecture.hpp"
#include "larsel/models/image_set.hpp"
#include "larsel/models/layers.hpp"
#include "larsel/models/model_file.hpp"
#include "larsel/preprocess/config.hpp"

namespace larsel::fuzz {
namespace {

using nlohmann::json;

/// One temporary file per process (libFuzzer's -jobs run processes), removed when it exits.
class TemporaryModelPath {
 public:
  TemporaryModelPath()
      : path_(std::filesystem::temp_directory_path() / fmt::format("larsel-fuzz-model-{}.h5", ::getpid())) {}
  ~TemporaryModelPath() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  TemporaryModelPath(const TemporaryModelPath&) = delete;
  TemporaryModelPath& operator=(const TemporaryModelPath&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

/// An HLS fixed-point type, mostly valid, sometimes not (widths 0-40, integer bits -8..40).
// (One read per statement: the order of reads must not depend on the compiler's argument order.)
std::string fixed_point_text(FuzzReader& in) {
  const bool any_width = in.flag();
  const int width = static_cast<int>(any_width ? in.in_range(0, 40) : in.in_range(2, 16));
  const int integer = static_cast<int>(in.in_range(0, 48)) - 8;
  const char* type = in.flag() ? "ap_ufixed" : "ap_fixed";
  const char* modes[] = {"", ",AP_RND,AP_SAT", ",AP_TRN,AP_WRAP", ",AP_RND_CONV,AP_SAT_SYM", ",BAD"};
  const char* mode = modes[in.byte() % 5];
  return fmt::format("{}<{},{}{}>", type, width, integer, mode);
}

json layer_json(FuzzReader& in, bool quantized) {
  const auto quantization = [&] {
    return json{{"weight", fixed_point_text(in)}, {"bias", fixed_point_text(in)}, {"output", fixed_point_text(in)}};
  };
  const auto pair = [&](int max) {
    return in.flag() ? json(in.in_range(1, static_cast<std::uint64_t>(max))) : json{in.in_range(1, max), in.in_range(1, max)};
  };
  switch (in.byte() % 8) {
    case 0: case 1: {
      json options = {{"filters", in.in_range(1, 8)}, {"kernel", pair(5)}, {"padding", in.flag() ? "same" : "valid"}};
      if (quantized) options["quantization"] = quantization();
      return {{"conv2d", options}};
    }
    case 2: {
      json options = {{"units", in.in_range(1, 16)}};
      if (quantized) options["quantization"] = quantization();
      return {{"dense", options}};
    }
    case 3: return in.flag() ? json{{"maxpool", {{"window", pair(4)}}}} : json("maxpool");
    case 4: return {{"avgpool", {{"window", pair(4)}}}};
    case 5: return "flatten";
    case 6: return "batchnorm";
    default: return "relu";
  }
}

/// Any JSON value, to replace one the loader expects to be well-formed.
json arbitrary_json(FuzzReader& in) {
  switch (in.byte() % 8) {
    case 0: return in.integer<std::int64_t>();
    case 1: return in.integer<std::uint64_t>();
    case 2: return in.integer<double>();  // NaN and infinities are written as null
    case 3: return in.text(12);
    case 4: return nullptr;
    case 5: return in.flag();
    case 6: return json::array({in.integer<std::int32_t>(), in.integer<std::int32_t>(), in.integer<std::int32_t>()});
    default: return json::object({{in.text(6), in.integer<std::int16_t>()}});
  }
}

json architecture_json(FuzzReader& in) {
  const bool quantized = in.flag();
  json layers = json::array();
  for (std::size_t n = in.in_range(1, 7); n > 0; --n) layers.push_back(layer_json(in, quantized));
  if (in.flag()) layers.push_back({{"dense", {{"units", 1}}}});  // the logit, mostly
  if (quantized && layers.back().contains("dense")) layers.back()["dense"]["quantization"] = json{
      {"weight", "ap_fixed<8,2>"}, {"bias", "ap_fixed<16,6>"}, {"output", "ap_fixed<16,8>"}};
  json architecture = {{"input_scale", in.flag() ? json(in.integer<float>()) : json(0.0625)}, {"layers", layers}};
  if (in.byte() % 4 == 0) {  // one option of one layer replaced by anything
    json& layer = layers[in.byte() % layers.size()];
    if (layer.is_object()) {
      json& options = layer.begin().value();
      const char* keys[] = {"filters", "kernel", "padding", "units", "window", "quantization", "extra"};
      options[keys[in.byte() % 7]] = arbitrary_json(in);
    } else {
      layer = arbitrary_json(in);
    }
    architecture["layers"] = layers;
  }
  return architecture;
}

/// What the input decides about the file, apart from the weights.
struct FileSpec {
  json architecture;
  preprocess::PreprocessConfig preprocess;
  bool hash_matches = true;
  json input_shape;
  std::optional<std::uint64_t> format_version = kFormatVersion;
  std::vector<std::string> missing_attributes;
  static constexpr std::uint64_t kFormatVersion = models::kModelFormatVersion;

  explicit FileSpec(FuzzReader& in) : architecture(architecture_json(in)) {
    const unsigned wires[] = {4, 8, 16, 32}, ticks[] = {4, 8, 16};
    preprocess.downsize.wires = wires[in.byte() % 4];
    preprocess.downsize.ticks = ticks[in.byte() % 3];
    input_shape = {1, preprocess.output_rows(), preprocess.output_columns()};
    const std::uint8_t faults = in.flag() ? in.byte() : 0;
    if (faults & 1) hash_matches = false;
    if (faults & 2) input_shape[in.byte() % 3] = arbitrary_json(in);
    if (faults & 4) format_version = in.flag() ? std::nullopt : std::optional(in.integer<std::uint64_t>());
    const char* names[] = {"architecture", "input_shape", "preprocess_config", "preprocess_hash", "baseline", "training", "metrics"};
    if (faults & 8) missing_attributes.emplace_back(names[in.byte() % 7]);
  }
  [[nodiscard]] bool writes(const char* name) const {
    return std::find(missing_attributes.begin(), missing_attributes.end(), name) == missing_attributes.end();
  }
};

void write_attributes(H5::H5File& file, const FileSpec& spec, FuzzReader& in) {
  if (spec.format_version) core::write_u64_attribute(file, "format_version", *spec.format_version);
  const std::string yaml = preprocess::to_yaml(spec.preprocess);
  const auto attribute = [&](const char* name, const std::string& value) {
    if (spec.writes(name)) core::write_string_attribute(file, name, value);
  };
  // Arbitrary strings may not be UTF-8: replaced, as nlohmann::json::dump would otherwise throw.
  constexpr auto replace = json::error_handler_t::replace;
  attribute("architecture", spec.architecture.dump(-1, ' ', false, replace));
  attribute("input_shape", spec.input_shape.dump(-1, ' ', false, replace));
  attribute("preprocess_config", yaml);
  attribute("preprocess_hash", spec.hash_matches ? core::fnv1a_64_hex(yaml) : "0123456789abcdef");
  attribute("baseline", in.byte() % 16 == 0 ? in.text(8) : "{}");  // sometimes not JSON
  attribute("training", "{}");
  attribute("metrics", "{}");
}

/// The natural shape of a stored tensor (as model_file.cpp stores it), sometimes altered.
std::vector<hsize_t> stored_dims(const models::Layer& layer, const models::Parameter& p, FuzzReader& in) {
  std::vector<hsize_t> dims = {p.values->size()};
  if (const auto* conv = dynamic_cast<const models::Conv2D*>(&layer); conv && p.name == "weights") {
    dims = {static_cast<hsize_t>(conv->output_shape().channels), static_cast<hsize_t>(conv->input_shape().channels),
            static_cast<hsize_t>(conv->kernel_height()), static_cast<hsize_t>(conv->kernel_width())};
  } else if (const auto* dense = dynamic_cast<const models::Dense*>(&layer); dense && p.name == "weights") {
    dims = {static_cast<hsize_t>(dense->output_shape().channels), static_cast<hsize_t>(dense->input_shape().size())};
  }
  if (in.byte() % 32 == 0) dims[in.byte() % dims.size()] += 1;
  if (in.byte() % 32 == 0) dims.push_back(1);
  return dims;
}

/// Values from the input: raw float bits (NaN, infinities), or multiples of 2^-k (on a fixed-point grid).
std::vector<double> tensor_values(std::size_t count, FuzzReader& in) {
  std::vector<double> values(count);
  const bool on_grid = in.flag();
  const int step_exponent = -static_cast<int>(in.in_range(0, 12));
  for (double& v : values) {
    v = on_grid ? std::ldexp(static_cast<double>(in.integer<std::int8_t>()), step_exponent) : in.integer<float>();
  }
  return values;
}

void write_tensor(H5::Group& group, const std::string& name, const std::vector<hsize_t>& dims, FuzzReader& in) {
  hsize_t count = 1;
  for (const hsize_t d : dims) count *= d;
  const std::vector<double> values = tensor_values(count, in);
  const H5::PredType* types[] = {&H5::PredType::IEEE_F32LE, &H5::PredType::IEEE_F32LE, &H5::PredType::IEEE_F64LE,
                                 &H5::PredType::STD_I16LE, &H5::PredType::STD_U8LE};
  const H5::PredType& type = *types[in.byte() % 5];
  H5::DataSet set = group.createDataSet(name, type, H5::DataSpace(static_cast<int>(dims.size()), dims.data()));
  if (type == H5::PredType::IEEE_F32LE || type == H5::PredType::IEEE_F64LE) {
    set.write(values.data(), H5::PredType::NATIVE_DOUBLE);
  } else {  // integer storage: written from integers (HDF5 has no defined conversion of NaN to them)
    std::vector<std::int64_t> integers(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {  // clamped first: a float beyond int16 is UB to convert
      integers[i] = std::isfinite(values[i]) ? static_cast<std::int16_t>(std::clamp(values[i], -32768.0, 32767.0)) : 0;
    }
    set.write(integers.data(), H5::PredType::NATIVE_INT64);
  }
}

/// The weights of the network the architecture describes, when it builds; else a few stray tensors.
void write_weights(H5::H5File& file, const FileSpec& spec, FuzzReader& in) {
  H5::Group weights = file.createGroup("weights");
  std::optional<models::Model> model;
  try {
    const models::Architecture architecture = models::architecture_from_json(spec.architecture, "fuzz");
    model.emplace(architecture, models::Shape{1, static_cast<int>(spec.preprocess.output_rows()),
                                              static_cast<int>(spec.preprocess.output_columns())}, 0);
  } catch (const std::exception&) {
    H5::Group stray = weights.createGroup("layer0_conv2d");
    write_tensor(stray, "weights", {in.in_range(1, 4), 1, 3, 3}, in);
    return;
  }
  for (std::size_t i = 0; i < model->network().layers().size(); ++i) {
    models::Layer& layer = *model->network().layers()[i];
    std::vector<models::Parameter> tensors = layer.parameters();
    for (const models::Parameter& b : layer.buffers()) tensors.push_back(b);
    if (tensors.empty()) continue;
    H5::Group group = weights.createGroup(fmt::format("layer{}_{}", i, layer.kind()));
    for (const models::Parameter& p : tensors) {
      if (in.byte() % 64 == 0) continue;  // a missing tensor
      write_tensor(group, p.name, stored_dims(layer, p, in), in);
    }
  }
}

void write_model_file(const std::filesystem::path& path, FuzzReader& in) {
  const FileSpec spec(in);
  H5::FileAccPropList access;
  access.setLibverBounds(H5F_LIBVER_V18, H5F_LIBVER_LATEST);  // as save_model: dense attribute storage
  H5::H5File file(path.string(), H5F_ACC_TRUNC, H5::FileCreatPropList::DEFAULT, access);
  write_attributes(file, spec, in);
  write_weights(file, spec, in);
}

/// A model load_model accepts must take an image of its input shape to one logit per image.
void check_loaded(models::ModelFile& loaded) {
  models::Batch batch;
  batch.reshape(1, loaded.model.input_shape());
  std::fill(batch.values.begin(), batch.values.end(), 1.0f);
  const models::Batch& out = loaded.model.network().forward(batch, false);
  require(out.count == 1, "forward pass of a loaded model: not one output per image");
  const models::Shape input = loaded.model.input_shape();
  try {
    const preprocess::PreprocessConfig config = preprocess::parse_model_preprocess_config(
        loaded.preprocess_yaml, "fuzz.h5", static_cast<std::size_t>(input.height), static_cast<std::size_t>(input.width));
    require(config.output_rows() == static_cast<std::size_t>(input.height), "model preprocess config: wrong image rows accepted");
  } catch (const std::runtime_error& e) {  // core::ConfigError is one
    require_message(e, "parse_model_preprocess_config");
  }
}

}  // namespace

void fuzz_model_file(const std::uint8_t* data, std::size_t size) {
  static const TemporaryModelPath temporary;  // one per process, removed at exit
  FuzzReader in(data, size);
  H5::Exception::dontPrint();
  write_model_file(temporary.path(), in);
  try {
    models::ModelFile loaded = models::load_model(temporary.path());
    check_loaded(loaded);
  } catch (const std::runtime_error& e) {
    require_message(e, "load_model");
  }
}

}  // namespace larsel::fuzz

LARSEL_FUZZ_TARGET(larsel::fuzz::fuzz_model_file)
