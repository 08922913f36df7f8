// The twin's packed plan (see twin_plan.hpp, twin_copies.hpp and twin_mac.ipp), made once per model and kernel
// set.
#include "twin_plan.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <optional>
#include <utility>

namespace larsel::fpga::detail {
namespace {

constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();

bool fits_int16(std::int64_t v) { return v >= std::numeric_limits<std::int16_t>::min() && v <= std::numeric_limits<std::int16_t>::max(); }
bool fits_int16(const models::FixedPointFormat& f) { return fits_int16(f.min_raw()) && fits_int16(f.max_raw()); }
bool fits_int8(std::int64_t v) { return v >= -128 && v <= 127; }
/// The largest |raw| a value of `f` can have.
std::int64_t largest_magnitude(const models::FixedPointFormat& f) { return std::max(-f.min_raw(), f.max_raw()); }
/// The raw weight of a tap (taps hold it pre-shifted to the accumulator's fraction; the shift is exact).
std::int64_t raw_weight(const TwinLayer& t, const TwinLayer::Tap& tap) { return tap.weight >> t.product_shift; }
std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

Conversion conversion_of(const TwinLayer& t, bool relu) { return {t.accumulator_fraction, t.product_shift, t.output_format, relu}; }

/// A convolution or dense layer with the max pooling and ReLUs that follow it folded in.
struct Stage {
  std::size_t layer = 0;
  bool dense = false;
  int pool_height = 1, pool_width = 1, pooled_height = 1, pooled_width = 1;
  bool relu = false;
};

/// Convolutions (each with at most one 2x2, 2x1, 1x2 pooling) then dense layers, else nullopt.
std::optional<std::vector<Stage>> stages_of(const std::vector<TwinLayer>& layers) {
  std::vector<Stage> stages;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const TwinLayer& t = layers[i];
    if (t.kind == TwinLayer::Kind::conv2d || t.kind == TwinLayer::Kind::dense) {
      const bool dense = t.kind == TwinLayer::Kind::dense;
      if (!dense && !stages.empty() && stages.back().dense) return std::nullopt;
      stages.push_back({i, dense, 1, 1, t.output.height, t.output.width, t.relu_after});
    } else if (t.kind == TwinLayer::Kind::relu) {
      // Commutes with pooling and flattening; before any weighted layer a no-op (pixels are >= 0).
      if (!stages.empty()) stages.back().relu = true;
    } else if (t.kind == TwinLayer::Kind::maxpool) {
      if (stages.empty() || stages.back().dense || stages.back().pool_height * stages.back().pool_width != 1) return std::nullopt;
      if (t.window_height > 2 || t.window_width > 2) return std::nullopt;
      Stage& s = stages.back();
      s.pool_height = t.window_height, s.pool_width = t.window_width;
      s.pooled_height = t.output.height, s.pooled_width = t.output.width;
    }  // flatten: NCHW order, the layouts do not change
  }
  if (stages.empty() || !stages.back().dense) return std::nullopt;  // the logit comes from a dense layer
  return stages;
}

/// Channel pairs sharing many kernel offsets where both weights are non-zero (greedy, by that count): each such
/// offset is one multiply-add lane instead of two. Returns 2 * ceil(channels / 2) channels, -1 for none.
std::vector<int> pair_channels(const TwinLayer& t) {
  const int channels = t.input.channels, offsets = t.window_height * t.window_width;
  std::vector<std::vector<bool>> used(t.taps.size(), std::vector<bool>(static_cast<std::size_t>(channels * offsets)));
  for (std::size_t f = 0; f < t.taps.size(); ++f) {
    for (const TwinLayer::Tap& tap : t.taps[f]) used[f][static_cast<std::size_t>(tap.input * offsets + tap.dy * t.window_width + tap.dx)] = true;
  }
  const auto shared = [&](int a, int b) {
    int n = 0;
    for (const auto& filter : used) {
      for (int o = 0; o < offsets; ++o) n += filter[static_cast<std::size_t>(a * offsets + o)] && filter[static_cast<std::size_t>(b * offsets + o)];
    }
    return n;
  };
  std::vector<int> paired;
  std::vector<bool> taken(static_cast<std::size_t>(channels));
  for (int k = 0; k < channels / 2; ++k) {
    int best = -1, first = 0, second = 0;
    for (int a = 0; a < channels; ++a) {
      for (int b = a + 1; b < channels; ++b) {
        if (taken[static_cast<std::size_t>(a)] || taken[static_cast<std::size_t>(b)]) continue;
        const int n = shared(a, b);
        if (n > best) best = n, first = a, second = b;
      }
    }
    taken[static_cast<std::size_t>(first)] = taken[static_cast<std::size_t>(second)] = true;
    paired.insert(paired.end(), {first, second});
  }
  for (int c = 0; c < channels; ++c) {
    if (!taken[static_cast<std::size_t>(c)]) paired.insert(paired.end(), {c, -1});
  }
  return paired;
}

/// The input layout: uint8 row quads when the layer reads the image's bytes, its weights fit int8 and the kernel
/// set multiplies four bytes per lane exactly (vpdpbusd), int16 row pairs for a one-channel input, else int16
/// channel pairs.
ConvInput conv_input(const TwinLayer& t, const Stage& s, bool reads_image, const ActivationLayout& source, const KernelTraits& traits) {
  ConvInput in;
  in.source = source;
  in.lanes = traits.lanes;
  const bool bytes = traits.byte_quads && reads_image && !t.input_format.is_signed && t.input_format.width <= 8;
  in.quads = bytes && std::all_of(t.taps.begin(), t.taps.end(), [&](const auto& filter) {
               return std::all_of(filter.begin(), filter.end(), [&](const auto& tap) { return fits_int8(raw_weight(t, tap)); });
             });  // (packed_weights then keeps the low 8 bits of each)
  in.row_pairs = !in.quads && t.input.channels == 1;
  in.rows_shared = in.quads && s.pool_height == 2 && t.window_height <= 3;  // rows a..a+kh-1 of a quad, a < 2
  in.channels = t.input.channels, in.height = t.input.height, in.width = t.input.width;
  in.kernel_height = t.window_height, in.kernel_width = t.window_width, in.pad_top = t.pad_top, in.pad_left = t.pad_left;
  in.pool_height = s.pool_height, in.pool_width = s.pool_width;
  in.groups = in.row_step() != 0 ? in.channels : (in.channels + 1) / 2;
  if (in.row_step() == 0) in.paired = pair_channels(t);
  in.columns = s.pool_width + t.window_width - 1;
  in.rows = in.rows_shared ? s.pooled_height : s.pooled_height + (s.pool_height + t.window_height - 2) / s.pool_height;
  in.row_width = s.pooled_width;
  const auto lanes = static_cast<std::size_t>(traits.lanes);
  in.plane = round_up(static_cast<std::size_t>(in.rows) * static_cast<std::size_t>(in.row_width), lanes);
  in.size = in.base(in.groups, 0, 0) + lanes;  // the last block reads at most lanes - 1 past the last copy's rows
  return in;
}

/// A layer's raw weights as a dense [filter][channel][dy][dx] table, or nullopt when one does not fit int16 or a
/// filter's max|activation| * sum|weight| does not fit int32 (its lanes' sums could overflow).
std::optional<std::vector<std::int64_t>> weight_table(const TwinLayer& t) {
  const auto per_filter = static_cast<std::size_t>(t.input.channels * t.window_height * t.window_width);
  std::vector<std::int64_t> table(t.taps.size() * per_filter, 0);
  for (std::size_t f = 0; f < t.taps.size(); ++f) {
    std::int64_t magnitude = 0;
    for (const TwinLayer::Tap& tap : t.taps[f]) {
      const std::int64_t w = raw_weight(t, tap);
      if (!fits_int16(w)) return std::nullopt;
      table[f * per_filter + static_cast<std::size_t>((tap.input * t.window_height + tap.dy) * t.window_width + tap.dx)] = w;
      magnitude += w < 0 ? -w : w;
    }
    if (magnitude > kInt32Max / std::max<std::int64_t>(1, largest_magnitude(t.input_format))) return std::nullopt;
  }
  return table;
}

/// Filter f's weights of lane-tap (group k, kernel row dy, column dx) packed in 32 bits (0: all pruned), for
/// row phase `shift` of a rows_shared layout (its element e holds kernel row dy + e - shift).
std::uint32_t packed_weights(const ConvInput& in, const std::vector<std::int64_t>& table, int f, int k, int dy, int dx, int shift = 0) {
  const int kh = in.kernel_height, kw = in.kernel_width, per_lane = in.elements(), bits = 32 / per_lane;
  const auto per_filter = static_cast<std::size_t>(in.channels * kh * kw);
  std::uint32_t packed = 0;
  for (int e = 0; e < per_lane; ++e) {
    const int channel = in.channel(k, e), row = dy + e * in.row_step() - shift;
    if (channel < 0 || row < 0 || row >= kh) continue;  // no such channel (odd count) or kernel row: weight 0
    const std::int64_t w = table[static_cast<std::size_t>(f) * per_filter + static_cast<std::size_t>((channel * kh + row) * kw + dx)];
    packed |= (static_cast<std::uint32_t>(w) & ((1u << bits) - 1)) << (bits * e);
  }
  return packed;
}

/// Every lane-tap (group, kernel row, column) of the layout: kernel rows step by the lane's rows.
std::vector<std::array<int, 3>> lane_tap_positions(const ConvInput& in) {
  std::vector<std::array<int, 3>> positions;
  const int dy_step = in.row_step() != 0 ? in.elements() : 1;
  for (int k = 0; k < in.groups; ++k) {
    for (int dy = 0; dy < in.kernel_height; dy += dy_step) {
      for (int dx = 0; dx < in.kernel_width; ++dx) positions.push_back({k, dy, dx});
    }
  }
  return positions;
}

/// Blocks of at most `most` filters (1, 2 or 4), grouped greedily so that their lane-taps
/// overlap: a block runs the union of its filters' lane-taps, a filter without one multiplying zeros.
std::vector<FilterBlock> filter_blocks(const ConvInput& in, const std::vector<std::int64_t>& table, int filters, int most) {
  const std::vector<std::array<int, 3>> positions = lane_tap_positions(in);
  std::vector<std::vector<bool>> used(static_cast<std::size_t>(filters), std::vector<bool>(positions.size()));
  for (int f = 0; f < filters; ++f) {
    for (std::size_t i = 0; i < positions.size(); ++i) {
      used[static_cast<std::size_t>(f)][i] = packed_weights(in, table, f, positions[i][0], positions[i][1], positions[i][2]) != 0;
    }
  }
  std::vector<bool> taken(static_cast<std::size_t>(filters));
  std::vector<FilterBlock> blocks;
  for (int left = filters; left > 0;) {
    int size = 1;
    while (2 * size <= left && 2 * size <= most) size *= 2;
    FilterBlock block;
    std::vector<bool> together(positions.size());
    for (int member = 0; member < size; ++member) {  // each time the filter adding the fewest lane-taps
      int best = -1;
      std::size_t best_added = 0;
      for (int f = 0; f < filters; ++f) {
        if (taken[static_cast<std::size_t>(f)]) continue;
        std::size_t added = 0;
        for (std::size_t i = 0; i < positions.size(); ++i) added += used[static_cast<std::size_t>(f)][i] && !together[i];
        if (best < 0 || added < best_added) best = f, best_added = added;
      }
      taken[static_cast<std::size_t>(best)] = true;
      block.filter_taps += static_cast<std::size_t>(std::count(used[static_cast<std::size_t>(best)].begin(), used[static_cast<std::size_t>(best)].end(), true));
      for (std::size_t i = 0; i < positions.size(); ++i) together[i] = together[i] || used[static_cast<std::size_t>(best)][i];
      block.filters.push_back(best);
    }
    block.lane_taps = static_cast<std::size_t>(std::count(together.begin(), together.end(), true));
    blocks.push_back(std::move(block));
    left -= size;
  }
  return blocks;
}

/// Estimated cycles of a layer's multiply-add blocks (twin_mac.ipp, mac_block, mac_vectors): per block of n
/// vectors, its filters' multiply-adds (P * n per lane-tap of a filter, two per cycle, or two instructions each
/// without VNNI) or its loads (per lane-tap of the block, P * n activation vectors, counted twice as most straddle
/// two cache lines, F weights, P offsets; two per cycle), whichever is slower; per block an epilogue of some
/// F * n * (P + 8) / 2 cycles. A block keeps F * P * n sums in registers, at most the set's accumulators. It picks
/// F: more filters share each load, but their lane-taps overlap less. (On the shipped model, timed with AVX-512:
/// F = 4 beats 2, which beats 1, as the model says.)
double mac_cycles(const std::vector<FilterBlock>& blocks, int phases, int row_weights, std::size_t vectors, const KernelTraits& traits) {
  double cycles = 0;
  const auto budget = static_cast<std::size_t>(traits.accumulators);
  for (const FilterBlock& b : blocks) {
    const auto f = static_cast<double>(b.filters.size()), p = static_cast<double>(phases), r = static_cast<double>(row_weights);
    const std::size_t most = std::max<std::size_t>(1, std::min<std::size_t>(8, budget / (b.filters.size() * static_cast<std::size_t>(phases))));
    const std::size_t rounds = (vectors + most - 1) / most;
    const double n = static_cast<double>((vectors + rounds - 1) / rounds);
    const double lane_taps = static_cast<double>(b.lane_taps), filter_taps = static_cast<double>(b.filter_taps);
    const double multiply_adds = filter_taps * p * n * static_cast<double>(traits.multiply_add_ops) / 2;
    const double taps = std::max(multiply_adds, lane_taps * (2 * p / r * n + f * r + p / r) / 2) + lane_taps;
    cycles += static_cast<double>(rounds) * (taps + f * n * (p + 8) / 2);
  }
  return cycles;
}

/// The block's lane-taps (those where any of its filters has a non-zero weight), grouped by the filters that
/// have a non-zero weight there (mac_groups skips the others' multiply-adds): per lane-tap the F packed weights
/// (F x R: per filter, one per row phase when they share a copy), then the read offset in every phase (every
/// column phase when they share).
void block_taps(const ConvInput& in, const std::vector<std::int64_t>& table, FilterBlock& block, std::vector<std::int32_t>& taps) {
  std::vector<std::pair<std::uint32_t, std::vector<std::int32_t>>> lane_taps;  // (filters, its elements)
  for (const auto& [k, dy, dx] : lane_tap_positions(in)) {
    std::vector<std::int32_t> elements;
    std::uint32_t filters = 0;
    for (std::size_t i = 0; i < block.filters.size(); ++i) {
      for (int a = 0; a < in.row_weights(); ++a) {
        const std::uint32_t w = packed_weights(in, table, block.filters[i], k, dy, dx, a);
        elements.push_back(static_cast<std::int32_t>(w));
        if (w != 0) filters |= 1u << i;
      }
    }
    if (filters == 0) continue;  // pruned in every filter of the block: no multiply-adds
    for (int a = 0; a < in.pool_height / in.row_weights(); ++a) {
      for (int b = 0; b < in.pool_width; ++b) {
        const std::size_t row = static_cast<std::size_t>((a + dy) / in.pool_height) * static_cast<std::size_t>(in.row_width);
        elements.push_back(static_cast<std::int32_t>(in.base(k, b + dx, (a + dy) % in.row_copies()) + row));
      }
    }
    lane_taps.emplace_back(filters, std::move(elements));
  }
  std::stable_sort(lane_taps.begin(), lane_taps.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  for (const auto& [filters, elements] : lane_taps) {
    if (block.groups.empty() || block.groups.back().filters != filters) {
      block.groups.push_back({filters, static_cast<std::uint32_t>(taps.size()), 0});
    }
    taps.insert(taps.end(), elements.begin(), elements.end());
    block.groups.back().end = static_cast<std::uint32_t>(taps.size());
  }
}

/// Whether the first convolution's copies can read the image's bytes as int16 words (widening them on the way);
/// else the run widens the image into stage 0's int16 input first.
bool copies_widen_bytes(const KernelTraits& traits) { return traits.copies == CopyMethod::shuffle16 || traits.copies == CopyMethod::gather; }

/// `first`: the layer reads the image (of image_size bytes); `source`: how its input is stored.
std::optional<PackedConv> packed_conv(const TwinLayer& t, const Stage& s, bool first, std::size_t image_size, const ActivationLayout& source,
                                      const KernelTraits& traits) {
  if (!fits_int16(t.input_format) || !fits_int16(t.output_format)) return std::nullopt;
  PackedConv c;
  c.layer = s.layer;
  c.input = conv_input(t, s, first, source, traits);
  if (c.input.size > static_cast<std::size_t>(kInt32Max)) return std::nullopt;  // offsets are int32
  c.filters = static_cast<int>(t.taps.size());
  c.pooled_height = s.pooled_height, c.pooled_width = s.pooled_width;
  c.phases = s.pool_height * s.pool_width;
  const auto lanes = static_cast<std::size_t>(traits.lanes);
  c.vectors = (static_cast<std::size_t>(c.pooled_height) * static_cast<std::size_t>(c.pooled_width) + lanes - 1) / lanes;
  c.narrow = !t.wide_accumulator;
  c.conversion = conversion_of(t, s.relu);
  const models::Overflow o = t.output_format.overflow;
  c.convert_first = c.phases > 1 && (o == models::Overflow::wrap || o == models::Overflow::sat_zero);
  c.fast = fast_conversion(c.conversion, t.accumulator_width);
  c.fast.enabled = c.fast.enabled && !c.convert_first;
  c.output = ActivationLayout::of(c.pooled_height, c.pooled_width, 1);  // row blocks: set by a convolution that reads it
  const std::optional<std::vector<std::int64_t>> table = weight_table(t);
  if (!table) return std::nullopt;
  double cheapest = 0;
  for (int most = 1; most <= kMaxBlockFilters && most <= static_cast<int>(t.taps.size()) && most * c.phases <= traits.accumulators; most *= 2) {
    std::vector<FilterBlock> blocks = filter_blocks(c.input, *table, static_cast<int>(t.taps.size()), most);
    const double cycles = mac_cycles(blocks, c.phases, c.input.row_weights(), c.vectors, traits);
    if (c.blocks.empty() || cycles < cheapest) c.blocks = std::move(blocks), cheapest = cycles;
  }
  if (c.blocks.empty()) return std::nullopt;  // not even one filter's phases fit the registers
  for (FilterBlock& block : c.blocks) block_taps(c.input, *table, block, c.taps);
  const bool byte_source = first && (c.input.quads || copies_widen_bytes(traits));
  const std::size_t buffer = static_cast<std::size_t>(c.input.channels) * source.plane() + PackedPlan::kBack;
  c.copies = plan_copies(c.input, traits.copies, byte_source, byte_source ? image_size : buffer);
  return c;
}

std::optional<PackedDense> packed_dense(const TwinLayer& t, const Stage& s, const KernelTraits& traits) {
  if (!fits_int16(t.input_format)) return std::nullopt;
  PackedDense d;
  d.layer = s.layer;
  d.inputs = static_cast<int>(t.input.size()), d.units = static_cast<int>(t.output.size());
  d.rows = static_cast<int>(round_up(static_cast<std::size_t>(d.units), 8));
  d.stride = static_cast<int>(round_up(static_cast<std::size_t>(d.inputs), 32));
  d.weights.assign(static_cast<std::size_t>(d.rows) * static_cast<std::size_t>(d.stride), 0);
  std::int64_t largest = 0;
  for (std::size_t u = 0; u < t.taps.size(); ++u) {
    for (const TwinLayer::Tap& tap : t.taps[u]) {
      const std::int64_t w = raw_weight(t, tap);
      if (!fits_int16(w)) return std::nullopt;
      d.weights[u * static_cast<std::size_t>(d.stride) + static_cast<std::size_t>(tap.input)] = static_cast<std::int16_t>(w);
      largest = std::max(largest, w < 0 ? -w : w);
    }
  }
  // A lane adds 32 / lanes products per step of 32 inputs, each at most max|activation| * max|weight|.
  const std::int64_t per_step = (32 / traits.lanes) * largest_magnitude(t.input_format) * std::max<std::int64_t>(1, largest);
  const std::int64_t steps = kInt32Max / per_step;
  if (steps < 1) return std::nullopt;  // even one pair could overflow a lane
  d.chunk_steps = static_cast<int>(std::min<std::int64_t>(steps, d.stride / 32 + 1));
  d.conversion = conversion_of(t, s.relu);
  return d;
}

}  // namespace

std::shared_ptr<const PackedPlan> make_packed_plan(const std::vector<TwinLayer>& layers, models::Shape image, const KernelTraits& traits) {
  const std::optional<std::vector<Stage>> stages = stages_of(layers);
  if (!stages) return nullptr;
  auto plan = std::make_shared<PackedPlan>();
  plan->traits = traits;
  plan->image = image;
  for (const Stage& s : *stages) {
    const TwinLayer& t = layers[s.layer];
    const bool first = plan->input_sizes.empty();
    if (s.dense) {
      plan->input_sizes.push_back(round_up(t.input.size(), 32));  // read 32 at a time
      std::optional<PackedDense> d = packed_dense(t, s, traits);
      if (!d) return nullptr;
      plan->denses.push_back(std::move(*d));
      continue;
    }
    // The previous convolution stores its outputs in this one's row phases (blocks): the rows a copy vector
    // reads are then consecutive in its source.
    const ActivationLayout source = ActivationLayout::of(t.input.height, t.input.width, first ? 1 : s.pool_height);
    if (!first) plan->convs.back().output = source;
    std::optional<PackedConv> c = packed_conv(t, s, first, image.size(), source, traits);
    if (!c) return nullptr;
    const bool reads_bytes = c->copies.byte_source;
    if (first) plan->image_as_words = !reads_bytes;
    plan->input_sizes.push_back(reads_bytes ? 0 : static_cast<std::size_t>(t.input.channels) * source.plane());
    plan->convs.push_back(std::move(*c));
  }
  for (std::size_t d = 0; d + 1 < plan->denses.size(); ++d) {
    if (!fits_int16(plan->denses[d].conversion.format)) return nullptr;  // it feeds an int16 input
  }
  for (PackedConv& c : plan->convs) {  // now that every output layout is known
    c.stores = plan_stores(c.output, static_cast<std::size_t>(c.pooled_height) * static_cast<std::size_t>(c.pooled_width), traits.lanes);
  }
  return plan;
}

void make_packed_buffers(const PackedPlan& plan, PackedBuffers& b) {
  std::size_t sums = 0, rows = 0;
  for (const PackedConv& c : plan.convs) {
    std::size_t block = 0;
    for (const FilterBlock& f : c.blocks) block = std::max(block, f.filters.size());
    sums = std::max(sums, block * static_cast<std::size_t>(c.phases) * static_cast<std::size_t>(plan.traits.lanes) * c.vectors);
    ConvBuffers cb;
    cb.lanes.assign(c.input.size, 0);
    const auto height = static_cast<std::size_t>(c.input.height);
    for (RowSet* rows : {&cb.rows_copied, &cb.input_active, &cb.copy_rows}) rows->resize(height);
    cb.padded.resize(height + static_cast<std::size_t>(c.input.pad_top)), cb.dilated.resize(cb.padded.size());
    cb.output_active.resize(static_cast<std::size_t>(c.pooled_height)), cb.output_dilated.resize(cb.output_active.size());
    cb.vectors_computed.resize(c.vectors), cb.vector_active.resize(c.vectors);
    b.convs.push_back(std::move(cb));
  }
  for (const std::size_t n : plan.input_sizes) b.inputs.emplace_back(PackedPlan::kFront + n + PackedPlan::kBack, std::int16_t{0});
  for (const PackedDense& d : plan.denses) rows = std::max(rows, static_cast<std::size_t>(d.rows));
  b.sums.assign(sums + static_cast<std::size_t>(plan.traits.lanes), 0);
  b.dense_sums.assign(rows, 0);
  b.dense_outputs.assign(rows, 0);
  b.all_rows = true;
}

void remember_empty_frame(const PackedPlan& plan, PackedBuffers& b) {
  for (std::size_t c = 0; c < plan.convs.size(); ++c) {
    ConvBuffers& cb = b.convs[c];
    cb.empty_lanes = cb.lanes;
    cb.rows_copied.clear();  // the lanes are the empty frame's now
    cb.vectors_computed.clear();
  }
  b.empty_inputs = b.inputs;
  b.all_rows = false;
}

}  // namespace larsel::fpga::detail
