#include "larsel/preprocess/image_dataset.hpp"

#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include <H5Cpp.h>

#include "larsel/daq/frame.hpp"
#include "larsel/core/hdf5_attributes.hpp"

namespace larsel::preprocess {
namespace {

constexpr hsize_t kChunkFrames = 64;

/// An extendible [0][rows][columns] data set, chunked by kChunkFrames frames, deflated.
H5::DataSet create_stack(H5::H5File& file, const char* name, const H5::PredType& type, hsize_t rows, hsize_t columns) {
  const hsize_t dims[3] = {0, rows, columns}, max_dims[3] = {H5S_UNLIMITED, rows, columns};
  const hsize_t chunk[3] = {kChunkFrames, rows, columns};
  H5::DSetCreatPropList properties;
  properties.setChunk(3, chunk);
  properties.setShuffle();
  properties.setDeflate(1);
  return file.createDataSet(name, type, H5::DataSpace(3, dims, max_dims), properties);
}

/// Appends `frames` frames held in `values` to a stack.
template <typename T>
void append_frames(H5::DataSet& set, const H5::PredType& type, hsize_t first, hsize_t frames, const std::vector<T>& values) {
  hsize_t dims[3];
  set.getSpace().getSimpleExtentDims(dims);
  dims[0] = first + frames;
  set.extend(dims);
  H5::DataSpace space = set.getSpace();
  const hsize_t start[3] = {first, 0, 0}, count[3] = {frames, dims[1], dims[2]};
  space.selectHyperslab(H5S_SELECT_SET, count, start);
  set.write(values.data(), type, H5::DataSpace(3, count), space);
}

}  // namespace

struct ImageDatasetWriter::Impl {
  std::filesystem::path path, temporary;
  ImageDatasetInfo info;
  H5::H5File file;
  H5::DataSet images, denoised;
  std::vector<std::uint8_t> image_buffer;
  std::vector<std::int16_t> denoised_buffer;
  hsize_t written = 0, buffered = 0;
  bool closed = false;

  void flush() {
    if (buffered == 0) return;
    append_frames(images, H5::PredType::NATIVE_UINT8, written, buffered, image_buffer);
    if (info.with_denoised) append_frames(denoised, H5::PredType::NATIVE_INT16, written, buffered, denoised_buffer);
    written += buffered;
    buffered = 0;
    image_buffer.clear();
    denoised_buffer.clear();
  }
};

ImageDatasetWriter::ImageDatasetWriter(const std::filesystem::path& path, const ImageDatasetInfo& info)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.path = path;
  m.temporary = path.string() + ".tmp";
  m.info = info;
  try {
    m.file = H5::H5File(m.temporary.string(), H5F_ACC_TRUNC);
    m.images = create_stack(m.file, "images", H5::PredType::NATIVE_UINT8, info.rows, info.columns);
    if (info.with_denoised) {
      m.denoised = create_stack(m.file, "denoised", H5::PredType::NATIVE_INT16, daq::Frame::kWires, daq::Frame::kTicks);
    }
  } catch (const H5::Exception& e) {
    throw std::runtime_error(fmt::format("{}: cannot create the preprocessed data set: {}", m.temporary.string(), e.getDetailMsg()));
  }
}

ImageDatasetWriter::~ImageDatasetWriter() {
  if (impl_ && !impl_->closed) {
    try {
      impl_->file.close();
    } catch (const H5::Exception&) {
    }
    std::error_code ignored;
    std::filesystem::remove(impl_->temporary, ignored);
  }
}

void ImageDatasetWriter::append(std::span<const std::uint8_t> image, std::span<const std::int16_t> denoised) {
  Impl& m = *impl_;
  if (image.size() != m.info.rows * m.info.columns || denoised.size() != (m.info.with_denoised ? daq::Frame::kPixels : 0)) {
    throw std::invalid_argument(fmt::format("{}: frame of {} image values and {} denoised values does not fit the data set",
                                            m.path.string(), image.size(), denoised.size()));
  }
  m.image_buffer.insert(m.image_buffer.end(), image.begin(), image.end());
  m.denoised_buffer.insert(m.denoised_buffer.end(), denoised.begin(), denoised.end());
  if (++m.buffered == kChunkFrames) m.flush();
}

void ImageDatasetWriter::close() {
  Impl& m = *impl_;
  try {
    m.flush();
    core::write_string_attribute(m.file, "preprocess_config", m.info.preprocess_config);
    core::write_string_attribute(m.file, "source", m.info.source);
    core::write_string_attribute(m.file, "source_config", m.info.source_config);
    core::write_string_attribute(m.file, "kernel", m.info.kernel);
    core::write_string_attribute(m.file, "image_format",
                                        "uint8 [N][wire bins][tick bins] = min(255, pooled ADC above pedestal >> shift)");
    core::write_u64_attribute(m.file, "seed", m.info.seed);
    core::write_u64_attribute(m.file, "format_version", kImageFormatVersion);
    const H5::H5File source(m.info.source, H5F_ACC_RDONLY);
    for (const char* group : {"truth", "radiological"}) {
      if (source.nameExists(group) && H5Ocopy(source.getId(), group, m.file.getId(), group, H5P_DEFAULT, H5P_DEFAULT) < 0) {
        throw std::runtime_error(fmt::format("{}: cannot copy /{} from {}", m.path.string(), group, m.info.source));
      }
    }
    m.file.close();
  } catch (const H5::Exception& e) {
    throw std::runtime_error(fmt::format("{}: cannot write the preprocessed data set: {}", m.temporary.string(), e.getDetailMsg()));
  }
  std::filesystem::rename(m.temporary, m.path);
  m.closed = true;
}

}  // namespace larsel::preprocess
