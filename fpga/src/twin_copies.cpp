// Planning the copy operations that lay a convolution's input out for the
// packed multiply-adds (see twin_copies.hpp), for each kernel set's copy
// instructions, and the element-by-element gather every set falls back on.
#include "twin_copies.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <tuple>
#include <utility>

namespace larsel::fpga::detail {
namespace {

/// Per element of one vector of the copies (lanes x elements): its source element, or -1 (padding).
using Sources = std::vector<std::int64_t>;

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

/// The first and last source rows a vector's sources are in.
struct RowRange {
  int first = 1 << 30, last = -1;
  void add(int row) { first = std::min(first, row), last = std::max(last, row); }
  void add(const RowRange& r) { first = std::min(first, r.first), last = std::max(last, r.last); }
};
RowRange rows_of(const ConvInput& in, const Sources& sources) {
  RowRange r;
  for (const std::int64_t s : sources) {
    if (s >= 0) r.add(in.source.row_of(static_cast<std::size_t>(s)));
  }
  return r;
}

/// Operations of one kind with the row they start at, put in the plan sorted by it (stable: the permutes'
/// order by windows within a row is kept), with its rows_* offsets; the plan's row span grows to cover them.
template <typename Op>
void sort_by_rows(std::vector<std::pair<RowRange, Op>>& ops, CopyPlan& plan, std::vector<Op>& out, std::vector<std::uint32_t>& rows) {
  std::stable_sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.first.first < b.first.first; });
  rows.assign(static_cast<std::size_t>(plan.source_rows) + 1, 0);
  for (const auto& [range, op] : ops) {
    out.push_back(op);
    ++rows[static_cast<std::size_t>(range.first) + 1];
    plan.row_span = std::max(plan.row_span, range.last - range.first);
  }
  for (std::size_t r = 1; r < rows.size(); ++r) rows[r] += rows[r - 1];
}

/// Index of `pattern` among the plan's patterns, added if new.
class PatternTable {
 public:
  explicit PatternTable(std::vector<CopyPattern>& patterns) : patterns_(patterns) {}
  std::int32_t index_of(const CopyPattern& p) {
    Key key{};
    std::memcpy(key.index.data(), p.index, sizeof p.index);
    key.keep = p.keep;
    const auto [it, added] = known_.emplace(key, static_cast<std::int32_t>(patterns_.size()));
    if (added) patterns_.push_back(p);
    return it->second;
  }

 private:
  struct Key {
    std::array<std::uint8_t, 64> index;
    std::uint64_t keep;
    bool operator<(const Key& o) const { return std::tie(index, keep) < std::tie(o.index, o.keep); }
  };
  std::vector<CopyPattern>& patterns_;
  std::map<Key, std::int32_t> known_;
};

// ---- permute64 -------------------------------------------------------------------------------------------------

