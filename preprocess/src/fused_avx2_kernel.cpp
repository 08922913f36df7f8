// Fused AVX2 frame kernel for the configurations of fused_kernel_supports
// (fused_common.hpp): the design of the AVX-512 one (fused_avx512_kernel.cpp)
// at half the width, for the CPUs DUNE's readout servers have (AMD EPYC 7763,
// Zen 3: AVX2, four 256-bit vector pipes). One pass over each coherent group:
//  - vpacksswb saturates a wire's 64 ticks to int8 in two registers; the
//    median network then costs one vpminsb/vpmaxsb per comparator and half.
//  - The frugal sign sums are popcounts of vpmovmskb masks.
//  - Zero suppression is a compare and an AND; pooling a max or a signed
//    saturating add (a sum saturated at 32767 still gives 255 after a shift
//    of at most 7; z >= 0 since thresholds are).
//  - vpsadbw sums a wire's clipped |f| (clip <= 127, so bytes hold them), and
//    four wires' totals leave in one 64-bit store.
//  - 4-tick pooling ends in horizontal steps within qwords (max) or vpmaddwd
//    and vphaddd (sum), and one byte shuffle orders the 16 columns.
#include <immintrin.h>

#include <bit>
#include <cstring>
#include <utility>  // index_sequence

#include "fused_common.hpp"
#include "larsel/core/isa_region.hpp"

// Built for the avx2 kernel set only (CMakeLists.txt).
LARSEL_ISA_BEGIN
namespace larsel::preprocess::detail::LARSEL_ISA {
namespace {

constexpr std::size_t kTicks = Frame::kTicks;
constexpr std::size_t kPrefetchWires = 24;

struct Scratch {
  FusedTables tables;
  alignas(32) std::int16_t x[32][kTicks];    // the group's adc - pedestal, read back by pass 2
  alignas(32) std::int8_t rows8[32][kTicks];  // its int8 saturation, the median network's input
};
static_assert(sizeof(Scratch) <= kScratchBytes);

using Context = FusedContext<Scratch>;

/// A wire's 64 ticks as int16, 16 per register: v[k] holds ticks 16k..16k+15.
struct Ticks {
  __m256i v[4];
};

/// Pass 1 for wire i of the group: x = adc - pedestal kept for pass 2, its int8 saturation stored for the median
/// network (vpacksswb order: per 128-bit lane, 8 ticks of one input then 8 of the other), the sign sum stored.
[[gnu::always_inline]] inline void saturate_wire(Context c, unsigned wire, unsigned i) {
  const __m256i minus_pedestal = _mm256_set1_epi32(static_cast<int>(c.tables.minus_pedestal[wire]));
  const std::uint16_t* row = c.adc + wire * kTicks;
  // The frame streams in from L3 or DRAM (another core assembled it): fetch the wire kPrefetchWires ahead.
  _mm_prefetch(reinterpret_cast<const char*>(row + kPrefetchWires * kTicks), _MM_HINT_T0);
  _mm_prefetch(reinterpret_cast<const char*>(row + kPrefetchWires * kTicks + 32), _MM_HINT_T0);
  __m256i x[4];
  for (int k = 0; k < 4; ++k) {
    x[k] = _mm256_add_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 16 * k)), minus_pedestal);
    _mm256_store_si256(reinterpret_cast<__m256i*>(c.scratch.x[i] + 16 * k), x[k]);
  }
  const __m256i low = _mm256_packs_epi16(x[0], x[1]), high = _mm256_packs_epi16(x[2], x[3]);  // saturation keeps the sign
  _mm256_store_si256(reinterpret_cast<__m256i*>(c.scratch.rows8[i]), low);
  _mm256_store_si256(reinterpret_cast<__m256i*>(c.scratch.rows8[i] + 32), high);
  const __m256i zero = _mm256_setzero_si256();
  const auto bits = [](__m256i m) { return std::popcount(static_cast<std::uint32_t>(_mm256_movemask_epi8(m))); };
  const int positive = bits(_mm256_cmpgt_epi8(low, zero)) + bits(_mm256_cmpgt_epi8(high, zero));
  const int negative = bits(low) + bits(high);
  c.sign_sums[wire] = static_cast<std::int16_t>(positive - negative);
}

/// floor((a + b) / 2) of signed bytes: vpavgb rounds unsigned averages up, and x ^ 0x7f maps signed x to 127 - x
/// in unsigned order, turning ceil into floor.
[[gnu::always_inline]] inline __m256i floor_average_epi8(__m256i a, __m256i b) {
  const __m256i flip = _mm256_set1_epi8(0x7f);
  return _mm256_xor_si256(_mm256_avg_epu8(_mm256_xor_si256(a, flip), _mm256_xor_si256(b, flip)), flip);
}

