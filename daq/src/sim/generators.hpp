#pragma once
// Event generators: supernova-like nu_e CC interactions (the signal) and the
// radiological backgrounds of one face (DUNE's budget: 39Ar, 42Ar/42K, 85Kr, 222Rn chain, neutron
// captures, external gammas).
#include <cstdint>
#include <vector>

#include "particles.hpp"
#include "larsel/daq/sim/sim_config.hpp"

namespace larsel::daq::sim {

struct NeutrinoInteraction {
  double nu_energy_mev = 0;
  double electron_energy_mev = 0;
  double excitation_mev = 0;  // 40K* level, emitted as de-excitation gammas
  Vec3 vertex;
  std::vector<Deposit> deposits;
};

/// nu_e + 40Ar -> e- + 40K*: electron track plus de-excitation gammas.
class SignalGenerator {
 public:
  explicit SignalGenerator(const SignalConfig& config) : config_(config) {}
  [[nodiscard]] NeutrinoInteraction generate(const Vec3& vertex, Rng& rng) const;

 private:
  [[nodiscard]] double sample_supernova_energy(double threshold, Rng& rng) const;
  SignalConfig config_;
};

/// One decay or capture whose charge reaches the wires in the simulated window.
struct Radioactivity {
  DepositKind kind;
  Vec3 position;
  double creation_tick;        // tick at which charge made at the wire plane would arrive
  double energy_mev;           // energy deposited
  std::size_t first_deposit;   // range in the deposits vector
  std::size_t deposit_count;
};

/// DUNE's radiological budget in one face's volume (physics.hpp): 39Ar, 42Ar/42K, 85Kr, the 222Rn chain,
/// neutron captures and external gammas, each kind at its configured rate times `scale`.
class BackgroundGenerator {
 public:
  explicit BackgroundGenerator(const BackgroundConfig& config);
  /// Decays whose charge arrives during ticks [window_start, window_start + window_ticks).
  void generate(double window_start, double window_ticks, Rng& rng, std::vector<Radioactivity>& decays,
                std::vector<Deposit>& deposits) const;
  /// Mean number of 39Ar decays arriving per 64-tick frame.
  [[nodiscard]] double ar39_per_frame() const noexcept;
  /// Argon mass seen by one face's collection wires, kg.
  [[nodiscard]] static double face_mass_kg() noexcept;

 private:
  enum class Place : std::uint8_t { volume, cathode, boundary };
  struct Source {
    DepositKind kind;
    double per_second;
    Place place;
    double cathode_share;  // Place::cathode: this share on the CPA, the rest in the volume
    void (BackgroundGenerator::*emit)(const Vec3& position, Rng& rng, std::vector<Deposit>& out) const;
  };
  void emit_ar39(const Vec3& at, Rng& rng, std::vector<Deposit>& out) const;
  void emit_ar42(const Vec3& at, Rng& rng, std::vector<Deposit>& out) const;
  void emit_k42(const Vec3& at, Rng& rng, std::vector<Deposit>& out) const;
  void emit_kr85(const Vec3& at, Rng& rng, std::vector<Deposit>& out) const;
  void emit_alpha_rn222(const Vec3& at, Rng& rng, std::vector<Deposit>& out) const;
  void emit_alpha_po218(const Vec3& at, Rng& rng, std::vector<Deposit>& out) const;
  void emit_pb214(const Vec3& at, Rng& rng, std::vector<Deposit>& out) const;
  void emit_bi214_po214(const Vec3& at, Rng& rng, std::vector<Deposit>& out) const;
  void emit_neutron_capture(const Vec3& at, Rng& rng, std::vector<Deposit>& out) const;
  void emit_external_gamma(const Vec3& at, Rng& rng, std::vector<Deposit>& out) const;
  [[nodiscard]] Vec3 place(const Source& source, Rng& rng) const;

  BackgroundConfig config_;
  std::vector<Source> sources_;
  BetaSpectrum ar39_{physics::kAr39EndpointMeV, 19, true};
  BetaSpectrum ar42_{physics::kAr42EndpointMeV, 19, true};
  BetaSpectrum k42_ground_{physics::kK42EndpointMeV, 20, true};  // 2- -> 0+: unique first-forbidden
  BetaSpectrum k42_excited_{physics::kK42EndpointMeV - 1.525, 20, false};
  BetaSpectrum kr85_{physics::kKr85EndpointMeV, 37, true};       // 9/2+ -> 5/2-: unique first-forbidden
  BetaSpectrum pb214_{physics::kPb214EndpointMeV, 83, false};
  BetaSpectrum bi214_ground_{physics::kBi214EndpointMeV, 84, false};
  BetaSpectrum bi214_excited_{physics::kBi214ExcitedEndpointMeV, 84, false};
};

/// Emit `total_mev` as 1-`max_gammas` photons of random shares, isotropic from `origin`.
void emit_gamma_cascade(double total_mev, int max_gammas, const Vec3& origin, DepositKind kind, Rng& rng,
                        std::vector<Deposit>& out);

}  // namespace larsel::daq::sim
