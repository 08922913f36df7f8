#pragma once
// Decoding whole WIBEth files (a Fragment or concatenated frames) into
// channel-major ADC arrays, their summary, and their HDF5 export.
#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "larsel/daq/fragment.hpp"
#include "larsel/daq/wibeth.hpp"

namespace larsel::daq {

struct DecodedFrames {
  std::size_t ticks = 0;                 // frames x 64
  std::vector<std::int16_t> adc;         // [64 channels][ticks], channel-major
  std::vector<wibeth::Header> headers;   // one per decoded frame, in file order
  /// Frames left out by validation, per wibeth::HeaderFault (index 0, none, stays 0).
  std::array<std::size_t, wibeth::kHeaderFaultKinds> skipped{};
  [[nodiscard]] std::int16_t at(std::size_t channel, std::size_t tick) const { return adc[channel * ticks + tick]; }
  [[nodiscard]] std::size_t skipped_total() const noexcept;
};

/// Every frame of `buffer`; or, with `valid_for_det_id`, only the frames whose header passes the UDP
/// receiver's validation for that det_id (wibeth::header_fault), the others counted in `skipped`.
DecodedFrames decode_frames(const WibEthBuffer& buffer, std::optional<std::uint8_t> valid_for_det_id = std::nullopt);

struct ChannelSummary {
  double pedestal = 0;  // median ADC
  double rms = 0;       // standard deviation about the mean
};
std::vector<ChannelSummary> summarize_channels(const DecodedFrames& decoded);

/// HDF5 with datasets adc (int16 [64][ticks]) and per-frame timestamp,
/// seq_id, stream_id, crate_id, slot_id. Written to OUT.tmp, renamed on
/// success; OUT.tmp is removed on any failure. Throws std::runtime_error naming the path.
void write_decoded_hdf5(const std::filesystem::path& path, const DecodedFrames& decoded,
                        const WibEthBuffer& buffer, const std::string& source);

}  // namespace larsel::daq
