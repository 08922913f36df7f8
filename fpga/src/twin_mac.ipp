// The multiply-add loops of the twin's packed path, written once for every
// kernel set over its `Simd` (twin_simd_*.ipp). A kernel-body fragment:
// included by twin_kernels.cpp inside its per-set namespace and ISA region
// (larsel/core/isa_region.hpp); it includes nothing itself.
//
// A convolution's input is stored so that one 32-bit lane holds several taps'
// activations of one output position (twin_copies.hpp, ConvInput): two int16
// (pairs: two channels, or rows r and r+1 of one channel) or four uint8 (quads:
// rows r..r+3 of the image, where the set multiplies them exactly: VNNI). One
// multiply-add per lane then does two or four taps: lane += sum_e a_e * w_e.
// The plan (twin_plan.cpp) takes this path only when max|activation| *
// sum|weight| over a filter fits int32, so no lane's true sum overflows, and
// 32-bit wrapping arithmetic is exact then in any order.
//
// A convolution followed by a max pooling of P = 1, 2 or 4 positions computes
// its outputs phase by phase: phase (a, b) holds the outputs (ph * y + a,
// pw * x + b), in pooled order (y, x), and every phase is read contiguously, so
// the pooling is an elementwise max of the P phases, taken in registers.
//
// Filters run in blocks of F = 1, 2 or 4 (the plan picks F per layer): each
// activation vector loaded feeds F multiply-adds. With one filter, every
// multiply-add needs its own load, and the loads, not the multiply-adds, are
// the limit. A block's lane-taps are grouped by which of its filters have a
// non-zero weight there (pruning leaves a filter about 20 of conv2's 27): each
// group runs a loop specialised on that set, so no zero weight is multiplied,
// and each load still feeds every filter that needs it.

using V = Simd::V;

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
/// With `vector_active`, only the blocks of vectors with one that is active are computed.
struct MacOutput {
  const RowSet* vector_active = nullptr;
  std::int32_t* sums = nullptr;
  std::size_t sums_stride = 0;
  const FastConversion* fast = nullptr;
  const StorePlan* stores = nullptr;
  std::int32_t bias[kMaxBlockFilters] = {};  // fast: FastConversion::folded(the filter's bias)
  std::int16_t* planes[kMaxBlockFilters] = {};
};

/// Calls f(std::integral_constant<T, K>) for the K in [1, Count] equal to `value` (nothing if none): a runtime
/// count or mask onto a compile-time one, every case inlined.
template <typename T, T Count, typename F>
[[gnu::always_inline]] inline void with_constant(T value, F&& f) {
  [&]<T... K>(std::integer_sequence<T, K...>) __attribute__((always_inline)) {
    ((value == K + 1 ? f(std::integral_constant<T, K + 1>{}) : void()), ...);
  }(std::make_integer_sequence<T, Count>{});
}

/// mac_block's epilogue with the vector conversion: per filter and vector, the max of the P phases, converted
/// and stored as int16. The parameters are copied to locals first (registers: see StoreView).
template <int P, int F, int N, bool Plain, StorePlan::Mode Mode>
[[gnu::always_inline]] inline void fast_epilogue_as(const V* acc, const MacOutput& out, std::size_t v) {
  const FastConversion f = *out.fast;
  const StoreView stores(*out.stores);
  std::int16_t* planes[F];
  V bias[F];
  for (int i = 0; i < F; ++i) planes[i] = out.planes[i], bias[i] = Simd::broadcast(out.bias[i]);
#pragma GCC unroll 16
  for (int i = 0; i < F * N; ++i) {
    const int filter = i / N, j = i % N;
    const V* phase = acc + filter * P * N + j;  // phase q at phase[q * N]
    V m = phase[0];
    for (int q = 1; q < P; ++q) m = Simd::max(m, phase[q * N]);
    Simd::template store_converted<Mode>(Simd::template convert<Plain>(m, f, bias[filter]), stores, v + static_cast<std::size_t>(j),
                                         planes[filter]);
  }
}

