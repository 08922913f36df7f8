// The twin's vector operations for the avx512 and avx512vnni kernel sets:
// 16 int32 lanes per zmm register; the avx512vnni set multiplies with VNNI
// (vpdpwssd, vpdpbusd: four uint8 x int8 products per lane, exact) and lays
// copies out with VBMI's byte permutes (vpermt2b). A kernel-body fragment
// (twin_kernels.cpp); it includes nothing itself.

struct Simd {
  using V = __m512i;
  static constexpr int kLanes = 16;
  static constexpr int kAccumulators = 16;  // of 32 registers: the rest hold the weights and an activation
  static constexpr bool kVnni = LARSEL_ISA_LEVEL >= 3;
  static constexpr bool kByteQuads = kVnni;

  static V zero() { return _mm512_setzero_si512(); }
  static V load(const std::int32_t* p) { return _mm512_loadu_si512(p); }
  static V broadcast(std::int32_t w) { return _mm512_set1_epi32(w); }
  static V max(V a, V b) { return _mm512_max_epi32(a, b); }
  static void store(std::int32_t* p, V v) { _mm512_storeu_si512(p, v); }

  /// sums += the sum over each lane's elements of activation * weight (quads: uint8 activations, int8 weights).
  /// With VNNI the accumulator is updated in place through inline asm: with the intrinsics, GCC 12 copies every
  /// accumulator to a new register and back on each tap of the mac_block loop, which doubles its instructions.
  template <bool Quads>
  [[gnu::always_inline]] static void multiply_add(V& sums, V activations, V weights) {
    if constexpr (kVnni && Quads) {
      asm("vpdpbusd %2, %1, %0" : "+v"(sums) : "v"(activations), "v"(weights));
    } else if constexpr (kVnni) {
      asm("vpdpwssd %2, %1, %0" : "+v"(sums) : "v"(activations), "v"(weights));
    } else {
      static_assert(!Quads, "byte quads need VNNI");
      sums = _mm512_add_epi32(sums, _mm512_madd_epi16(activations, weights));
    }
  }

  /// The vector conversion (twin_convert.hpp): an add, a shift (by a count vector, vpsravd: one uop; by an xmm
  /// count, two), the clamp; the saturating narrowing in store_converted is the upper clamp when the format's top
  /// is int16's. `bias` is f.folded(the filter's bias). Plain: f.plain() holds, known at compile time.
  template <bool Plain>
  [[gnu::always_inline]] static V convert(V sums, const FastConversion& f, V bias) {
    if (!Plain && f.left != 0) sums = _mm512_sllv_epi32(sums, _mm512_set1_epi32(f.left));
    V x = _mm512_add_epi32(sums, bias);
    if (Plain || f.right != 0) x = _mm512_srav_epi32(x, _mm512_set1_epi32(f.right));
    x = _mm512_max_epi32(x, _mm512_set1_epi32(f.low));
    if (!Plain && f.high < 32767) x = _mm512_min_epi32(x, _mm512_set1_epi32(f.high));
    return x;
  }

