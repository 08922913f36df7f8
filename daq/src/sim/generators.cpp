#include "generators.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>

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

BackgroundGenerator::BackgroundGenerator(const BackgroundConfig& config) : config_(config) {
  namespace p = physics;
  const double mass = face_mass_kg(), scale = config.scale;
  const double rn = config.rn222_bq_per_kg * mass * scale;
  using B = BackgroundGenerator;
  sources_ = {
      {DepositKind::ar39_beta, config.ar39_bq_per_kg * mass * scale, Place::volume, 0, &B::emit_ar39},
      {DepositKind::ar42_chain, config.ar42_bq_per_kg * mass * scale, Place::volume, 0, &B::emit_ar42},
      {DepositKind::ar42_chain, config.ar42_bq_per_kg * mass * scale, Place::cathode, p::kK42OnCathodeShare, &B::emit_k42},
      {DepositKind::kr85_beta, config.kr85_bq_per_kg * mass * scale, Place::volume, 0, &B::emit_kr85},
      {DepositKind::rn222_chain, rn, Place::volume, 0, &B::emit_alpha_rn222},
      {DepositKind::rn222_chain, rn, Place::cathode, p::kPo218OnCathodeShare, &B::emit_alpha_po218},
      {DepositKind::rn222_chain, rn, Place::cathode, p::kPb214OnCathodeShare, &B::emit_pb214},
      {DepositKind::rn222_chain, rn, Place::cathode, p::kBi214OnCathodeShare, &B::emit_bi214_po214},
      {DepositKind::neutron_capture, config.neutron_captures_per_s * scale, Place::volume, 0, &B::emit_neutron_capture},
      {DepositKind::external_gamma, config.external_gammas_per_s * scale, Place::boundary, 0, &B::emit_external_gamma},
  };
}

double BackgroundGenerator::face_mass_kg() noexcept {
  const double volume_cm3 = Frame::kWires * physics::kWirePitchCm * physics::kFaceHeightCm * physics::kDriftLengthCm;
  return volume_cm3 * physics::kArgonDensity / 1000.0;  // ~69,000 kg
}

double BackgroundGenerator::ar39_per_frame() const noexcept {
  return face_mass_kg() * config_.ar39_bq_per_kg * config_.scale * Frame::kTicks * physics::kTickUs * 1e-6;
}

Vec3 BackgroundGenerator::place(const Source& source, Rng& rng) const {
  const double y = rng.uniform(0, Frame::kWires * physics::kWirePitchCm), z = rng.uniform(0, physics::kFaceHeightCm);
  const bool on_cathode = source.place == Place::cathode && rng.uniform() < source.cathode_share;
  // On the cathode: just inside the LAr; products heading into the CPA leave the face volume.
  return {on_cathode ? physics::kDriftLengthCm - 1e-4 : rng.uniform(0, physics::kDriftLengthCm), y, z};
}

void BackgroundGenerator::emit_ar39(const Vec3& at, Rng& rng, std::vector<Deposit>& out) const {
  transport_electron(ar39_.sample(rng), at, rng.isotropic(), DepositKind::ar39_beta, rng, out);
}

void BackgroundGenerator::emit_ar42(const Vec3& at, Rng& rng, std::vector<Deposit>& out) const {
  transport_electron(ar42_.sample(rng), at, rng.isotropic(), DepositKind::ar42_chain, rng, out);
}

void BackgroundGenerator::emit_k42(const Vec3& at, Rng& rng, std::vector<Deposit>& out) const {
  const bool excited = rng.uniform() < physics::kK42ExcitedShare;
  transport_electron((excited ? k42_excited_ : k42_ground_).sample(rng), at, rng.isotropic(), DepositKind::ar42_chain, rng, out);
  if (excited) transport_photon(1.525, at, rng.isotropic(), DepositKind::ar42_chain, rng, out);
}

void BackgroundGenerator::emit_kr85(const Vec3& at, Rng& rng, std::vector<Deposit>& out) const {
  transport_electron(kr85_.sample(rng), at, rng.isotropic(), DepositKind::kr85_beta, rng, out);
}

namespace {
/// An alpha stops within ~50 um: one deposit at the alpha dE/dx, so recombination quenches its charge.
void emit_alpha(double energy_mev, const Vec3& at, std::vector<Deposit>& out) {
  out.push_back({at, energy_mev, physics::kAlphaDedxMeVPerCm, DepositKind::rn222_chain});
}
}  // namespace

void BackgroundGenerator::emit_alpha_rn222(const Vec3& at, Rng&, std::vector<Deposit>& out) const {
  emit_alpha(physics::kRn222AlphaMeV, at, out);
}