/// fast_epilogue_as, specialised for the common conversion and store modes: no tests per vector. Inlined into
/// mac_block, as every case: a call would take the accumulators through memory.
template <int P, int F, int N>
[[gnu::always_inline]] inline void fast_epilogue(const V* acc, const MacOutput& out, std::size_t v) {
  using Mode = StorePlan::Mode;
  if (!out.fast->plain()) return fast_epilogue_as<P, F, N, false, Mode::table>(acc, out, v);
  switch (out.stores->mode) {
    case Mode::row_blocks_of_8: return fast_epilogue_as<P, F, N, true, Mode::row_blocks_of_8>(acc, out, v);
    case Mode::consecutive: return fast_epilogue_as<P, F, N, true, Mode::consecutive>(acc, out, v);
    default: return fast_epilogue_as<P, F, N, true, Mode::table>(acc, out, v);
  }
}

/// The lane-taps [tap, end) of a group whose non-zero filters are the bits of Filters: the multiply-adds of the
/// other filters (zero weights) are skipped. Per lane-tap, the weights are broadcast once and each of the
/// P / R * N activation vectors is loaded once for all the group's filters and R row phases.
template <bool Quads, int P, int R, int F, int N, std::uint32_t Filters>
[[gnu::always_inline]] inline void mac_group(V (&acc)[F * P * N], const std::int32_t* lanes, const std::int32_t* tap, const std::int32_t* end) {
  constexpr int B = P / R;  // offsets per lane-tap
  for (; tap != end; tap += F * R + B) {
    V w[F * R];
#pragma GCC unroll 16
    for (int k = 0; k < F * R; ++k) {
      if ((Filters >> (k / R)) & 1) w[k] = Simd::broadcast(tap[k]);
    }
#pragma GCC unroll 16
    for (int i = 0; i < B * N; ++i) {
      const V x = Simd::load(lanes + tap[F * R + i / N] + Simd::kLanes * (i % N));
#pragma GCC unroll 16
      for (int k = 0; k < F * R; ++k) {  // filter k / R, row phase k % R: phase (k % R) * B + i / N
        if ((Filters >> (k / R)) & 1) Simd::template multiply_add<Quads>(acc[(k / R) * P * N + (k % R) * B * N + i], x, w[k]);
      }
    }
  }
}

/// Output-stationary block: N vectors of positions in each of P phases, for F filters, stay in registers over all
/// lane-taps (F * P * N <= the set's accumulators). Each activation vector loaded feeds the multiply-adds of the F
/// filters, but only of those with a non-zero weight there: fewer loads per multiply-add without multiplying
/// zeros. Pooled: the max of the phases goes out (a non-decreasing conversion follows); else each phase,
/// phase_stride apart.
template <bool Quads, int P, int R, int F, int N, bool Pooled>
inline void mac_block(const std::int32_t* lanes, TapSpan taps, const MacOutput& out, std::size_t v, std::size_t phase_stride) {
  lanes += Simd::kLanes * v;
  V acc[F * P * N];
#pragma GCC unroll 16
  for (int i = 0; i < F * P * N; ++i) acc[i] = Simd::zero();
  for (const TapGroup* g = taps.begin; g != taps.end; ++g) {
    const std::int32_t *first = taps.taps + g->first, *end = taps.taps + g->end;
    with_constant<std::uint32_t, (1u << F) - 1>(g->filters, [&](auto filters) __attribute__((always_inline)) {
      mac_group<Quads, P, R, F, N, decltype(filters)::value>(acc, lanes, first, end);
    });
  }
  if constexpr (Pooled) {
    if (out.fast) return fast_epilogue<P, F, N>(acc, out, v);
  }
#pragma GCC unroll 16
  for (int i = 0; i < F * N; ++i) {
    const int f = i / N, j = i % N;
    const V* phase = acc + f * P * N + j;  // phase q at phase[q * N]
    std::int32_t* sums = out.sums + static_cast<std::size_t>(f) * out.sums_stride + Simd::kLanes * (v + static_cast<std::size_t>(j));
    if constexpr (Pooled) {
      V m = phase[0];
      for (int q = 1; q < P; ++q) m = Simd::max(m, phase[q * N]);
      Simd::store(sums, m);
    } else {
      for (int q = 0; q < P; ++q) Simd::store(sums + q * phase_stride, phase[q * N]);
    }
  }
}

