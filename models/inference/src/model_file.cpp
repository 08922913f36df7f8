#include "larsel/models/model_file.hpp"

#include <cmath>
#include <span>
#include <stdexcept>

#include <fmt/format.h>
#include <H5Cpp.h>

#include "larsel/core/errors.hpp"
#include "larsel/core/hashing.hpp"
#include "larsel/core/hdf5_attributes.hpp"
#include "larsel/core/json_fields.hpp"
#include "larsel/models/layers.hpp"

namespace larsel::models {
namespace {


/// The natural shape of a stored tensor of layer `layer`.
std::vector<hsize_t> tensor_dims(const Layer& layer, const Parameter& p) {
  const std::vector<hsize_t> flat = {p.values->size()};
  if (p.name != "weights") return flat;
  if (const auto* conv = dynamic_cast<const Conv2D*>(&layer)) {
    return {static_cast<hsize_t>(conv->output_shape().channels), static_cast<hsize_t>(conv->input_shape().channels),
            static_cast<hsize_t>(conv->kernel_height()), static_cast<hsize_t>(conv->kernel_width())};
  }
  if (const auto* dense = dynamic_cast<const Dense*>(&layer)) {
    return {static_cast<hsize_t>(dense->output_shape().channels), static_cast<hsize_t>(dense->input_shape().size())};
  }
  return flat;
}

std::string dims_text(const std::vector<hsize_t>& dims) {
  std::string text;
  for (const hsize_t d : dims) text += (text.empty() ? "" : " x ") + std::to_string(d);
  return text;
}

void write_weights(H5::H5File& file, Network& network) {
  H5::Group weights = file.createGroup("weights");
  for (std::size_t i = 0; i < network.layers().size(); ++i) {
    Layer& layer = *network.layers()[i];
    const std::string group = fmt::format("layer{}_{}", i, layer.kind());
    std::vector<Parameter> tensors = layer.parameters();
    for (const Parameter& b : layer.buffers()) tensors.push_back(b);
    if (tensors.empty()) continue;
    H5::Group g = weights.createGroup(group);
    for (const Parameter& p : tensors) {
      const std::vector<hsize_t> dims = tensor_dims(layer, p);
      g.createDataSet(p.name, H5::PredType::IEEE_F32LE, H5::DataSpace(static_cast<int>(dims.size()), dims.data()))
          .write(p.values->data(), H5::PredType::NATIVE_FLOAT);
    }
  }
}

/// Throws naming the file and the path when `path` is absent. H5Lexists fails, rather than say no, when a
/// parent group is missing, so every group on the way is looked up in turn.
void require_path(const H5::H5File& file, const std::string& path, const char* what, const std::string& where) {
  for (std::size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    const std::string group = path.substr(0, slash);
    if (!file.nameExists(group)) throw std::runtime_error(fmt::format("{}: the group /{} is missing (it holds /{})", where, group, path));
  }
  if (!file.nameExists(path)) throw std::runtime_error(fmt::format("{}: the {} /{} is missing", where, what, path));
}

/// A quantized layer's weights and biases are stored as exact values of their declared ap_fixed format:
/// one off its grid or outside its range means the file was edited or is corrupt.
void check_fixed_point(std::span<const float> values, const FixedPointFormat& format, const std::string& name, const std::string& where) {
  for (const float value : values) {
    const double raw = std::ldexp(static_cast<double>(value), format.fractional_bits());
    if (raw != std::trunc(raw)) {
      throw std::runtime_error(fmt::format("{}: /{} holds {}, which is off the grid of its declared format {} (steps of {})", where, name,
                                           value, format.to_string(), format.lsb()));
    }
    if (raw < static_cast<double>(format.min_raw()) || raw > static_cast<double>(format.max_raw())) {
      throw std::runtime_error(fmt::format("{}: /{} holds {}, which is outside the range [{}, {}] of its declared format {}", where, name,
                                           value, format.min_value(), format.max_value(), format.to_string()));
    }
  }
}

/// The declared format of tensor `p` of layer `index`, if the layer is quantized (weights and bias).
const FixedPointFormat* declared_format(const Architecture& architecture, std::size_t index, const Parameter& p) {
  const auto& quantization = architecture.layers.at(index).quantization;
  if (!quantization) return nullptr;
  if (p.name == "weights") return &quantization->weight;
  if (p.name == "bias") return &quantization->bias;
  return nullptr;
}

void read_weights(const H5::H5File& file, Model& model, const std::string& where) {
  Network& network = model.network();
  for (std::size_t i = 0; i < network.layers().size(); ++i) {
    Layer& layer = *network.layers()[i];
    std::vector<Parameter> tensors = layer.parameters();
    for (const Parameter& b : layer.buffers()) tensors.push_back(b);
    for (const Parameter& p : tensors) {
      const std::string name = fmt::format("weights/layer{}_{}/{}", i, layer.kind(), p.name);
      require_path(file, name, "dataset", where);
      const H5::DataSet set = file.openDataSet(name);
      const H5::DataSpace space = set.getSpace();
      std::vector<hsize_t> dims(static_cast<std::size_t>(space.getSimpleExtentNdims()));
      space.getSimpleExtentDims(dims.data());
      if (dims != tensor_dims(layer, p)) {
        throw std::runtime_error(fmt::format("{}: /{} is {}, the architecture needs {}", where, name, dims_text(dims),
                                             dims_text(tensor_dims(layer, p))));
      }
      set.read(p.values->data(), H5::PredType::NATIVE_FLOAT);
      if (!std::all_of(p.values->begin(), p.values->end(), [](float v) { return std::isfinite(v); })) {
        throw std::runtime_error(fmt::format("{}: /{} holds values that are not finite", where, name));
      }
      if (const FixedPointFormat* format = declared_format(model.architecture(), i, p)) check_fixed_point(*p.values, *format, name, where);
    }
  }
}

nlohmann::json json_attribute(const H5::H5File& file, const char* name, const std::string& where) {
  const std::string text = core::read_string_attribute(file, name);
  if (text.empty()) throw std::runtime_error(fmt::format("{}: the '{}' attribute is missing", where, name));
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(fmt::format("{}: the '{}' attribute is not valid JSON ({})", where, name, e.what()));
  }
}

std::uint64_t format_version(const H5::H5File& file, const std::string& where) {
  if (!file.attrExists("format_version")) throw std::runtime_error(fmt::format("{}: not an LArSel model file (no format_version)", where));
  std::uint64_t version = 0;
  file.openAttribute("format_version").read(H5::PredType::NATIVE_UINT64, &version);
  if (version != kModelFormatVersion) {
    throw std::runtime_error(fmt::format("{}: model format version {}, this larsel reads version {}", where, version, kModelFormatVersion));
  }
  return version;
}

Shape shape_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_array() || j.size() != 3 || !std::all_of(j.begin(), j.end(), [](const auto& v) { return v.is_number_integer() && v > 0 && v < 100000; })) {
    throw std::runtime_error(fmt::format("{}: input_shape {} is not [channels, rows, columns]", where, core::shown(j)));
  }
  return {j[0].get<int>(), j[1].get<int>(), j[2].get<int>()};
}

