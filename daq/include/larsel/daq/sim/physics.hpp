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

// --- Radioactivity: DUNE's radiological budget (docs/simulation.md, "Backgrounds") ---------------
inline constexpr double kAr39BqPerKg = 1.01;              // [S, lardataalg larproperties.fcl; DUNE radiological model]
inline constexpr double kAr39EndpointMeV = 0.565;         // [G]
// DUNE's radiological model v3.4 [S, DUNE/dunesim dune_radiological_model_decay0_v3_4_hd_common.fcl,
// commit 25119d9, Sept 2023; activities there in Bq/cm^3 at 1.396 g/cm^3]:
inline constexpr double kAr42BqPerKg = 92e-6;             // 1.284e-7 Bq/cm^3 [S, v3.4, citing Barabash et al. 2016]
inline constexpr double kK42EndpointMeV = 3.525;          // [G]
inline constexpr double kAr42EndpointMeV = 0.599;         // [G]
inline constexpr double kK42ExcitedShare = 0.18;          // 42K decays feeding the 1.525 MeV level of 42Ca [G]
inline constexpr double kK42OnCathodeShare = 0.8;         // 42K ions drifted to the CPA before decaying [S, v3.4]
inline constexpr double kKr85BqPerKg = 0.115;             // 1.6e-4 Bq/cm^3 [S, v3.4, "WARP collaboration rates"]
inline constexpr double kKr85EndpointMeV = 0.687;         // 99.56 % to the 85Rb ground state [G, ENSDF]
inline constexpr double kRn222BqPerKg = 1e-3;             // 1.395e-6 Bq/cm^3 [S, v3.4; DUNE's 1 mBq/kg target, arXiv:2307.03102]
// The 222Rn chain down to 210Pb (22 y, so it stops there), each member in equilibrium with the radon;
// the charged daughters that reach the cathode first decay there [S, v3.4 shares].
inline constexpr double kPo218OnCathodeShare = 0.137;
inline constexpr double kPb214OnCathodeShare = 0.407;
inline constexpr double kBi214OnCathodeShare = 0.672;
inline constexpr double kRn222AlphaMeV = 5.490;           // [G]
inline constexpr double kPo218AlphaMeV = 6.002;           // [G]
inline constexpr double kPo214AlphaMeV = 7.687;           // [G]
inline constexpr double kPb214EndpointMeV = 0.67;         // main branch, to the 352 keV level of 214Bi [G, simplified]
inline constexpr double kPb214GammaMeV = 0.352;           // [G]
inline constexpr double kBi214EndpointMeV = 3.27;         // ground-state branch, 19 % [G]
inline constexpr double kBi214GroundShare = 0.19;         // [G]
inline constexpr double kBi214ExcitedEndpointMeV = 1.51;  // to the 1.764 MeV level of 214Po [G, simplified]
inline constexpr double kBi214GammaMeV = 1.764;           // [G]
/// Alphas: a 5-8 MeV alpha stops within ~50 um, at ~1000 MeV/cm (NIST ASTAR for argon [G]); the
/// modified Box model at that dE/dx leaves ~2 % of the charge, i.e. a 6 MeV alpha looks like a
/// ~0.15 MeV electron in collection charge (quenching) [D].
inline constexpr double kAlphaDedxMeVPerCm = 1000.0;
inline constexpr double kNeutronCaptureMeV = 6.099;       // 40Ar(n,gamma) Q value [G]
/// Cavern neutrons: 4pi flux 9.862e-8 n/(cm^2 s) at the LAr boundary, times 2.0 (shotcrete) and 1.3687
/// (area) [S, v3.4] = 2.70e-7; one face's share of the cryostat boundary, ~1.3e5 cm^2 (4e7 cm^2 over
/// 300 faces [D]), every neutron captured: 0.035 per second per face [D]. Configurable for studies.
inline constexpr double kNeutronCapturesPerFacePerS = 0.035;
/// Gammas entering one face's volume, per second [D, docs/simulation.md]: cavern rock + shotcrete
/// (0.256) and foam (0.044 gammas/(cm^2 s), 4pi at the LAr boundary [S, v3.4]) crossing the end of the
/// face volume at the cryostat wall (each face's drift volume of a two-APA-high stack reaches the top or
/// the bottom: 230 x 360 cm^2; one-sided current flux/4): 6,200; APA steel 60Co and U/Th, APA boards
/// and CPA FR4 (40K 7.0, 238U 5.1, 232Th 7.2 Bq/kg [S, v3.4]): ~2,000 [D, rounded].
inline constexpr double kExternalGammasPerFacePerS = 8'200.0;
inline constexpr double kExternalGammaWallShare = 6'200.0 / 8'200.0;  // the rest from the APA and CPA planes
inline constexpr double kNueCcThresholdMeV = 1.504;       // 40Ar -> 40K ground state, nu_e CC [G]

}  // namespace larsel::daq::sim::physics
