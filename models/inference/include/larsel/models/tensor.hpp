#pragma once
// Activations of a mini-batch: `count` samples of channels x height x width
// floats, sample-major (NCHW), the layout the im2col convolution reads.
#include <cstddef>
#include <new>
#include <span>
#include <vector>

namespace larsel::models {

/// Cache-line aligned storage. Eigen's vectorised products peel their first
/// elements by the address's alignment, so without it the same arithmetic on
/// buffers at different offsets (one thread's heap arena or another's) rounds
/// differently, and training would not be bit-reproducible across thread counts.
template <typename T>
struct AlignedAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlignment{64};
  AlignedAllocator() noexcept = default;
  template <typename U>
  AlignedAllocator(const AlignedAllocator<U>&) noexcept {}  // NOLINT: converting, as allocators must be
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlignment)); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, kAlignment); }
  template <typename U>
  bool operator==(const AlignedAllocator<U>&) const noexcept { return true; }
};

using FloatBuffer = std::vector<float, AlignedAllocator<float>>;

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
  FloatBuffer values;  // count x shape.size()

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
