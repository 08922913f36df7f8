// Optimised frame kernel: the scalar reference's arithmetic, vectorised over
// the 64 ticks of a wire with GCC vector types of the machine's native width.
// This file is compiled once per kernel set (baseline, avx2, avx512: vectors of
// 16, 32, 64 bytes; larsel/core/isa_region.hpp) and Preprocessor picks one at
// run time.
//  - The coherent median runs the MedianNetwork on whole rows saturated to
//    int8: one vector min and max per comparator covers up to 64 ticks.
//  - Per-wire sums are reduced a batch of wires at a time by a transposing
//    tree of two-source shuffles instead of one horizontal sum per wire.
//  - Only native-width vectors are used: GCC lowers comparisons of wider
//    generic vectors element by element (measured: 20x slower).
#include <algorithm>
#include <cstring>
#include <type_traits>
#include <utility>

#include "channel_update.hpp"
#include "larsel/core/isa_region.hpp"

LARSEL_ISA_BEGIN
namespace larsel::preprocess::detail::LARSEL_ISA {
namespace {

constexpr std::size_t kBytes = LARSEL_ISA_LEVEL >= 2 ? 64 : LARSEL_ISA_LEVEL == 1 ? 32 : 16;
typedef std::int16_t I16 __attribute__((vector_size(kBytes)));
typedef std::int16_t I16h __attribute__((vector_size(kBytes / 2)));
typedef std::int8_t I8 __attribute__((vector_size(kBytes)));
typedef std::int8_t I8h __attribute__((vector_size(kBytes / 2)));
typedef std::int32_t I32 __attribute__((vector_size(kBytes)));
typedef std::uint8_t U8h __attribute__((vector_size(kBytes / 2)));
typedef std::uint8_t U8q __attribute__((vector_size(kBytes / 4)));
typedef std::uint8_t U8e __attribute__((vector_size(kBytes / 8)));

constexpr std::size_t kTicks = Frame::kTicks;
constexpr std::size_t kLanes = kBytes / 2;       // int16 lanes per vector
constexpr std::size_t kChunks = kTicks / kLanes;  // int16 vectors per wire
constexpr std::size_t kChunks8 = kTicks / kBytes; // int8 vectors per wire
constexpr std::size_t kBatch = kLanes;            // wires per transposing reduction
constexpr std::size_t kPad = 16;                  // padding around shifted rows

template <typename V>
V load(const void* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename V>
void store(void* p, const V& v) {
  std::memcpy(p, &v, sizeof v);
}
template <typename V>
V vmin(V a, V b) { return a < b ? a : b; }
template <typename V>
V vmax(V a, V b) { return a < b ? b : a; }
template <typename V>
V splat(int value) {
  using Element = std::remove_cvref_t<decltype(std::declval<V>()[0])>;
  return V{} + static_cast<Element>(value);
}

/// Transposing reduction: level L combines two vectors holding 2^(L-1) wires
/// x kLanes/2^(L-1) partial sums each into one with twice the wires and half
/// the partials per wire. Lane k of the result sums these two source lanes
/// (indices >= kLanes are the second vector's).
constexpr int source_lane(int level, int k, bool upper_half) {
  const int lanes = static_cast<int>(kLanes);
  const int lanes_in = lanes >> (level - 1), lanes_out = lanes_in / 2, wires_in = 1 << (level - 1);
  const int wire = k / lanes_out, lane = k % lanes_out;
  return (wire < wires_in ? 0 : lanes) + (wire % wires_in) * lanes_in + lane + (upper_half ? lanes_out : 0);
}

template <int Level, int... K>
I16 combine(I16 a, I16 b, std::integer_sequence<int, K...>) {
  return __builtin_shufflevector(a, b, source_lane(Level, K, false)...) +
         __builtin_shufflevector(a, b, source_lane(Level, K, true)...);
}

template <int Level>
void reduce_levels(I16* p) {
  if constexpr ((std::size_t{1} << Level) <= kBatch) {
    for (std::size_t i = 0; i < (kBatch >> Level); ++i) {
      p[i] = combine<Level>(p[2 * i], p[2 * i + 1], std::make_integer_sequence<int, static_cast<int>(kLanes)>{});
    }
    reduce_levels<Level + 1>(p);
  }
}

/// p[i] holds kLanes partial sums of wire i; afterwards out[i] is wire i's total.
void reduce_batch(I16 (&p)[kBatch], std::int16_t* out) {
  reduce_levels<1>(p);
  store(out, p[0]);
}

struct Scratch {
  alignas(64) std::int8_t rows8[MedianNetwork::kMaxInputs][kTicks];  // saturated x of a group, then network slots
  alignas(64) std::int16_t cm[kTicks];
  I16 sign_part[kBatch];
  I16 noise_part[kBatch];
  alignas(64) std::int16_t fir_row[kPad + kTicks + 32 + kPad];
  alignas(64) std::int16_t mask_row[kPad + kTicks + kPad];
  alignas(64) std::int16_t plane[Frame::kPixels];  // z when the caller does not want it
};
static_assert(sizeof(Scratch) <= kScratchBytes);

/// Pass 1 over a group: x = adc - pedestal saturated to int8 into the network's
/// rows, and the frugal sign sums.
void saturate_group(const ChannelState& state, FrameAdc adc, const WireGroup& g, Scratch& s, FrameStatistics& stats) {
  for (std::size_t i = 0; i < g.wires; ++i) {
    const std::size_t w = g.first_wire + i;
    const std::uint16_t* row = adc.data() + w * kTicks;
    I16 signs{};
    for (std::size_t c = 0; c < kChunks; ++c) {
      const I16 x = load<I16>(row + c * kLanes) - state.pedestal[w];
      store(s.rows8[i] + c * kLanes, __builtin_convertvector(vmin(vmax(x, splat<I16>(-128)), splat<I16>(127)), I8h));
      signs += vmin(vmax(x, splat<I16>(-1)), splat<I16>(1));
    }
    s.sign_part[w % kBatch] = signs;
    if (w % kBatch == kBatch - 1) reduce_batch(s.sign_part, stats.sign_sum.data() + w + 1 - kBatch);
  }
}

/// s.cm from the int8 lower and upper median rows, (lower + upper) >> 1 as int16.
void store_median(const I8& lower, const I8& upper, std::size_t chunk8, Scratch& s) {
  alignas(64) std::int8_t l[kBytes], u[kBytes];
  store(l, lower);
  store(u, upper);
  for (std::size_t h = 0; h < kBytes / kLanes; ++h) {
    const I16 sum = __builtin_convertvector(load<I8h>(l + h * kLanes), I16) + __builtin_convertvector(load<I8h>(u + h * kLanes), I16);
    store(s.cm + chunk8 * kBytes + h * kLanes, sum >> 1);
  }
}

/// A compile-time network on rows held in registers: one vector min and max per comparator.
template <std::size_t Inputs, typename V>
void apply_network(V (&r)[Inputs]) {
  static constexpr FixedMedianNetwork<Inputs> kNetwork = make_fixed_median_network<Inputs>();
  [&]<std::size_t... K>(std::index_sequence<K...>) {
    auto step = [&](const CompareExchange& e) {
      const V a = r[e.low], b = r[e.high];
      if (e.min_used) r[e.low] = vmin(a, b);
      if (e.max_used) r[e.high] = vmax(a, b);
    };
    (step(kNetwork.steps[K]), ...);
  }(std::make_index_sequence<kNetwork.steps.size()>{});
}

/// The default 24-wire network with every row in registers (32 vector registers with AVX-512).
template <std::size_t Inputs>
void median_in_registers(Scratch& s) {
  static constexpr FixedMedianNetwork<Inputs> kNetwork = make_fixed_median_network<Inputs>();
  for (std::size_t c = 0; c < kChunks8; ++c) {
    I8 r[Inputs];
    for (std::size_t i = 0; i < Inputs; ++i) r[i] = load<I8>(s.rows8[i] + c * kBytes);
    apply_network(r);
    store_median(r[kNetwork.lower_slot], r[kNetwork.upper_slot], c, s);
  }
}

/// s.cm = per-tick median of the group's saturated rows (zero without a network).
void coherent_median(const WireGroup& g, Scratch& s) {
  if (g.network == nullptr) {
    std::fill(std::begin(s.cm), std::end(s.cm), std::int16_t{0});
    return;
  }
  if (g.wires == 24) return median_in_registers<24>(s);
  for (const CompareExchange& step : g.network->steps()) {
    for (std::size_t c = 0; c < kChunks8; ++c) {
      const I8 a = load<I8>(s.rows8[step.low] + c * kBytes), b = load<I8>(s.rows8[step.high] + c * kBytes);
      if (step.min_used) store(s.rows8[step.low] + c * kBytes, vmin(a, b));
      if (step.max_used) store(s.rows8[step.high] + c * kBytes, vmax(a, b));
    }
  }
  for (std::size_t c = 0; c < kChunks8; ++c) {
    store_median(load<I8>(s.rows8[g.network->lower_slot()] + c * kBytes),
                 load<I8>(s.rows8[g.network->upper_slot()] + c * kBytes), c, s);
  }
}

/// f = centred FIR of the row y (zero beyond the frame), int32 sums on half vectors.
void low_pass(const KernelPlan& plan, const std::int16_t* y, std::int16_t* f, Scratch& s) {
  std::int16_t* row = s.fir_row + kPad;
  std::fill(std::begin(s.fir_row), std::end(s.fir_row), std::int16_t{0});
  std::memcpy(row + plan.fir_centre, y, kTicks * sizeof(std::int16_t));  // f(t) = sum_k h_k row[t + k]
  const int shift = static_cast<int>(plan.config.fir.shift);
  for (std::size_t t = 0; t < kTicks; t += kLanes / 2) {
    I32 sum{};
    for (std::size_t k = 0; k < plan.fir_taps.size(); ++k) {
      sum += __builtin_convertvector(load<I16h>(row + t + k), I32) * plan.fir_taps[k];
    }
    store(f + t, __builtin_convertvector(vmin(vmax(sum >> shift, splat<I32>(-32767)), splat<I32>(32767)), I16h));
  }
}

/// Over-threshold mask of the row in s.mask_row with runs shorter than n removed
/// (ticks beyond the edges count as over): keep(t) = OR_j AND_i over(t - j + i), i, j < n.
void keep_long_runs(std::size_t n, Scratch& s, I16 (&over)[kChunks]) {
  std::fill(s.mask_row, s.mask_row + kPad, std::int16_t{-1});
  std::fill(s.mask_row + kPad + kTicks, std::end(s.mask_row), std::int16_t{-1});
  for (std::size_t c = 0; c < kChunks; ++c) store(s.mask_row + kPad + c * kLanes, over[c]);
  for (std::size_t c = 0; c < kChunks; ++c) {
    I16 any{};
    for (std::size_t j = 0; j < n; ++j) {
      I16 all = splat<I16>(-1);
      for (std::size_t i = 0; i < n; ++i) all &= load<I16>(s.mask_row + kPad + c * kLanes - j + i);
      any |= all;
    }
    over[c] = any;
  }
}

/// Pass 2 for one wire: f (in registers), its noise statistic, and z.
void denoise_wire(const KernelPlan& plan, const ChannelState& state, FrameAdc adc, std::size_t w, Scratch& s,
                  const FrameOutputs& out, I16 (&z)[kChunks]) {
  const std::uint16_t* row = adc.data() + w * kTicks;
  I16 f[kChunks];
  for (std::size_t c = 0; c < kChunks; ++c) {
    f[c] = load<I16>(row + c * kLanes) - state.pedestal[w] - load<I16>(s.cm + c * kLanes);
  }
  if (!plan.fir_taps.empty()) {
    alignas(64) std::int16_t y[kTicks], filtered[kTicks];
    for (std::size_t c = 0; c < kChunks; ++c) store(y + c * kLanes, f[c]);
    low_pass(plan, y, filtered, s);
    for (std::size_t c = 0; c < kChunks; ++c) f[c] = load<I16>(filtered + c * kLanes);
  }
  I16 clipped{}, over[kChunks];
  for (std::size_t c = 0; c < kChunks; ++c) {
    clipped += vmin(f[c] < 0 ? -f[c] : f[c], splat<I16>(state.noise_clip[w]));
    over[c] = f[c] > state.threshold[w];
  }
  s.noise_part[w % kBatch] = clipped;
  if (plan.config.threshold.min_ticks_over > 1) keep_long_runs(plan.config.threshold.min_ticks_over, s, over);
  for (std::size_t c = 0; c < kChunks; ++c) {
    z[c] = f[c] & over[c];
    if (!out.filtered.empty()) store(out.filtered.data() + w * kTicks + c * kLanes, f[c]);
  }
}

/// v shifted down by Span lanes (zeros shifted in): a constant two-source shuffle.
template <int Span, typename V, int... K>
V shift_down(V v, std::integer_sequence<int, K...>) {
  return __builtin_shufflevector(v, V{}, (K + Span)...);
}
template <int Span, typename V>
V shift_down(V v) {
  constexpr int lanes = static_cast<int>(sizeof(V) / sizeof(v[0]));
  return shift_down<Span>(v, std::make_integer_sequence<int, lanes>{});
}

/// Lane t becomes the max (or sum) of lanes t .. t + ticks - 1 (ticks <= lanes, a power of two):
/// exact for the lanes that start a window, the only ones read.
template <typename V>
V window_in_register(V v, std::size_t ticks, bool use_max) {
  constexpr std::size_t lanes = sizeof(V) / sizeof(v[0]);
  auto step = [&](V shifted) { v = use_max ? vmax(v, shifted) : v + shifted; };
  if (ticks > 1) step(shift_down<1>(v));
  if (ticks > 2) step(shift_down<2>(v));
  if (ticks > 4) step(shift_down<4>(v));
  if constexpr (lanes > 8) if (ticks > 8) step(shift_down<8>(v));
  if constexpr (lanes > 16) if (ticks > 16) step(shift_down<16>(v));
  if constexpr (lanes > 32) if (ticks > 32) step(shift_down<32>(v));
  return v;
}

template <int Ticks> struct PickedBytes;  // u8 vector holding kLanes / Ticks columns
template <> struct PickedBytes<1> { using type = U8h; };
template <> struct PickedBytes<2> { using type = U8q; };
template <> struct PickedBytes<4> { using type = U8e; };

/// Columns of one windowed int16 chunk (lanes 0, Ticks, 2 Ticks, ...) as
/// min(255, v >> shift): one constant shuffle instead of lane-by-lane reads.
template <int Ticks, int... K>
void emit_chunk(I16 v, int shift, std::uint8_t* out, std::integer_sequence<int, K...>) {
  auto picked = __builtin_shufflevector(v, v, (K * Ticks)...) >> shift;
  picked = vmin(picked, decltype(picked){} + static_cast<std::int16_t>(255));
  store(out, __builtin_convertvector(picked, typename PickedBytes<Ticks>::type));
}

/// Pools one output row from `chunks` (lanes = ticks) and writes min(255, v >> shift) per column.
template <typename V, std::size_t Chunks>
void emit_row(const V (&chunks)[Chunks], std::size_t ticks, bool use_max, int shift, std::uint8_t* out) {
  constexpr std::size_t lanes = sizeof(V) / sizeof(chunks[0][0]);
  if (ticks <= lanes) {
    for (std::size_t c = 0; c < Chunks; ++c) {
      const V v = window_in_register(chunks[c], ticks, use_max);
      if constexpr (std::is_same_v<V, I16>) {
        constexpr int n = static_cast<int>(lanes);
        if (ticks == 1) { emit_chunk<1>(v, shift, out, std::make_integer_sequence<int, n>{}); out += lanes; continue; }
        if (ticks == 2) { emit_chunk<2>(v, shift, out, std::make_integer_sequence<int, n / 2>{}); out += lanes / 2; continue; }
        if (ticks == 4) { emit_chunk<4>(v, shift, out, std::make_integer_sequence<int, n / 4>{}); out += lanes / 4; continue; }
      }
      for (std::size_t j = 0; j < lanes / ticks; ++j) *out++ = static_cast<std::uint8_t>(std::min<int>(255, v[j * ticks] >> shift));
    }
    return;
  }
  const std::size_t per_window = ticks / lanes;
  for (std::size_t c = 0; c < Chunks; c += per_window) {
    V v = chunks[c];
    for (std::size_t k = c + 1; k < c + per_window && k < Chunks; ++k) v = use_max ? vmax(v, chunks[k]) : v + chunks[k];
    *out++ = static_cast<std::uint8_t>(std::min<int>(255, window_in_register(v, lanes, use_max)[0] >> shift));
  }
}

/// Half H (0 = ticks of the lower lanes) of an int16 vector, widened to int32.
template <int H, int... K>
I32 widen_half(I16 v, std::integer_sequence<int, K...>) {
  return __builtin_convertvector(__builtin_shufflevector(v, v, (K + H * static_cast<int>(kLanes / 2))...), I32);
}

/// Vertical pooling of the wires of one output row, in registers.
struct RowPool {
  I16 max[kChunks];
  I32 sum[2 * kChunks];  // int32: 16 x 16511 overflows int16

  void add(const DownsizeConfig& d, const I16 (&z)[kChunks], bool first) {
    constexpr auto half_lanes = std::make_integer_sequence<int, static_cast<int>(kLanes / 2)>{};
    for (std::size_t c = 0; c < kChunks; ++c) {
      if (d.mode == PoolMode::max) {
        max[c] = first ? z[c] : vmax(max[c], z[c]);
        continue;
      }
      const I32 low = widen_half<0>(z[c], half_lanes), high = widen_half<1>(z[c], half_lanes);
      sum[2 * c] = first ? low : sum[2 * c] + low;
      sum[2 * c + 1] = first ? high : sum[2 * c + 1] + high;
    }
  }
  void emit(const DownsizeConfig& d, std::uint8_t* out) const {
    const int shift = static_cast<int>(d.shift);
    if (d.mode == PoolMode::max) {
      emit_row(max, d.ticks, true, shift, out);
    } else {
      emit_row(sum, d.ticks, false, shift, out);
    }
  }
};

/// Pools a whole z plane (used when groups do not align with the pooling rows).
void downsize(const PreprocessConfig& config, const std::int16_t* plane, std::span<std::uint8_t> image) {
  const DownsizeConfig& d = config.downsize;
  RowPool pool;
  for (std::size_t w = 0; w < Frame::kWires; ++w) {
    I16 z[kChunks];
    for (std::size_t c = 0; c < kChunks; ++c) z[c] = load<I16>(plane + w * kTicks + c * kLanes);
    pool.add(d, z, w % d.wires == 0);
    if (w % d.wires == d.wires - 1) pool.emit(d, image.data() + (w / d.wires) * config.output_columns());
  }
}

/// Pass 2 over a group: z of each wire, pooled on the fly when the group holds whole pooling rows.
void denoise_group(const KernelPlan& plan, const ChannelState& state, FrameAdc adc, const WireGroup& g,
                   const FrameOutputs& out, std::int16_t* plane, Scratch& s, FrameStatistics& stats) {
  const DownsizeConfig& d = plan.config.downsize;
  const bool pool_here = g.first_wire % d.wires == 0 && g.wires % d.wires == 0;
  RowPool pool;
  for (std::size_t w = g.first_wire; w < g.first_wire + g.wires; ++w) {
    I16 z[kChunks];
    denoise_wire(plan, state, adc, w, s, out, z);
    if (w % kBatch == kBatch - 1) reduce_batch(s.noise_part, stats.clipped_abs_sum.data() + w + 1 - kBatch);
    if (!pool_here || !out.denoised.empty()) {
      for (std::size_t c = 0; c < kChunks; ++c) store(plane + w * kTicks + c * kLanes, z[c]);
    }
    if (!pool_here) continue;
    pool.add(d, z, w % d.wires == 0);
    if (w % d.wires == d.wires - 1) pool.emit(d, out.image.data() + (w / d.wires) * plan.config.output_columns());
  }
}

/// Frame medians of kLanes wires: the ticks transposed so each vector holds
/// one tick of every wire, then the 64-input median network on whole vectors.
void frame_medians_of_block(const std::uint16_t* rows, std::int16_t* medians) {
  static constexpr FixedMedianNetwork<kTicks> kNetwork = make_fixed_median_network<kTicks>();
  alignas(64) std::int16_t ticks[kTicks][kLanes];
  for (std::size_t lane = 0; lane < kLanes; ++lane) {
    for (std::size_t t = 0; t < kTicks; ++t) ticks[t][lane] = static_cast<std::int16_t>(rows[lane * kTicks + t]);
  }
  I16 r[kTicks];
  for (std::size_t t = 0; t < kTicks; ++t) r[t] = load<I16>(ticks[t]);
  apply_network(r);
  const I16 lower = r[kNetwork.lower_slot], upper = r[kNetwork.upper_slot];
  store(medians, (lower >> 1) + (upper >> 1) + (lower & upper & 1));  // floor of the mean without overflow
}

}  // namespace

void frame_medians(FrameAdc adc, std::span<std::int16_t, Frame::kWires> medians) {
  static_assert(Frame::kWires % kLanes == 0);
  for (std::size_t w = 0; w < Frame::kWires; w += kLanes) frame_medians_of_block(adc.data() + w * kTicks, medians.data() + w);
}

void vector_frame(const KernelPlan& plan, ChannelState& state, FrameAdc adc, const FrameOutputs& outputs,
                  FrameStatistics& stats, std::byte* scratch) {
  Scratch& s = *reinterpret_cast<Scratch*>(scratch);
  std::int16_t* plane = outputs.denoised.empty() ? s.plane : outputs.denoised.data();
  constexpr std::size_t kBlock = 24;  // wires per pass when coherent removal is off
  const std::size_t blocks = plan.groups.empty() ? Frame::kWires / kBlock : plan.groups.size();
  bool all_pooled = true;
  for (std::size_t b = 0; b < blocks; ++b) {
    const WireGroup g = plan.groups.empty() ? WireGroup{static_cast<std::uint16_t>(b * kBlock), kBlock, nullptr}
                                            : plan.groups[b];
    saturate_group(state, adc, g, s, stats);
    coherent_median(g, s);
    denoise_group(plan, state, adc, g, outputs, plane, s, stats);
    all_pooled = all_pooled && g.first_wire % plan.config.downsize.wires == 0 && g.wires % plan.config.downsize.wires == 0;
  }
  if (!all_pooled) downsize(plan.config, plane, outputs.image);
  update_channels(plan.config, stats, state);
}

}  // namespace larsel::preprocess::detail::LARSEL_ISA
LARSEL_ISA_END
