// Fused AVX-512BW frame kernel for the common configurations (see
// fused_kernel_supports): one pass over each coherent group with every row in
// a register, written with intrinsics because the instructions that make it
// fast have no portable spelling:
//  - vpacksswb saturates a wire's 64 ticks to int8 in one register; the median
//    network then costs one vpminsb/vpmaxsb per comparator for all 64 ticks.
//  - Comparisons go to mask registers: the frugal sign sums are popcounts of
//    two masks, zero suppression and max pooling are one masked vpmaxsw.
//  - vpsadbw sums a wire's clipped |f| (clip <= 127, so bytes hold them);
//    vpackusdw packs four wires' partial sums into one vector, and eight
//    wires' totals leave in one 128-bit store.
//  - The default image-only 4 x 4 max pooling has its shape fixed at compile
//    time, and pools bytes: shift and saturation commute with max for v >= 0.
// Ports 0 and 5 run all 512-bit integer work, and 512-bit min/max only port 0
// (Intel optimisation manual and uops.info, Ice Lake / Sapphire Rapids), so the
// count of such instructions per wire sets the speed; loads, stores and scalar
// popcounts are nearly free beside it.
#include <immintrin.h>

#include <bit>
#include <cstring>
#include <utility>  // index_sequence

#include "fused_common.hpp"
#include "larsel/core/isa_region.hpp"