/// Starts of at most four windows of `width` elements inside [0, size) covering every source; empty if none.
/// A window starts at the beginning of its first source's row (`row` elements) when that still covers the
/// sources it must: the vectors of the other column phases then read the very same windows (the runner loads
/// them once).
std::vector<std::int64_t> windows_for(const Sources& sources, std::int64_t width, std::int64_t size, std::int64_t row) {
  std::vector<std::int64_t> sorted;
  for (const std::int64_t s : sources) {
    if (s >= 0) sorted.push_back(s);
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
CopyPattern permute_pattern(const Sources& sources, const CopyPlan& plan, const std::vector<std::int64_t>& starts, std::size_t part,
                            std::int64_t width) {
  CopyPattern p;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const std::int64_t s = sources[i];
    if (s < 0) continue;
    std::size_t w = 0;
    while (s < starts[w] || s >= starts[w] + width) ++w;  // some window covers every source
    if (w / 2 != part) continue;
    const int half = static_cast<int>(w % 2), offset = static_cast<int>(s - starts[w]);
    if (plan.byte_elements) {
      p.index[i] = static_cast<std::uint8_t>(64 * half + offset), p.keep |= std::uint64_t{1} << i;
    } else if (plan.method == CopyMethod::permute64_bytes) {  // word i is bytes 2i, 2i + 1
      p.index[2 * i] = static_cast<std::uint8_t>(64 * half + 2 * offset);
      p.index[2 * i + 1] = static_cast<std::uint8_t>(64 * half + 2 * offset + 1);
      p.keep |= std::uint64_t{3} << (2 * i);
    } else {  // vpermt2w: little-endian 16-bit indices
      p.index[2 * i] = static_cast<std::uint8_t>(32 * half + offset), p.keep |= std::uint64_t{1} << i;
    }
  }
  return p;
}

/// Operations being planned, with the rows they read, before sort_by_rows.
struct PendingOps {
  std::vector<std::pair<RowRange, SinglePermute>> singles;
  std::vector<std::pair<RowRange, DoublePermute>> doubles;
  std::map<std::vector<std::array<std::int32_t, 2>>, std::pair<RowRange, std::vector<ShuffleTarget>>> shuffle_groups;  // by windows
};

/// A permute64 operation for the vector at `target`; false when the sources are too spread out.
bool add_permutes(CopyPlan& plan, PatternTable& table, PendingOps& pending, const ConvInput& in, const Sources& sources, std::size_t target,
                  std::size_t size) {
  const std::int64_t width = plan.byte_elements ? 64 : 32, element = plan.byte_elements ? 1 : 2;  // a 64-byte window
  const std::vector<std::int64_t> starts = windows_for(sources, width, static_cast<std::int64_t>(size), in.width);
  if (starts.empty()) return false;
  DoublePermute op;
  op.target = static_cast<std::int32_t>(target);
  const std::size_t parts = (starts.size() + 1) / 2;
  for (std::size_t p = 0; p < parts; ++p) {
    op.pattern[p] = table.index_of(permute_pattern(sources, plan, starts, p, width));
    const std::int64_t second = 2 * p + 1 < starts.size() ? starts[2 * p + 1] : starts[2 * p];  // an odd last window: unused
    op.window[p][0] = static_cast<std::int32_t>(starts[2 * p] * element);
    op.window[p][1] = static_cast<std::int32_t>(second * element);
  }
  const RowRange rows = rows_of(in, sources);
  if (parts == 1) {
    pending.singles.push_back({rows, {op.target, op.window[0][0], op.window[0][1], op.pattern[0]}});
  } else {
    pending.doubles.push_back({rows, op});
  }
  return true;
}

// ---- shuffle16 -------------------------------------------------------------------------------------------------

constexpr std::uint8_t kZeroByte = 0x80;  // a vpshufb index that writes zero

/// Per byte of a 16-byte half: the source byte it takes, or -1 (zero).
using HalfBytes = std::array<std::int64_t, 16>;

/// The source bytes of each target byte of a vector's halves. A word element from a byte source takes the byte
/// and a zero (the pixels are unsigned); a word from a word source its two bytes.
std::vector<HalfBytes> half_bytes(const CopyPlan& plan, const Sources& sources) {
  const int per_lane = plan.byte_elements ? 4 : 2;
  std::vector<HalfBytes> halves(static_cast<std::size_t>(plan.lanes) / 4);
  for (auto& h : halves) h.fill(-1);
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const std::int64_t s = sources[i];
    if (s < 0) continue;
    const std::size_t lane = i / static_cast<std::size_t>(per_lane), e = i % static_cast<std::size_t>(per_lane);
    HalfBytes& h = halves[lane / 4];
    const std::size_t byte = (lane % 4) * 4 + e * (plan.byte_elements ? 1 : 2);
    if (plan.byte_elements || plan.byte_source) {
      h[byte] = s;
    } else {
      h[byte] = 2 * s, h[byte + 1] = 2 * s + 1;
    }
  }
  return halves;
}

/// Starts of the 16-byte windows covering a half's source bytes, inside the source. With `row` > 0, a window
/// starts at the beginning of its first byte's source row (`row` bytes long) if that still covers the byte: the
/// vectors of every column phase then read the very same windows (one load for all), and both halves of a
/// vector often the same (a broadcast). Without, at its first uncovered byte.
std::vector<std::int64_t> shuffle_windows(const HalfBytes& bytes, std::int64_t size_bytes, std::int64_t row) {
  std::vector<std::int64_t> sorted;
  for (const std::int64_t b : bytes) {
    if (b >= 0) sorted.push_back(b);
  }
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::int64_t> starts;
  for (const std::int64_t b : sorted) {
    if (!starts.empty() && b >= starts.back() && b < starts.back() + 16) continue;
    const std::int64_t aligned = row > 0 && b - b / row * row < 16 ? b / row * row : b;
    starts.push_back(std::max<std::int64_t>(0, std::min(aligned, size_bytes - 16)));
  }
  return starts;
}

