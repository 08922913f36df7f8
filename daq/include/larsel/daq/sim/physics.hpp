#pragma once
// Physical constants and detector defaults of the LArTPC simulation, with
// their sources. Tags as in shared/reference: [S] stated by the cited
// source, [D] derived here, [G] general physics knowledge, [I] our assumption.
#include <algorithm>
#include <cmath>

namespace larsel::daq::sim::physics {

// --- Liquid argon --------------------------------------------------------------
inline constexpr double kArgonDensity = 1.3954;           // g/cm^3 [S, lardataalg larproperties.fcl]
inline constexpr double kIonisationEnergyEv = 23.6;       // eV per electron-ion pair [G, W_ion of LAr]
inline constexpr double kElectronsPerMeV = 1e6 / kIonisationEnergyEv;  // 42,373 e-/MeV before recombination [D]
inline constexpr double kRadiationLengthCm = 14.0;        // X0 of LAr [G, PDG]
inline constexpr double kElectronMassMeV = 0.51099895;    // [G]
// Modified Box recombination, ArgoNeuT, JINST 8 (2013) P08005: R = ln(alpha + xi) / xi,
// xi = beta * dE/dx / (rho * E_field) [S].
inline constexpr double kBoxAlpha = 0.93;
inline constexpr double kBoxBeta = 0.212;                  // (kV/cm)(g/cm^2)/MeV
inline constexpr double kDriftFieldKvPerCm = 0.5;         // 500 V/cm [S, wire-cell-tests params]

/// Fraction of ionisation electrons that escape recombination at dE/dx (MeV/cm).
inline double recombination(double dedx_mev_per_cm) {
  const double xi = kBoxBeta * dedx_mev_per_cm / (kArgonDensity * kDriftFieldKvPerCm);
  // Below dE/dx ~0.24 MeV/cm the formula leaves [0, 1]; no particle here gets there.
  return xi < 1e-6 ? 1.0 : std::clamp(std::log(kBoxAlpha + xi) / xi, 0.0, 1.0);
}

// --- Drift -----------------------------------------------------------------
inline constexpr double kDriftVelocityCmPerUs = 0.16;     // 1.6 mm/us at 500 V/cm [S, wire-cell-tests]
inline constexpr double kDriftLengthCm = 360.0;           // APA-CPA 3.63 m [S, wire-cell-toolkit dune10kt params], rounded
inline constexpr double kLongitudinalDiffusion = 6.2;     // cm^2/s [G, LArSoft LArG4 default 6.2e-9 cm^2/ns]
inline constexpr double kTransverseDiffusion = 16.3;      // cm^2/s [G, LArSoft LArG4 default 16.3e-9 cm^2/ns]
inline constexpr double kElectronLifetimeUs = 10'000;     // 10 ms [I, configurable; the example]

// --- Readout geometry and electronics --------------------------------------
inline constexpr double kWirePitchCm = 0.479;             // collection pitch 4.79 mm [G, TDR value quoted in the reference]
inline constexpr double kTickUs = 0.512;                  // 32 x 16 ns [S, DUNEWIBEthTypeAdapter]
inline constexpr double kDriftPerTickCm = kDriftVelocityCmPerUs * kTickUs;  // 0.08192 cm [D]
inline constexpr double kFaceHeightCm = 600.0;            // APA active height ~6 m [G]
inline constexpr double kShapingTimeUs = 2.2;             // peaking time [S, wire-cell-toolkit FD params]
inline constexpr double kGainMvPerFc = 14.0;              // [S, LArASIC gain setting used by DUNE]
/// 14-bit ColdADC over an assumed 2.0 V range [I]. Consistency check [D]: an
/// ENC of 400-600 e- gives 7-11 ADC of noise, matching the PDHD fixture's
/// collection RMS of 6.5-10 ADC.
inline constexpr double kAdcPerMv = 16384.0 / 2000.0;
inline constexpr double kElectronChargeFc = 1.602176634e-4;  // [G]
/// Peak ADC counts per electron arriving at once: 0.01837 ADC/e- [D].
inline constexpr double kAdcPerElectron = kElectronChargeFc * kGainMvPerFc * kAdcPerMv;
inline constexpr int kShaperOrder = 4;                    // semi-Gaussian (t/tau)^4 exp(-t/tau) [I]

/// Unipolar collection response normalised to 1 at its peak, t in us after the charge arrives.
inline double shaping_response(double t_us) {
  if (t_us <= 0) return 0.0;
  const double x = t_us / kShapingTimeUs;  // peak at x = 1
  return std::pow(x, kShaperOrder) * std::exp(kShaperOrder * (1.0 - x));
}

// --- Radioactivity ----------------------------------------------------------
inline constexpr double kAr39BqPerKg = 1.01;              // [S, lardataalg larproperties.fcl]
inline constexpr double kAr39EndpointMeV = 0.565;         // [G]
inline constexpr double kAr42BqPerKg = 92e-6;             // [G, DUNE radiological model value; configurable]
inline constexpr double kK42EndpointMeV = 3.525;          // [G]
inline constexpr double kAr42EndpointMeV = 0.599;         // [G]
inline constexpr double kNeutronCaptureMeV = 6.099;       // 40Ar(n,gamma) Q value [G]
inline constexpr double kNueCcThresholdMeV = 1.504;       // 40Ar -> 40K ground state, nu_e CC [G]

}  // namespace larsel::daq::sim::physics
