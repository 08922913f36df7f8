#pragma once
// Labelled CNN inputs: simulated frames (`larsel simulate` data sets, or
// background simulated on the fly) passed through the preprocess stage, with
// the truth the evaluation bins in and the baseline trigger's scores. Each
// preprocessed set is cached in HDF5 under a key of the source file (path,
// size, modification time), the preprocess configuration and the baseline
// grid, so training and evaluation preprocess a file once.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "larsel/models/tensor.hpp"
#include "larsel/preprocess/config.hpp"

namespace larsel::models {

struct ImageSet {
  Shape shape;                          // 1 x rows x columns of one image
  std::vector<std::uint8_t> pixels;     // size() x shape.size(), the CNN input before input_scale
  std::vector<std::uint8_t> labels;     // 1 = signal (a neutrino interaction), 0 = background
  std::vector<float> nu_energy_mev;     // 0 for background
  std::vector<float> visible_energy_mev;
  std::size_t baseline_configs = 0;     // columns of baseline_scores: baseline_tuning_grid() in order
  std::vector<float> baseline_scores;   // size() x baseline_configs

  [[nodiscard]] std::size_t size() const noexcept { return labels.size(); }
  [[nodiscard]] std::span<const std::uint8_t> image(std::size_t i) const noexcept {
    return {pixels.data() + i * shape.size(), shape.size()};
  }
  [[nodiscard]] float baseline_score(std::size_t i, std::size_t config) const noexcept {
    return baseline_scores[i * baseline_configs + config];
  }
  /// Appends all of `other` (same image shape and baseline grid, else std::invalid_argument).
  void append(const ImageSet& other);
};

/// 16 hex digits of a 64-bit FNV-1a hash of the full preprocess YAML: what a
/// model file records and checks its inputs against.
std::string preprocess_hash(const preprocess::PreprocessConfig& config);

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