/// The group's per-tick median of the saturated rows as int16, aligned with Ticks (half h of the rows' bytes
/// gives v[2h] and v[2h + 1]: unpacking bytes onto themselves and shifting right by 8 sign-extends them back
/// into tick order).
template <unsigned N>
[[gnu::always_inline]] inline Ticks coherent_median(const Scratch& s) {
  static constexpr FixedMedianNetwork<N> kNetwork = make_fixed_median_network<N>();
  Ticks cm;
  for (int h = 0; h < 2; ++h) {
    __m256i r[N];
    for (unsigned i = 0; i < N; ++i) r[i] = _mm256_load_si256(reinterpret_cast<const __m256i*>(s.rows8[i] + 32 * h));
    [&]<std::size_t... K>(std::index_sequence<K...>) __attribute__((always_inline)) {
      auto step = [&](const CompareExchange& e) __attribute__((always_inline)) {
        const __m256i a = r[e.low], b = r[e.high];
        if (e.min_used) r[e.low] = _mm256_min_epi8(a, b);
        if (e.max_used) r[e.high] = _mm256_max_epi8(a, b);
      };
      (step(kNetwork.steps[K]), ...);
    }(std::make_index_sequence<kNetwork.steps.size()>{});
    const __m256i cm8 = floor_average_epi8(r[kNetwork.lower_slot], r[kNetwork.upper_slot]);
    cm.v[2 * h] = _mm256_srai_epi16(_mm256_unpacklo_epi8(cm8, cm8), 8);
    cm.v[2 * h + 1] = _mm256_srai_epi16(_mm256_unpackhi_epi8(cm8, cm8), 8);
  }
  return cm;
}

/// keep_long_runs (fused_common.hpp) on a wire's four over-threshold word masks.
[[gnu::always_inline]] inline void keep_long_runs(unsigned n, __m256i (&over)[4]) {
  std::uint64_t bits = 0;
  for (int k = 0; k < 4; ++k) {  // vpmovmskb gives two bits per word: keep one
    bits |= _pext_u64(static_cast<std::uint32_t>(_mm256_movemask_epi8(over[k])), 0x55555555u) << (16 * k);
  }
  const std::uint64_t kept = detail::keep_long_runs(n, bits);
  const __m256i lane_bits = _mm256_setr_epi16(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, -32768);
  for (int k = 0; k < 4; ++k) {
    const __m256i word = _mm256_set1_epi16(static_cast<short>(kept >> (16 * k)));
    over[k] = _mm256_cmpeq_epi16(_mm256_and_si256(word, lane_bits), lane_bits);
  }
}

/// Pass 2 for wire i of the group: f = x - cm, zero suppression and pooling into `pool`, the optional outputs;
/// returns the four qword sums of min(|f|, clip) (= min(|sat8(f)|, clip) for clip <= 127).
template <bool RunFilter, bool Sum, bool ImageOnly>
[[gnu::always_inline]] inline __m256i denoise_wire(Context c, unsigned wire, unsigned i, const Ticks& cm, Ticks& pool) {
  const __m256i limit = _mm256_set1_epi32(static_cast<int>(c.tables.threshold[wire]));
  __m256i f[4], over[4];
  for (int k = 0; k < 4; ++k) {
    f[k] = _mm256_sub_epi16(_mm256_load_si256(reinterpret_cast<const __m256i*>(c.scratch.x[i] + 16 * k)), cm.v[k]);
    over[k] = _mm256_cmpgt_epi16(f[k], limit);
  }
  if constexpr (RunFilter) keep_long_runs(c.min_run, over);
  for (int k = 0; k < 4; ++k) {
    const __m256i z = _mm256_and_si256(f[k], over[k]);
    pool.v[k] = Sum ? _mm256_adds_epi16(pool.v[k], z) : _mm256_max_epi16(pool.v[k], z);
    if (!ImageOnly && c.denoised != nullptr) _mm256_storeu_si256(reinterpret_cast<__m256i*>(c.denoised + wire * kTicks + 16 * k), z);
    if (!ImageOnly && c.filtered != nullptr) _mm256_storeu_si256(reinterpret_cast<__m256i*>(c.filtered + wire * kTicks + 16 * k), f[k]);
  }
  const __m256i clip = _mm256_set1_epi32(static_cast<int>(c.tables.clip[wire]));
  const __m256i low = _mm256_min_epu8(_mm256_abs_epi8(_mm256_packs_epi16(f[0], f[1])), clip);
  const __m256i high = _mm256_min_epu8(_mm256_abs_epi8(_mm256_packs_epi16(f[2], f[3])), clip);
  return _mm256_add_epi64(_mm256_sad_epu8(low, _mm256_setzero_si256()), _mm256_sad_epu8(high, _mm256_setzero_si256()));
}

