#include "larsel/daq/wibeth.hpp"

#include <cstring>
#include <stdexcept>
#include <string>

#include "wibeth_unpack_kernels.hpp"

namespace larsel::daq::wibeth {
namespace {

/// One bit field of a little-endian u64 header word, allocated from bit 0
/// upwards as the DUNE structs' C bit fields are on little-endian hosts.
struct BitField {
  const char* name;
  unsigned offset;
  unsigned width;

  [[nodiscard]] constexpr std::uint64_t mask() const { return (std::uint64_t{1} << width) - 1; }
  [[nodiscard]] constexpr std::uint64_t get(std::uint64_t word) const { return (word >> offset) & mask(); }
  void set(std::uint64_t& word, std::uint64_t value) const {
    if (value > mask()) {
      throw std::invalid_argument("WIBEth header field '" + std::string(name) + "' value " +
                                  std::to_string(value) + " does not fit in " +
                                  std::to_string(width) + " bits");
    }
    word = (word & ~(mask() << offset)) | (value << offset);
  }
};

// DAQEthHeader word 0 (detdataformats DAQEthHeader.hpp)
constexpr BitField kDaqVersion{"version", 0, 6};
constexpr BitField kDetId{"det_id", 6, 6};
constexpr BitField kCrateId{"crate_id", 12, 10};
constexpr BitField kSlotId{"slot_id", 22, 4};
constexpr BitField kStreamId{"stream_id", 26, 8};
constexpr BitField kSeqId{"seq_id", 40, 12};
constexpr BitField kBlockLength{"block_length", 52, 12};
// WIBEthHeader word 0 (fddetdataformats WIBEthFrame.hpp)
constexpr BitField kColddataTs0{"colddata_timestamp_0", 0, 15};
constexpr BitField kColddataTs1{"colddata_timestamp_1", 16, 15};
constexpr BitField kCd{"cd", 32, 1};
constexpr BitField kCrcErr{"crc_err", 33, 2};
constexpr BitField kLinkValid{"link_valid", 35, 2};
constexpr BitField kLol{"lol", 37, 1};
constexpr BitField kWibSync{"wib_sync", 38, 1};
constexpr BitField kFembSync{"femb_sync", 39, 2};
constexpr BitField kPulser{"pulser", 41, 1};
constexpr BitField kCalibration{"calibration", 42, 1};
constexpr BitField kReady{"ready", 43, 1};
constexpr BitField kContext{"context", 44, 8};
constexpr BitField kWibVersion{"wib version", 52, 4};
constexpr BitField kChannel{"channel", 56, 8};

constexpr std::size_t kDaqWord0 = 0, kTimestampWord = 8, kWibWord0 = 16, kExtraWord = 24;
constexpr std::uint64_t kColddataTsMask = 0x7FFF;

std::uint64_t load_u64(const std::byte* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
void store_u64(std::byte* p, std::uint64_t v) noexcept { std::memcpy(p, &v, sizeof v); }

// Four 14-bit ADCs occupy exactly 56 bits = 7 bytes, so each group of four
// channels starts on a byte boundary: 16 groups per 112-byte sample.
constexpr std::size_t kGroupBytes = 7;
constexpr std::size_t kGroupsPerSample = kChannels / 4;

inline void unpack_group(std::uint64_t bits, std::uint16_t* out) noexcept {
  out[0] = static_cast<std::uint16_t>(bits & kAdcMax);
  out[1] = static_cast<std::uint16_t>((bits >> 14) & kAdcMax);
  out[2] = static_cast<std::uint16_t>((bits >> 28) & kAdcMax);
  out[3] = static_cast<std::uint16_t>((bits >> 42) & kAdcMax);
}

}  // namespace

Header decode_header(FrameView frame) noexcept {
  const std::uint64_t daq = load_u64(frame.data() + kDaqWord0);
  const std::uint64_t wib = load_u64(frame.data() + kWibWord0);
  Header h;
  h.daq_version = static_cast<std::uint8_t>(kDaqVersion.get(daq));
  h.det_id = static_cast<std::uint8_t>(kDetId.get(daq));
  h.crate_id = static_cast<std::uint16_t>(kCrateId.get(daq));
  h.slot_id = static_cast<std::uint8_t>(kSlotId.get(daq));
  h.stream_id = static_cast<std::uint8_t>(kStreamId.get(daq));
  h.seq_id = static_cast<std::uint16_t>(kSeqId.get(daq));
  h.block_length = static_cast<std::uint16_t>(kBlockLength.get(daq));
  h.timestamp = load_u64(frame.data() + kTimestampWord);
  h.colddata_timestamp_0 = static_cast<std::uint16_t>(kColddataTs0.get(wib));
  h.colddata_timestamp_1 = static_cast<std::uint16_t>(kColddataTs1.get(wib));
  h.cd = static_cast<std::uint8_t>(kCd.get(wib));
  h.crc_err = static_cast<std::uint8_t>(kCrcErr.get(wib));
  h.link_valid = static_cast<std::uint8_t>(kLinkValid.get(wib));
  h.lol = static_cast<std::uint8_t>(kLol.get(wib));
  h.wib_sync = static_cast<std::uint8_t>(kWibSync.get(wib));
  h.femb_sync = static_cast<std::uint8_t>(kFembSync.get(wib));
  h.pulser = static_cast<std::uint8_t>(kPulser.get(wib));
  h.calibration = static_cast<std::uint8_t>(kCalibration.get(wib));
  h.ready = static_cast<std::uint8_t>(kReady.get(wib));
  h.context = static_cast<std::uint8_t>(kContext.get(wib));
  h.wib_version = static_cast<std::uint8_t>(kWibVersion.get(wib));
  h.channel = static_cast<std::uint8_t>(kChannel.get(wib));
  h.extra_data = load_u64(frame.data() + kExtraWord);
  return h;
}

void encode_header(const Header& h, MutableFrameView frame) {
  std::uint64_t daq = 0;
  kDaqVersion.set(daq, h.daq_version);
  kDetId.set(daq, h.det_id);
  kCrateId.set(daq, h.crate_id);
  kSlotId.set(daq, h.slot_id);
  kStreamId.set(daq, h.stream_id);
  kSeqId.set(daq, h.seq_id);
  kBlockLength.set(daq, h.block_length);
  std::uint64_t wib = 0;
  kColddataTs0.set(wib, h.colddata_timestamp_0);
  kColddataTs1.set(wib, h.colddata_timestamp_1);
  kCd.set(wib, h.cd);
  kCrcErr.set(wib, h.crc_err);
  kLinkValid.set(wib, h.link_valid);
  kLol.set(wib, h.lol);
  kWibSync.set(wib, h.wib_sync);
  kFembSync.set(wib, h.femb_sync);
  kPulser.set(wib, h.pulser);
  kCalibration.set(wib, h.calibration);
  kReady.set(wib, h.ready);
  kContext.set(wib, h.context);
  kWibVersion.set(wib, h.wib_version);
  kChannel.set(wib, h.channel);
  store_u64(frame.data() + kDaqWord0, daq);
  store_u64(frame.data() + kTimestampWord, h.timestamp);
  store_u64(frame.data() + kWibWord0, wib);
  store_u64(frame.data() + kExtraWord, h.extra_data);
}

void unpack_adcs_scalar(FrameView frame, MutableAdcView adc) noexcept {
  const std::byte* sample = frame.data() + kHeaderBytes;
  std::uint16_t* out = adc.data();
  for (std::size_t t = 0; t < kSamples; ++t, sample += kBytesPerSample, out += kChannels) {
    // Groups 0-14 take a full 8-byte load; the last group loads 7 bytes so the
    // final sample never reads past the end of the frame.
    for (std::size_t g = 0; g + 1 < kGroupsPerSample; ++g) {
      unpack_group(load_u64(sample + g * kGroupBytes), out + 4 * g);
    }
    std::uint64_t last = 0;
    std::memcpy(&last, sample + (kGroupsPerSample - 1) * kGroupBytes, kGroupBytes);
    unpack_group(last, out + 4 * (kGroupsPerSample - 1));
  }
}

namespace {

/// The scalar kernel for the channel blocks of `blocks`, channel-major (block b: channels 8b..8b+7 = groups 2b,
/// 2b + 1).
void unpack_rows_scalar(FrameView frame, std::uint8_t blocks, std::uint16_t* const rows[kChannels]) noexcept {
  const std::byte* sample = frame.data() + kHeaderBytes;
  for (std::size_t t = 0; t < kSamples; ++t, sample += kBytesPerSample) {
    for (std::size_t g = 0; g < kGroupsPerSample; ++g) {
      if (!((blocks >> (g / 2)) & 1)) continue;
      std::uint64_t bits = 0;
      std::memcpy(&bits, sample + g * kGroupBytes, kGroupBytes);  // 7 bytes: the last group ends the frame
      std::uint16_t adc[4];
      unpack_group(bits, adc);
      for (std::size_t k = 0; k < 4; ++k) rows[4 * g + k][t] = adc[k];
    }
  }
}

}  // namespace

UnpackKernel unpack_kernel(core::KernelSet set) noexcept {
  if (core::highest_at_most(set, {core::KernelSet::baseline, core::KernelSet::avx2}) == core::KernelSet::avx2) {
    return {detail::avx2::unpack_adcs, detail::avx2::unpack_rows, core::KernelSet::avx2, "avx2"};
  }
  return {unpack_adcs_scalar, unpack_rows_scalar, core::KernelSet::baseline, "baseline"};
}

void unpack_adcs(FrameView frame, MutableAdcView adc) { unpack_kernel(core::selected_kernel_set()).run(frame, adc); }

void pack_adcs(AdcView adc, MutableFrameView frame) {
  std::byte* sample = frame.data() + kHeaderBytes;
  const std::uint16_t* in = adc.data();
  for (std::size_t t = 0; t < kSamples; ++t, sample += kBytesPerSample, in += kChannels) {
    for (std::size_t g = 0; g < kGroupsPerSample; ++g) {
      std::uint64_t bits = 0;
      for (std::size_t k = 0; k < 4; ++k) {
        const std::uint16_t value = in[4 * g + k];
        if (value > kAdcMax) {
          throw std::invalid_argument("ADC value " + std::to_string(value) + " at sample " +
                                      std::to_string(t) + ", channel " + std::to_string(4 * g + k) +
                                      " does not fit in 14 bits");
        }
        bits |= std::uint64_t{value} << (kBitsPerAdc * k);
      }
      std::memcpy(sample + g * kGroupBytes, &bits, kGroupBytes);
    }
  }
}

void rewrite_time(MutableFrameView frame, std::uint64_t timestamp, std::uint16_t seq_id) noexcept {
  std::uint64_t daq = load_u64(frame.data() + kDaqWord0);
  daq = (daq & ~(kSeqId.mask() << kSeqId.offset)) |
        ((std::uint64_t{seq_id} & kSeqId.mask()) << kSeqId.offset);
  store_u64(frame.data() + kDaqWord0, daq);
  store_u64(frame.data() + kTimestampWord, timestamp);
  const std::uint64_t cold = timestamp & kColddataTsMask;
  std::uint64_t wib = load_u64(frame.data() + kWibWord0);
  wib &= ~((kColddataTs0.mask() << kColddataTs0.offset) | (kColddataTs1.mask() << kColddataTs1.offset));
  wib |= (cold << kColddataTs0.offset) | (cold << kColddataTs1.offset);
  store_u64(frame.data() + kWibWord0, wib);
}

std::uint64_t read_timestamp(FrameView frame) noexcept { return load_u64(frame.data() + kTimestampWord); }

}  // namespace larsel::daq::wibeth
