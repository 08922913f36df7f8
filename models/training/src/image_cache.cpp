#include "image_cache.hpp"
#include "larsel/core/hashing.hpp"

#include <unistd.h>

#include <fmt/format.h>
#include <H5Cpp.h>

#include "frame_pipeline.hpp"
#include "larsel/core/hdf5_attributes.hpp"

namespace larsel::models::detail {
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

std::uint64_t read_u64(const H5::H5File& file, const char* name) {
  std::uint64_t value = 0;
  file.openAttribute(name).read(H5::PredType::NATIVE_UINT64, &value);
  return value;
}

}  // namespace

ImageCache::ImageCache(std::filesystem::path directory, const std::string& stem, std::string key) : key_(std::move(key)) {
  if (!directory.empty()) path_ = directory / fmt::format("{}-{}.h5", stem, core::fnv1a_64_hex(key_));
}

std::optional<ImageSet> ImageCache::load() const {
  if (path_.empty() || !std::filesystem::exists(path_)) return std::nullopt;
  try {
    H5::Exception::dontPrint();
    const H5::H5File file(path_.string(), H5F_ACC_RDONLY);
    if (core::read_string_attribute(file, "key") != key_) return std::nullopt;
    ImageSet set;
    const std::size_t n = read_u64(file, "frames");
    set.shape = {1, static_cast<int>(read_u64(file, "rows")), static_cast<int>(read_u64(file, "columns"))};
    set.baseline_configs = read_u64(file, "baseline_configs");
    read_array(file, "images", H5::PredType::NATIVE_UINT8, set.pixels, n * set.shape.size());
    read_array(file, "label", H5::PredType::NATIVE_UINT8, set.labels, n);
    read_array(file, "nu_energy_mev", H5::PredType::NATIVE_FLOAT, set.nu_energy_mev, n);
    read_array(file, "visible_energy_mev", H5::PredType::NATIVE_FLOAT, set.visible_energy_mev, n);
    read_array(file, "baseline_scores", H5::PredType::NATIVE_FLOAT, set.baseline_scores, n * set.baseline_configs);
    return set;
  } catch (const std::exception&) {  // H5::Exception is not a std::exception
    return std::nullopt;
  } catch (const H5::Exception&) {
    return std::nullopt;  // unreadable: rebuilt and overwritten
  }
}

void ImageCache::store(const ImageSet& set, const std::string& source) const {
  if (path_.empty()) return;
  // One temporary name per process: two runs filling the same cache do not write into one file.
  const std::filesystem::path temporary = fmt::format("{}.{}.tmp", path_.string(), ::getpid());
  try {
    std::filesystem::create_directories(path_.parent_path());
    H5::H5File file(temporary.string(), H5F_ACC_TRUNC);
    const hsize_t n = set.size();
    write_array(file, "images", H5::PredType::NATIVE_UINT8, set.pixels,
                {n, static_cast<hsize_t>(set.shape.height), static_cast<hsize_t>(set.shape.width)});
    write_array(file, "label", H5::PredType::NATIVE_UINT8, set.labels, {n});
    write_array(file, "nu_energy_mev", H5::PredType::NATIVE_FLOAT, set.nu_energy_mev, {n});
    write_array(file, "visible_energy_mev", H5::PredType::NATIVE_FLOAT, set.visible_energy_mev, {n});
    write_array(file, "baseline_scores", H5::PredType::NATIVE_FLOAT, set.baseline_scores, {n, set.baseline_configs});
    core::write_string_attribute(file, "key", key_);
    core::write_string_attribute(file, "source", source);
    core::write_u64_attribute(file, "frames", n);
    core::write_u64_attribute(file, "rows", static_cast<std::uint64_t>(set.shape.height));
    core::write_u64_attribute(file, "columns", static_cast<std::uint64_t>(set.shape.width));
    core::write_u64_attribute(file, "baseline_configs", set.baseline_configs);
    file.close();
  } catch (const H5::Exception& e) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw std::runtime_error(fmt::format("{}: cannot write the image cache: {}", temporary.string(), e.getDetailMsg()));
  } catch (const std::filesystem::filesystem_error& e) {
    throw std::runtime_error(fmt::format("{}: cannot write the image cache: {}", temporary.string(), e.what()));
  }
  std::filesystem::rename(temporary, path_);
}

}  // namespace larsel::models::detail