// Built for the avx512 kernel set only (CMakeLists.txt).
LARSEL_ISA_BEGIN
namespace larsel::preprocess::detail::LARSEL_ISA {
namespace {

constexpr std::size_t kTicks = Frame::kTicks;
constexpr std::size_t kBlendEvery = 3;
constexpr std::size_t kPrefetchWires = 24;
using Tables = FusedTables;

struct Scratch {
  Tables tables;
  alignas(64) std::int16_t x[32][kTicks];  // the group's adc - pedestal, read back by pass 2
};
static_assert(sizeof(Scratch) <= kScratchBytes);

using Context = FusedContext<Scratch>;

/// Pass 1 for wire i of the group: x = adc - pedestal kept for pass 2, its
/// int8 saturation (ticks in vpacksswb order) returned, the sign sum stored.
[[gnu::always_inline]] inline __m512i saturate_wire(Context c, unsigned wire, unsigned i) {
  const __m512i minus_pedestal = _mm512_set1_epi32(static_cast<int>(c.tables.minus_pedestal[wire]));
  const std::uint16_t* row = c.adc + wire * kTicks;  // adding -pedestal lets the load fold into the add
  // The frame streams in from L3 or DRAM (another core assembled it): fetch
  // the wire PrefetchWires ahead while this group's median network computes.
  _mm_prefetch(reinterpret_cast<const char*>(row + kPrefetchWires * kTicks), _MM_HINT_T0);
  _mm_prefetch(reinterpret_cast<const char*>(row + kPrefetchWires * kTicks + 32), _MM_HINT_T0);
  const __m512i x0 = _mm512_add_epi16(_mm512_loadu_si512(row), minus_pedestal);
  const __m512i x1 = _mm512_add_epi16(_mm512_loadu_si512(row + 32), minus_pedestal);
  _mm512_store_si512(c.scratch.x[i], x0);
  _mm512_store_si512(c.scratch.x[i] + 32, x1);
  const __m512i x8 = _mm512_packs_epi16(x0, x1);  // saturation keeps the sign
  const int positive = std::popcount(static_cast<std::uint64_t>(_mm512_cmpgt_epi8_mask(x8, _mm512_setzero_si512())));
  const int negative = std::popcount(static_cast<std::uint64_t>(_mm512_movepi8_mask(x8)));
  c.sign_sums[wire] = static_cast<std::int16_t>(positive - negative);
  return x8;
}

/// floor((a + b) / 2) of signed bytes: vpavgb rounds unsigned averages up, and
/// x ^ 0x7f maps signed x to 127 - x in unsigned order, turning ceil into floor.
[[gnu::always_inline]] inline __m512i floor_average_epi8(__m512i a, __m512i b) {
  const __m512i flip = _mm512_set1_epi8(0x7f);
  return _mm512_xor_si512(_mm512_avg_epu8(_mm512_xor_si512(a, flip), _mm512_xor_si512(b, flip)), flip);
}

/// The group's per-tick median of the saturated rows, as int16 for ticks 0-31 and 32-63.
struct TickHalves {
  __m512i low;   // ticks 0-31 as int16
  __m512i high;  // ticks 32-63
};

template <unsigned N>
[[gnu::always_inline]] inline TickHalves coherent_median(__m512i (&r)[N]) {
  static constexpr FixedMedianNetwork<N> kNetwork = make_fixed_median_network<N>();
  // 512-bit byte min and max run on port 0 only, so every third full
  // comparator instead compares into a mask (port 5) and blends (ports 0 and
  // 5), moving work off port 0.
  [&]<std::size_t... K>(std::index_sequence<K...>) __attribute__((always_inline)) {
    auto step = [&](const CompareExchange& e, bool blend) __attribute__((always_inline)) {
      const __m512i a = r[e.low], b = r[e.high];
      if (blend && e.min_used && e.max_used) {
        const __mmask64 a_greater = _mm512_cmpgt_epi8_mask(a, b);
        r[e.low] = _mm512_mask_blend_epi8(a_greater, a, b);
        r[e.high] = _mm512_mask_blend_epi8(a_greater, b, a);
        return;
      }
      if (e.min_used) r[e.low] = _mm512_min_epi8(a, b);
      if (e.max_used) r[e.high] = _mm512_max_epi8(a, b);
    };
    (step(kNetwork.steps[K], K % kBlendEvery == 1), ...);
  }(std::make_index_sequence<kNetwork.steps.size()>{});
  const __m512i cm8 = floor_average_epi8(r[kNetwork.lower_slot], r[kNetwork.upper_slot]);
  // vpacksswb put ticks 8L..8L+7 of x0 in bytes 0-7 of lane L and those of x1
  // in bytes 8-15: unpacking bytes onto themselves and shifting right by 8
  // sign-extends them back into tick order.
  return TickHalves{_mm512_srai_epi16(_mm512_unpacklo_epi8(cm8, cm8), 8), _mm512_srai_epi16(_mm512_unpackhi_epi8(cm8, cm8), 8)};
}

/// keep_long_runs (fused_common.hpp) on a wire's two 32-tick masks.
[[gnu::always_inline]] inline void keep_long_runs(unsigned n, __mmask32& k0, __mmask32& k1) {
  const std::uint64_t kept = detail::keep_long_runs(n, k0 | static_cast<std::uint64_t>(k1) << 32);
  k0 = static_cast<__mmask32>(kept);
  k1 = static_cast<__mmask32>(kept >> 32);
}

/// Max pooling, or sum pooling with signed saturation: z >= 0 (thresholds are
/// >= 0), and a sum saturated at 32767 still gives min(255, sum >> shift) = 255
/// for shift <= 7, the only shifts this kernel takes sums with. (Unsigned
/// saturation at 65535 would read as -1 in vpackuswb's signed input.)
[[gnu::always_inline]] inline __m512i pool_op(bool sum, __m512i a, __m512i b) {
  return sum ? _mm512_adds_epi16(a, b) : _mm512_max_epi16(a, b);
}

/// One output row from the vertical pools of its wires: pooled over each tick
/// window, then min(255, v >> shift) per column (v >= 0).
[[gnu::always_inline]] inline void emit_row(__m512i v0, __m512i v1, const DownsizeConfig& d, std::uint8_t* out) {
  const __m128i shift = _mm_cvtsi32_si128(static_cast<int>(d.shift));
  const bool sum = d.mode == PoolMode::sum;
  if (d.ticks == 4) {  // a window is one qword
    v0 = pool_op(sum, v0, _mm512_srli_epi64(v0, 16));
    v1 = pool_op(sum, v1, _mm512_srli_epi64(v1, 16));
    v0 = pool_op(sum, v0, _mm512_srli_epi64(v0, 32));
    v1 = pool_op(sum, v1, _mm512_srli_epi64(v1, 32));
    const __m128i c0 = _mm_srl_epi16(_mm512_cvtepi64_epi16(v0), shift), c1 = _mm_srl_epi16(_mm512_cvtepi64_epi16(v1), shift);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_packus_epi16(c0, c1));
  } else if (d.ticks == 2) {  // a window is one dword
    v0 = pool_op(sum, v0, _mm512_srli_epi32(v0, 16));
    v1 = pool_op(sum, v1, _mm512_srli_epi32(v1, 16));
    const __m256i c0 = _mm256_srl_epi16(_mm512_cvtepi32_epi16(v0), shift), c1 = _mm256_srl_epi16(_mm512_cvtepi32_epi16(v1), shift);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm256_cvtusepi16_epi8(c0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16), _mm256_cvtusepi16_epi8(c1));
  } else {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm512_cvtusepi16_epi8(_mm512_srl_epi16(v0, shift)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32), _mm512_cvtusepi16_epi8(_mm512_srl_epi16(v1, shift)));
  }
}

