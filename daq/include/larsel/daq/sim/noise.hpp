#pragma once
// Electronics noise: white noise at the preamplifier input shaped by the same
// front-end response as the signal. The PDHD fixture's collection spectrum
// peaks near 100 kHz and falls steeply above ~250 kHz (docs/simulation.md),
// which is this shape. A bank of unit-RMS shaped noise is made once; each
// channel reads 64 consecutive samples from its own offset, scaled by its RMS,
// and each coherent group (one WIBEth stream) adds a shared stretch.
#include <cstdint>
#include <vector>

namespace larsel::daq::sim {

class NoiseBank {
 public:
  /// 2^18 samples = 1 MB: stays in cache. A 4 MB bank made background frames
  /// 1.6x slower (cache misses on 480 random windows per frame); with 2^18,
  /// about 56 of the 115k channel pairs of a frame read overlapping windows.
  static constexpr std::size_t kDefaultSize = std::size_t{1} << 18;
  explicit NoiseBank(std::uint64_t seed, std::size_t size = kDefaultSize);
  /// 64 (or more, up to `tail`) consecutive samples starting at offset; offset < size().
  [[nodiscard]] const float* at(std::size_t offset) const noexcept { return samples_.data() + offset; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  static constexpr std::size_t kTail = 64;  // readable past size() (wrapped copy)
  static constexpr double kHighPassHz = 60e3;     // AC coupling corner [I, fitted to the PDHD fixture]
  static constexpr double kWhiteFraction = 0.12;  // variance share of post-shaper white noise [I, fitted]

 private:
  std::size_t size_;
  std::vector<float> samples_;  // size_ + kTail
};

}  // namespace larsel::daq::sim
