#include "larsel/models/image_set.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace larsel::models {

void ImageSet::push_back(std::span<const std::uint8_t> image, std::uint8_t label, float nu_energy, float visible_energy,
                         std::int32_t event, std::uint8_t background_kind) {
  if (image.size() != shape.size() || baseline_configs != 0) {
    throw std::invalid_argument(fmt::format("image set of {}x{} images{}: cannot take an image of {} pixels", shape.height,
                                            shape.width, baseline_configs ? " with baseline scores" : "", image.size()));
  }
  pixels.insert(pixels.end(), image.begin(), image.end());
  labels.push_back(label);
  nu_energy_mev.push_back(nu_energy);
  visible_energy_mev.push_back(visible_energy);
  events.push_back(event);
  background_kinds.push_back(background_kind);
}

void ImageSet::resize(std::size_t frames) {
  const std::size_t n = size() + frames;
  pixels.resize(n * shape.size());
  labels.resize(n);
  nu_energy_mev.resize(n);
  visible_energy_mev.resize(n);
  events.resize(n, -1);
  background_kinds.resize(n, kNoBackgroundKind);
  baseline_scores.resize(n * baseline_configs);
}

void ImageSet::append(const ImageSet& other) {
  if (size() == 0) shape = other.shape, baseline_configs = other.baseline_configs;
  if (other.size() == 0) return;
  if (!(other.shape == shape) || other.baseline_configs != baseline_configs) {
    throw std::invalid_argument(fmt::format("image sets of {}x{} images with {} baseline scores and {}x{} with {} cannot be merged",
                                            shape.height, shape.width, baseline_configs, other.shape.height,
                                            other.shape.width, other.baseline_configs));
  }
  pixels.insert(pixels.end(), other.pixels.begin(), other.pixels.end());
  labels.insert(labels.end(), other.labels.begin(), other.labels.end());
  nu_energy_mev.insert(nu_energy_mev.end(), other.nu_energy_mev.begin(), other.nu_energy_mev.end());
  visible_energy_mev.insert(visible_energy_mev.end(), other.visible_energy_mev.begin(), other.visible_energy_mev.end());
  events.insert(events.end(), other.events.begin(), other.events.end());
  background_kinds.insert(background_kinds.end(), other.background_kinds.begin(), other.background_kinds.end());
  baseline_scores.insert(baseline_scores.end(), other.baseline_scores.begin(), other.baseline_scores.end());
}

}  // namespace larsel::models
