#pragma once
// Test support: the simulation's internal physics (charge on the wires, particle transport, the signal
// generator, beta spectra) run on plain values, so that the tests can check it by hand without reaching
// into daq/src/sim. Not for other modules.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "larsel/daq/sim/sim_config.hpp"

namespace larsel::daq::sim::test_support {

/// A point of the face's volume, cm: x drift distance from the wire plane, y across wires, z along wires.
struct Point {
  double x = 0, y = 0, z = 0;
};

/// Energy deposited at a point, with the dE/dx (MeV/cm) there that sets its recombination.
struct PointDeposit {
  Point position;
  double energy_mev = 0;
  double dedx = 2.1;
};

/// Electrons that reach the wires from `deposit` (recombination and electron lifetime applied).
double electrons_at_wires(const DetectorConfig& detector, const PointDeposit& deposit);

/// The noise-free shaped frame (ADC, wire-major 480 x 64) of `deposits`, all created at `creation_tick` (the
/// tick at which charge made at the wire plane would arrive); diffusion draws from the stream (seed, stream).
std::vector<float> shaped_frame(const DetectorConfig& detector, std::span<const PointDeposit> deposits, double creation_tick,
                                std::uint64_t seed, std::uint64_t stream);

/// Energies (MeV) of the deposits an electron of `kinetic_mev` leaves when sent from `start` in a direction
/// drawn isotropically from the stream (seed, stream), which then also drives its transport.
std::vector<double> electron_deposit_energies(double kinetic_mev, const Point& start, std::uint64_t seed, std::uint64_t stream);
/// The same for a photon of `energy_mev` (its energy ends as Compton-electron deposits).
std::vector<double> photon_deposit_energies(double energy_mev, const Point& start, std::uint64_t seed, std::uint64_t stream);

/// The energies of one nu_e CC interaction.
struct InteractionEnergies {
  double nu_mev = 0;
  double electron_mev = 0;    // kinetic energy of the CC electron
  double excitation_mev = 0;  // 40K* level, emitted as de-excitation gammas
  double deposited_mev = 0;   // the sum of the interaction's deposits
};
/// A nu_e CC interaction at `vertex` as the signal generator makes it, from the stream (seed, stream).
InteractionEnergies neutrino_interaction(const SignalConfig& config, const Point& vertex, std::uint64_t seed, std::uint64_t stream);

/// Draws from a beta spectrum and the mean of its tabulated shape.
struct BetaDraws {
  std::vector<double> energies_mev;
  double spectrum_mean_mev = 0;
};
/// `count` kinetic energies from the beta-minus spectrum of endpoint `endpoint_mev` and daughter charge
/// `daughter_z` (unique first-forbidden shape if asked), drawn from the stream (seed, stream).
BetaDraws sample_beta_spectrum(double endpoint_mev, int daughter_z, bool unique_forbidden, std::size_t count, std::uint64_t seed,
                               std::uint64_t stream);

}  // namespace larsel::daq::sim::test_support
