#pragma once
// Preprocessed data sets in HDF5 (`larsel preprocess` output), the CNN's input:
//   /images    uint8 [N][rows][columns]: wire bins x tick bins, min(255, pooled ADC >> shift)
//   /denoised  int16 [N][480][64] (optional): z, zero-suppressed ADC above pedestal, wire-major
//   /truth, /radiological: copied from the simulated source data set
//   attributes: preprocess_config (YAML), source_config, seed, source, kernel, format_version
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

namespace larsel::preprocess {

inline constexpr std::uint32_t kImageFormatVersion = 1;

struct ImageDatasetInfo {
  std::size_t rows = 0, columns = 0;
  bool with_denoised = false;
  std::string preprocess_config;  // YAML
  std::string source;             // input file
  std::string source_config;      // the simulation's YAML, from the input
  std::uint64_t seed = 0;
  std::string kernel;
};

class ImageDatasetWriter {
 public:
  /// Creates `path`.tmp; close() copies the truth from `source` and renames it to `path`.
  ImageDatasetWriter(const std::filesystem::path& path, const ImageDatasetInfo& info);
  ~ImageDatasetWriter();  // without close(): the temporary file is removed
  ImageDatasetWriter(const ImageDatasetWriter&) = delete;
  ImageDatasetWriter& operator=(const ImageDatasetWriter&) = delete;

  /// `denoised` must be 480 x 64 values when the set keeps them, else empty.
  void append(std::span<const std::uint8_t> image, std::span<const std::int16_t> denoised);
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace larsel::preprocess
