#pragma once
// The one on-disk format of preprocessed images (HDF5), written by `larsel preprocess` and by the
// training side's image cache, read by both:
//   /images              uint8 [N][rows][columns]: wire bins x tick bins, the CNN input before input_scale
//   /label               uint8 [N]: 1 = signal, 0 = background only, 2 = partial (ImageSet::labels)
//   /nu_energy_mev, /visible_energy_mev   float32 [N]
//   /event               int32 [N]: continuous streams' neutrino event in the frame, -1 none
//   /background_kind     uint8 [N]: the radiological kind with the most visible energy, 255 none
//   /baseline_scores     float32 [N][baseline_configs] (baseline_configs may be 0)
//   attributes           format_version, frames, rows, columns, baseline_configs, source,
//                        preprocess_config (YAML), kernel, key (the cache key; empty otherwise)
#include <cstdint>
#include <filesystem>
#include <string>

#include "larsel/models/image_set.hpp"

namespace larsel::models {

inline constexpr std::uint64_t kImageSetFormatVersion = 2;  // 2: event and background_kind per frame

struct ImageSetAttributes {
  std::string source;             // the data set the images were made from
  std::string preprocess_config;  // YAML
  std::string kernel;             // the preprocess kernel that ran
  std::string key;                // the image cache's key
};

struct ImageSetFile {
  ImageSet set;
  ImageSetAttributes attributes;
};

/// Writes `path` through a temporary file of this process, renamed when complete; throws
/// std::runtime_error naming the file.
void write_image_set(const std::filesystem::path& path, const ImageSet& set, const ImageSetAttributes& attributes);

/// Throws std::runtime_error naming the file for a missing, corrupt or inconsistent one.
ImageSetFile read_image_set(const std::filesystem::path& path);

}  // namespace larsel::models
