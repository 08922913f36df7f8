#include "larsel/preprocess/quality.hpp"

#include <algorithm>
#include <cmath>

#include "kernel.hpp"

namespace larsel::preprocess {
namespace {

using daq::Frame;

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

}  // namespace

void QualityAccumulator::add(std::span<const std::uint16_t> raw, std::span<const std::int16_t> filtered,
                             std::span<const std::int16_t> denoised, const daq::sim::FrameTruth& truth,
                             const daq::sim::SignalImages& images) {
  // "before" = raw minus each wire's frame median, as the frame_median pedestal computes it
  std::array<std::int16_t, Frame::kWires> pedestal{};
  detail::scalar_frame_medians(FrameAdc(raw.data(), Frame::kPixels), pedestal);
  double sum2_raw = 0, sum2_filtered = 0, charge = 0, charge_kept = 0, peak = 0;
  std::size_t noise = 0, peak_pixel = 0;
  for (std::size_t i = 0; i < Frame::kPixels; ++i) {
    const float nu = images.neutrino[i], radio = images.radiological[i];
    const double before = static_cast<double>(raw[i]) - pedestal[i / Frame::kTicks];
    if (nu + radio < kNoiseOnlyAdc) {
      ++noise;
      noise_pixels_kept_ += denoised[i] != 0;
      sum2_raw += before * before;
      sum2_filtered += static_cast<double>(filtered[i]) * filtered[i];
      noise_sum2_denoised_ += static_cast<double>(denoised[i]) * denoised[i];
    }
    if (radio >= kNoiseOnlyAdc && nu < kNoiseOnlyAdc) {
      radiological_charge_ += radio;
      radiological_charge_kept_ += denoised[i] != 0 ? radio : 0;
    }
    charge += nu;
    charge_kept += denoised[i] != 0 ? nu : 0;
    if (nu > peak) peak = nu, peak_pixel = i;
  }
  ++frames_;
  noise_pixels_ += noise;
  noise_sum2_raw_ += sum2_raw;
  noise_sum2_filtered_ += sum2_filtered;
  if (truth.label != daq::sim::FrameLabel::signal || charge < kNoiseOnlyAdc || noise == 0) return;
  const auto edge = std::upper_bound(kEnergyEdges.begin(), kEnergyEdges.end(), truth.visible_energy_mev);
  EnergyBin& bin = bins_[static_cast<std::size_t>(std::max<std::ptrdiff_t>(edge - kEnergyEdges.begin() - 1, 0))];
  ++bin.frames;
  bin.charge += charge;
  bin.charge_kept += charge_kept;
  const double rms_raw = std::sqrt(sum2_raw / static_cast<double>(noise));
  const double rms_filtered = std::sqrt(sum2_filtered / static_cast<double>(noise));
  // Amplitude at the true peak pixel over the noise RMS, before and after denoising.
  bin.snr_before.push_back((static_cast<double>(raw[peak_pixel]) - pedestal[peak_pixel / Frame::kTicks]) / rms_raw);
  bin.snr_after.push_back(filtered[peak_pixel] / std::max(rms_filtered, 1e-9));
}

nlohmann::ordered_json QualityAccumulator::report() const {
  nlohmann::ordered_json bins = nlohmann::ordered_json::array();
  for (std::size_t b = 0; b < bins_.size(); ++b) {
    const EnergyBin& bin = bins_[b];
    if (bin.frames == 0) continue;
    const bool open = b + 1 == bins_.size();
    bins.push_back({{"visible_energy_mev", open ? nlohmann::ordered_json{kEnergyEdges[b], nullptr}
                                                : nlohmann::ordered_json{kEnergyEdges[b], kEnergyEdges[b + 1]}},
                    {"signal_frames", bin.frames},
                    {"signal_charge_kept_fraction", bin.charge_kept / bin.charge},
                    {"median_snr_before", median_of(bin.snr_before)},
                    {"median_snr_after", median_of(bin.snr_after)}});
  }
  const auto pixels = static_cast<double>(std::max<std::size_t>(noise_pixels_, 1));
  return {{"frames", frames_},
          {"noise_only_pixels", noise_pixels_},
          {"noise_only_pixels_surviving_fraction", static_cast<double>(noise_pixels_kept_) / pixels},
          {"noise_rms_adc", {{"raw_minus_frame_median", std::sqrt(noise_sum2_raw_ / pixels)},
                             {"after_pedestal_coherent_fir", std::sqrt(noise_sum2_filtered_ / pixels)},
                             {"after_zero_suppression", std::sqrt(noise_sum2_denoised_ / pixels)}}},
          {"radiological_charge_kept_fraction",
           radiological_charge_ > 0 ? radiological_charge_kept_ / radiological_charge_ : 0.0},
          {"signal_by_visible_energy", bins},
          {"definitions",
           "charge kept: true neutrino ADC in pixels that survive zero suppression / all true neutrino ADC; "
           "noise-only pixel: true signal < 0.5 ADC; SNR: amplitude at the true peak pixel over the frame's "
           "noise-only RMS, before = raw minus each wire's frame median, after = f (pedestal, coherent, FIR)"}};
}

}  // namespace larsel::preprocess
