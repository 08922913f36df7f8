#pragma once
// 8 x 8 transposes of uint16 blocks: the step that turns a WIBEth frame's
// sample-major ADCs into the wire-major rows of an image.
#include <cstddef>
#include <cstdint>

#if defined(__x86_64__)
#include <emmintrin.h>  // SSE2: part of the x86-64 baseline
#endif

namespace larsel::daq::detail {

/// Transpose the 8 x 8 block at `src` (row stride `src_stride` elements) and
/// hand each output row k (the k-th source column) to store(k, const uint16_t[8]).
template <typename Store>
inline void transpose_8x8(const std::uint16_t* src, std::size_t src_stride, Store&& store) {
#if defined(__x86_64__)
  __m128i a[8], b[8], c[8];
  for (int r = 0; r < 8; ++r) a[r] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + r * src_stride));
  for (int r = 0; r < 8; r += 2) {
    b[r] = _mm_unpacklo_epi16(a[r], a[r + 1]);
    b[r + 1] = _mm_unpackhi_epi16(a[r], a[r + 1]);
  }
  for (int r = 0; r < 8; r += 4) {
    c[r] = _mm_unpacklo_epi32(b[r], b[r + 2]);
    c[r + 1] = _mm_unpackhi_epi32(b[r], b[r + 2]);
    c[r + 2] = _mm_unpacklo_epi32(b[r + 1], b[r + 3]);
    c[r + 3] = _mm_unpackhi_epi32(b[r + 1], b[r + 3]);
  }
  alignas(16) std::uint16_t column[8];
  for (int k = 0; k < 4; ++k) {
    _mm_store_si128(reinterpret_cast<__m128i*>(column), _mm_unpacklo_epi64(c[k], c[k + 4]));
    store(2 * k, column);
    _mm_store_si128(reinterpret_cast<__m128i*>(column), _mm_unpackhi_epi64(c[k], c[k + 4]));
    store(2 * k + 1, column);
  }
#else
  std::uint16_t column[8];
  for (int k = 0; k < 8; ++k) {
    for (int r = 0; r < 8; ++r) column[r] = src[r * src_stride + k];
    store(k, column);
  }
#endif
}

}  // namespace larsel::daq::detail
