// Fuzz harness: WIBEth frames and DUNE Fragments, as `larsel wibeth` and the tests read a file.
// The input is the file's bytes. locate_wibeth_frames must accept it or throw a core::FormatError with a
// message; for every frame it finds (and for the input's first 7200 bytes, whatever they are):
//   - every header bit pattern decodes, and encoding the decoded header decodes to the same fields;
//   - the scalar and the vector (AVX2, where the CPU has it) unpack kernels agree, both for whole
//     frames and for the frame builder's channel-block rows;
//   - packing the unpacked ADCs gives the 7168 sample bytes back (all 14-bit patterns are valid);
//   - decode_frames and summarize_channels run on the located frames.
#include <array>
#include <vector>

#include "fuzz_support.hpp"
#include "fuzz_targets.hpp"
#include "larsel/core/kernel_set.hpp"
#include "larsel/core/errors.hpp"
#include "larsel/daq/fragment.hpp"
#include "larsel/daq/wibeth.hpp"
#include "larsel/daq/wibeth_file.hpp"

namespace larsel::fuzz {
namespace {

namespace wibeth = daq::wibeth;
using AdcArray = std::array<std::uint16_t, wibeth::kAdcCount>;

/// The headers' unused bits (e.g. DAQEth word 0 bits 34-39) are not decoded, so the round trip is
/// decode(encode(decode(frame))) == decode(frame), not a byte comparison.
void check_header_round_trip(wibeth::FrameView frame) {
  const wibeth::Header header = wibeth::decode_header(frame);
  std::array<std::byte, wibeth::kFrameBytes> copy{};
  wibeth::encode_header(header, copy);  // a decoded field always fits: must not throw
  require(wibeth::decode_header(copy) == header, "decode_header(encode_header(header)) differs from the header");
  require(wibeth::read_timestamp(frame) == header.timestamp, "read_timestamp disagrees with decode_header");
}

/// Channel-major rows of every block, as the frame builder asks for them.
AdcArray unpack_rows(const wibeth::UnpackKernel& kernel, wibeth::FrameView frame) {
  AdcArray channel_major{};
  std::uint16_t* rows[wibeth::kChannels];
  for (std::size_t c = 0; c < wibeth::kChannels; ++c) rows[c] = channel_major.data() + c * wibeth::kSamples;
  kernel.run_rows(frame, 0xFF, rows);
  return channel_major;
}

void check_unpack_kernels(wibeth::FrameView frame) {
  AdcArray reference{};
  wibeth::unpack_adcs_scalar(frame, reference);
  const wibeth::UnpackKernel scalar = wibeth::unpack_kernel(core::KernelSet::baseline);
  const AdcArray reference_rows = unpack_rows(scalar, frame);
  for (std::size_t t = 0; t < wibeth::kSamples; ++t) {
    for (std::size_t c = 0; c < wibeth::kChannels; ++c) {
      require(reference_rows[c * wibeth::kSamples + t] == reference[t * wibeth::kChannels + c],
              "the scalar row kernel disagrees with the scalar frame kernel");
    }
  }
  if (core::cpu_supports(core::KernelSet::avx2)) {
    const wibeth::UnpackKernel vector = wibeth::unpack_kernel(core::KernelSet::avx2);
    AdcArray unpacked{};
    vector.run(frame, unpacked);
    require(unpacked == reference, "the avx2 unpack kernel disagrees with the scalar reference");
    require(unpack_rows(vector, frame) == reference_rows, "the avx2 row kernel disagrees with the scalar one");
  }
  std::array<std::byte, wibeth::kFrameBytes> packed{};
  wibeth::pack_adcs(reference, packed);  // every unpacked value has 14 bits: must not throw
  require(std::equal(frame.begin() + wibeth::kHeaderBytes, frame.end(), packed.begin() + wibeth::kHeaderBytes),
          "pack_adcs(unpack(frame)) differs from the frame's sample bytes");
}

void check_frame(wibeth::FrameView frame) {
  check_header_round_trip(frame);
  check_unpack_kernels(frame);
}

void check_located(const daq::WibEthBuffer& located, std::size_t input_size) {
  require(located.frame_count * wibeth::kFrameBytes == located.frames.size(), "frame_count disagrees with the frames' bytes");
  require(located.frames.size() <= input_size, "located frames larger than the input");
  require(located.frame_count > 0, "located a buffer without frames");
  for (std::size_t f = 0; f < located.frame_count; ++f) {
    check_frame(wibeth::FrameView(located.frames.data() + f * wibeth::kFrameBytes, wibeth::kFrameBytes));
  }
  const daq::DecodedFrames decoded = daq::decode_frames(located);
  require(decoded.ticks == located.frame_count * wibeth::kSamples, "decode_frames: wrong tick count");
  require(decoded.headers.size() == located.frame_count, "decode_frames: wrong header count");
  require(daq::summarize_channels(decoded).size() == wibeth::kChannels, "summarize_channels: wrong channel count");
}

}  // namespace

void fuzz_wibeth(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  try {
    check_located(daq::locate_wibeth_frames(bytes, "fuzz input"), size);
  } catch (const core::FormatError& e) {
    require_message(e, "locate_wibeth_frames");
  }
  // Whatever the file framing says, the first 7200 bytes as one datagram.
  if (size >= wibeth::kFrameBytes) check_frame(wibeth::FrameView(bytes.data(), wibeth::kFrameBytes));
}

}  // namespace larsel::fuzz

LARSEL_FUZZ_TARGET(larsel::fuzz::fuzz_wibeth)
