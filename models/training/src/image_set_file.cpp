#include "larsel/models/image_set_file.hpp"

#include <unistd.h>

#include <fmt/format.h>
#include <H5Cpp.h>

#include "larsel/core/hdf5_attributes.hpp"

namespace larsel::models {
namespace {

template <typename T>
void write_array(H5::H5File& file, const char* name, const H5::PredType& type, const std::vector<T>& values,
                 std::vector<hsize_t> dims) {
  H5::DSetCreatPropList properties;
  if (!values.empty()) {
    std::vector<hsize_t> chunk = dims;
    chunk[0] = std::min<hsize_t>(dims[0], 1024);
    properties.setChunk(static_cast<int>(chunk.size()), chunk.data());
    properties.setDeflate(1);
  }
  H5::DataSet set = file.createDataSet(name, type, H5::DataSpace(static_cast<int>(dims.size()), dims.data()), properties);
  if (!values.empty()) set.write(values.data(), type);
}

template <typename T>
void read_array(const H5::H5File& file, const char* name, const H5::PredType& type, std::vector<T>& values, std::size_t expected) {
  const H5::DataSet set = file.openDataSet(name);
  if (static_cast<std::size_t>(set.getSpace().getSimpleExtentNpoints()) != expected) {
    throw std::runtime_error(fmt::format("/{} has {} values, expected {}", name, set.getSpace().getSimpleExtentNpoints(), expected));
  }
  values.resize(expected);
  if (expected > 0) set.read(values.data(), type);
}

std::uint64_t read_u64(const H5::H5File& file, const char* name, std::uint64_t max) {
  if (!file.attrExists(name)) throw std::runtime_error(fmt::format("attribute {} is missing", name));
  std::uint64_t value = 0;
  file.openAttribute(name).read(H5::PredType::NATIVE_UINT64, &value);
  if (value > max) throw std::runtime_error(fmt::format("attribute {} = {} is above {}", name, value, max));
  return value;
}

void write_datasets(H5::H5File& file, const ImageSet& set) {
  const hsize_t n = set.size();
  write_array(file, "images", H5::PredType::NATIVE_UINT8, set.pixels,
              {n, static_cast<hsize_t>(set.shape.height), static_cast<hsize_t>(set.shape.width)});
  write_array(file, "label", H5::PredType::NATIVE_UINT8, set.labels, {n});
  write_array(file, "nu_energy_mev", H5::PredType::NATIVE_FLOAT, set.nu_energy_mev, {n});
  write_array(file, "visible_energy_mev", H5::PredType::NATIVE_FLOAT, set.visible_energy_mev, {n});
  write_array(file, "event", H5::PredType::NATIVE_INT32, set.events, {n});
  write_array(file, "background_kind", H5::PredType::NATIVE_UINT8, set.background_kinds, {n});
  write_array(file, "baseline_scores", H5::PredType::NATIVE_FLOAT, set.baseline_scores, {n, set.baseline_configs});
}

void write_attributes(H5::H5File& file, const ImageSet& set, const ImageSetAttributes& a) {
  core::write_u64_attribute(file, "format_version", kImageSetFormatVersion);
  core::write_u64_attribute(file, "frames", set.size());
  core::write_u64_attribute(file, "rows", static_cast<std::uint64_t>(set.shape.height));
  core::write_u64_attribute(file, "columns", static_cast<std::uint64_t>(set.shape.width));
  core::write_u64_attribute(file, "baseline_configs", set.baseline_configs);
  core::write_string_attribute(file, "source", a.source);
  core::write_string_attribute(file, "preprocess_config", a.preprocess_config);
  core::write_string_attribute(file, "kernel", a.kernel);
  core::write_string_attribute(file, "key", a.key);
}

ImageSetFile read_contents(const H5::H5File& file) {
  if (const std::uint64_t version = read_u64(file, "format_version", ~0ULL); version != kImageSetFormatVersion) {
    throw std::runtime_error(fmt::format("image set format version {}, this larsel reads version {}", version, kImageSetFormatVersion));
  }
  ImageSetFile f;
  ImageSet& set = f.set;
  const std::size_t n = read_u64(file, "frames", 1ULL << 32);
  set.shape = {1, static_cast<int>(read_u64(file, "rows", 4096)), static_cast<int>(read_u64(file, "columns", 4096))};
  set.baseline_configs = read_u64(file, "baseline_configs", 4096);
  read_array(file, "images", H5::PredType::NATIVE_UINT8, set.pixels, n * set.shape.size());
  read_array(file, "label", H5::PredType::NATIVE_UINT8, set.labels, n);
  read_array(file, "nu_energy_mev", H5::PredType::NATIVE_FLOAT, set.nu_energy_mev, n);
  read_array(file, "visible_energy_mev", H5::PredType::NATIVE_FLOAT, set.visible_energy_mev, n);
  read_array(file, "event", H5::PredType::NATIVE_INT32, set.events, n);
  read_array(file, "background_kind", H5::PredType::NATIVE_UINT8, set.background_kinds, n);
  read_array(file, "baseline_scores", H5::PredType::NATIVE_FLOAT, set.baseline_scores, n * set.baseline_configs);
  f.attributes = {core::read_string_attribute(file, "source"), core::read_string_attribute(file, "preprocess_config"),
                  core::read_string_attribute(file, "kernel"), core::read_string_attribute(file, "key")};
  return f;
}

}  // namespace

void write_image_set(const std::filesystem::path& path, const ImageSet& set, const ImageSetAttributes& attributes) {
  // One temporary name per process: two runs filling the same cache do not write into one file.
  const std::filesystem::path temporary = fmt::format("{}.{}.tmp", path.string(), ::getpid());
  try {
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
    H5::H5File file(temporary.string(), H5F_ACC_TRUNC);
    write_datasets(file, set);
    write_attributes(file, set, attributes);
    file.close();
    std::filesystem::rename(temporary, path);
  } catch (const H5::Exception& e) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw std::runtime_error(fmt::format("{}: cannot write the image set: {}", path.string(), e.getDetailMsg()));
  } catch (const std::filesystem::filesystem_error& e) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw std::runtime_error(fmt::format("{}: cannot write the image set: {}", path.string(), e.code().message()));
  }
}

ImageSetFile read_image_set(const std::filesystem::path& path) {
  try {
    H5::Exception::dontPrint();
    const H5::H5File file(path.string(), H5F_ACC_RDONLY);
    return read_contents(file);
  } catch (const H5::Exception& e) {
    throw std::runtime_error(fmt::format("{}: not a readable image set: {}", path.string(), e.getDetailMsg()));
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(fmt::format("{}: not a valid image set: {}", path.string(), e.what()));
  }
}

}  // namespace larsel::models
