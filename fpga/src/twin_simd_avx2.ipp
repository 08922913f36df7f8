// The twin's vector operations for the avx2 kernel set: 8 int32 lanes per ymm
// register, 16 registers. Without VNNI a multiply-add of int16 pairs is
// vpmaddwd + vpaddd, and the image is multiplied as int16 row pairs (vpmaddubsw
// would saturate: 255 x (|w0| + |w1|) exceeds int16 for 8-bit weights); copies
// are byte shuffles of 16-byte windows (vpshufb), widening the image's bytes to
// words on the way; there are no masked 16-bit stores, so a partial row is a
// load-blend-store. A kernel-body fragment (twin_kernels.cpp); it includes
// nothing itself.

struct Simd {
  using V = __m256i;
  static constexpr int kLanes = 8;
  // Of 16 registers: the sums, plus up to two broadcast weights, an activation and a product.
  static constexpr int kAccumulators = 12;
  static constexpr bool kByteQuads = false;

  static V zero() { return _mm256_setzero_si256(); }
  static V load(const std::int32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static V broadcast(std::int32_t w) { return _mm256_set1_epi32(w); }
  static V max(V a, V b) { return _mm256_max_epi32(a, b); }
  static void store(std::int32_t* p, V v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }

  template <bool Quads>
  [[gnu::always_inline]] static void multiply_add(V& sums, V activations, V weights) {
    static_assert(!Quads, "byte quads need VNNI");
    sums = _mm256_add_epi32(sums, _mm256_madd_epi16(activations, weights));
  }

  /// The vector conversion (twin_convert.hpp; as the avx512 set's).
  template <bool Plain>
  [[gnu::always_inline]] static V convert(V sums, const FastConversion& f, V bias) {
    if (!Plain && f.left != 0) sums = _mm256_sllv_epi32(sums, _mm256_set1_epi32(f.left));
    V x = _mm256_add_epi32(sums, bias);
    if (Plain || f.right != 0) x = _mm256_srav_epi32(x, _mm256_set1_epi32(f.right));
    x = _mm256_max_epi32(x, _mm256_set1_epi32(f.low));
    if (!Plain && f.high < 32767) x = _mm256_min_epi32(x, _mm256_set1_epi32(f.high));
    return x;
  }

  /// Lanes `mask` of h stored at p: the 8 words there loaded, blended, stored back (p may start left of the
  /// row, into the buffer's slack; words outside the mask are written back unchanged).
  [[gnu::always_inline]] static void blend_store(std::int16_t* p, __m128i h, std::uint32_t mask) {
    const __m128i bits = _mm_setr_epi16(1, 2, 4, 8, 16, 32, 64, 128);
    const __m128i keep = _mm_cmpeq_epi16(_mm_and_si128(_mm_set1_epi16(static_cast<short>(mask)), bits), bits);
    const __m128i old = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm_blendv_epi8(old, h, keep));
  }

