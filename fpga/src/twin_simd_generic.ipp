// The twin's vector operations for the baseline kernel set: GCC vector types of
// 8 int32 lanes, which the compiler lowers to pairs of SSE2 instructions (any
// x86-64 CPU). Not fast, but the same plan and the same bits as the others;
// copies are gathers, stores go lane by lane. A kernel-body fragment
// (twin_kernels.cpp); it includes nothing itself.

struct Simd {
  typedef std::int32_t V __attribute__((vector_size(32)));
  static constexpr int kLanes = 8;
  static constexpr int kAccumulators = 4;  // two xmm registers each, of 16
  static constexpr bool kByteQuads = false;

  static V zero() { return V{}; }
  static V load(const std::int32_t* p) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static V broadcast(std::int32_t w) { return V{} + w; }
  static V max(V a, V b) { return a > b ? a : b; }
  static V min(V a, V b) { return a < b ? a : b; }
  static void store(std::int32_t* p, V v) { std::memcpy(p, &v, sizeof v); }

  /// sums += low16(a) * low16(w) + high16(a) * high16(w) per lane (vpmaddwd's arithmetic).
  template <bool Quads>
  static void multiply_add(V& sums, V a, V w) {
    static_assert(!Quads, "byte quads need VNNI");
    sums += ((a << 16) >> 16) * ((w << 16) >> 16) + (a >> 16) * (w >> 16);
  }

  template <bool Plain>
  static V convert(V sums, const FastConversion& f, V bias) {
    if (!Plain && f.left != 0) sums <<= f.left;
    V x = sums + bias;
    if (Plain || f.right != 0) x >>= f.right;
    x = max(x, broadcast(f.low));
    return min(x, broadcast(std::min<std::int32_t>(f.high, 32767)));  // the narrowing's saturation
  }

  template <StorePlan::Mode>
  static void store_converted(V x, const StoreView& stores, std::size_t v, std::int16_t* plane) {
    for (const LaneStore* s = stores.stores + stores.first[v]; s != stores.stores + stores.first[v + 1]; ++s) {
      for (int lane = 0; lane < kLanes; ++lane) {
        if ((s->mask >> lane) & 1) plane[s->offset + lane] = static_cast<std::int16_t>(std::max<std::int32_t>(x[lane], -32768));
      }
    }
  }

  /// The copies' zero vectors with `zeros` (they never change; every other vector is gathered, by run_gathers).
  static void run_copies(const CopyPlan& plan, const void*, std::int32_t* lanes, const RowSet&, bool zeros) {
    if (!zeros) return;
    for (const std::int32_t target : plan.zeros) std::fill_n(lanes + target, kLanes, 0);
  }

  static void dense_sums(const std::int16_t* a, const std::int16_t* w, int stride, int units, int, std::int64_t* out) {
    for (int u = 0; u < units; ++u) {  // int64 sums throughout: no chunks needed
      const std::int16_t* row = w + static_cast<std::ptrdiff_t>(u) * stride;
      std::int64_t sum = 0;
      for (int i = 0; i < stride; ++i) sum += static_cast<std::int32_t>(a[i]) * row[i];
      out[u] = sum;
    }
  }
};

constexpr KernelTraits kTraits{core::kThisKernelSet, Simd::kLanes, Simd::kAccumulators, false, 2, CopyMethod::gather};
