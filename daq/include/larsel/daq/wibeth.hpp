#pragma once
// WIBEth frame codec: one 7200-byte UDP payload of 64 channels x 64 samples.
// Layout from DUNE-DAQ fddetdataformats WIBEthFrame.hpp and detdataformats
// DAQEthHeader.hpp (see shared/reference/detector-and-formats.md section 2):
//   bytes 0-15  DAQEthHeader (word 0 bit fields, word 1 = 62.5 MHz timestamp)
//   bytes 16-31 WIBEthHeader (word 0 bit fields, word 1 = extra_data)
//   bytes 32-   64 samples x 14 little-endian u64 words; channel c of sample t
//               is bits [14c, 14c+14) of that sample's 896-bit integer.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>

#include "larsel/core/kernel_set.hpp"

namespace larsel::daq::wibeth {

static_assert(std::endian::native == std::endian::little,
              "WIBEth is little-endian; the codec reads words in place");

inline constexpr std::size_t kFrameBytes = 7200;
inline constexpr std::size_t kHeaderBytes = 32;
inline constexpr std::size_t kChannels = 64;
inline constexpr std::size_t kSamples = 64;
inline constexpr std::size_t kAdcCount = kChannels * kSamples;
inline constexpr unsigned kBitsPerAdc = 14;
inline constexpr std::size_t kBytesPerSample = kChannels * kBitsPerAdc / 8;  // 112
inline constexpr std::uint16_t kAdcMax = (1u << kBitsPerAdc) - 1;            // 16383
inline constexpr std::uint64_t kTicksPerSample = 32;      // 512 ns at 62.5 MHz
inline constexpr std::uint64_t kTicksPerFrame = 2048;     // 64 samples x 32
inline constexpr std::uint32_t kSeqIdModulus = 4096;      // 12-bit seq_id
inline constexpr double kClockHz = 62.5e6;                // DAQ timestamp clock
inline constexpr double kFrameRateHz = kClockHz / kTicksPerFrame;  // 30517.578
inline constexpr std::uint8_t kDetIdHdTpc = 3;            // detdataformats kHD_TPC
inline constexpr std::uint16_t kBlockLengthReal = 899;    // 7200/8 - 1, seen in PDHD data
inline constexpr std::uint8_t kWibVersionPdhd = 5;        // WIBEthHeader version in PDHD data
/// stream_id: bit 6 = link, bits 0-1 = quarter; any bit of 0xBC set is invalid
/// (detchannelmaps TPCChannelMap.hpp).
inline constexpr std::uint8_t kInvalidStreamBits = 0xBC;

static_assert(kHeaderBytes + kSamples * kBytesPerSample == kFrameBytes);

using FrameView = std::span<const std::byte, kFrameBytes>;
using MutableFrameView = std::span<std::byte, kFrameBytes>;
/// ADC values in the frame's own order: sample-major, adc[t * 64 + c].
using AdcView = std::span<const std::uint16_t, kAdcCount>;
using MutableAdcView = std::span<std::uint16_t, kAdcCount>;

/// Every field of DAQEthHeader + WIBEthHeader, decoded.
struct Header {
  // DAQEthHeader word 0
  std::uint8_t daq_version = 0;   // 6 bits
  std::uint8_t det_id = kDetIdHdTpc;  // 6 bits
  std::uint16_t crate_id = 0;     // 10 bits
  std::uint8_t slot_id = 0;       // 4 bits
  std::uint8_t stream_id = 0;     // 8 bits
  std::uint16_t seq_id = 0;       // 12 bits
  std::uint16_t block_length = kBlockLengthReal;  // 12 bits
  // DAQEthHeader word 1
  std::uint64_t timestamp = 0;    // 62.5 MHz ticks of sample 0
  // WIBEthHeader word 0
  std::uint16_t colddata_timestamp_0 = 0;  // 15 bits, == timestamp & 0x7FFF in PDHD data
  std::uint16_t colddata_timestamp_1 = 0;  // 15 bits
  std::uint8_t cd = 0;            // 1 bit
  std::uint8_t crc_err = 0;       // 2 bits
  std::uint8_t link_valid = 3;    // 2 bits
  std::uint8_t lol = 0;           // 1 bit, loss of lock
  std::uint8_t wib_sync = 1;      // 1 bit
  std::uint8_t femb_sync = 3;     // 2 bits
  std::uint8_t pulser = 0;        // 1 bit
  std::uint8_t calibration = 0;   // 1 bit
  std::uint8_t ready = 0;         // 1 bit
  std::uint8_t context = 0;       // 8 bits
  std::uint8_t wib_version = kWibVersionPdhd;  // 4 bits
  std::uint8_t channel = 0;       // 8 bits
  // WIBEthHeader word 1
  std::uint64_t extra_data = 0;