/// A filter block's blocks over `vectors` vectors of pooled positions: equal blocks of N vectors per phase (the
/// last may be shorter), F * P * N within the set's accumulators.
template <bool Quads, int P, int R, int F, bool Pooled>
void mac_vectors(const std::int32_t* lanes, TapSpan taps, std::size_t vectors, const MacOutput& out) {
  constexpr std::size_t most = std::min(Simd::kAccumulators / (P * F), 8);
  if constexpr (most > 0) {  // else the plan never asks for this block (twin_plan.cpp)
    const std::size_t blocks = (vectors + most - 1) / most;
    const std::size_t n = (vectors + blocks - 1) / blocks;
    const std::size_t stride = Simd::kLanes * vectors;
    for (std::size_t v = 0; v < vectors; v += n) {
      const std::size_t count = std::min(n, vectors - v);
      if (out.vector_active && !out.vector_active->any(static_cast<std::ptrdiff_t>(v), static_cast<std::ptrdiff_t>(v + count - 1))) {
        continue;  // as in the empty frame: its outputs are there already
      }
      with_constant<std::size_t, most>(count, [&](auto count) {
        mac_block<Quads, P, R, F, decltype(count)::value, Pooled>(lanes, taps, out, v, stride);
      });
    }
  }
}

template <bool Quads, int P, int R, bool Pooled>
void mac_filters(const std::int32_t* lanes, int filters, TapSpan taps, std::size_t vectors, const MacOutput& out) {
  switch (filters) {  // F: 1, 2 or 4 (twin_plan.cpp, filter_blocks)
    case 1: return mac_vectors<Quads, P, R, 1, Pooled>(lanes, taps, vectors, out);
    case 2: return mac_vectors<Quads, P, R, 2, Pooled>(lanes, taps, vectors, out);
    default: return mac_vectors<Quads, P, R, 4, Pooled>(lanes, taps, vectors, out);
  }
}

/// One filter block's sums: pooled (the max over the P phases), or every phase, kLanes * vectors apart.
/// row_weights: R, 2 only for quads whose row phases share a copy (then P is 2 or 4).
inline void mac_plane(const std::int32_t* lanes, bool quads, int row_weights, int filters, TapSpan taps, int phases, bool pooled,
                      std::size_t vectors, const MacOutput& out) {
  const auto run = [&](auto quad, auto rows) {
    constexpr bool Q = decltype(quad)::value;
    constexpr int R = decltype(rows)::value;
    if constexpr (!Q || Simd::kByteQuads) {  // the plan lays quads out only for a set that multiplies them
      if (phases == 4) pooled ? mac_filters<Q, 4, R, true>(lanes, filters, taps, vectors, out) : mac_filters<Q, 4, R, false>(lanes, filters, taps, vectors, out);
      else if (phases == 2) pooled ? mac_filters<Q, 2, R, true>(lanes, filters, taps, vectors, out) : mac_filters<Q, 2, R, false>(lanes, filters, taps, vectors, out);
      else if constexpr (R == 1) mac_filters<Q, 1, 1, true>(lanes, filters, taps, vectors, out);
    }
  };
  if (quads && row_weights == 2) run(std::true_type{}, std::integral_constant<int, 2>{});
  else if (quads) run(std::true_type{}, std::integral_constant<int, 1>{});
  else run(std::false_type{}, std::integral_constant<int, 1>{});
}
