#pragma once
// The multiply-add loops of the twin's packed path, chosen at compile time:
// AVX-512 (F, BW, VL; VNNI's vpdpwssd / vpdpbusd when present) where the
// library is built for such a CPU (-march=native), and plain C++ that gcc
// vectorises on any other target. Both give the same bits.
//
// A convolution's input is stored so that one 32-bit lane holds several taps'
// activations of one output position (twin_copies.hpp, ConvInput): two int16
// (pairs: two channels, or rows r and r+1 of one channel) or four uint8 (quads:
// rows r..r+3 of the image). One multiply-add per lane then does two
// or four taps: lane += sum_e a_e * w_e. The plan (twin_packed.cpp) takes this
// path only when max|activation| * sum|weight| over a filter fits int32, so no
// lane's true sum overflows, and 32-bit wrapping arithmetic is exact then in
// any order.
//
// A convolution followed by a max pooling of P = 1, 2 or 4 positions computes
// its outputs phase by phase: phase (a, b) holds the outputs (ph * y + a,
// pw * x + b), in pooled order (y, x), and every phase is read contiguously, so
// the pooling is an elementwise max of the P phases, taken in registers.
//
// Filters run in blocks of F = 1, 2 or 4 (the plan picks F per layer): each
// activation vector loaded feeds F multiply-adds. With one filter, every
// multiply-add needs its own 64-byte load, often split across two cache lines,
// and the loads, not the two multiply-adds per cycle, are the limit. A block's
// lane-taps are grouped by which of its filters have a non-zero weight there
// (pruning leaves a filter about 20 of conv2's 27): each group runs a loop
// specialised on that set, so no zero weight is multiplied, and each load
// still feeds every filter that needs it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "twin_convert.hpp"
#include "twin_simd.hpp"

