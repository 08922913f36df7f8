#include "larsel/daq/sim/noise.hpp"

#include <cmath>

#include "larsel/daq/sim/physics.hpp"
#include "random.hpp"

namespace larsel::daq::sim {

namespace {

/// First-order high-pass (AC coupling / baseline restoration), corner `hz`, sampled every tick.
void high_pass(std::vector<double>& x, double hz) {
  const double rc = 1.0 / (2 * 3.141592653589793 * hz), dt = physics::kTickUs * 1e-6, a = rc / (rc + dt);
  double previous_in = x.empty() ? 0 : x[0], previous_out = 0;
  for (auto& v : x) {
    const double out = a * (previous_out + v - previous_in);
    previous_in = v;
    v = previous_out = out;
  }
}

void normalise(std::vector<double>& x) {
  double sum2 = 0;
  for (const double v : x) sum2 += v * v;
  const double scale = 1.0 / std::sqrt(sum2 / static_cast<double>(x.size()));
  for (auto& v : x) v *= scale;
}

}  // namespace

NoiseBank::NoiseBank(std::uint64_t seed, std::size_t size) : size_(size), samples_(size + kTail) {
  // White noise at the preamplifier input through the shaper (24 ticks = 12 us:
  // beyond that the response is below 1e-5 of its peak), AC-coupled at
  // kHighPassHz; plus a white part after the shaper. Both fitted to the PDHD
  // fixture's collection-plane spectrum (docs/simulation.md).
  constexpr std::size_t kKernel = 24;
  std::vector<double> kernel(kKernel);
  for (std::size_t k = 0; k < kKernel; ++k) kernel[k] = physics::shaping_response((static_cast<double>(k) + 0.5) * physics::kTickUs);
  Rng rng(seed, 0x4E4F495345ULL);  // "NOISE"
  std::vector<double> white(size + kKernel), shaped(size);
  for (auto& w : white) w = rng.normal();
  for (std::size_t i = 0; i < size; ++i) {
    for (std::size_t k = 0; k < kKernel; ++k) shaped[i] += kernel[k] * white[i + kKernel - k];
  }
  high_pass(shaped, kHighPassHz);
  normalise(shaped);
  for (std::size_t i = 0; i < size; ++i) {
    samples_[i] = static_cast<float>(std::sqrt(1 - kWhiteFraction) * shaped[i] + std::sqrt(kWhiteFraction) * rng.normal());
  }
  for (std::size_t i = 0; i < kTail; ++i) samples_[size + i] = samples_[i];
}

}  // namespace larsel::daq::sim
