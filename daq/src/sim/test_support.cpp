#include "larsel/daq/sim/test_support.hpp"

#include "charge.hpp"
#include "generators.hpp"
#include "particles.hpp"
#include "random.hpp"

namespace larsel::daq::sim::test_support {
namespace {

Vec3 to_vec3(const Point& p) { return {p.x, p.y, p.z}; }

Deposit to_deposit(const PointDeposit& d) { return {to_vec3(d.position), d.energy_mev, d.dedx, DepositKind::neutrino}; }

std::vector<double> energies(const std::vector<Deposit>& deposits) {
  std::vector<double> out;
  out.reserve(deposits.size());
  for (const Deposit& d : deposits) out.push_back(d.energy_mev);
  return out;
}

double total_energy(const std::vector<Deposit>& deposits) {
  double sum = 0;
  for (const Deposit& d : deposits) sum += d.energy_mev;
  return sum;
}

}  // namespace

double electrons_at_wires(const DetectorConfig& detector, const PointDeposit& deposit) {
  return ChargeProjector(detector).electrons_at_wires(to_deposit(deposit));
}

std::vector<float> shaped_frame(const DetectorConfig& detector, std::span<const PointDeposit> deposits, double creation_tick,
                                std::uint64_t seed, std::uint64_t stream) {
  const ChargeProjector projector(detector);
  SignalBuffer buffer;
  Rng rng(seed, stream);
  for (const PointDeposit& d : deposits) projector.project(to_deposit(d), creation_tick, rng, buffer);
  std::vector<float> shaped(Frame::kPixels);
  buffer.take_frame(std::span<float, Frame::kPixels>(shaped.data(), Frame::kPixels));
  return shaped;
}

std::vector<double> electron_deposit_energies(double kinetic_mev, const Point& start, std::uint64_t seed, std::uint64_t stream) {
  Rng rng(seed, stream);
  std::vector<Deposit> deposits;
  transport_electron(kinetic_mev, to_vec3(start), rng.isotropic(), DepositKind::neutrino, rng, deposits);
  return energies(deposits);
}

std::vector<double> photon_deposit_energies(double energy_mev, const Point& start, std::uint64_t seed, std::uint64_t stream) {
  Rng rng(seed, stream);
  std::vector<Deposit> deposits;
  transport_photon(energy_mev, to_vec3(start), rng.isotropic(), DepositKind::neutrino, rng, deposits);
  return energies(deposits);
}

InteractionEnergies neutrino_interaction(const SignalConfig& config, const Point& vertex, std::uint64_t seed, std::uint64_t stream) {
  Rng rng(seed, stream);
  const NeutrinoInteraction event = SignalGenerator(config).generate(to_vec3(vertex), rng);
  return {event.nu_energy_mev, event.electron_energy_mev, event.excitation_mev, total_energy(event.deposits)};
}

BetaDraws sample_beta_spectrum(double endpoint_mev, int daughter_z, bool unique_forbidden, std::size_t count, std::uint64_t seed,
                               std::uint64_t stream) {
  const BetaSpectrum spectrum(endpoint_mev, daughter_z, unique_forbidden);
  Rng rng(seed, stream);
  BetaDraws draws;
  draws.energies_mev.reserve(count);
  for (std::size_t i = 0; i < count; ++i) draws.energies_mev.push_back(spectrum.sample(rng));
  draws.spectrum_mean_mev = spectrum.mean();
  return draws;
}

}  // namespace larsel::daq::sim::test_support