/// The windows of both halves (row-aligned when that costs no extra part), padded to the same count, as
/// (low, high) pairs; empty when a half needs more than ShuffleGroup::kMostParts.
std::vector<std::array<std::int32_t, 2>> vector_windows(const std::vector<HalfBytes>& halves, std::int64_t size_bytes, std::int64_t row) {
  std::vector<std::int64_t> starts[2];
  for (std::size_t h = 0; h < 2; ++h) {
    starts[h] = shuffle_windows(halves[h], size_bytes, row);
    const std::vector<std::int64_t> tight = shuffle_windows(halves[h], size_bytes, 0);
    if (tight.size() < starts[h].size()) starts[h] = tight;
  }
  const std::size_t parts = std::max(starts[0].size(), starts[1].size());
  if (parts > ShuffleGroup::kMostParts) return {};
  for (auto& s : starts) {
    if (s.empty()) s.push_back(0);
    while (s.size() < parts) s.push_back(s.back());  // a repeated window: its pattern part takes nothing
  }
  std::vector<std::array<std::int32_t, 2>> windows;
  for (std::size_t p = 0; p < parts; ++p) windows.push_back({static_cast<std::int32_t>(starts[0][p]), static_cast<std::int32_t>(starts[1][p])});
  return windows;
}

/// The pattern of part p: every target byte that a window of part p covers and no earlier part took.
CopyPattern shuffle_pattern(const std::vector<HalfBytes>& halves, const std::vector<std::array<std::int32_t, 2>>& windows, std::size_t p) {
  CopyPattern pattern;
  std::fill(std::begin(pattern.index), std::end(pattern.index), kZeroByte);
  for (std::size_t h = 0; h < 2; ++h) {
    for (std::size_t j = 0; j < 16; ++j) {
      const std::int64_t b = halves[h][j];
      const auto taken = [&](std::size_t q) { return b >= windows[q][h] && b < windows[q][h] + 16; };
      if (b < 0 || !taken(p)) continue;
      bool earlier = false;
      for (std::size_t q = 0; q < p; ++q) earlier = earlier || taken(q);
      if (!earlier) pattern.index[16 * h + j] = static_cast<std::uint8_t>(b - windows[p][h]);
    }
  }
  return pattern;
}

/// A shuffle16 vector at `target`, added to the group of its windows; false when it needs too many parts.
bool add_shuffles(CopyPlan& plan, PatternTable& table, PendingOps& pending, const ConvInput& in, const Sources& sources, std::size_t target,
                  std::size_t size) {
  const std::int64_t element = plan.byte_source ? 1 : 2, size_bytes = static_cast<std::int64_t>(size) * element;
  if (size_bytes < 16 || plan.lanes != 8) return false;  // a 32-byte vector: two 128-bit halves
  const std::vector<HalfBytes> halves = half_bytes(plan, sources);
  const std::vector<std::array<std::int32_t, 2>> windows = vector_windows(halves, size_bytes, in.width * element);
  if (windows.empty()) return false;
  ShuffleTarget t;
  t.target = static_cast<std::int32_t>(target);
  for (std::size_t p = 0; p < windows.size(); ++p) t.pattern[p] = table.index_of(shuffle_pattern(halves, windows, p));
  auto& group = pending.shuffle_groups[windows];
  group.first.add(rows_of(in, sources));
  group.second.push_back(t);
  return true;
}