/// emit_row for 4 x 4 max pooling: shift and saturate to bytes first (both
/// commute with max for v >= 0), then the max of each dword's four ticks.
/// vpackuswb leaves lane L holding ticks 8L..8L+7 then 32+8L..32+8L+7, so the
/// dwords arrive as columns 2L, 2L+1, 8+2L, 9+2L and one byte shuffle orders them.
[[gnu::always_inline]] inline void emit_row_max_4x4(__m512i v0, __m512i v1, unsigned shift, std::uint8_t* out) {
  const __m128i count = _mm_cvtsi32_si128(static_cast<int>(shift));
  __m512i u = _mm512_packus_epi16(_mm512_srl_epi16(v0, count), _mm512_srl_epi16(v1, count));
  u = _mm512_max_epu8(u, _mm512_srli_epi32(u, 8));
  u = _mm512_max_epu8(u, _mm512_srli_epi32(u, 16));
  const __m128i column_order = _mm_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_shuffle_epi8(_mm512_cvtepi32_epi8(u), column_order));
}

/// Pass 2 for wire i of the group: f = x - cm, zero suppression and max
/// pooling into pool0/pool1, the optional outputs; returns the eight qword
/// sums of min(|f|, clip) (= min(|sat8(f)|, clip) for clip <= 127).
template <bool RunFilter, bool MaxPool4x4>
[[gnu::always_inline]] inline __m512i denoise_wire(Context c, unsigned wire, unsigned i, __m512i cm0, __m512i cm1, __m512i& pool0, __m512i& pool1) {
  const __m512i f0 = _mm512_sub_epi16(_mm512_load_si512(c.scratch.x[i]), cm0);
  const __m512i f1 = _mm512_sub_epi16(_mm512_load_si512(c.scratch.x[i] + 32), cm1);
  const __m512i limit = _mm512_set1_epi32(static_cast<int>(c.tables.threshold[wire]));
  __mmask32 k0 = _mm512_cmpgt_epi16_mask(f0, limit), k1 = _mm512_cmpgt_epi16_mask(f1, limit);
  if constexpr (RunFilter) keep_long_runs(c.min_run, k0, k1);
  if (!MaxPool4x4 && c.downsize.mode == PoolMode::sum) {  // pooling of z = over ? f : 0
    pool0 = _mm512_mask_adds_epi16(pool0, k0, pool0, f0);
    pool1 = _mm512_mask_adds_epi16(pool1, k1, pool1, f1);
  } else {
    pool0 = _mm512_mask_max_epi16(pool0, k0, pool0, f0);
    pool1 = _mm512_mask_max_epi16(pool1, k1, pool1, f1);
  }
  if (!MaxPool4x4 && c.denoised != nullptr) {
    _mm512_storeu_si512(c.denoised + wire * kTicks, _mm512_maskz_mov_epi16(k0, f0));
    _mm512_storeu_si512(c.denoised + wire * kTicks + 32, _mm512_maskz_mov_epi16(k1, f1));
  }
  if (!MaxPool4x4 && c.filtered != nullptr) {
    _mm512_storeu_si512(c.filtered + wire * kTicks, f0);
    _mm512_storeu_si512(c.filtered + wire * kTicks + 32, f1);
  }
  const __m512i clip = _mm512_set1_epi32(static_cast<int>(c.tables.clip[wire]));
  const __m512i clipped = _mm512_min_epu8(_mm512_abs_epi8(_mm512_packs_epi16(f0, f1)), clip);
  return _mm512_sad_epu8(clipped, _mm512_setzero_si512());
}

/// Four wires' noise partial sums in one vector: each vpsadbw result holds
/// eight qword sums < 2^10, so two rounds of vpackusdw pack them without
/// saturating, lane L ending as words (w0 q0, w0 q1, w1 q0, ..., w3 q1) of
/// qwords 2L and 2L + 1.
[[gnu::always_inline]] inline __m512i pack_four_noise(__m512i w0, __m512i w1, __m512i w2, __m512i w3) {
  return _mm512_packus_epi32(_mm512_packus_epi32(w0, w1), _mm512_packus_epi32(w2, w3));
}

