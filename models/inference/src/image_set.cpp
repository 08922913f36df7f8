#include "larsel/models/image_set.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace larsel::models {

void ImageSet::push_back(std::span<const std::uint8_t> image, bool signal, float nu_energy, float visible_energy) {
  if (image.size() != shape.size() || baseline_configs != 0) {
    throw std::invalid_argument(fmt::format("image set of {}x{} images{}: cannot take an image of {} pixels", shape.height,
                                            shape.width, baseline_configs ? " with baseline scores" : "", image.size()));
  }
  pixels.insert(pixels.end(), image.begin(), image.end());
  labels.push_back(signal ? 1 : 0);
  nu_energy_mev.push_back(nu_energy);
  visible_energy_mev.push_back(visible_energy);
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
  baseline_scores.insert(baseline_scores.end(), other.baseline_scores.begin(), other.baseline_scores.end());
}

}  // namespace larsel::models
