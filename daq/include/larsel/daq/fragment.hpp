#pragma once
// DUNE-DAQ Fragment (daqdataformats FragmentHeader.hpp v5): a 72-byte header
// followed by WIBEth frames back to back. See detector-and-formats.md section 3.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace larsel::daq {

inline constexpr std::uint32_t kFragmentMarker = 0x11112222;
inline constexpr std::uint32_t kFragmentVersion = 5;
inline constexpr std::size_t kFragmentHeaderBytes = 72;
inline constexpr std::uint32_t kFragmentTypeWibEth = 12;
inline constexpr std::uint16_t kSubsystemDetectorReadout = 1;

struct FragmentHeader {
  std::uint32_t marker = kFragmentMarker;
  std::uint32_t version = kFragmentVersion;
  std::uint64_t size = 0;  // header + payload bytes, as the writer claimed
  std::uint64_t trigger_number = 0;
  std::uint64_t trigger_timestamp = 0;
  std::uint64_t window_begin = 0;
  std::uint64_t window_end = 0;
  std::uint32_t run_number = 0;
  std::uint32_t error_bits = 0;
  std::uint32_t fragment_type = kFragmentTypeWibEth;
  std::uint16_t sequence_number = 0;
  std::uint16_t detector_id = 3;
  // element_id = SourceID
  std::uint16_t source_version = 2;
  std::uint16_t source_subsystem = kSubsystemDetectorReadout;
  std::uint32_t source_id = 0;

  bool operator==(const FragmentHeader&) const = default;
};

FragmentHeader decode_fragment_header(std::span<const std::byte, kFragmentHeaderBytes> bytes) noexcept;
void encode_fragment_header(const FragmentHeader& header, std::span<std::byte, kFragmentHeaderBytes> bytes) noexcept;

/// Where the WIBEth frames sit inside a buffer read from a file.
struct WibEthBuffer {
  std::optional<FragmentHeader> fragment;  // set when the buffer starts with a FragmentHeader
  std::span<const std::byte> frames;       // whole frames only
  std::size_t frame_count = 0;
  std::vector<std::string> warnings;       // tolerated oddities, e.g. a stale size field
};

/// Accept a Fragment (72-byte header + frames) or a plain concatenation of
/// 7200-byte frames. The byte length is trusted over the header's size field.
/// Throws core::FormatError naming `source` when the bytes are neither.
WibEthBuffer locate_wibeth_frames(std::span<const std::byte> bytes, std::string_view source);

}  // namespace larsel::daq