ModelFile read_model(const H5::H5File& file, const std::string& where) {
  format_version(file, where);
  Architecture architecture;
  try {
    architecture = architecture_from_json(json_attribute(file, "architecture", where), where);
  } catch (const core::ConfigError& e) {
    throw std::runtime_error(fmt::format("{}: bad architecture: {}", where, e.what()));
  }
  const Shape input = shape_from_json(json_attribute(file, "input_shape", where), where);
  if (input.channels != 1) throw std::runtime_error(fmt::format("{}: input_shape has {} channels, images have 1", where, input.channels));
  ModelFile m{Model(architecture, input, 0), core::read_string_attribute(file, "preprocess_config"),
              json_attribute(file, "baseline", where), json_attribute(file, "training", where), json_attribute(file, "metrics", where)};
  const std::string stored_hash = core::read_string_attribute(file, "preprocess_hash");
  if (stored_hash != m.preprocess_hash()) {
    throw std::runtime_error(fmt::format("{}: the preprocess configuration does not match its hash ({} stored, {} computed): "
                                         "the file was edited or is corrupt", where, stored_hash, m.preprocess_hash()));
  }
  read_weights(file, m.model, where);
  return m;
}

}  // namespace

std::string ModelFile::preprocess_hash() const { return core::fnv1a_64_hex(preprocess_yaml); }

void save_model(const std::filesystem::path& path, ModelFile& m) {
  const std::string temporary = path.string() + ".tmp";
  try {
    H5::FileAccPropList access;
    access.setLibverBounds(H5F_LIBVER_V18, H5F_LIBVER_LATEST);  // dense attribute storage: JSON attributes beyond 64 KB
    H5::H5File file(temporary, H5F_ACC_TRUNC, H5::FileCreatPropList::DEFAULT, access);
    core::write_u64_attribute(file, "format_version", kModelFormatVersion);
    core::write_string_attribute(file, "software", "larsel");
    core::write_string_attribute(file, "architecture", to_json(m.model.architecture()).dump());
    const Shape in = m.model.input_shape();
    core::write_string_attribute(file, "input_shape", nlohmann::json::array({in.channels, in.height, in.width}).dump());
    core::write_string_attribute(file, "preprocess_config", m.preprocess_yaml);
    core::write_string_attribute(file, "preprocess_hash", m.preprocess_hash());
    core::write_string_attribute(file, "baseline", m.baseline.dump());
    core::write_string_attribute(file, "training", m.training.dump());
    core::write_string_attribute(file, "metrics", m.metrics.dump());
    write_weights(file, m.model.network());
    file.close();
  } catch (const H5::Exception& e) {
    std::filesystem::remove(temporary);
    throw std::runtime_error(fmt::format("{}: cannot write the model: {}", temporary, e.getDetailMsg()));
  }
  std::filesystem::rename(temporary, path);
}

ModelFile load_model(const std::filesystem::path& path) {
  const std::string where = path.string();
  if (!std::filesystem::is_regular_file(path)) throw std::runtime_error(fmt::format("{}: no such model file", where));
  try {
    H5::Exception::dontPrint();
    const H5::H5File file(where, H5F_ACC_RDONLY);
    return read_model(file, where);
  } catch (const H5::Exception& e) {
    throw std::runtime_error(fmt::format("{}: not a readable model file (HDF5: {})", where, e.getDetailMsg()));
  } catch (const core::ConfigError& e) {
    throw std::runtime_error(fmt::format("{}: {}", where, e.what()));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(fmt::format("{}: a JSON attribute has an unexpected type ({})", where, e.what()));
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(fmt::format("{}: {}", where, e.what()));
  }
}

}  // namespace larsel::models