  /// Vector v of a pooled plane, narrowed to int16 with saturation (vpackssdw), into its rows.
  template <StorePlan::Mode Mode>
  [[gnu::always_inline]] static void store_converted(V x, const StoreView& stores, std::size_t v, std::int16_t* plane) {
    const __m128i h = _mm_packs_epi32(_mm256_castsi256_si128(x), _mm256_extracti128_si256(x, 1));
    constexpr bool any = Mode == StorePlan::Mode::table;
    if (Mode == StorePlan::Mode::row_blocks_of_8 || (any && stores.mode == StorePlan::Mode::row_blocks_of_8)) {
      // Row v: row v / 2 of block v % 2.
      _mm_storeu_si128(reinterpret_cast<__m128i*>(plane + (v & 1) * stores.second_block + 8 * (v >> 1)), h);
    } else if ((Mode == StorePlan::Mode::consecutive || (any && stores.mode == StorePlan::Mode::consecutive)) && 8 * v + 8 <= stores.count) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(plane + 8 * v), h);
    } else {
      for (const LaneStore* s = stores.stores + stores.first[v]; s != stores.stores + stores.first[v + 1]; ++s) {
        blend_store(plane + s->offset, h, s->mask);
      }
    }
  }

  /// A group's vectors (twin_copies.hpp, ShuffleGroup): its windows loaded once, each vector P shuffles OR-ed.
  template <int P>
  static void run_shuffle_group(const CopyPlan& plan, const ShuffleGroup& g, const std::uint8_t* base, std::int32_t* lanes) {
    V windows[P];
    for (int p = 0; p < P; ++p) {
      const __m128i low = _mm_loadu_si128(reinterpret_cast<const __m128i*>(base + g.windows[p][0]));
      windows[p] = g.windows[p][0] == g.windows[p][1]
                       ? _mm256_broadcastsi128_si256(low)
                       : _mm256_inserti128_si256(_mm256_castsi128_si256(low), _mm_loadu_si128(reinterpret_cast<const __m128i*>(base + g.windows[p][1])), 1);
    }
    const CopyPattern* patterns = plan.patterns.data();
    for (const ShuffleTarget* t = plan.shuffle_targets.data() + g.first; t != plan.shuffle_targets.data() + g.end; ++t) {
      V vector = _mm256_shuffle_epi8(windows[0], _mm256_load_si256(reinterpret_cast<const __m256i*>(patterns[t->pattern[0]].index)));
      for (int p = 1; p < P; ++p) {
        vector = _mm256_or_si256(vector, _mm256_shuffle_epi8(windows[p], _mm256_load_si256(reinterpret_cast<const __m256i*>(patterns[t->pattern[p]].index))));
      }
      _mm256_store_si256(reinterpret_cast<__m256i*>(lanes + t->target), vector);  // aligned: targets are whole vectors
    }
  }

  /// The copies (twin_copies.hpp): the shuffle groups of the rows r with rows[r] set, and the zero vectors
  /// with `zeros` (they never change); the gathers are run_gathers'.
  static void run_copies(const CopyPlan& plan, const void* source, std::int32_t* lanes, const RowSet& rows, bool zeros) {
    const auto* base = static_cast<const std::uint8_t*>(source);
    if (zeros) {
      for (const std::int32_t target : plan.zeros) _mm256_store_si256(reinterpret_cast<__m256i*>(lanes + target), zero());
    }
    rows.for_each([&](std::size_t r) {
      for (std::uint32_t i = plan.group_rows[r]; i < plan.group_rows[r + 1]; ++i) {
        const ShuffleGroup& g = plan.shuffle_groups[i];
        switch (g.parts) {
          case 1: run_shuffle_group<1>(plan, g, base, lanes); break;
          case 2: run_shuffle_group<2>(plan, g, base, lanes); break;
          case 3: run_shuffle_group<3>(plan, g, base, lanes); break;
          default: run_shuffle_group<4>(plan, g, base, lanes); break;
        }
      }
    });
  }

  /// The sum of the 8 int32 lanes of v, in int64 (it may exceed int32).
  static std::int64_t lane_sum(V v) {
    const V wide = _mm256_add_epi64(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(v)), _mm256_cvtepi32_epi64(_mm256_extracti128_si256(v, 1)));
    const __m128i pair = _mm_add_epi64(_mm256_castsi256_si128(wide), _mm256_extracti128_si256(wide, 1));
    return _mm_cvtsi128_si64(pair) + _mm_extract_epi64(pair, 1);
  }

  /// As the avx512 set's dense_sums, 16 inputs per multiply-add: a lane adds four products per step of 32 inputs
  /// (twin_plan.cpp sizes chunk_steps for that).
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
        const V x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i));
        const V x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i + 16));
#pragma GCC unroll 8
        for (int j = 0; j < 8; ++j) {
          const std::int16_t* row = w + static_cast<std::ptrdiff_t>(u0 + j) * stride + i;
          multiply_add<false>(acc[j], x0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row)));
          multiply_add<false>(acc[j], x1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 16)));
        }
        if (++steps == chunk_steps) flush(), steps = 0;
      }
      flush();
      std::copy(total, total + n, out + u0);
    }
  }
};

constexpr KernelTraits kTraits{core::kThisKernelSet, Simd::kLanes, Simd::kAccumulators, false, 2, CopyMethod::shuffle16};
