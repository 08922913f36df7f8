#pragma once
// Training data: simulated frames (`larsel simulate` data sets, or background simulated on the fly)
// passed through the preprocess stage into image sets, with their truth and the baseline trigger's
// scores. Each preprocessed set is cached in HDF5 (image_set_file.hpp) under a key of the source file
// (path, size, modification time), the preprocess configuration and the baseline grid, so training
// and evaluation preprocess a file once.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "larsel/models/image_set.hpp"
#include "larsel/preprocess/config.hpp"

namespace larsel::models {

/// Progress of a long preparation: frames done of total.
using ProgressCallback = std::function<void(std::size_t done, std::size_t total)>;

struct PrepareOptions {
  std::filesystem::path cache_dir;  // empty: no cache
  std::size_t warmup_frames = 32;   // background frames run first to settle pedestals and noise estimates
  ProgressCallback progress;
  /// Told when the cache cannot be written (the images are returned all the same).
  std::function<void(const std::string&)> warn;
};

/// The preprocessed images of a simulated data set (from the cache when it is
/// there). Signal and background frames are interleaved in proportion, as in
/// a stream, so one class's frames do not bias the streaming pedestal and
/// noise estimates seen by the next. Throws std::runtime_error naming the file.
ImageSet prepare_images(const std::filesystem::path& dataset, const preprocess::PreprocessConfig& config,
                        const PrepareOptions& options);

/// `count` background frames simulated from `sim_config_yaml` with `seed`
/// (frame i depends only on (seed, i)), preprocessed by `threads` workers,
/// each warmed up on its own frames first. Cached like prepare_images.
ImageSet simulate_background_images(const std::string& sim_config_yaml, std::uint64_t seed, std::size_t count,
                                    const preprocess::PreprocessConfig& config, unsigned threads,
                                    const PrepareOptions& options);

}  // namespace larsel::models
