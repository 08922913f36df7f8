// WIBEth ADC unpack kernels with vector instructions (the baseline one is
// wibeth::unpack_adcs_scalar). Compiled for the avx2 kernel set
// (larsel/core/isa_region.hpp).
#include <immintrin.h>

#include <cstring>

#include "wibeth_unpack_kernels.hpp"
#include "larsel/core/isa_region.hpp"

LARSEL_ISA_BEGIN
namespace larsel::daq::wibeth::detail::LARSEL_ISA {
namespace {

// Eight channels (14 bytes) per 256-bit register. Each 32-bit lane gathers the
// 3 bytes holding its channel (byte 14k/8), shifts right by the channel's bit
// offset (14k mod 8) and masks 14 bits.
inline __m256i unpack8(const std::byte* p) {
  const __m256i bytes = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  const __m256i gather = _mm256_setr_epi8(0, 1, 2, -1, 1, 2, 3, -1, 3, 4, 5, -1, 5, 6, 7, -1,       // ch 0-3
                                          7, 8, 9, -1, 8, 9, 10, -1, 10, 11, 12, -1, 12, 13, 14, -1);  // ch 4-7
  const __m256i shifts = _mm256_setr_epi32(0, 6, 4, 2, 0, 6, 4, 2);
  const __m256i lanes = _mm256_srlv_epi32(_mm256_shuffle_epi8(bytes, gather), shifts);
  return _mm256_and_si256(lanes, _mm256_set1_epi32(kAdcMax));
}

/// One sample's 112 bytes -> 64 channels. Reads 2 bytes past the sample.
inline void unpack_sample(const std::byte* sample, std::uint16_t* out) {
  for (std::size_t i = 0; i < 4; ++i) {  // 16 channels = 28 bytes per step
    const __m256i low = unpack8(sample + 28 * i);
    const __m256i high = unpack8(sample + 28 * i + 14);
    // packus interleaves 128-bit lanes: (low0-3, high0-3, low4-7, high4-7) -> fix order.
    const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(low, high), 0xD8);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 16 * i), packed);
  }
}

}  // namespace

void unpack_adcs(FrameView frame, MutableAdcView adc) noexcept {
  const std::byte* sample = frame.data() + kHeaderBytes;
  std::uint16_t* out = adc.data();
  for (std::size_t t = 0; t + 1 < kSamples; ++t, sample += kBytesPerSample, out += kChannels) unpack_sample(sample, out);
  // The last sample ends the frame: work on a padded copy to stay in bounds.
  alignas(16) std::byte padded[kBytesPerSample + 16] = {};
  std::memcpy(padded, sample, kBytesPerSample);
  unpack_sample(padded, out);
}

namespace {

/// Samples t .. t + 7 of one channel block into its 8 rows. Each pair of samples (2j, 2j + 1) is packed to
/// words together (lane 0: channels 0-3 of both, lane 1: channels 4-7), the two interleaved per channel (one
/// dword per channel and pair), then a 4 x 4 dword transpose per lane leaves each channel's 8 samples in one
/// 128-bit lane, stored into its row.
inline void block_rows_8_samples(const std::byte* in, std::size_t t, std::uint16_t* const rows[8], bool frame_end) {
  const __m256i interleave = _mm256_setr_epi8(0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15,
                                              0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15);
  __m256i pairs[4];
  for (std::size_t j = 0; j < 4; ++j) {
    const std::byte* first = in + 2 * j * kBytesPerSample;
    const std::byte* second = first + kBytesPerSample;
    alignas(16) std::byte last[16] = {};  // unpack8 loads 16 bytes: the frame's last block goes through a copy
    if (frame_end && j == 3) second = static_cast<const std::byte*>(std::memcpy(last, second, 14));
    pairs[j] = _mm256_shuffle_epi8(_mm256_packus_epi32(unpack8(first), unpack8(second)), interleave);
  }
  const __m256i p0 = _mm256_unpacklo_epi32(pairs[0], pairs[1]), p1 = _mm256_unpackhi_epi32(pairs[0], pairs[1]);
  const __m256i p2 = _mm256_unpacklo_epi32(pairs[2], pairs[3]), p3 = _mm256_unpackhi_epi32(pairs[2], pairs[3]);
  const __m256i channels[4] = {_mm256_unpacklo_epi64(p0, p2), _mm256_unpackhi_epi64(p0, p2),
                               _mm256_unpacklo_epi64(p1, p3), _mm256_unpackhi_epi64(p1, p3)};
  for (std::size_t c = 0; c < 4; ++c) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(rows[c] + t), _mm256_castsi256_si128(channels[c]));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(rows[c + 4] + t), _mm256_extracti128_si256(channels[c], 1));
  }
}

}  // namespace

void unpack_rows(FrameView frame, std::uint8_t blocks, std::uint16_t* const rows[kChannels]) noexcept {
  unsigned wanted[8], count = 0;
  for (unsigned b = 0; b < 8; ++b) {
    if ((blocks >> b) & 1) wanted[count++] = b;
  }
  // Sample-major, as the bytes lie (the hardware prefetcher streams the datagram once), 8 samples at a time.
  const std::byte* in = frame.data() + kHeaderBytes;
  for (std::size_t t = 0; t < kSamples; t += 8, in += 8 * kBytesPerSample) {
    for (unsigned k = 0; k < count; ++k) {
      const unsigned b = wanted[k];
      block_rows_8_samples(in + 14 * b, t, rows + 8 * b, b == 7 && t + 8 == kSamples);
    }
  }
}

}  // namespace larsel::daq::wibeth::detail::LARSEL_ISA
LARSEL_ISA_END
