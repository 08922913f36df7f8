#pragma once
// The twin's view of a quantized model: its layers with the weights as raw
// integers at the accumulator's fraction, the input of both of the twin's
// paths (the generic one, twin_generic.hpp, and the packed plan,
// twin_plan.hpp).
#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

#include "larsel/models/fixed_point.hpp"
#include "larsel/models/model.hpp"

namespace larsel::fpga::detail {

/// One layer of the twin, with its weights as raw integers.
struct TwinLayer {
  enum class Kind { conv2d, dense, relu, maxpool, flatten };
  struct Tap {
    int input;             // conv2d: input channel; dense: input index
    int dy = 0, dx = 0;    // conv2d: kernel offset
    std::int64_t weight;   // raw, pre-shifted to the accumulator's fraction (raw << product_shift)
    std::size_t offset;    // conv2d: where the tap reads in the zero-padded input planes
  };
  Kind kind = Kind::relu;
  models::Shape input, output;
  int pad_top = 0, pad_left = 0, window_height = 1, window_width = 1;
  std::vector<std::vector<Tap>> taps;  // per output channel or unit: the non-zero weights only
  std::vector<std::int64_t> bias;      // raw, at the accumulator's fraction
  int accumulator_fraction = 0;        // fractional bits of the accumulator
  int product_shift = 0;               // accumulator fraction minus the products' fraction
  int accumulator_width = 0;           // bits of the overflow-free accumulator (models::accumulator_format)
  bool wide_accumulator = false;       // int64 (else int32 holds every sum)
  bool relu_after = false;             // a ReLU follows, fused into the output conversion
  models::FixedPointFormat input_format, output_format;
};

/// The layers of a quantized model (ReLUs after weighted layers fused into them) and the logit's format;
/// std::invalid_argument if the model is not quantized or has a layer the twin does not run.
std::vector<TwinLayer> twin_layers(models::Model& model, models::FixedPointFormat& logit_format);

/// std::allocator with 64-byte (cache line, zmm) alignment, so that vector loads at multiples of 16 lanes are aligned.
template <typename T>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <typename U>
  explicit AlignedAllocator(const AlignedAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{64})); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t{64}); }
  template <typename U>
  bool operator==(const AlignedAllocator<U>&) const noexcept { return true; }
};
template <typename T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

}  // namespace larsel::fpga::detail