/// Four wires' noise totals from their vpsadbw qword sums (each < 2^11): packed to words, adjacent words added
/// (vpmaddwd), qword pairs added (vphaddd), the two lanes added, four int16 in one store.
[[gnu::always_inline]] inline void store_four_noise_sums(__m256i w0, __m256i w1, __m256i w2, __m256i w3, std::int16_t* out) {
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i s01 = _mm256_madd_epi16(_mm256_packus_epi32(w0, w1), ones), s23 = _mm256_madd_epi16(_mm256_packus_epi32(w2, w3), ones);
  const __m256i s = _mm256_hadd_epi32(s01, s23);  // lane: wires 0-3, of qwords 0, 1 (lane 0) or 2, 3 (lane 1)
  const __m128i totals = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(out), _mm_packs_epi32(totals, totals));
}

/// Two registers of 8 columns each as words, lane-interleaved as vpackssdw leaves them (lane 0: columns a0-a3 of
/// the first then b0-b3 of the second; lane 1: a4-a7, b4-b7, in the order `columns` gives), into 16 bytes in
/// column order, min(255, .) by vpackuswb.
[[gnu::always_inline]] inline void store_columns(__m256i words, __m128i column_order, std::uint8_t* out) {
  const __m256i bytes = _mm256_packus_epi16(words, words);
  const __m128i both = _mm_unpacklo_epi64(_mm256_castsi256_si128(bytes), _mm256_extracti128_si256(bytes, 1));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_shuffle_epi8(both, column_order));
}

/// One output row of 4-tick columns from the vertical pools of its wires: the four ticks of each qword reduced,
/// then >> shift and min(255). Max: within qwords by shifts; sum: vpmaddwd pairs, vphaddd pairs of pairs.
template <bool Sum>
[[gnu::always_inline]] inline void emit_row_4(const Ticks& p, unsigned shift, std::uint8_t* out) {
  const __m128i count = _mm_cvtsi32_si128(static_cast<int>(shift));
  // vphaddd / vpackssdw of v[0], v[1] give per lane columns (0, 1, 4, 5) | (2, 3, 6, 7); of v[2], v[3] (8, 9, 12, 13) | ...
  const __m128i column_order = _mm_setr_epi8(0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15);
  __m256i columns[2];
  for (int h = 0; h < 2; ++h) {
    __m256i a = p.v[2 * h], b = p.v[2 * h + 1];
    if constexpr (Sum) {
      const __m256i ones = _mm256_set1_epi16(1);
      columns[h] = _mm256_srl_epi32(_mm256_hadd_epi32(_mm256_madd_epi16(a, ones), _mm256_madd_epi16(b, ones)), count);
    } else {  // the max of each qword's words into its low word, the rest cleared
      a = _mm256_max_epi16(a, _mm256_srli_epi64(a, 32)), b = _mm256_max_epi16(b, _mm256_srli_epi64(b, 32));
      a = _mm256_max_epi16(a, _mm256_srli_epi64(a, 16)), b = _mm256_max_epi16(b, _mm256_srli_epi64(b, 16));
      const __m256i low_word = _mm256_set1_epi64x(0xffff);
      columns[h] = _mm256_srl_epi32(_mm256_packus_epi32(_mm256_and_si256(a, low_word), _mm256_and_si256(b, low_word)), count);
    }
  }
  store_columns(_mm256_packs_epi32(columns[0], columns[1]), column_order, out);
}

