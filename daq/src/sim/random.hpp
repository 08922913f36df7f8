#pragma once
// Fast, seedable randomness for the simulation: xoshiro256++ (Blackman & Vigna)
// seeded through splitmix64, so frame i of a run depends only on (seed, i).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>

namespace larsel::daq::sim {

inline std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

struct Vec3 {
  double x = 0, y = 0, z = 0;  // x: drift distance from the wire plane, y: across wires, z: along wires (cm)
  Vec3 operator+(const Vec3& o) const noexcept { return {x + o.x, y + o.y, z + o.z}; }
  Vec3 operator*(double s) const noexcept { return {x * s, y * s, z * s}; }
};

class Rng {
 public:
  /// Independent stream for (seed, stream): e.g. (run seed, frame index).
  Rng(std::uint64_t seed, std::uint64_t stream) noexcept {
    std::uint64_t state = seed ^ (stream * 0xD1B54A32D192ED03ULL);
    for (auto& word : s_) word = splitmix64(state);
  }
  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[0] + s_[3], 23) + s_[0];
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  /// Uniform in [0, 1).
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform(); }
  /// Standard normal (Marsaglia polar method, one value per call).
  double normal() noexcept {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u, v, s;
    do {
      u = 2 * uniform() - 1;
      v = 2 * uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s == 0);
    const double f = std::sqrt(-2 * std::log(s) / s);
    spare_ = v * f;
    has_spare_ = true;
    return u * f;
  }
  double exponential(double mean) noexcept { return -mean * std::log(1.0 - uniform()); }
  /// Poisson: multiplication method for the small means used here, normal
  /// approximation above 100 (where exp(-mean) would underflow eventually).
  unsigned poisson(double mean) noexcept {
    if (mean > 100) return static_cast<unsigned>(std::max(0.0, std::round(mean + std::sqrt(mean) * normal())));
    const double limit = std::exp(-mean);
    double p = uniform();
    unsigned k = 0;
    while (p > limit && k < 10000) {
      p *= uniform();
      ++k;
    }
    return k;
  }
  Vec3 isotropic() noexcept {
    const double cos_theta = uniform(-1, 1), phi = uniform(0, 2 * std::numbers::pi);
    const double sin_theta = std::sqrt(1 - cos_theta * cos_theta);
    return {sin_theta * std::cos(phi), sin_theta * std::sin(phi), cos_theta};
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::array<std::uint64_t, 4> s_{};
  double spare_ = 0;
  bool has_spare_ = false;
};

}  // namespace larsel::daq::sim
