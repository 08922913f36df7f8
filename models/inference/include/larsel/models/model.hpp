#pragma once
// A built network with the architecture it came from and its float inference
// on preprocessed images: the reference later backends (fixed point, HLS
// twin) are compared against.
#include <cstdint>
#include <span>
#include <vector>

#include "larsel/models/architecture.hpp"
#include "larsel/models/image_set.hpp"
#include "larsel/models/network.hpp"

namespace larsel::models {

class Model {
 public:
  /// Builds the network for `input` and initialises it from `seed`.
  Model(Architecture architecture, Shape input, std::uint64_t seed);
  Model(Model&&) noexcept = default;
  Model& operator=(Model&&) noexcept = default;

  [[nodiscard]] const Architecture& architecture() const noexcept { return architecture_; }
  [[nodiscard]] Shape input_shape() const noexcept { return input_; }
  [[nodiscard]] Network& network() noexcept { return network_; }
  [[nodiscard]] const Network& network() const noexcept { return network_; }

  /// The same architecture with a copy of every parameter and buffer.
  [[nodiscard]] Model clone();
  /// Copies every parameter and buffer value from `other` (same architecture).
  void copy_state_from(Model& other);

  /// Logits of the images `indices` of `set`, in that order, by `threads`
  /// workers each running batches of up to 256 images.
  std::vector<float> logits(const ImageSet& set, std::span<const std::size_t> indices, unsigned threads);

 private:
  Architecture architecture_;
  Shape input_;
  Network network_;
};

/// Fills `batch` with images `indices` of `set` as the network's float input (pixel x input_scale).
void fill_batch(const ImageSet& set, std::span<const std::size_t> indices, float input_scale, Batch& batch);

}  // namespace larsel::models
