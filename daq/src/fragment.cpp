#include "larsel/daq/fragment.hpp"

#include <cstring>

#include <fmt/format.h>

#include "larsel/core/errors.hpp"
#include "larsel/daq/wibeth.hpp"

namespace larsel::daq {
namespace {

template <typename T>
T load(const std::byte* base, std::size_t offset) noexcept {
  T v;
  std::memcpy(&v, base + offset, sizeof v);
  return v;
}
template <typename T>
void store(std::byte* base, std::size_t offset, T v) noexcept {
  std::memcpy(base + offset, &v, sizeof v);
}

std::string fragment_type_name(std::uint32_t type) {
  static constexpr const char* kNames[] = {
      "Unknown", "ProtoWIB", "WIB", "DAPHNE", "TDE_AMC", "FW_TriggerPrimitive", "TriggerPrimitive",
      "TriggerActivity", "TriggerCandidate", "HardwareSignal", "PACMAN", "MPD", "WIBEth",
      "DAPHNEStream", "CRT", "TDEEth"};
  return type < std::size(kNames) ? kNames[type] : fmt::format("type {}", type);
}

}  // namespace

FragmentHeader decode_fragment_header(std::span<const std::byte, kFragmentHeaderBytes> bytes) noexcept {
  const std::byte* p = bytes.data();
  FragmentHeader h;
  h.marker = load<std::uint32_t>(p, 0);
  h.version = load<std::uint32_t>(p, 4);
  h.size = load<std::uint64_t>(p, 8);
  h.trigger_number = load<std::uint64_t>(p, 16);
  h.trigger_timestamp = load<std::uint64_t>(p, 24);
  h.window_begin = load<std::uint64_t>(p, 32);
  h.window_end = load<std::uint64_t>(p, 40);
  h.run_number = load<std::uint32_t>(p, 48);
  h.error_bits = load<std::uint32_t>(p, 52);
  h.fragment_type = load<std::uint32_t>(p, 56);
  h.sequence_number = load<std::uint16_t>(p, 60);
  h.detector_id = load<std::uint16_t>(p, 62);
  h.source_version = load<std::uint16_t>(p, 64);
  h.source_subsystem = load<std::uint16_t>(p, 66);
  h.source_id = load<std::uint32_t>(p, 68);
  return h;
}

void encode_fragment_header(const FragmentHeader& h, std::span<std::byte, kFragmentHeaderBytes> bytes) noexcept {
  std::byte* p = bytes.data();
  store(p, 0, h.marker);
  store(p, 4, h.version);
  store(p, 8, h.size);
  store(p, 16, h.trigger_number);
  store(p, 24, h.trigger_timestamp);
  store(p, 32, h.window_begin);
  store(p, 40, h.window_end);
  store(p, 48, h.run_number);
  store(p, 52, h.error_bits);
  store(p, 56, h.fragment_type);
  store(p, 60, h.sequence_number);
  store(p, 62, h.detector_id);
  store(p, 64, h.source_version);
  store(p, 66, h.source_subsystem);
  store(p, 68, h.source_id);
}

WibEthBuffer locate_wibeth_frames(std::span<const std::byte> bytes, std::string_view source) {
  using wibeth::kFrameBytes;
  WibEthBuffer out;
  // A real DAQEthHeader starts with version 0, so its first u32 can never be
  // the marker (whose low 6 bits would read as version 34).
  const bool is_fragment = bytes.size() >= kFragmentHeaderBytes &&
                           load<std::uint32_t>(bytes.data(), 0) == kFragmentMarker;
  std::span<const std::byte> payload = bytes;
  if (is_fragment) {
    const FragmentHeader h = decode_fragment_header(bytes.first<kFragmentHeaderBytes>());
    if (h.fragment_type != kFragmentTypeWibEth) {
      throw core::FormatError(fmt::format("{}: fragment holds {} data (fragment_type {}), not WIBEth (12)",
                                    source, fragment_type_name(h.fragment_type), h.fragment_type));
    }
    if (h.version != kFragmentVersion) {
      out.warnings.push_back(fmt::format("FragmentHeader version {} (expected {}); decoding anyway",
                                         h.version, kFragmentVersion));
    }
    if (h.size != bytes.size()) {
      out.warnings.push_back(fmt::format(
          "FragmentHeader size field says {} bytes but {} bytes are present; trusting the byte length",
          h.size, bytes.size()));
    }
    out.fragment = h;
    payload = bytes.subspan(kFragmentHeaderBytes);
  }
  if (payload.empty()) {
    throw core::FormatError(fmt::format("{}: no WIBEth frames ({} bytes{})", source, bytes.size(),
                                  is_fragment ? " after the 72-byte FragmentHeader" : ""));
  }
  if (payload.size() % kFrameBytes != 0) {
    throw core::FormatError(fmt::format(
        "{}: {} {} bytes is not a whole number of 7200-byte WIBEth frames ({} frames + {} bytes)",
        source, is_fragment ? "fragment payload of" : "file of", payload.size(),
        payload.size() / kFrameBytes, payload.size() % kFrameBytes));
  }
  out.frames = payload;
  out.frame_count = payload.size() / kFrameBytes;
  return out;
}

}  // namespace larsel::daq
