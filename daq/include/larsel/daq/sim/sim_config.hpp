#pragma once
// Configuration of the physics simulation; every default's source is in
// physics.hpp or docs/simulation.md. Read from YAML (unknown keys are errors
// naming the key) and written back in full as the data set's `config` attribute.
#include <cstdint>
#include <string>

#include "larsel/daq/sim/physics.hpp"

namespace larsel::daq::sim {

struct NoiseConfig {
  double collection_pedestal = 3600;     // 900 ADC (12-bit, wire-cell FD params) x 4
  double induction_pedestal = 9400;      // 2350 ADC (12-bit) x 4
  double pedestal_spread = 100;          // channel-to-channel sigma, ADC [I]
  // Fitted to the PDHD fixture (docs/simulation.md): X total 8.4 ADC with a
  // per-stream common mode of ~4.9 ADC; U/V total 11.9 with ~8.9 common.
  double collection_incoherent_rms = 6.8;
  double collection_coherent_rms = 4.9;
  double induction_incoherent_rms = 8.0;
  double induction_coherent_rms = 8.9;
  double rms_spread = 0.12;              // relative channel-to-channel spread of the incoherent RMS
  unsigned coherent_group_wires = 24;    // one WIBEth stream's collection channels
  double dead_channel_fraction = 0;      // output pedestal only
  double stuck_channel_fraction = 0;     // output one fixed code
};

struct DetectorConfig {
  double electron_lifetime_us = physics::kElectronLifetimeUs;
  double longitudinal_diffusion = physics::kLongitudinalDiffusion;  // cm^2/s
  double transverse_diffusion = physics::kTransverseDiffusion;      // cm^2/s
};

enum class SpectrumKind { supernova, fixed, uniform };

struct SignalConfig {
  SpectrumKind spectrum = SpectrumKind::supernova;
  double mean_energy_mev = 11.0;   // nu_e <E> of a pinched Fermi-Dirac supernova flux [G, typical 10-12 MeV]
  double pinching = 2.5;           // alpha of the pinched spectrum [G, Keil-Raffelt-Janka]
  double fixed_electron_mev = 20;  // spectrum: fixed (electron kinetic energy)
  double uniform_min_mev = 5;      // spectrum: uniform (electron kinetic energy)
  double uniform_max_mev = 50;
};

/// DUNE's radiological budget by default (physics.hpp and docs/simulation.md give the sources).
struct BackgroundConfig {
  double ar39_bq_per_kg = physics::kAr39BqPerKg;
  double ar42_bq_per_kg = physics::kAr42BqPerKg;   // 42Ar and its daughter 42K, in equilibrium
  double kr85_bq_per_kg = physics::kKr85BqPerKg;
  double rn222_bq_per_kg = physics::kRn222BqPerKg; // each chain member down to 210Pb at this activity
  double neutron_captures_per_s = physics::kNeutronCapturesPerFacePerS;  // per face
  double external_gammas_per_s = physics::kExternalGammasPerFacePerS;    // per face
  /// Every rate above times this (robustness studies: `scale: 2` doubles all backgrounds).
  double scale = 1.0;
};

struct SimConfig {
  NoiseConfig noise;
  DetectorConfig detector;
  SignalConfig signal;
  BackgroundConfig background;
};

/// Parse YAML text (an empty document gives the defaults). Throws core::ConfigError
/// naming `source` and the offending key.
SimConfig parse_sim_config(const std::string& yaml_text, const std::string& source);
/// The configuration in the YAML file `path`; an empty path gives the defaults. Throws core::ConfigError
/// naming the file (unreadable, invalid YAML, a bad key).
SimConfig load_sim_config(const std::string& path);
/// Every key with its value, as YAML.
std::string to_yaml(const SimConfig& config);

}  // namespace larsel::daq::sim
