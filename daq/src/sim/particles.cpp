#include "particles.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <iterator>
#include <numbers>
#include <utility>

#include "larsel/daq/sim/physics.hpp"

namespace larsel::daq::sim {
namespace {

using physics::kArgonDensity;
using physics::kElectronMassMeV;

/// Log-log interpolation in a table of (x, y) pairs, clamped at both ends.
template <std::size_t N>
double loglog(const std::array<std::pair<double, double>, N>& table, double x) {
  if (x <= table.front().first) return table.front().second;
  if (x >= table.back().first) return table.back().second;
  const auto hi = std::upper_bound(table.begin(), table.end(), x, [](double v, const auto& e) { return v < e.first; });
  const auto lo = std::prev(hi);
  const double f = std::log(x / lo->first) / std::log(hi->first / lo->first);
  return lo->second * std::pow(hi->second / lo->second, f);
}

// Electron collision stopping power in argon, MeV cm^2/g (approximate ESTAR values [G]).
constexpr std::array<std::pair<double, double>, 12> kElectronStopping{{
    {0.01, 14.6}, {0.02, 8.6}, {0.05, 4.3}, {0.1, 2.75}, {0.2, 1.95}, {0.5, 1.55},
    {1.0, 1.47}, {2.0, 1.48}, {5.0, 1.56}, {10.0, 1.63}, {20.0, 1.70}, {50.0, 1.78}}};
// Photon mass attenuation coefficient in argon, cm^2/g (approximate XCOM values [G]).
constexpr std::array<std::pair<double, double>, 10> kPhotonAttenuation{{
    {0.03, 1.9}, {0.05, 0.58}, {0.1, 0.17}, {0.2, 0.11}, {0.5, 0.078},
    {1.0, 0.057}, {2.0, 0.040}, {5.0, 0.029}, {10.0, 0.026}, {20.0, 0.026}}};

/// `direction` turned by polar angle theta, random azimuth.
Vec3 deflect(const Vec3& d, double theta, Rng& rng) {
  const double phi = rng.uniform(0, 2 * std::numbers::pi);
  // Orthonormal basis (u, v) perpendicular to d.
  const Vec3 helper = std::abs(d.z) < 0.9 ? Vec3{0, 0, 1} : Vec3{1, 0, 0};
  Vec3 u{d.y * helper.z - d.z * helper.y, d.z * helper.x - d.x * helper.z, d.x * helper.y - d.y * helper.x};
  const double norm = std::sqrt(u.x * u.x + u.y * u.y + u.z * u.z);
  u = u * (1.0 / norm);
  const Vec3 v{d.y * u.z - d.z * u.y, d.z * u.x - d.x * u.z, d.x * u.y - d.y * u.x};
  const double st = std::sin(theta), ct = std::cos(theta);
  return d * ct + u * (st * std::cos(phi)) + v * (st * std::sin(phi));
}

/// Highland multiple-scattering angle (PDG) for an electron over `step_cm`.
double highland_theta(double kinetic_mev, double step_cm) {
  const double p = std::sqrt(kinetic_mev * (kinetic_mev + 2 * kElectronMassMeV));
  const double beta = p / (kinetic_mev + kElectronMassMeV);
  const double t = step_cm / physics::kRadiationLengthCm;
  return std::min(1.5, 13.6 / (beta * p) * std::sqrt(t) * std::max(0.1, 1 + 0.038 * std::log(t)));
}

}  // namespace

double electron_dedx(double kinetic_mev) { return loglog(kElectronStopping, kinetic_mev) * kArgonDensity; }
double photon_attenuation_cm(double energy_mev) { return 1.0 / (loglog(kPhotonAttenuation, energy_mev) * kArgonDensity); }

void transport_electron(double kinetic_mev, Vec3 pos, Vec3 dir, DepositKind source, Rng& rng,
                        std::vector<Deposit>& out, const TransportLimits& limits) {
  double energy = kinetic_mev;
  while (energy > limits.electron_cut_mev) {
    const double dedx = electron_dedx(energy);
    const double step = std::clamp(0.2 * energy / dedx, 1e-4, limits.max_step_cm);  // <= 20 % of E per step
    // Bremsstrahlung with a 1/k spectrum: photons above brems_min per cm = (4/3) ln(E/kmin) / X0 [G, approx].
    if (energy > 2 * limits.brems_min_mev &&
        rng.uniform() < step / physics::kRadiationLengthCm * (4.0 / 3.0) * std::log(energy / limits.brems_min_mev)) {
      const double k = std::min(limits.brems_min_mev * std::pow(energy / limits.brems_min_mev, rng.uniform()),
                                energy - limits.electron_cut_mev);
      energy -= k;
      transport_photon(k, pos, dir, source, rng, out, limits);
    }
    const double loss = std::min(dedx * step, energy);
    out.push_back({pos + dir * (0.5 * step * loss / (dedx * step)), loss, dedx, source});
    pos = pos + dir * step;
    energy -= loss;
    // Highland's theta0 is the width of the angle projected on a plane; the
    // space angle of two such projections is Rayleigh: theta0 sqrt(-2 ln u).
    if (energy > limits.electron_cut_mev) {
      dir = deflect(dir, highland_theta(energy, step) * std::sqrt(-2 * std::log(1 - rng.uniform())), rng);
    }
  }
  if (energy > 0) out.push_back({pos, energy, electron_dedx(std::max(energy, 0.01)), source});
}

void transport_photon(double energy_mev, Vec3 pos, Vec3 dir, DepositKind source, Rng& rng,
                      std::vector<Deposit>& out, const TransportLimits& limits) {
  double k = energy_mev;
  for (int interaction = 0; interaction < 64 && k > limits.photon_cut_mev; ++interaction) {
    pos = pos + dir * rng.exponential(photon_attenuation_cm(k));
    if (k > 10.0) {  // pair production dominates [G]: e+ e- share the energy; annihilation photons follow
      const double shared = k - 2 * kElectronMassMeV, fraction = rng.uniform(0.2, 0.8);
      transport_electron(shared * fraction, pos, deflect(dir, 0.05, rng), source, rng, out, limits);
      transport_electron(shared * (1 - fraction), pos, deflect(dir, 0.05, rng), source, rng, out, limits);
      const Vec3 back = rng.isotropic();
      transport_photon(kElectronMassMeV, pos, back, source, rng, out, limits);
      transport_photon(kElectronMassMeV, pos, back * -1.0, source, rng, out, limits);
      return;
    }
    // Compton scattering: electron energy uniform up to the Compton edge [I, simplified Klein-Nishina].
    const double kk = k / kElectronMassMeV;
    const double electron = rng.uniform() * k * 2 * kk / (1 + 2 * kk);
    const double scattered = k - electron;
    const double cos_theta = std::clamp(1 - kElectronMassMeV * (1 / scattered - 1 / k), -1.0, 1.0);
    transport_electron(electron, pos, deflect(dir, rng.uniform(0.0, 1.2), rng), source, rng, out, limits);
    dir = deflect(dir, std::acos(cos_theta), rng);
    k = scattered;
  }
  if (k > 0) out.push_back({pos, k, electron_dedx(std::max(k, 0.01)), source});  // photoabsorption
}

namespace {
constexpr std::size_t kBetaBins = 512;
}

BetaSpectrum::BetaSpectrum(double endpoint_mev, int daughter_z, bool unique_forbidden) : endpoint_(endpoint_mev) {
  constexpr double kAlpha = 1.0 / 137.035999;
  cdf_.resize(kBetaBins);
  double total = 0, weighted = 0;
  const double w0 = 1 + endpoint_mev / kElectronMassMeV;
  for (std::size_t i = 0; i < kBetaBins; ++i) {
    const double t = (static_cast<double>(i) + 0.5) / kBetaBins * endpoint_mev;
    const double w = 1 + t / kElectronMassMeV, p = std::sqrt(w * w - 1), q = w0 - w;
    const double eta = kAlpha * daughter_z * w / p;
    const double fermi = 2 * std::numbers::pi * eta / (1 - std::exp(-2 * std::numbers::pi * eta));
    const double shape = unique_forbidden ? p * p + q * q : 1.0;
    const double density = fermi * p * w * q * q * shape;
    total += density;
    weighted += density * t;
    cdf_[i] = total;
  }
  for (auto& c : cdf_) c /= total;
  mean_ = weighted / total;
}

double BetaSpectrum::sample(Rng& rng) const noexcept {
  const double u = rng.uniform();
  const auto bin = static_cast<std::size_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
  const double lo = bin == 0 ? 0.0 : cdf_[bin - 1], hi = cdf_[std::min(bin, kBetaBins - 1)];
  const double within = hi > lo ? (u - lo) / (hi - lo) : 0.5;
  return (static_cast<double>(std::min(bin, kBetaBins - 1)) + within) / kBetaBins * endpoint_;
}

}  // namespace larsel::daq::sim
