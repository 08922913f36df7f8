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

void unpack_blocks(FrameView frame, MutableAdcView adc, std::uint8_t blocks) noexcept {
  unsigned wanted[8], count = 0;
  for (unsigned b = 0; b < 8; ++b) {
    if ((blocks >> b) & 1) wanted[count++] = b;
  }
  // Sample-major, as the bytes lie; per pair of samples, each wanted block's 8 dwords of both packed to words
  // together (vpackusdw interleaves the lanes: one vpermq orders them), a 16-byte store per sample.
  const auto pair = [](const std::byte* first, const std::byte* second, std::uint16_t* out) {
    const __m256i words = _mm256_permute4x64_epi64(_mm256_packus_epi32(unpack8(first), unpack8(second)), 0xD8);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm256_castsi256_si128(words));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + kChannels), _mm256_extracti128_si256(words, 1));
  };
  const std::byte* in = frame.data() + kHeaderBytes;
  std::uint16_t* out = adc.data();
  for (std::size_t t = 0; t + 2 < kSamples; t += 2, in += 2 * kBytesPerSample, out += 2 * kChannels) {
    for (unsigned k = 0; k < count; ++k) pair(in + 14 * wanted[k], in + kBytesPerSample + 14 * wanted[k], out + 8 * wanted[k]);
  }
  // The last two samples: unpack8 loads 16 bytes, so the frame's last block goes through a padded copy.
  alignas(16) std::byte last[16] = {};
  for (unsigned k = 0; k < count; ++k) {
    const std::byte* second = in + kBytesPerSample + 14 * wanted[k];
    if (wanted[k] == 7) second = static_cast<const std::byte*>(std::memcpy(last, second, 14));
    pair(in + 14 * wanted[k], second, out + 8 * wanted[k]);
  }
}

}  // namespace larsel::daq::wibeth::detail::LARSEL_ISA
LARSEL_ISA_END