namespace larsel::fpga::detail {

/// Consecutive lane-taps of a filter block where the same filters have a non-zero weight: bit f of `filters` for
/// the block's filter f. Its lane-taps are [first, end) of the block's flat taps (TapSpan).
struct TapGroup {
  std::uint32_t filters = 0;
  std::uint32_t first = 0, end = 0;  // in std::int32_t elements from TapSpan::taps
};

/// A block of F filters' lane-taps, flat: per lane-tap the F filters' packed weights (int16 pair or int8 quad in
/// 32 bits, element e at bits 16e or 8e; 0 for a filter without that lane-tap), then P offsets (in lanes, one per
/// phase) where output position 0 of that phase reads. With R = 2 row weights (twin_copies.hpp, rows_shared),
/// F x R weights (filter-major) and P / R offsets, one per column phase: row phase a of column phase b uses
/// weight a and offset b (phase a * P / R + b). The lane-taps are ordered by group, the groups cover them all,
/// in order.
struct TapSpan {
  const std::int32_t* taps;
  const TapGroup* begin;
  const TapGroup* end;
};

/// Where a filter block's pooled sums go, for its filter i: int32 into sums + i * sums_stride (the generic
/// conversion follows), or, with `fast`, converted in registers and stored as int16 by `stores` into planes[i].
struct MacOutput {
  static constexpr int kMaxFilters = 4;  // F: 1, 2 or 4 (the plan's cost model never gains from more)
  std::int32_t* sums = nullptr;
  std::size_t sums_stride = 0;
  const FastConversion* fast = nullptr;
  const StorePlan* stores = nullptr;
  std::int32_t bias[kMaxFilters] = {};  // fast: FastConversion::folded(the filter's bias)
  std::int16_t* planes[kMaxFilters] = {};
};

#if LARSEL_TWIN_AVX512

/// sums += the sum over each lane's elements of activation * weight (quads: uint8 activations, int8 weights).
/// With VNNI the accumulator is updated in place through inline asm: with the intrinsics, GCC 12 copies every
/// accumulator to a new register and back on each tap of the mac_block loop, which doubles its instructions.
template <bool Quads>
inline void multiply_add(__m512i& sums, __m512i activations, __m512i weights) {
#if defined(__AVX512VNNI__) && defined(__GNUC__)
  if constexpr (Quads) {
    asm("vpdpbusd %2, %1, %0" : "+v"(sums) : "v"(activations), "v"(weights));
  } else {
    asm("vpdpwssd %2, %1, %0" : "+v"(sums) : "v"(activations), "v"(weights));
  }
#else
  if constexpr (Quads) {
    // Widened to int16 words (vpmaddubsw would saturate 255 * 127 + 255 * 127): bytes 0, 2 and 1, 3 of each lane.
    const __m512i low_bytes = _mm512_set1_epi16(0x00ff);
    const __m512i even = _mm512_madd_epi16(_mm512_and_si512(activations, low_bytes), _mm512_srai_epi16(_mm512_slli_epi16(weights, 8), 8));
    const __m512i odd = _mm512_madd_epi16(_mm512_srli_epi16(activations, 8), _mm512_srai_epi16(weights, 8));
    sums = _mm512_add_epi32(sums, _mm512_add_epi32(even, odd));
  } else {
    sums = _mm512_add_epi32(sums, _mm512_madd_epi16(activations, weights));
  }
#endif
}

/// mac_block's epilogue with the vector conversion: per filter and vector, the max of the P phases, converted
/// and stored as int16. The parameters are copied to locals first (registers: see StoreView).
template <int P, int F, int N, bool Plain, StorePlan::Mode Mode>
[[gnu::always_inline]] inline void fast_epilogue_as(const __m512i* acc, const MacOutput& out, std::size_t v) {
  const FastConversion f = *out.fast;
  const StoreView stores(*out.stores);
  std::int16_t* planes[F];
  __m512i bias[F];
  for (int i = 0; i < F; ++i) planes[i] = out.planes[i], bias[i] = _mm512_set1_epi32(out.bias[i]);
#pragma GCC unroll 16
  for (int i = 0; i < F * N; ++i) {
    const int filter = i / N, j = i % N;
    const __m512i* phase = acc + filter * P * N + j;  // phase q at phase[q * N]
    __m512i m = phase[0];
    for (int q = 1; q < P; ++q) m = _mm512_max_epi32(m, phase[q * N]);
    store_vector<Mode>(convert_vector<Plain>(m, f, bias[filter]), stores, v + static_cast<std::size_t>(j), planes[filter]);
  }
}

/// fast_epilogue_as, specialised for the common conversion and store modes: no tests per vector. Inlined into
/// mac_block, as every case: a call would take the accumulators through memory.
template <int P, int F, int N>
[[gnu::always_inline]] inline void fast_epilogue(const __m512i* acc, const MacOutput& out, std::size_t v) {
  using Mode = StorePlan::Mode;
  if (!out.fast->plain()) return fast_epilogue_as<P, F, N, false, Mode::table>(acc, out, v);
  switch (out.stores->mode) {
    case Mode::two_blocks_of_8: return fast_epilogue_as<P, F, N, true, Mode::two_blocks_of_8>(acc, out, v);
    case Mode::consecutive: return fast_epilogue_as<P, F, N, true, Mode::consecutive>(acc, out, v);
    default: return fast_epilogue_as<P, F, N, true, Mode::table>(acc, out, v);
  }
}

/// The lane-taps [tap, end) of a group whose non-zero filters are the bits of Filters: the multiply-adds of the
/// other filters (zero weights) are skipped. Per lane-tap, the weights are broadcast once and each of the
/// P / R * N activation vectors is loaded once for all the group's filters and R row phases.
template <bool Quads, int P, int R, int F, int N, std::uint32_t Filters>
[[gnu::always_inline]] inline void mac_group(__m512i (&acc)[F * P * N], const std::int32_t* lanes, const std::int32_t* tap,
                                             const std::int32_t* end) {
  constexpr int B = P / R;  // offsets per lane-tap
  for (; tap != end; tap += F * R + B) {
    __m512i w[F * R];
#pragma GCC unroll 16
    for (int k = 0; k < F * R; ++k) {
      if ((Filters >> (k / R)) & 1) w[k] = _mm512_set1_epi32(tap[k]);
    }
#pragma GCC unroll 16
    for (int i = 0; i < B * N; ++i) {
      const __m512i x = _mm512_loadu_si512(lanes + tap[F * R + i / N] + 16 * (i % N));
#pragma GCC unroll 16
      for (int k = 0; k < F * R; ++k) {  // filter k / R, row phase k % R: phase (k % R) * B + i / N
        if ((Filters >> (k / R)) & 1) multiply_add<Quads>(acc[(k / R) * P * N + (k % R) * B * N + i], x, w[k]);
      }
    }
  }
}

/// mac_group for the group's filters, a compile-time mask (a switch: the accumulators must stay in registers, so
/// every case is inlined into mac_block; a block has at most 15 groups).
template <bool Quads, int P, int R, int F, int N>
[[gnu::always_inline]] inline void mac_groups(__m512i (&acc)[F * P * N], const std::int32_t* lanes, TapSpan taps) {
  for (const TapGroup* g = taps.begin; g != taps.end; ++g) {
    const std::int32_t *first = taps.taps + g->first, *end = taps.taps + g->end;
    switch (g->filters) {
#define LARSEL_TWIN_GROUP(m) \
  case m: if constexpr (m < (1u << F)) mac_group<Quads, P, R, F, N, m>(acc, lanes, first, end); break;
      LARSEL_TWIN_GROUP(1) LARSEL_TWIN_GROUP(2) LARSEL_TWIN_GROUP(3) LARSEL_TWIN_GROUP(4) LARSEL_TWIN_GROUP(5)
      LARSEL_TWIN_GROUP(6) LARSEL_TWIN_GROUP(7) LARSEL_TWIN_GROUP(8) LARSEL_TWIN_GROUP(9) LARSEL_TWIN_GROUP(10)
      LARSEL_TWIN_GROUP(11) LARSEL_TWIN_GROUP(12) LARSEL_TWIN_GROUP(13) LARSEL_TWIN_GROUP(14) LARSEL_TWIN_GROUP(15)
#undef LARSEL_TWIN_GROUP
      default: break;  // unreachable: F <= 4 (MacOutput::kMaxFilters)
    }
  }
}

/// Output-stationary block: N vectors of 16 positions in each of P phases, for F filters, stay in registers
/// over all lane-taps (F * P * N <= 16 accumulators). Each activation vector loaded feeds the multiply-adds of
/// the F filters, but only of those with a non-zero weight there (mac_groups): fewer loads per multiply-add
/// (the limit of a one-filter block) without multiplying zeros. Pooled: the max of the phases goes out (a
/// non-decreasing conversion follows); else each phase, phase_stride apart.
template <bool Quads, int P, int R, int F, int N, bool Pooled>
inline void mac_block(const std::int32_t* lanes, TapSpan taps, const MacOutput& out, std::size_t v, std::size_t phase_stride) {
  lanes += 16 * v;
  __m512i acc[F * P * N];
#pragma GCC unroll 16
  for (int i = 0; i < F * P * N; ++i) acc[i] = _mm512_setzero_si512();
  mac_groups<Quads, P, R, F, N>(acc, lanes, taps);
  if constexpr (Pooled) {
    if (out.fast) return fast_epilogue<P, F, N>(acc, out, v);
  }
#pragma GCC unroll 16
  for (int i = 0; i < F * N; ++i) {
    const int f = i / N, j = i % N;
    const __m512i* phase = acc + f * P * N + j;  // phase q at phase[q * N]
    std::int32_t* sums = out.sums + static_cast<std::size_t>(f) * out.sums_stride + 16 * (v + static_cast<std::size_t>(j));
    if constexpr (Pooled) {
      __m512i m = phase[0];
      for (int q = 1; q < P; ++q) m = _mm512_max_epi32(m, phase[q * N]);
      _mm512_storeu_si512(sums, m);
    } else {
      for (int q = 0; q < P; ++q) _mm512_storeu_si512(sums + q * phase_stride, phase[q * N]);
    }
  }
}

#else

template <bool Quads>
inline std::int32_t lane_product(std::int32_t lane, std::int32_t weights) {
  std::int32_t sum = 0;
  if constexpr (Quads) {
    for (int e = 0; e < 4; ++e) sum += ((lane >> (8 * e)) & 0xff) * static_cast<std::int8_t>((weights >> (8 * e)) & 0xff);
  } else {
    sum = static_cast<std::int16_t>(lane & 0xffff) * static_cast<std::int16_t>(weights & 0xffff) + (lane >> 16) * (weights >> 16);
  }
  return sum;
}

template <bool Quads, int P, int R, int F, int N, bool Pooled>
inline void mac_block(const std::int32_t* lanes, TapSpan taps, const MacOutput& out, std::size_t v, std::size_t phase_stride) {
  lanes += 16 * v;
  std::int32_t acc[F][P][16 * N] = {};
  const std::int32_t* begin = taps.begin == taps.end ? taps.taps : taps.taps + taps.begin->first;  // all groups, in order
  const std::int32_t* end = taps.begin == taps.end ? taps.taps : taps.taps + (taps.end - 1)->end;
  for (const std::int32_t* tap = begin; tap != end; tap += F * R + P / R) {  // zero weights: the plain loop multiplies them
    for (int f = 0; f < F; ++f) {
      for (int q = 0; q < P; ++q) {  // row phase q / (P / R) (its weight), column phase q % (P / R) (its offset)
        const std::int32_t* source = lanes + tap[F * R + q % (P / R)];
        const std::int32_t weights = tap[f * R + q / (P / R)];
        for (int i = 0; i < 16 * N; ++i) acc[f][q][i] += lane_product<Quads>(source[i], weights);
      }
    }
  }
  for (int f = 0; f < F; ++f) {  // the fast conversion is AVX-512 only
    std::int32_t* sums = out.sums + static_cast<std::size_t>(f) * out.sums_stride + 16 * v;
    for (int i = 0; i < 16 * N; ++i) {
      if constexpr (Pooled) {
        std::int32_t m = acc[f][0][i];
        for (int q = 1; q < P; ++q) m = std::max(m, acc[f][q][i]);
        sums[i] = m;
      } else {
        for (int q = 0; q < P; ++q) sums[static_cast<std::size_t>(q) * phase_stride + static_cast<std::size_t>(i)] = acc[f][q][i];
      }
    }
  }
}

#endif

/// A filter block's blocks over `vectors` vectors of 16 pooled positions: equal blocks of N vectors per phase
/// (the last may be shorter), F * P * N <= 16.
template <bool Quads, int P, int R, int F, bool Pooled>
void mac_vectors(const std::int32_t* lanes, TapSpan taps, std::size_t vectors, const MacOutput& out) {
  constexpr std::size_t most = std::min(16 / (P * F), 8);  // 8: the cases below
  const std::size_t blocks = (vectors + most - 1) / most;
  const std::size_t n = (vectors + blocks - 1) / blocks;
  const std::size_t stride = 16 * vectors;
  for (std::size_t v = 0; v < vectors; v += n) {
    switch (std::min(n, vectors - v)) {
#define LARSEL_TWIN_BLOCK(k) \
  case k: if constexpr (k * P * F <= 16) mac_block<Quads, P, R, F, k, Pooled>(lanes, taps, out, v, stride); break;
      LARSEL_TWIN_BLOCK(1) LARSEL_TWIN_BLOCK(2) LARSEL_TWIN_BLOCK(3) LARSEL_TWIN_BLOCK(4)
      LARSEL_TWIN_BLOCK(5) LARSEL_TWIN_BLOCK(6) LARSEL_TWIN_BLOCK(7) LARSEL_TWIN_BLOCK(8)
#undef LARSEL_TWIN_BLOCK
      default: break;  // unreachable: n <= most <= 8
    }
  }
}

template <bool Quads, int P, int R, bool Pooled>
void mac_filters(const std::int32_t* lanes, int filters, TapSpan taps, std::size_t vectors, const MacOutput& out) {
  switch (filters) {  // F: 1, 2 or 4 (twin_packed.cpp, filter_blocks)
    case 1: return mac_vectors<Quads, P, R, 1, Pooled>(lanes, taps, vectors, out);
    case 2: return mac_vectors<Quads, P, R, 2, Pooled>(lanes, taps, vectors, out);
    default: return mac_vectors<Quads, P, R, 4, Pooled>(lanes, taps, vectors, out);
  }
}

/// One filter block's sums: pooled (the max over the P phases), or every phase, 16 * vectors apart. row_weights:
/// R, 2 only for quads whose row phases share a copy (then P is 2 or 4).
inline void mac_plane(const std::int32_t* lanes, bool quads, int row_weights, int filters, TapSpan taps, int phases, bool pooled,
                      std::size_t vectors, const MacOutput& out) {
  const auto run = [&](auto quad, auto rows) {
    constexpr bool Q = decltype(quad)::value;
    constexpr int R = decltype(rows)::value;
    if (phases == 4) pooled ? mac_filters<Q, 4, R, true>(lanes, filters, taps, vectors, out) : mac_filters<Q, 4, R, false>(lanes, filters, taps, vectors, out);
    else if (phases == 2) pooled ? mac_filters<Q, 2, R, true>(lanes, filters, taps, vectors, out) : mac_filters<Q, 2, R, false>(lanes, filters, taps, vectors, out);
    else if constexpr (R == 1) mac_filters<Q, 1, 1, true>(lanes, filters, taps, vectors, out);
  };
  if (quads && row_weights == 2) run(std::true_type{}, std::integral_constant<int, 2>{});
  else if (quads) run(std::true_type{}, std::integral_constant<int, 1>{});
  else run(std::false_type{}, std::integral_constant<int, 1>{});
}

#if LARSEL_TWIN_AVX512
/// sums + a_2i * b_2i + a_2i+1 * b_2i+1 in each 32-bit lane.
inline __m512i multiply_add_words(__m512i sums, __m512i a, __m512i b) {
#if defined(__AVX512VNNI__)
  return _mm512_dpwssd_epi32(sums, a, b);
#else
  return _mm512_add_epi32(sums, _mm512_madd_epi16(a, b));
#endif
}

/// The sum of the 16 int32 lanes of v, in int64 (it may exceed int32).
inline std::int64_t lane_sum(__m512i v) {
  const __m512i even = _mm512_srai_epi64(_mm512_slli_epi64(v, 32), 32), odd = _mm512_srai_epi64(v, 32);
  return _mm512_reduce_add_epi64(_mm512_add_epi64(even, odd));
}
#endif

/// out[u] = sum over i < stride of a[i] * w[u * stride + i], for u < units (w has rows, a multiple of 8, of
/// stride weights), exactly: int32 lanes are emptied into int64 every chunk_steps steps of 32 inputs, before
/// any could overflow.
inline void dense_sums(const std::int16_t* a, const std::int16_t* w, int stride, int units, int chunk_steps, std::int64_t* out) {
#if LARSEL_TWIN_AVX512
  for (int u0 = 0; u0 < units; u0 += 8) {
    const int n = std::min(8, units - u0);
    __m512i acc[8];
    std::int64_t total[8] = {};
    const auto flush = [&] {
      for (int j = 0; j < n; ++j) total[j] += lane_sum(acc[j]), acc[j] = _mm512_setzero_si512();
    };
    for (auto& v : acc) v = _mm512_setzero_si512();
    int steps = 0;
    for (int i = 0; i < stride; i += 32) {
      const __m512i x = _mm512_loadu_si512(a + i);
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) {
        acc[j] = multiply_add_words(acc[j], x, _mm512_loadu_si512(w + static_cast<std::ptrdiff_t>(u0 + j) * stride + i));
      }
      if (++steps == chunk_steps) flush(), steps = 0;
    }
    flush();
    std::copy(total, total + n, out + u0);
  }
#else
  static_cast<void>(chunk_steps);  // int64 sums throughout: no chunks needed
  for (int u = 0; u < units; ++u) {
    const std::int16_t* row = w + static_cast<std::ptrdiff_t>(u) * stride;
    std::int64_t sum = 0;
    for (int i = 0; i < stride; ++i) sum += static_cast<std::int32_t>(a[i]) * row[i];
    out[u] = sum;
  }
#endif
}

}  // namespace larsel::fpga::detail