  /// Vector v of a pooled plane, narrowed to int16 with saturation, into its rows. Mode: the plan's mode, known
  /// at compile time, or table for any (tested per vector).
  template <StorePlan::Mode Mode>
  [[gnu::always_inline]] static void store_converted(V x, const StoreView& stores, std::size_t v, std::int16_t* plane) {
    const __m256i h = _mm512_cvtsepi32_epi16(x);
    constexpr bool any = Mode == StorePlan::Mode::table;
    if (Mode == StorePlan::Mode::row_blocks_of_8 || (any && stores.mode == StorePlan::Mode::row_blocks_of_8)) {
      // Rows 2v and 2v + 1: row v of each block.
      _mm_storeu_si128(reinterpret_cast<__m128i*>(plane + 8 * v), _mm256_castsi256_si128(h));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(plane + stores.second_block + 8 * v), _mm256_extracti128_si256(h, 1));
    } else if ((Mode == StorePlan::Mode::consecutive || (any && stores.mode == StorePlan::Mode::consecutive)) && 16 * v + 16 <= stores.count) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(plane + 16 * v), h);
    } else {
      for (const LaneStore* s = stores.stores + stores.first[v]; s != stores.stores + stores.first[v + 1]; ++s) {
        _mm256_mask_storeu_epi16(plane + s->offset, static_cast<__mmask16>(s->mask), h);
      }
    }
  }

  /// The permute of two 64-byte source windows by `pattern` (bytes with VBMI, else words).
  [[gnu::always_inline]] static V permute(const CopyPattern& pattern, V a, V b) {
    const V index = _mm512_load_si512(pattern.index);
    if constexpr (kVnni) {  // the avx512vnni set has VBMI
      return _mm512_maskz_permutex2var_epi8(pattern.keep, a, index, b);
    } else {
      return _mm512_maskz_permutex2var_epi16(static_cast<__mmask32>(pattern.keep), a, index, b);
    }
  }

  /// The copies (twin_copies.hpp): the permutes of the rows r with rows[r] set, and the zero vectors with
  /// `zeros` (they never change); the gathers are run_gathers'.
  static void run_copies(const CopyPlan& plan, const void* source, std::int32_t* lanes, const RowSet& rows, bool zeros) {
    const auto* base = static_cast<const std::uint8_t*>(source);
    if (zeros) {
      for (const std::int32_t target : plan.zeros) _mm512_store_si512(lanes + target, zero());
    }
    const CopyPattern* patterns = plan.patterns.data();
    std::int32_t first = -1, second = -1;
    V a = zero(), b = zero();
    rows.for_each([&](std::size_t r) {
      for (std::uint32_t i = plan.single_rows[r]; i < plan.single_rows[r + 1]; ++i) {
        const SinglePermute& op = plan.singles[i];
        if (op.first != first || op.second != second) {  // the ops are sorted by windows within a row
          first = op.first, second = op.second;
          a = _mm512_loadu_si512(base + first), b = _mm512_loadu_si512(base + second);
        }
        _mm512_store_si512(lanes + op.target, permute(patterns[op.pattern], a, b));  // aligned target
      }
      for (std::uint32_t i = plan.double_rows[r]; i < plan.double_rows[r + 1]; ++i) {
        const DoublePermute& op = plan.doubles[i];
        V vector = zero();
        for (int p = 0; p < 2; ++p) {
          const V x = _mm512_loadu_si512(base + op.window[p][0]), y = _mm512_loadu_si512(base + op.window[p][1]);
          vector = _mm512_or_si512(vector, permute(patterns[op.pattern[p]], x, y));
        }
        _mm512_store_si512(lanes + op.target, vector);
      }
    });
  }

  /// The sum of the 16 int32 lanes of v, in int64 (it may exceed int32).
  static std::int64_t lane_sum(V v) {
    const V even = _mm512_srai_epi64(_mm512_slli_epi64(v, 32), 32), odd = _mm512_srai_epi64(v, 32);
    return _mm512_reduce_add_epi64(_mm512_add_epi64(even, odd));
  }

  /// out[u] = sum over i < stride of a[i] * w[u * stride + i], for u < units (w has rows, a multiple of 8, of
  /// stride weights), exactly: int32 lanes are emptied into int64 every chunk_steps steps of 32 inputs, before
  /// any could overflow.
  static void dense_sums(const std::int16_t* a, const std::int16_t* w, int stride, int units, int chunk_steps, std::int64_t* out) {
    for (int u0 = 0; u0 < units; u0 += 8) {
      const int n = std::min(8, units - u0);
      V acc[8];
      std::int64_t total[8] = {};
      const auto flush = [&] {
        for (int j = 0; j < n; ++j) total[j] += lane_sum(acc[j]), acc[j] = zero();
      };
      for (auto& v : acc) v = zero();
      int steps = 0;
      for (int i = 0; i < stride; i += 32) {
        const V x = _mm512_loadu_si512(a + i);
#pragma GCC unroll 8
        for (int j = 0; j < 8; ++j) {
          multiply_add<false>(acc[j], x, _mm512_loadu_si512(w + static_cast<std::ptrdiff_t>(u0 + j) * stride + i));
        }
        if (++steps == chunk_steps) flush(), steps = 0;
      }
      flush();
      std::copy(total, total + n, out + u0);
    }
  }
};

constexpr KernelTraits kTraits{core::kThisKernelSet, Simd::kLanes, Simd::kAccumulators, Simd::kByteQuads, Simd::kVnni ? 1 : 2,
                               Simd::kVnni ? CopyMethod::permute64_bytes : CopyMethod::permute64_words};