/// One output row of 1- or 2-tick columns (other configurations): max or sum of each dword's two words for 2,
/// then >> shift and min(255), in column order.
template <bool Sum>
[[gnu::always_inline]] inline void emit_row_1_or_2(const Ticks& p, unsigned ticks, unsigned shift, std::uint8_t* out) {
  const __m128i count = _mm_cvtsi32_si128(static_cast<int>(shift));
  if (ticks == 1) {
    for (int h = 0; h < 2; ++h) {
      const __m256i bytes = _mm256_packus_epi16(_mm256_srl_epi16(p.v[2 * h], count), _mm256_srl_epi16(p.v[2 * h + 1], count));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * h), _mm256_permute4x64_epi64(bytes, 0xD8));
    }
    return;
  }
  const __m128i column_order = _mm_setr_epi8(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15);
  for (int h = 0; h < 2; ++h) {
    __m256i pair[2];
    for (int k = 0; k < 2; ++k) {
      const __m256i v = p.v[2 * h + k];
      pair[k] = Sum ? _mm256_madd_epi16(v, _mm256_set1_epi16(1))
                    : _mm256_and_si256(_mm256_max_epi16(v, _mm256_srli_epi32(v, 16)), _mm256_set1_epi32(0xffff));
      pair[k] = _mm256_srl_epi32(pair[k], count);
    }
    // Lane 0: columns 0-3 of pair[0], then 0-3 of pair[1] (columns 8-11 of the row half); lane 1: 4-7 of each.
    store_columns(_mm256_packs_epi32(pair[0], pair[1]), column_order, out + 16 * h);
  }
}

template <bool Sum>
[[gnu::always_inline]] inline void emit_row(const Ticks& p, const DownsizeConfig& d, std::uint8_t* out) {
  if (d.ticks == 4) return emit_row_4<Sum>(p, d.shift, out);
  emit_row_1_or_2<Sum>(p, d.ticks, d.shift, out);
}

/// Pass 2 over the group, four wires at a time (their noise sums share one store); a row of the image every
/// d.wires wires.
template <unsigned N, bool RunFilter, bool Sum, bool ImageOnly>
[[gnu::always_inline]] inline void denoise_group(Context c, unsigned first_wire, const Ticks& cm) {
  static_assert(N % 4 == 0);
  const DownsizeConfig& d = c.downsize;
  Ticks pool{};
  unsigned wires_in_row = 0;
  std::uint8_t* row = c.image + first_wire / d.wires * c.columns;
  for (unsigned i = 0; i < N; i += 4) {
    __m256i noise[4];
    for (unsigned j = 0; j < 4; ++j) {
      noise[j] = denoise_wire<RunFilter, Sum, ImageOnly>(c, first_wire + i + j, i + j, cm, pool);
      if (++wires_in_row == d.wires) {
        emit_row<Sum>(pool, d, row);
        row += c.columns, wires_in_row = 0, pool = Ticks{};
      }
    }
    store_four_noise_sums(noise[0], noise[1], noise[2], noise[3], c.noise_sums + first_wire + i);
  }
}

template <unsigned N, bool Coherent, bool RunFilter, bool Sum, bool ImageOnly>
[[gnu::always_inline]] inline void process_group(Context c, unsigned first_wire) {
  for (unsigned i = 0; i < N; ++i) saturate_wire(c, first_wire + i, i);
  Ticks cm{};
  if constexpr (Coherent) cm = coherent_median<N>(c.scratch);
  denoise_group<N, RunFilter, Sum, ImageOnly>(c, first_wire, cm);
}

/// The frame group by group, with the per-wire choices (run filter, pooling mode, optional outputs) fixed at
/// compile time.
template <unsigned N, bool Coherent>
void process_frame(Context c) {
  static_assert(Frame::kWires % N == 0 && N <= 32);
  const bool run_filter = c.min_run > 1, sum = c.downsize.mode == PoolMode::sum;
  const bool image_only = c.denoised == nullptr && c.filtered == nullptr;
  const auto each_group = [&](auto run) {
    for (unsigned first = 0; first < Frame::kWires; first += N) run(first);
  };
  if (run_filter) {
    each_group([&](unsigned w) { sum ? process_group<N, Coherent, true, true, false>(c, w) : process_group<N, Coherent, true, false, false>(c, w); });
  } else if (!image_only) {
    each_group([&](unsigned w) { sum ? process_group<N, Coherent, false, true, false>(c, w) : process_group<N, Coherent, false, false, false>(c, w); });
  } else {
    each_group([&](unsigned w) { sum ? process_group<N, Coherent, false, true, true>(c, w) : process_group<N, Coherent, false, false, true>(c, w); });
  }
}

}  // namespace

void fused_frame(const KernelPlan& plan, ChannelState& state, FrameAdc adc, const FrameOutputs& outputs,
                 FrameStatistics& stats, std::byte* scratch) {
  run_fused_frame<Scratch>(plan, state, adc, outputs, stats, scratch, [](Context c, auto wires, auto coherent) {
    process_frame<decltype(wires)::value, decltype(coherent)::value>(c);
  });
}

}  // namespace larsel::preprocess::detail::LARSEL_ISA
LARSEL_ISA_END
