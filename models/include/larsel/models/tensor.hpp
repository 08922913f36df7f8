#pragma once
// Activations of a mini-batch: `count` samples of channels x height x width
// floats, sample-major (NCHW), the layout the im2col convolution reads.
#include <cstddef>
#include <span>
#include <vector>

namespace larsel::models {

struct Shape {
  int channels = 1;
  int height = 1;
  int width = 1;
  [[nodiscard]] std::size_t size() const noexcept {
    return static_cast<std::size_t>(channels) * static_cast<std::size_t>(height) * static_cast<std::size_t>(width);
  }
  friend bool operator==(const Shape&, const Shape&) = default;
};

struct Batch {
  int count = 0;
  Shape shape;
  std::vector<float> values;  // count x shape.size()

  /// Resizes (keeping the allocation when it is large enough); values are unspecified.
  void reshape(int samples, Shape s) {
    count = samples;
    shape = s;
    values.resize(static_cast<std::size_t>(samples) * s.size());
  }
  [[nodiscard]] std::span<float> sample(int i) noexcept {
    return {values.data() + static_cast<std::size_t>(i) * shape.size(), shape.size()};
  }
  [[nodiscard]] std::span<const float> sample(int i) const noexcept {
    return {values.data() + static_cast<std::size_t>(i) * shape.size(), shape.size()};
  }
};

}  // namespace larsel::models
