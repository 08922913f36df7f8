#pragma once
// One interface for every way of running the compressed network on frames:
//   twin  — the vectorised CPU twin of the kernel's integer arithmetic (default);
//   csim  — the generated HLS kernel source itself, compiled with g++ (C simulation);
//   float — the same network in floating point (reference, not bit-exact);
//   xrt   — the kernel on an Alveo card through XRT (needs a card and an xclbin).
// The integer backends (twin, csim, xrt) return the same raw logits bit for bit.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "larsel/models/fixed_point.hpp"
#include "larsel/models/model.hpp"

namespace larsel::fpga {

/// The kernel's name, as in `extern "C" void larsel_cnn(const ap_uint<512>* frames, int* scores, unsigned n_frames)`.
inline constexpr const char* kKernelName = "larsel_cnn";

class InferenceBackend {
 public:
  virtual ~InferenceBackend() = default;
  [[nodiscard]] virtual std::string name() const = 0;
  /// The kernel it runs, for reports ("avx2-packed" for the twin of that kernel set); "" when there is no choice.
  [[nodiscard]] virtual std::string kernel() const { return ""; }
  /// Pixels (bytes) per frame: the model's input, raw at its input format.
  [[nodiscard]] virtual std::size_t frame_size() const = 0;
  /// The format of the raw logits (integer backends).
  [[nodiscard]] virtual models::FixedPointFormat logit_format() const = 0;
  /// Scores `frames.size() / frame_size()` frames laid end to end: logits[i] is frame i's logit
  /// (for integer backends exactly raw * 2^-fractional_bits). Throws std::invalid_argument on a
  /// size mismatch and std::runtime_error when the device or library fails.
  virtual void infer(std::span<const std::uint8_t> frames, std::span<double> logits) = 0;
};

struct BackendOptions {
  std::string kind = "twin";            // twin | csim | float | xrt
  std::filesystem::path hls_project;    // csim: a project written by `larsel export-hls` (compiled on first use)
  std::filesystem::path xclbin;         // xrt: the linked kernel binary
  unsigned device_index = 0;            // xrt: which card
  std::size_t batch_frames = 256;       // xrt: frames per kernel run
};

/// The backend `options.kind` for `model` (a quantized model for twin, csim and xrt).
/// Throws std::invalid_argument naming what was wrong (unknown kind, missing project, ...).
std::unique_ptr<InferenceBackend> make_backend(const BackendOptions& options, models::Model& model);

/// The xrt backend (xrt_backend.cpp): opens card `options.device_index`, loads `options.xclbin`
/// and finds kernel `larsel_cnn`; std::runtime_error saying what it looked for when there is none.
std::unique_ptr<InferenceBackend> make_xrt_backend(const BackendOptions& options, std::size_t frame_size,
                                                   const models::FixedPointFormat& logit_format);

}  // namespace larsel::fpga