void BackgroundGenerator::emit_alpha_po218(const Vec3& at, Rng& rng, std::vector<Deposit>& out) const {
  // On the cathode, half the alphas go into the CPA.
  if (at.x < physics::kDriftLengthCm - 1e-3 || rng.uniform() < 0.5) emit_alpha(physics::kPo218AlphaMeV, at, out);
}

void BackgroundGenerator::emit_pb214(const Vec3& at, Rng& rng, std::vector<Deposit>& out) const {
  transport_electron(pb214_.sample(rng), at, rng.isotropic(), DepositKind::rn222_chain, rng, out);
  transport_photon(physics::kPb214GammaMeV, at, rng.isotropic(), DepositKind::rn222_chain, rng, out);
}

void BackgroundGenerator::emit_bi214_po214(const Vec3& at, Rng& rng, std::vector<Deposit>& out) const {
  if (rng.uniform() < physics::kBi214GroundShare) {
    transport_electron(bi214_ground_.sample(rng), at, rng.isotropic(), DepositKind::rn222_chain, rng, out);
  } else {
    transport_electron(bi214_excited_.sample(rng), at, rng.isotropic(), DepositKind::rn222_chain, rng, out);
    emit_gamma_cascade(physics::kBi214GammaMeV, 2, at, DepositKind::rn222_chain, rng, out);
  }
  // 214Po follows within 164 us at the same place [G]; drawn into the same window for simplicity [I].
  if (at.x < physics::kDriftLengthCm - 1e-3 || rng.uniform() < 0.5) emit_alpha(physics::kPo214AlphaMeV, at, out);
}

void BackgroundGenerator::emit_neutron_capture(const Vec3& at, Rng& rng, std::vector<Deposit>& out) const {
  emit_gamma_cascade(physics::kNeutronCaptureMeV, 4, at, DepositKind::neutron_capture, rng, out);
}

void BackgroundGenerator::emit_external_gamma(const Vec3& at, Rng& rng, std::vector<Deposit>& out) const {
  // Lines of the rock and material activities [G]; their shares are our assumption [I].
  constexpr std::array<std::pair<double, double>, 7> kLines{
      {{2.614, 0.20}, {1.764, 0.10}, {1.461, 0.30}, {1.332, 0.08}, {1.173, 0.08}, {0.911, 0.09}, {0.609, 0.15}}};
  double u = rng.uniform(), energy = kLines.back().first;
  for (const auto& [line, share] : kLines) {
    if ((u -= share) < 0) {
      energy = line;
      break;
    }
  }
  // Enters through the face volume's end at the cryostat wall (cavern; drawn as the top) or the APA/CPA
  // planes (materials), cosine-distributed inward.
  const double cos_theta = std::sqrt(rng.uniform()), sin_theta = std::sqrt(1 - cos_theta * cos_theta);
  const double phi = rng.uniform(0, 2 * std::numbers::pi);
  const double a = sin_theta * std::cos(phi), b = sin_theta * std::sin(phi);
  Vec3 start = at, direction;
  if (rng.uniform() < physics::kExternalGammaWallShare) {
    start.z = physics::kFaceHeightCm;
    direction = {a, b, -cos_theta};
  } else {
    const bool cathode = rng.uniform() < 0.5;
    start.x = cathode ? physics::kDriftLengthCm : 0.0;
    direction = {cathode ? -cos_theta : cos_theta, a, b};
  }
  transport_photon(energy, start, direction, DepositKind::external_gamma, rng, out);
}

void BackgroundGenerator::generate(double window_start, double window_ticks, Rng& rng,
                                   std::vector<Radioactivity>& decays, std::vector<Deposit>& deposits) const {
  const double seconds = window_ticks * physics::kTickUs * 1e-6;
  for (const Source& source : sources_) {
    const unsigned count = rng.poisson(source.per_second * seconds);
    for (unsigned i = 0; i < count; ++i) {
      Vec3 position = place(source, rng);
      const std::size_t first = deposits.size();
      (this->*source.emit)(position, rng, deposits);
      // An external gamma starts on the boundary: its first interaction stands for where it is.
      if (source.place == Place::boundary && deposits.size() > first) position = deposits[first].position;
      double energy = 0;
      for (std::size_t d = first; d < deposits.size(); ++d) energy += in_face(deposits[d].position) ? deposits[d].energy_mev : 0;
      const double arrival = window_start + rng.uniform() * window_ticks;
      decays.push_back({source.kind, position, arrival - position.x / physics::kDriftPerTickCm, energy, first, deposits.size() - first});
    }
  }
}

}  // namespace larsel::daq::sim
