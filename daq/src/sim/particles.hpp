#pragma once
// Particle transport in liquid argon, simple enough to be fast, physical
// enough to look right: electrons lose energy by collisions (tabulated
// stopping power), scatter (Highland), and radiate bremsstrahlung photons;
// photons travel an attenuation length and Compton-scatter until absorbed.
// Every energy loss becomes a point deposit with the local dE/dx.
#include <vector>

#include "random.hpp"
#include "larsel/daq/sim/truth.hpp"

namespace larsel::daq::sim {

struct Deposit {
  Vec3 position;        // cm
  double energy_mev = 0;
  double dedx = 2.1;    // MeV/cm where it was deposited (for recombination)
  DepositKind source = DepositKind::neutrino;
};

/// Collision stopping power of electrons in LAr, MeV/cm, interpolated from an
/// approximate ESTAR table [G].
double electron_dedx(double kinetic_mev);
/// Photon attenuation length in LAr, cm (approximate NIST XCOM values [G]).
double photon_attenuation_cm(double energy_mev);

struct TransportLimits {
  double electron_cut_mev = 0.02;   // below this the electron stops in one deposit
  double photon_cut_mev = 0.03;     // below this the photon is absorbed on the spot
  double brems_min_mev = 0.1;       // softest bremsstrahlung photon followed
  double max_step_cm = 0.1;
};

/// Track an electron from `start` along `direction` (unit); appends deposits.
void transport_electron(double kinetic_mev, Vec3 start, Vec3 direction, DepositKind source, Rng& rng,
                        std::vector<Deposit>& out, const TransportLimits& limits = {});
/// Track a photon; its energy ends as Compton-electron deposits.
void transport_photon(double energy_mev, Vec3 start, Vec3 direction, DepositKind source, Rng& rng,
                      std::vector<Deposit>& out, const TransportLimits& limits = {});

/// Beta-minus kinetic-energy spectrum for endpoint Q (MeV) and daughter charge
/// Z: phase space x Fermi function (non-relativistic approximation), times the
/// unique first-forbidden shape factor (p_e^2 + p_nu^2) when asked (39Ar is
/// unique first-forbidden [G]). Tabulated once; sampling inverts the CDF.
class BetaSpectrum {
 public:
  BetaSpectrum(double endpoint_mev, int daughter_z, bool unique_forbidden);
  [[nodiscard]] double sample(Rng& rng) const noexcept;
  [[nodiscard]] double mean() const noexcept { return mean_; }
  [[nodiscard]] double endpoint() const noexcept { return endpoint_; }

 private:
  double endpoint_;
  double mean_ = 0;
  std::vector<double> cdf_;  // at bin upper edges, kBins bins over [0, Q]
};

}  // namespace larsel::daq::sim