/// The groups in the plan, sorted by their first row (then by windows: the source is read front to back).
void add_shuffle_groups(CopyPlan& plan, const PendingOps& pending) {
  std::vector<std::pair<RowRange, ShuffleGroup>> groups;
  std::vector<ShuffleTarget> targets;
  for (const auto& [windows, group] : pending.shuffle_groups) {
    ShuffleGroup g;
    g.parts = static_cast<std::int32_t>(windows.size());
    for (std::size_t p = 0; p < windows.size(); ++p) g.windows[p][0] = windows[p][0], g.windows[p][1] = windows[p][1];
    g.first = static_cast<std::int32_t>(targets.size());
    targets.insert(targets.end(), group.second.begin(), group.second.end());
    g.end = static_cast<std::int32_t>(targets.size());
    groups.push_back({group.first, g});
  }
  plan.shuffle_targets = std::move(targets);
  sort_by_rows(groups, plan, plan.shuffle_groups, plan.group_rows);
}

/// A gathered vector: its sources, element by element.
void add_gather(CopyPlan& plan, const Sources& sources, std::size_t target) {
  plan.gather_targets.push_back(static_cast<std::int32_t>(target));
  for (const std::int64_t s : sources) plan.gathers.push_back(static_cast<std::int32_t>(s));
}

}  // namespace

CopyPlan plan_copies(const ConvInput& in, CopyMethod method, bool byte_source, std::size_t source_size) {
  CopyPlan plan;
  plan.method = method;
  plan.lanes = in.lanes;
  plan.byte_elements = in.quads;
  plan.byte_source = byte_source;
  plan.source_rows = in.height;
  PatternTable table(plan.patterns);
  PendingOps pending;
  const std::size_t end = in.base(in.groups, 0, 0), lanes = static_cast<std::size_t>(in.lanes);
  const int per_lane = in.elements();
  // permute64 moves whole elements of the source's own size; byte vpermt2b moves bytes, so it cannot for word
  // elements gathered from bytes (the plan widens the image beforehand then).
  const bool permutes = (method == CopyMethod::permute64_bytes || (method == CopyMethod::permute64_words && !plan.byte_elements)) &&
                        plan.byte_elements == byte_source;
  Sources sources(lanes * static_cast<std::size_t>(per_lane));
  for (std::size_t target = 0; target < end; target += lanes) {
    bool any = false;
    for (std::size_t i = 0; i < sources.size(); ++i) {
      sources[i] = source_of(in, target + i / static_cast<std::size_t>(per_lane), static_cast<int>(i % static_cast<std::size_t>(per_lane)));
      any = any || sources[i] >= 0;
    }
    if (!any) {  // padding only
      plan.zeros.push_back(static_cast<std::int32_t>(target));
      continue;
    }
    const bool done = (permutes && add_permutes(plan, table, pending, in, sources, target, source_size)) ||
                      (method == CopyMethod::shuffle16 && add_shuffles(plan, table, pending, in, sources, target, source_size));
    if (!done) add_gather(plan, sources, target);
  }
  plan.zeros.push_back(static_cast<std::int32_t>(end));  // the slack the last block reads: zero activations
  // Within a row, operations reading the same windows next to each other: the permute runner loads those once.
  std::stable_sort(pending.singles.begin(), pending.singles.end(), [](const auto& a, const auto& b) {
    return std::tie(a.second.first, a.second.second) < std::tie(b.second.first, b.second.second);
  });
  sort_by_rows(pending.singles, plan, plan.singles, plan.single_rows);
  sort_by_rows(pending.doubles, plan, plan.doubles, plan.double_rows);
  add_shuffle_groups(plan, pending);
  return plan;
}

void run_gathers(const CopyPlan& plan, const void* source, std::int32_t* lanes) {
  const int per_lane = plan.byte_elements ? 4 : 2, bits = plan.byte_elements ? 8 : 16;
  const std::int32_t* sources = plan.gathers.data();
  for (const std::int32_t target : plan.gather_targets) {
    for (int lane = 0; lane < plan.lanes; ++lane, sources += per_lane) {
      std::uint32_t value = 0;
      for (int e = 0; e < per_lane; ++e) {
        const std::int32_t s = sources[e];
        if (s < 0) continue;
        const std::uint32_t element = plan.byte_source ? static_cast<const std::uint8_t*>(source)[s]
                                                        : static_cast<std::uint16_t>(static_cast<const std::int16_t*>(source)[s]);
        value |= element << (bits * e);
      }
      lanes[target + lane] = static_cast<std::int32_t>(value);
    }
  }
}

}  // namespace larsel::fpga::detail
