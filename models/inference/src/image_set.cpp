#include "larsel/models/image_set.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace larsel::models {

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