/// The noise sums of eight wires from two packed fours: adjacent words summed
/// (vpmaddwd), packed again, and the four lanes added (a wire's total <=
/// 64 x 127 < 2^15), leaving the eight totals in one 128-bit store.
[[gnu::always_inline]] inline void store_eight_noise_sums(__m512i first_four, __m512i next_four, std::int16_t* out) {
  const __m512i ones = _mm512_set1_epi16(1);
  __m512i s = _mm512_packus_epi32(_mm512_madd_epi16(first_four, ones), _mm512_madd_epi16(next_four, ones));
  s = _mm512_add_epi16(s, _mm512_shuffle_i64x2(s, s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm512_add_epi16(s, _mm512_shuffle_i64x2(s, s, _MM_SHUFFLE(2, 3, 0, 1)));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm512_castsi512_si128(s));
}

/// Pass 2 over the group, eight wires at a time (their noise sums share one store).
/// MaxPool4x4 (image only, 4 x 4 max pooling: the default configuration and
/// the pipeline's) fixes the shape at compile time: one output row per four
/// wires, with no per-wire branches.
template <unsigned N, bool RunFilter, bool MaxPool4x4>
[[gnu::always_inline]] inline void denoise_group(Context c, unsigned first_wire, __m512i cm0, __m512i cm1) {
  static_assert(N % 8 == 0);
  const DownsizeConfig d = MaxPool4x4 ? DownsizeConfig{4, 4, PoolMode::max, c.downsize.shift} : c.downsize;
  __m512i pool0 = _mm512_setzero_si512(), pool1 = _mm512_setzero_si512();
  unsigned wires_to_row_end = d.wires;
  std::uint8_t* row = c.image + first_wire / d.wires * c.columns;
  auto emit = [&] {
    if constexpr (MaxPool4x4) {
      emit_row_max_4x4(pool0, pool1, d.shift, row);
    } else {
      emit_row(pool0, pool1, d, row);
    }
    row += c.columns;
    pool0 = pool1 = _mm512_setzero_si512();
  };
  auto wire_noise = [&](unsigned i) __attribute__((always_inline)) {
    const __m512i noise = denoise_wire<RunFilter, MaxPool4x4>(c, first_wire + i, i, cm0, cm1, pool0, pool1);
    if (!MaxPool4x4 && --wires_to_row_end == 0) {
      emit();
      wires_to_row_end = d.wires;
    }
    return noise;
  };
  auto four_wires = [&](unsigned i) __attribute__((always_inline)) {
    const __m512i w0 = wire_noise(i), w1 = wire_noise(i + 1), w2 = wire_noise(i + 2), w3 = wire_noise(i + 3);
    if constexpr (MaxPool4x4) emit();
    return pack_four_noise(w0, w1, w2, w3);
  };
  for (unsigned i = 0; i < N; i += 8) {
    const __m512i first_four = four_wires(i);
    store_eight_noise_sums(first_four, four_wires(i + 4), c.noise_sums + first_wire + i);
  }
}

template <unsigned N, bool Coherent, bool RunFilter, bool MaxPool4x4>
[[gnu::always_inline]] inline void process_group(Context c, unsigned first_wire) {
  __m512i rows[N];
#pragma GCC unroll 4
  for (unsigned i = 0; i < N; ++i) rows[i] = saturate_wire(c, first_wire + i, i);
  TickHalves cm{_mm512_setzero_si512(), _mm512_setzero_si512()};
  if constexpr (Coherent) cm = coherent_median<N>(rows);
  denoise_group<N, RunFilter, MaxPool4x4>(c, first_wire, cm.low, cm.high);
}

template <unsigned N, bool Coherent>
void process_frame(Context c) {
  static_assert(Frame::kWires % N == 0 && N % 4 == 0 && N <= 32);
  const bool run_filter = c.min_run > 1;
  const DownsizeConfig& d = c.downsize;
  const bool max_pool_4x4 = d.mode == PoolMode::max && d.wires == 4 && d.ticks == 4 && c.denoised == nullptr &&
                            c.filtered == nullptr;
  for (unsigned first = 0; first < Frame::kWires; first += N) {
    if (run_filter) {
      process_group<N, Coherent, true, false>(c, first);
    } else if (max_pool_4x4) {
      process_group<N, Coherent, false, true>(c, first);
    } else {
      process_group<N, Coherent, false, false>(c, first);
    }
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