  bool operator==(const Header&) const = default;
};

/// Timestamps above this are impossible (2^62 ticks of 16 ns = 2300 years after 1970): rejected as
/// malformed so that no arithmetic can wrap.
inline constexpr std::uint64_t kMaxTimestamp = std::uint64_t{1} << 62;

/// Why a header is not one of this detector's WIBEth frames (none: it is). The UDP receiver's
/// validation, which `larsel wibeth decode` applies to files too.
enum class HeaderFault : std::uint8_t { none, daq_version, det_id, stream_id, timestamp };
inline constexpr std::size_t kHeaderFaultKinds = 5;

/// The first fault of `header` for a detector with `det_id`: DAQEth version not 0, another det_id,
/// a stream_id with invalid bits (kInvalidStreamBits), or a timestamp above kMaxTimestamp.
constexpr HeaderFault header_fault(const Header& header, std::uint8_t det_id) noexcept {
  if (header.daq_version != 0) return HeaderFault::daq_version;
  if (header.det_id != det_id) return HeaderFault::det_id;
  if ((header.stream_id & kInvalidStreamBits) != 0) return HeaderFault::stream_id;
  if (header.timestamp > kMaxTimestamp) return HeaderFault::timestamp;
  return HeaderFault::none;
}

/// "daq_version", "det_id", "stream_id", "timestamp" ("none").
constexpr const char* name(HeaderFault fault) noexcept {
  constexpr const char* kNames[kHeaderFaultKinds] = {"none", "daq_version", "det_id", "stream_id", "timestamp"};
  return kNames[static_cast<std::size_t>(fault)];
}

/// Decode both headers. Never fails: every bit pattern is a valid Header (header_fault() judges it).
Header decode_header(FrameView frame) noexcept;
/// Encode both headers into the first 32 bytes. Throws std::invalid_argument
/// naming the field when a value does not fit its bit width.
void encode_header(const Header& header, MutableFrameView frame);

/// An ADC unpack kernel: all 4096 14-bit ADCs of a frame, sample-major. Every
/// kernel gives identical output.
struct UnpackKernel {
  void (*run)(FrameView frame, MutableAdcView adc) noexcept;
  /// The channel blocks of `blocks` (bit b: channels 8b..8b+7), channel-major: rows[c][t] = channel c at sample
  /// t (t < 64) for every channel c of those blocks; the other rows are not used. The frame builder's step: the
  /// rows of the collection wires in the image, straight from the bytes.
  void (*run_rows)(FrameView frame, std::uint8_t blocks, std::uint16_t* const rows[kChannels]) noexcept;
  core::KernelSet set;  // the kernel set it is compiled for
  const char* name;     // "avx2", "baseline"
};
/// The fastest unpack kernel of `set` or below (hot loops keep one: choosing reads the CPU and LARSEL_KERNELS).
UnpackKernel unpack_kernel(core::KernelSet set) noexcept;
/// Unpacks with the kernel of the kernel set this process runs (core::selected_kernel_set(), chosen per call).
void unpack_adcs(FrameView frame, MutableAdcView adc);
/// The portable reference kernel (the baseline one), which the others are tested against.
void unpack_adcs_scalar(FrameView frame, MutableAdcView adc) noexcept;
/// Pack 4096 ADCs (sample-major). Throws std::invalid_argument if any value
/// exceeds 14 bits, naming the sample and channel.
void pack_adcs(AdcView adc, MutableFrameView frame);

/// Fast in-place rewrite of the time-keeping fields, as the emulator does for
/// every frame it replays: timestamp, seq_id and both colddata timestamps.
void rewrite_time(MutableFrameView frame, std::uint64_t timestamp, std::uint16_t seq_id) noexcept;

/// Timestamp word read without decoding the rest (hot path).
std::uint64_t read_timestamp(FrameView frame) noexcept;

}  // namespace larsel::daq::wibeth
