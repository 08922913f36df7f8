#pragma once
// Labelled CNN inputs: preprocessed images with the truth the evaluation bins in and the baseline
// trigger's scores. Made by the training side (image_preparation.hpp) and by `larsel preprocess`;
// read and written as one HDF5 format (image_set_file.hpp).
#include <cstdint>
#include <span>
#include <vector>

#include "larsel/models/tensor.hpp"

namespace larsel::models {

/// ImageSet::background_kinds of a frame with no radiological energy (noise only).
inline constexpr std::uint8_t kNoBackgroundKind = 255;

struct ImageSet {
  Shape shape;                          // 1 x rows x columns of one image
  std::vector<std::uint8_t> pixels;     // size() x shape.size(), the CNN input before input_scale
  /// 1 = signal (holds a neutrino interaction, or in a continuous stream >= 25 % of one's visible energy),
  /// 0 = background only, 2 = partial (holds less of an event's energy: neither, left out of the figures)
  std::vector<std::uint8_t> labels;
  std::vector<float> nu_energy_mev;     // 0 for background
  std::vector<float> visible_energy_mev;
  std::vector<std::int32_t> events;          // continuous streams: the neutrino event in the frame (-1 none)
  std::vector<std::uint8_t> background_kinds;  // the radiological kind with the most visible energy (daq DepositKind)
  std::size_t baseline_configs = 0;     // columns of baseline_scores: baseline_tuning_grid() in order
  std::vector<float> baseline_scores;   // size() x baseline_configs

  [[nodiscard]] std::size_t size() const noexcept { return labels.size(); }
  [[nodiscard]] std::span<const std::uint8_t> image(std::size_t i) const noexcept {
    return {pixels.data() + i * shape.size(), shape.size()};
  }
  [[nodiscard]] float baseline_score(std::size_t i, std::size_t config) const noexcept {
    return baseline_scores[i * baseline_configs + config];
  }
  /// Appends one image of `shape` with its truth; a set with baseline scores takes none this way
  /// (std::invalid_argument, as for an image of another size).
  void push_back(std::span<const std::uint8_t> image, std::uint8_t label, float nu_energy, float visible_energy,
                 std::int32_t event = -1, std::uint8_t background_kind = kNoBackgroundKind);
  /// Room for `frames` more frames (zeroed; events -1, background kinds none) for filling by index.
  void resize(std::size_t frames);
  /// Appends all of `other` (same image shape and baseline grid, else std::invalid_argument).
  void append(const ImageSet& other);
};

}  // namespace larsel::models
