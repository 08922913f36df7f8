#include "larsel/daq/sim/noise.hpp"

#include <cmath>

#include "larsel/daq/sim/physics.hpp"
#include "larsel/daq/sim/random.hpp"

namespace larsel::daq::sim {

NoiseBank::NoiseBank(std::uint64_t seed, std::size_t size) : size_(size), samples_(size + kTail) {
  // Shaping kernel sampled at the tick period, 24 ticks long (12 us: beyond
  // that the response is below 1e-5 of its peak).
  constexpr std::size_t kKernel = 24;
  std::vector<double> kernel(kKernel);
  for (std::size_t k = 0; k < kKernel; ++k) kernel[k] = physics::shaping_response((static_cast<double>(k) + 0.5) * physics::kTickUs);
  Rng rng(seed, 0x4E4F495345ULL);  // "NOISE"
  std::vector<double> white(size + kKernel);
  for (auto& w : white) w = rng.normal();
  double sum2 = 0;
  for (std::size_t i = 0; i < size; ++i) {
    double v = 0;
    for (std::size_t k = 0; k < kKernel; ++k) v += kernel[k] * white[i + kKernel - k];
    samples_[i] = static_cast<float>(v);
    sum2 += v * v;
  }
  const double scale = 1.0 / std::sqrt(sum2 / static_cast<double>(size));
  for (std::size_t i = 0; i < size; ++i) samples_[i] = static_cast<float>(samples_[i] * scale);
  for (std::size_t i = 0; i < kTail; ++i) samples_[size + i] = samples_[i];
}

}  // namespace larsel::daq::sim
