// Planning and running the copy operations that lay a convolution's input out
// for the packed multiply-adds (see twin_copies.hpp).
#include "twin_copies.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <tuple>
#include <utility>

#include "twin_simd.hpp"

namespace larsel::fpga::detail {
namespace {

// Which permutes the build has: vpermt2w needs AVX-512BW, vpermt2b AVX-512VBMI; the rest is gathered.
constexpr bool kPermuteWords = LARSEL_TWIN_AVX512 != 0;
#if LARSEL_TWIN_AVX512 && defined(__AVX512VBMI__)
constexpr bool kPermuteBytes = true;
#else
constexpr bool kPermuteBytes = false;
#endif

using Sources = std::array<std::int64_t, 64>;  // per element of a 64-byte vector: its source, or -1

/// The source element of element e of lane `lane` of the copies, or -1 (padding).
std::int64_t source_of(const ConvInput& in, std::size_t lane, int e) {
  const std::size_t copy = lane / in.plane, at = lane % in.plane;
  const auto y = static_cast<int>(at / static_cast<std::size_t>(in.row_width));
  const auto x = static_cast<int>(at % static_cast<std::size_t>(in.row_width));
  const auto row_copies = static_cast<std::size_t>(in.row_copies());
  const auto phase = static_cast<int>(copy % row_copies);
  const auto column = static_cast<int>(copy / row_copies % static_cast<std::size_t>(in.columns));
  const auto group = static_cast<int>(copy / row_copies / static_cast<std::size_t>(in.columns));
  if (y >= in.rows || group >= in.groups) return -1;
  const int channel = in.channel(group, e);
  const int row = in.pool_height * y + phase - in.pad_top + e * in.row_step();
  const int col = in.pool_width * x + column - in.pad_left;
  if (channel < 0 || row < 0 || row >= in.height || col < 0 || col >= in.width) return -1;
  return static_cast<std::int64_t>(static_cast<std::size_t>(channel) * in.source.plane() + in.source.row_offset(row)) + col;
}

/// Starts of at most four windows of `width` elements inside [0, size) covering every source; empty if none.
/// A window starts at the beginning of its first source's row (`row` elements) when that still covers the
/// sources it must: the vectors of the other column phases then read the very same windows (run_copies
/// loads them once).
std::vector<std::int64_t> windows_for(const Sources& sources, int count, std::int64_t width, std::int64_t size, std::int64_t row) {
  std::vector<std::int64_t> sorted;
  for (int i = 0; i < count; ++i) {
    if (sources[static_cast<std::size_t>(i)] >= 0) sorted.push_back(sources[static_cast<std::size_t>(i)]);
  }
  std::sort(sorted.begin(), sorted.end());
  for (const std::int64_t align : {row, std::int64_t{1}}) {
    std::vector<std::int64_t> starts;
    for (const std::int64_t s : sorted) {
      if (!starts.empty() && s < starts.back() + width) continue;
      if (starts.size() == 4 || size < width) {
        starts.clear();
        break;
      }
      const std::int64_t aligned = s - s / align * align < width ? s / align * align : s;  // rows wider than a window
      starts.push_back(std::min(aligned, size - width));  // <= s, within a window of s, and inside the source
    }
    if (!starts.empty()) return starts;
  }
  return {};
}

/// The pattern of part `part` (windows 2 part and 2 part + 1 of `starts`): the permute index of every element
/// whose source's first covering window is one of them. Word elements with byte permutes take two bytes each.
CopyPattern pattern_for(const Sources& sources, int count, const CopyPlan& plan, const std::vector<std::int64_t>& starts,
                        std::size_t part, std::int64_t width) {
  CopyPattern p;
  for (int i = 0; i < count; ++i) {
    const std::int64_t s = sources[static_cast<std::size_t>(i)];
    if (s < 0) continue;
    std::size_t w = 0;
    while (s < starts[w] || s >= starts[w] + width) ++w;  // some window covers every source
    if (w / 2 != part) continue;
    const int half = static_cast<int>(w % 2), offset = static_cast<int>(s - starts[w]);
    if (plan.bytes) {
      p.index[i] = static_cast<std::uint8_t>(64 * half + offset), p.keep |= std::uint64_t{1} << i;
    } else if (plan.byte_permutes) {  // word i is bytes 2i, 2i + 1
      p.index[2 * i] = static_cast<std::uint8_t>(64 * half + 2 * offset);
      p.index[2 * i + 1] = static_cast<std::uint8_t>(64 * half + 2 * offset + 1);
      p.keep |= std::uint64_t{3} << (2 * i);
    } else {  // vpermt2w: little-endian 16-bit indices
      p.index[2 * i] = static_cast<std::uint8_t>(32 * half + offset), p.keep |= std::uint64_t{1} << i;
    }
  }
  return p;
}

struct PatternKey {
  std::array<std::uint8_t, 64> index;
  std::uint64_t keep;
  bool operator<(const PatternKey& o) const { return std::tie(index, keep) < std::tie(o.index, o.keep); }
};

/// The operation for the vector at lane `target` (none when it only holds padding).
void add_op(CopyPlan& plan, std::map<PatternKey, std::int32_t>& known, const ConvInput& in, std::size_t target, std::size_t size) {
  const int per_lane = in.elements(), count = 16 * per_lane;
  Sources sources{};
  bool any = false;
  for (int i = 0; i < count; ++i) {
    sources[static_cast<std::size_t>(i)] = source_of(in, target + static_cast<std::size_t>(i / per_lane), i % per_lane);
    any = any || sources[static_cast<std::size_t>(i)] >= 0;
  }
  if (!any) {  // padding only
    plan.zeros.push_back(static_cast<std::int32_t>(target));
    return;
  }
  CopyOp op;
  op.target = static_cast<std::int32_t>(target);
  const std::int64_t width = plan.bytes ? 64 : 32, element = plan.bytes ? 1 : 2;  // a 64-byte window
  const bool permutes = plan.bytes ? kPermuteBytes : kPermuteWords;
  const std::vector<std::int64_t> starts =
      permutes ? windows_for(sources, count, width, static_cast<std::int64_t>(size), in.width) : std::vector<std::int64_t>{};
  if (starts.empty()) {
    op.pattern[0] = static_cast<std::int32_t>(plan.gathers.size());
    for (int i = 0; i < count; ++i) plan.gathers.push_back(static_cast<std::int32_t>(sources[static_cast<std::size_t>(i)]));
    plan.ops.push_back(op);
    return;
  }
  op.parts = static_cast<std::int32_t>((starts.size() + 1) / 2);
  for (std::size_t p = 0; p < static_cast<std::size_t>(op.parts); ++p) {
    const CopyPattern pattern = pattern_for(sources, count, plan, starts, p, width);
    PatternKey key{};
    std::memcpy(key.index.data(), pattern.index, sizeof pattern.index);
    key.keep = pattern.keep;
    const auto [it, added] = known.emplace(key, static_cast<std::int32_t>(plan.patterns.size()));
    if (added) plan.patterns.push_back(pattern);
    op.pattern[p] = it->second;
    const std::int64_t second = 2 * p + 1 < starts.size() ? starts[2 * p + 1] : starts[2 * p];  // an odd last window: unused
    op.window[p][0] = static_cast<std::int32_t>(starts[2 * p] * element);
    op.window[p][1] = static_cast<std::int32_t>(second * element);
  }
  if (op.parts == 1) {
    plan.singles.push_back({op.target, op.window[0][0], op.window[0][1], op.pattern[0]});
  } else {
    plan.ops.push_back(op);
  }
}

/// Elements of one gathered vector (scalar: the rare layouts the permutes cannot do, or builds without AVX-512).
void gather(const CopyPlan& plan, const CopyOp& op, const void* source, std::int32_t* lanes) {
  const std::int32_t* sources = plan.gathers.data() + op.pattern[0];
  const int per_lane = plan.bytes ? 4 : 2, bits = plan.bytes ? 8 : 16;
  for (int lane = 0; lane < 16; ++lane) {
    std::uint32_t value = 0;
    for (int e = 0; e < per_lane; ++e) {
      const std::int32_t s = sources[lane * per_lane + e];
      if (s < 0) continue;
      const std::uint32_t element = plan.bytes ? static_cast<const std::uint8_t*>(source)[s]
                                               : static_cast<std::uint16_t>(static_cast<const std::int16_t*>(source)[s]);
      value |= element << (bits * e);
    }
    lanes[op.target + lane] = static_cast<std::int32_t>(value);
  }
}

}  // namespace

CopyPlan plan_copies(const ConvInput& in, std::size_t source_size) {
  CopyPlan plan;
  plan.bytes = in.quads;
  plan.byte_permutes = kPermuteBytes;
  std::map<PatternKey, std::int32_t> known;
  const std::size_t end = in.base(in.groups, 0, 0);
  for (std::size_t target = 0; target < end; target += 16) add_op(plan, known, in, target, source_size);
  plan.zeros.push_back(static_cast<std::int32_t>(end));  // the slack the last block reads: zero activations
  // Operations reading the same windows next to each other: run_copies loads those once.
  std::stable_sort(plan.singles.begin(), plan.singles.end(), [](const SinglePermute& a, const SinglePermute& b) {
    return std::tie(a.first, a.second) < std::tie(b.first, b.second);
  });
  return plan;
}

/// The permute of two 64-byte source windows by `pattern` (bytes, or words without VBMI).
#if LARSEL_TWIN_AVX512
inline __m512i permute(const CopyPattern& pattern, __m512i a, __m512i b) {
  const __m512i index = _mm512_load_si512(pattern.index);
#if defined(__AVX512VBMI__)
  return _mm512_maskz_permutex2var_epi8(pattern.keep, a, index, b);
#else
  return _mm512_maskz_permutex2var_epi16(static_cast<__mmask32>(pattern.keep), a, index, b);
#endif
}
#endif

void run_copies(const CopyPlan& plan, const void* source, std::int32_t* lanes) {
  const auto* base = static_cast<const std::uint8_t*>(source);
  for (const std::int32_t target : plan.zeros) std::fill_n(lanes + target, 16, 0);
#if LARSEL_TWIN_AVX512
  const CopyPattern* patterns = plan.patterns.data();
  std::int32_t first = -1, second = -1;
  __m512i a = _mm512_setzero_si512(), b = _mm512_setzero_si512();
  for (const SinglePermute& op : plan.singles) {
    if (op.first != first || op.second != second) {  // the ops are sorted by windows
      first = op.first, second = op.second;
      a = _mm512_loadu_si512(base + first), b = _mm512_loadu_si512(base + second);
    }
    const CopyPattern& p = patterns[op.pattern];
    _mm512_store_si512(lanes + op.target, permute(p, a, b));  // aligned target
  }
#endif
  for (const CopyOp& op : plan.ops) {
    if (op.parts == 0) {
      gather(plan, op, source, lanes);
      continue;
    }
#if LARSEL_TWIN_AVX512
    __m512i vector = _mm512_setzero_si512();
    for (int p = 0; p < op.parts; ++p) {
      const CopyPattern& pattern = plan.patterns[static_cast<std::size_t>(op.pattern[p])];
      const __m512i a = _mm512_loadu_si512(base + op.window[p][0]), b = _mm512_loadu_si512(base + op.window[p][1]);
      vector = _mm512_or_si512(vector, permute(pattern, a, b));
    }
    _mm512_store_si512(lanes + op.target, vector);  // aligned: targets are multiples of 16 lanes
#else
    static_cast<void>(base);  // every op is a gather without AVX-512
#endif
  }
}

}  // namespace larsel::fpga::detail
