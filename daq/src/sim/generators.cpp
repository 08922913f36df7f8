#include "generators.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "charge.hpp"

namespace larsel::daq::sim {
namespace {

/// 40K* levels reached by nu_e CC and their shares: the isobaric analogue
/// state at 4.38 MeV and Gamow-Teller states near 2.3-3.1 MeV [I, simplified
/// after the level scheme used by MARLEY].
constexpr std::array<std::pair<double, double>, 4> kExcitationLevels{{{2.290, 0.35}, {2.730, 0.15}, {3.110, 0.15}, {4.384, 0.35}}};
constexpr double kMaxNeutrinoMeV = 80;

double sample_excitation(Rng& rng) {
  double u = rng.uniform();
  for (const auto& [energy, share] : kExcitationLevels) {
    if ((u -= share) < 0) return energy;
  }
  return kExcitationLevels.back().first;
}

/// Gamma(shape, 1) by Marsaglia & Tsang (shape >= 1).
double sample_gamma(double shape, Rng& rng) {
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9 * d);
  for (;;) {
    const double x = rng.normal(), v = std::pow(1 + c * x, 3);
    if (v <= 0) continue;
    if (std::log(rng.uniform()) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
  }
}

}  // namespace

double SignalGenerator::sample_supernova_energy(double threshold, Rng& rng) const {
  // Pinched Fermi-Dirac flux E^a exp(-(a+1) E/<E>) is a Gamma(a+1) law; weight
  // by the CC cross-section, ~ (E - threshold)^2 above threshold [G, allowed approximation].
  const double shape = config_.pinching + 1, scale = config_.mean_energy_mev / shape;
  for (int attempt = 0; attempt < 100000; ++attempt) {
    const double e = sample_gamma(shape, rng) * scale;
    if (e <= threshold || e >= kMaxNeutrinoMeV) continue;
    const double weight = (e - threshold) / (kMaxNeutrinoMeV - threshold);
    if (rng.uniform() < weight * weight) return e;
  }
  return threshold + 10;  // unreachable for sane configurations
}

NeutrinoInteraction SignalGenerator::generate(const Vec3& vertex, Rng& rng) const {
  NeutrinoInteraction event;
  event.vertex = vertex;
  event.excitation_mev = sample_excitation(rng);
  const double threshold = physics::kNueCcThresholdMeV + event.excitation_mev;
  switch (config_.spectrum) {
    case SpectrumKind::supernova:
      event.nu_energy_mev = sample_supernova_energy(threshold, rng);
      event.electron_energy_mev = event.nu_energy_mev - threshold;
      break;
    case SpectrumKind::fixed:
      event.electron_energy_mev = config_.fixed_electron_mev;
      event.nu_energy_mev = event.electron_energy_mev + threshold;
      break;
    case SpectrumKind::uniform:
      event.electron_energy_mev = rng.uniform(config_.uniform_min_mev, config_.uniform_max_mev);
      event.nu_energy_mev = event.electron_energy_mev + threshold;
      break;
  }
  event.deposits.reserve(2048);
  transport_electron(event.electron_energy_mev, vertex, rng.isotropic(), DepositKind::neutrino, rng, event.deposits);
  emit_gamma_cascade(event.excitation_mev, 3, vertex, DepositKind::neutrino, rng, event.deposits);
  return event;
}

void emit_gamma_cascade(double total_mev, int max_gammas, const Vec3& origin, DepositKind kind, Rng& rng,
                        std::vector<Deposit>& out) {
  const int gammas = 1 + static_cast<int>(rng.uniform() * max_gammas);
  double left = total_mev;
  for (int g = 0; g < gammas; ++g) {
    const double energy = g + 1 == gammas ? left : left * rng.uniform(0.2, 0.8);
    left -= energy;
    transport_photon(energy, origin, rng.isotropic(), kind, rng, out);
  }
}

BackgroundGenerator::BackgroundGenerator(const BackgroundConfig& config) : config_(config) {}

double BackgroundGenerator::face_mass_kg() noexcept {
  const double volume_cm3 = Frame::kWires * physics::kWirePitchCm * physics::kFaceHeightCm * physics::kDriftLengthCm;
  return volume_cm3 * physics::kArgonDensity / 1000.0;  // ~69,000 kg
}

double BackgroundGenerator::ar39_per_frame() const noexcept {
  return face_mass_kg() * config_.ar39_bq_per_kg * Frame::kTicks * physics::kTickUs * 1e-6;
}

void BackgroundGenerator::add_beta(DepositKind kind, const BetaSpectrum& spectrum, double gamma_mev,
                                   double window_start, double window_ticks, Rng& rng,
                                   std::vector<Radioactivity>& decays, std::vector<Deposit>& deposits) const {
  const Vec3 position{rng.uniform(0, physics::kDriftLengthCm), rng.uniform(0, Frame::kWires * physics::kWirePitchCm),
                      rng.uniform(0, physics::kFaceHeightCm)};
  const double arrival = window_start + rng.uniform() * window_ticks;
  const std::size_t first = deposits.size();
  if (spectrum.endpoint() > 0) transport_electron(spectrum.sample(rng), position, rng.isotropic(), kind, rng, deposits);
  if (gamma_mev > 0) transport_photon(gamma_mev, position, rng.isotropic(), kind, rng, deposits);
  double energy = 0;
  for (std::size_t i = first; i < deposits.size(); ++i) energy += in_face(deposits[i].position) ? deposits[i].energy_mev : 0;
  decays.push_back({kind, position, arrival - position.x / physics::kDriftPerTickCm, energy, first, deposits.size() - first});
}

void BackgroundGenerator::generate(double window_start, double window_ticks, Rng& rng,
                                   std::vector<Radioactivity>& decays, std::vector<Deposit>& deposits) const {
  const double seconds = window_ticks * physics::kTickUs * 1e-6;
  const double mass = face_mass_kg();
  const unsigned ar39 = rng.poisson(mass * config_.ar39_bq_per_kg * seconds);
  for (unsigned i = 0; i < ar39; ++i) add_beta(DepositKind::ar39_beta, ar39_, 0, window_start, window_ticks, rng, decays, deposits);
  const unsigned ar42 = rng.poisson(mass * config_.ar42_bq_per_kg * seconds);
  for (unsigned i = 0; i < ar42; ++i) add_beta(DepositKind::ar42_chain, ar42_, 0, window_start, window_ticks, rng, decays, deposits);
  const unsigned k42 = rng.poisson(mass * config_.ar42_bq_per_kg * seconds);  // daughter in equilibrium
  for (unsigned i = 0; i < k42; ++i) {
    const bool excited = rng.uniform() < 0.18;  // 42K: ~18 % of decays feed the 1.525 MeV level of 42Ca [G]
    add_beta(DepositKind::ar42_chain, excited ? k42_excited_ : k42_ground_, excited ? 1.525 : 0, window_start,
             window_ticks, rng, decays, deposits);
  }
  const unsigned captures = rng.poisson(config_.neutron_captures_per_s * seconds);
  for (unsigned i = 0; i < captures; ++i) {
    const std::size_t first = deposits.size();
    const Vec3 position{rng.uniform(0, physics::kDriftLengthCm), rng.uniform(0, Frame::kWires * physics::kWirePitchCm),
                        rng.uniform(0, physics::kFaceHeightCm)};
    emit_gamma_cascade(physics::kNeutronCaptureMeV, 4, position, DepositKind::neutron_capture, rng, deposits);
    double energy = 0;
    for (std::size_t d = first; d < deposits.size(); ++d) energy += in_face(deposits[d].position) ? deposits[d].energy_mev : 0;
    const double arrival = window_start + rng.uniform() * window_ticks;
    decays.push_back({DepositKind::neutron_capture, position, arrival - position.x / physics::kDriftPerTickCm, energy,
                      first, deposits.size() - first});
  }
}

}  // namespace larsel::daq::sim
