#pragma once
// The software twin of the HLS kernel: the integer arithmetic of a quantized
// model (models::FixedPointInference's, bit for bit) written for speed on one
// CPU core. Two paths give the same bits:
// - the packed path (twin_packed.cpp and the twin_*.hpp it includes), taken
//   when every activation and weight fits int16 and every convolution's sum of
//   |weight| * max|activation| fits int32: each convolution's input is laid out
//   so that one 32-bit lane holds two int16 activations (a channel pair) or
//   four uint8 image rows, multiplied by a packed weight pair or quad in one
//   VNNI multiply-add (vpdpwssd / vpdpbusd on AVX-512, plain C++ elsewhere);
//   sums stay in registers for blocks of output positions, the 2x2 max pooling
//   is a max of registers (outputs are computed by pooling phase), and the
//   output conversion runs there too, writing int16 activations in the layout
//   the next layer reads. Dense layers multiply-add int16 pairs.
// - the generic path (twin.cpp) for anything else (wide activations or
//   weights, other pooling windows): int32 activations, int32/int64
//   accumulators by the layer's overflow-free width, tap-by-tap plane
//   multiply-adds.
// Pruned weights are skipped by both; every buffer is allocated once, none per frame.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <span>
#include <vector>

#include "larsel/models/fixed_point.hpp"
#include "larsel/models/model.hpp"

namespace larsel::fpga {

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

namespace detail {

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

struct PackedPlan;  // twin_packed.hpp

/// The packed path's working memory, sized once (its zero padding is written once, never per frame).
struct PackedBuffers {
  AlignedVector<std::int32_t> lanes;                // a convolution's input laid out for the multiply-adds (any one)
  std::vector<AlignedVector<std::int16_t>> inputs;  // per convolution, then dense layer: its int16 input (NCHW)
  AlignedVector<std::int32_t> sums;                 // one filter's sums
  std::vector<std::int64_t> dense_sums, dense_outputs;
};

}  // namespace detail

class Twin {
 public:
  /// Reads the quantized weights of `model`; std::invalid_argument if it is
  /// not quantized or has a layer the twin does not run.
  explicit Twin(models::Model& model);

  /// The logit's raw integer in logit_format() for one uint8 image of the model's input shape.
  std::int64_t raw_logit(std::span<const std::uint8_t> image);
  [[nodiscard]] const models::FixedPointFormat& logit_format() const noexcept { return logit_format_; }
  [[nodiscard]] std::size_t input_size() const noexcept { return input_.size(); }
  [[nodiscard]] const std::vector<TwinLayer>& layers() const noexcept { return layers_; }
  /// True when the packed (int16, multiply-add pair) path runs; false: the generic path.
  [[nodiscard]] bool packed() const noexcept { return packed_ != nullptr; }

 private:
  void convolve(const TwinLayer& layer, const std::int32_t* in, std::int32_t* out);
  void dense(const TwinLayer& layer, const std::int32_t* in, std::int32_t* out);
  std::int64_t generic_logit(std::span<const std::uint8_t> image);

  models::Shape input_;
  std::vector<TwinLayer> layers_;
  std::vector<std::int32_t> buffer_a_, buffer_b_, padded_;
  std::vector<std::int32_t> sums32_, converted_;
  std::vector<std::int64_t> sums64_;
  models::FixedPointFormat logit_format_;
  std::shared_ptr<const detail::PackedPlan> packed_;  // immutable, shared by copies; null: the generic path
  detail::PackedBuffers packed_buffers_;
};

}  // namespace larsel::fpga
