#pragma once
// One face's frame path as training and evaluation see it: the preprocessor
// (with its streaming channel state) gives the CNN image and the denoised
// plane, from which every baseline-trigger configuration of the tuning grid
// scores the frame. Buffers are allocated once.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "larsel/daq/sim/truth.hpp"
#include "larsel/models/baseline_trigger.hpp"
#include "larsel/models/image_set.hpp"
#include "larsel/preprocess/preprocessor.hpp"

namespace larsel::models::detail {

class FramePipeline {
 public:
  /// Bumped when what a cached image set holds changes meaning.
  static constexpr int kCacheVersion = 2;  // 2: continuous streams, events and background kinds

  explicit FramePipeline(const preprocess::PreprocessConfig& config)
      : preprocessor_(config), image_(config.output_pixels()), denoised_(daq::Frame::kPixels) {
    for (const BaselineConfig& c : baseline_tuning_grid()) triggers_.emplace_back(c);
  }
  static std::size_t baseline_count() { return baseline_tuning_grid().size(); }
  /// Everything that decides a cached set's content besides its source frames.
  static std::string describe(const preprocess::PreprocessConfig& config) {
    nlohmann::json grid = nlohmann::json::array();
    for (const BaselineConfig& c : baseline_tuning_grid()) grid.push_back(to_json(c));
    return fmt::format("cache version {}\npreprocess\n{}\nbaseline grid {}", kCacheVersion, preprocess::to_yaml(config), grid.dump());
  }

  /// Runs a frame only to settle the channel state.
  void warm_up(preprocess::FrameAdc adc) { preprocessor_.process(adc, {image_, {}, {}}); }

  /// Preprocesses frame `index` of `set` and scores it with every baseline configuration.
  void process(preprocess::FrameAdc adc, ImageSet& set, std::size_t index) {
    const std::size_t pixels = set.shape.size();
    preprocessor_.process(adc, {std::span(set.pixels.data() + index * pixels, pixels), denoised_, {}});
    for (std::size_t c = 0; c < triggers_.size(); ++c) {
      set.baseline_scores[index * set.baseline_configs + c] = triggers_[c].score(denoised_);
    }
  }

 private:
  preprocess::Preprocessor preprocessor_;
  std::vector<std::uint8_t> image_;
  std::vector<std::int16_t> denoised_;
  std::vector<BaselineTrigger> triggers_;
};

/// Frame `index` of `set` takes the truth of a simulated frame: label, energies, event, dominant background.
inline void record_truth(ImageSet& set, std::size_t index, const daq::sim::FrameTruth& truth) {
  set.labels[index] = static_cast<std::uint8_t>(truth.label);
  set.nu_energy_mev[index] = truth.nu_energy_mev;
  set.visible_energy_mev[index] = truth.visible_energy_mev;
  set.events[index] = truth.event;
  const auto kind = daq::sim::dominant_background_kind(truth);
  set.background_kinds[index] = kind ? static_cast<std::uint8_t>(*kind) : kNoBackgroundKind;
}

}  // namespace larsel::models::detail
