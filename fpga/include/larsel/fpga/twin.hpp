#pragma once
// The software twin of the HLS kernel: the integer arithmetic of a quantized
// model (models::FixedPointInference's, bit for bit) written for speed on one
// CPU core. Two paths give the same bits:
// - the packed path, taken when every activation and weight fits int16 and
//   every convolution's sum of |weight| * max|activation| fits int32: a plan,
//   made once for the kernel set that runs it (its vector width, registers and
//   instructions: AVX-512 with or without VNNI, AVX2, or the x86-64 baseline),
//   lays each convolution's input out so that one 32-bit lane holds two int16
//   activations (a channel pair or a row pair) or, with VNNI, four uint8 image
//   rows, multiplied by a packed weight pair or quad in one multiply-add per
//   lane for a block of filters sharing each load; sums stay in registers for
//   blocks of output positions, the 2x2 max pooling is a max of registers
//   (outputs are computed by pooling phase), and the output conversion runs
//   there too, writing int16 activations in the layout the next layer reads.
//   Dense layers multiply-add int16 pairs.
// - the generic path for anything else (wide activations or weights, other
//   pooling windows): int32 activations, int32/int64 accumulators by the
//   layer's overflow-free width, tap-by-tap plane multiply-adds.
// Pruned weights are skipped by both; every buffer is allocated once, none per frame.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "larsel/core/kernel_set.hpp"
#include "larsel/models/fixed_point.hpp"
#include "larsel/models/model.hpp"

namespace larsel::fpga {

/// One weighted layer as the twin runs it.
struct TwinLayerSummary {
  bool convolution = false;           // conv2d, else dense
  std::size_t non_zero_weights = 0;   // the multipliers it keeps (pruned weights are skipped)
  int accumulator_width = 0;          // bits of its overflow-free accumulator (int64 sums beyond 32)
};

class Twin {
 public:
  /// Reads the quantized weights of `model` and plans its arithmetic for the kernels of `kernels` (default: the
  /// kernel set this process runs, core::selected_kernel_set()). std::invalid_argument if the model is not
  /// quantized, has a layer the twin does not run, or this CPU cannot run `kernels`.
  explicit Twin(models::Model& model, std::optional<core::KernelSet> kernels = std::nullopt);
  /// A copy shares the (immutable) plan and has its own buffers: one per thread.
  Twin(const Twin& other);
  Twin& operator=(const Twin& other);
  Twin(Twin&&) noexcept;
  Twin& operator=(Twin&&) noexcept;
  ~Twin();

  /// The logit's raw integer in logit_format() for one uint8 image of the model's input shape.
  std::int64_t raw_logit(std::span<const std::uint8_t> image);
  [[nodiscard]] const models::FixedPointFormat& logit_format() const noexcept;
  [[nodiscard]] std::size_t input_size() const noexcept;
  /// True when the packed path runs; false: the generic path.
  [[nodiscard]] bool packed() const noexcept;
  /// The kernel set whose kernel runs (baseline for the generic path).
  [[nodiscard]] core::KernelSet kernel_set() const noexcept;
  /// For reports: "avx512vnni-packed", "avx2-packed", ..., or "generic".
  [[nodiscard]] std::string kernel_name() const;
  [[nodiscard]] std::vector<TwinLayerSummary> weighted_layers() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace larsel::fpga
