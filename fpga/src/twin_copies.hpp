#pragma once
// A convolution's input layout in the twin's packed path, and how it is filled
// from its source (the image's bytes, or the previous layer's int16
// activations) every frame.
//
// The convolution computes its outputs by pooling phase (a, b) (a < ph, b < pw;
// one phase without pooling), each phase in pooled order (y, x). Tap (dy, dx)
// of phase (a, b) reads input row ph * y + a + dy - pad_top, column pw * x + b +
// dx - pad_left. For that read to be contiguous over (y, x) whatever the
// widths, the input is stored as copies, per lane group k, column phase
// c = b + dx and row phase q: copy (k, c, q) holds at (y', x) the lane whose
// element e is input[channel(k, e)][ph * y' + q - pad_top + e * row_step]
// [pw * x + c - pad_left] (zero outside the input), in rows row_width lanes
// long. Tap (dy, dx) of phase (a, b) reads copy (k, b + dx, (a + dy) % ph) from
// row (a + dy) / ph on: every `lanes` outputs one vector load, no lane wasted.
// Row quads with ph = 2 and kh <= 3 keep one copy per (k, c) (rows_shared):
// its lane at (y, x) holds rows 2y - pad_top .. +3, and row phase a uses
// elements a .. a + kh - 1 of it, by weights shifted by a rows.
//
// The copies are refilled per frame by operations planned once, for the
// kernel set's instructions (CopyMethod):
//  - permute64: each 64-byte vector is up to two two-source permutes of two
//    64-byte source windows each (vpermt2b with AVX-512 VBMI, else vpermt2w);
//  - shuffle16: each 32-byte vector is a few byte shuffles (vpshufb), each of a
//    16-byte source window per 128-bit half, OR-ed; a shuffle can widen the
//    image's bytes to int16 words on the way (AVX2);
//  - gather: element by element (the baseline, and layouts the others cannot do).
// Vectors that only hold padding, and the slack the multiply-adds read past the
// last copy, are zeroed: the convolutions share one buffer (less memory to keep
// in the L1 cache), so every vector is rewritten each frame.
//
// The source is stored so that a vector's sources are few windows: the image
// row by row; a layer's int16 activations by channel, each channel in row
// blocks (ActivationLayout) matching the reading convolution's row phases, so
// that the rows one copy vector needs are consecutive.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace larsel::fpga::detail {

/// How a layer's int16 activations (or the image's bytes) are stored: per channel, `blocks` (1 or 2) row blocks,
/// block r holding rows r, r + blocks, r + 2 blocks, ...
struct ActivationLayout {
  int height = 0, width = 0, blocks = 1;
  int block_rows = 0;  // rows per block: height / blocks, rounded up

  static ActivationLayout of(int height, int width, int blocks) { return {height, width, blocks, (height + blocks - 1) / blocks}; }
  [[nodiscard]] std::size_t plane() const noexcept {
    return static_cast<std::size_t>(blocks) * static_cast<std::size_t>(block_rows) * static_cast<std::size_t>(width);
  }
  /// Elements from the channel's plane to the start of row `row` (shifts, not divisions: blocks is 1 or 2).
  [[nodiscard]] std::size_t row_offset(int row) const noexcept {
    const int odd = blocks - 1;  // 0 or 1
    return static_cast<std::size_t>((row & odd) * block_rows + (row >> odd)) * static_cast<std::size_t>(width);
  }
  /// The row of element `element` of the channels' planes (the inverse of row_offset).
  [[nodiscard]] int row_of(std::size_t element) const noexcept {
    const auto stored = static_cast<int>(element % plane() / static_cast<std::size_t>(width));
    return blocks == 1 ? stored : stored < block_rows ? 2 * stored : 2 * (stored - block_rows) + 1;
  }
};

struct ConvInput {
  bool quads = false;      // lanes of four uint8 rows r..r+3 of the image (vpdpbusd); else two int16
  bool row_pairs = false;  // int16 lanes of rows r, r+1 of one channel (a one-channel input); else channel pairs
  // Quads whose lane has room for the kernel's rows in both row phases of a 2-row pooling: one copy serves both,
  // row phase a reading elements a..a+kh-1 (its weights shifted by a rows): half the copies and the loads.
  bool rows_shared = false;
  int lanes = 16;                           // int32 lanes per vector of the kernel set
  int channels = 0, height = 0, width = 0;  // the input
  int kernel_height = 1, kernel_width = 1, pad_top = 0, pad_left = 0;
  int pool_height = 1, pool_width = 1;
  int groups = 0;     // lane groups: channel pairs, or channels
  int columns = 0;    // column phases: pool_width + kernel_width - 1
  int rows = 0;       // rows per copy: pooled height + (pool_height + kernel_height - 2) / pool_height (shared: pooled height)
  int row_width = 0;  // the pooled output width
  std::size_t plane = 0;  // lanes per copy, rounded up to a vector so that copies start on a vector
  std::size_t size = 0;   // lanes in all, with slack after the last copy for the last block's reads
  ActivationLayout source;  // how the source (input channels of height x width) is stored
  std::vector<int> paired;  // channel pairs: group k is channels paired[2k], paired[2k + 1] (-1: none, zeros)

  [[nodiscard]] int elements() const noexcept { return quads ? 4 : 2; }
  [[nodiscard]] int row_step() const noexcept { return quads || row_pairs ? 1 : 0; }
  /// Copies per (group, column phase): one per row phase, or one for all (rows_shared).
  [[nodiscard]] int row_copies() const noexcept { return rows_shared ? 1 : pool_height; }
  /// Weight sets per lane-tap and filter: one per row phase when they share the copy, else one.
  [[nodiscard]] int row_weights() const noexcept { return rows_shared ? pool_height : 1; }
  /// The channel of a lane's element e in group k; -1: none (an odd channel count's last pair).
  [[nodiscard]] int channel(int group, int element) const noexcept {
    return row_step() ? group : paired[static_cast<std::size_t>(2 * group + element)];
  }
  [[nodiscard]] std::size_t base(int group, int column, int phase) const noexcept {
    const auto copy = (static_cast<std::size_t>(group) * static_cast<std::size_t>(columns) + static_cast<std::size_t>(column)) *
                          static_cast<std::size_t>(row_copies()) + static_cast<std::size_t>(phase);
    return copy * plane;
  }
};

/// The copy instructions a kernel set has (above).
enum class CopyMethod { gather, shuffle16, permute64_words, permute64_bytes };

/// permute64: indices of a permute (vpermt2b: 64 bytes, 7 bits each; vpermt2w: 32 little-endian words) and the
/// bytes or words it keeps. shuffle16: vpshufb's 32 indices (bit 7: zero) in `index`, `keep` unused.
struct alignas(64) CopyPattern {
  std::uint8_t index[64] = {};
  std::uint64_t keep = 0;
};

/// permute64's common operation, one permute of two windows into a vector: 16 bytes, so that the operations and
/// their few distinct patterns stay in the L1 cache with the data.
struct SinglePermute {
  std::int32_t target = 0;          // lane offset of the vector in the copies
  std::int32_t first = 0, second = 0;  // byte offsets of the two 64-byte source windows
  std::int32_t pattern = 0;         // CopyPlan::patterns entry
};

/// permute64: two permutes OR-ed.
struct DoublePermute {
  std::int32_t target = 0;
  std::int32_t window[2][2] = {{0, 0}, {0, 0}};  // byte offsets of each part's two windows
  std::int32_t pattern[2] = {0, 0};
};

/// shuffle16: vectors whose parts read the same source windows, loaded once for all of them (the column phases of
/// one row read the same rows). Part p shuffles windows[p] (byte offsets of a 16-byte window for each 128-bit
/// half; the same twice: a broadcast load) by each vector's pattern p, and the parts are OR-ed.
struct ShuffleGroup {
  static constexpr int kMostParts = 4;
  std::int32_t parts = 0;
  std::int32_t windows[kMostParts][2] = {};
  std::int32_t first = 0, end = 0;  // its vectors: CopyPlan::shuffle_targets[first, end)
};

/// shuffle16: one vector of a group: its lane offset in the copies and its CopyPlan::patterns entry per part.
struct ShuffleTarget {
  std::int32_t target = 0;
  std::int32_t pattern[ShuffleGroup::kMostParts] = {};
};

/// Each operation of a plan reads source rows [r, r + row_span] for some r, its first row: the operations of
/// each kind are sorted by it, and rows_*[r] .. rows_*[r + 1] are those starting at row r (the input's rows,
/// for frames where only some rows differ from an empty frame: twin_run.ipp).
struct CopyPlan {
  CopyMethod method = CopyMethod::gather;
  int source_rows = 0;   // rows of the source
  int row_span = 0;      // the most rows past its first an operation reads
  int lanes = 16;               // int32 lanes per vector
  bool byte_elements = false;   // a lane holds four bytes (quads), else two int16 words
  bool byte_source = false;    // the source is the image's uint8 pixels, else int16 words
  std::vector<std::int32_t> zeros;  // vectors of only padding (or slack) to zero, by lane offset
  std::vector<SinglePermute> singles;
  std::vector<DoublePermute> doubles;
  std::vector<ShuffleGroup> shuffle_groups;
  std::vector<std::uint32_t> single_rows, double_rows, group_rows;  // source_rows + 1 offsets each
  std::vector<ShuffleTarget> shuffle_targets;
  std::vector<CopyPattern> patterns;  // distinct (indices, kept elements)
  // Gathered vectors (always run): the lane offset of each, and per vector lanes x elements source indices (-1: zero).
  std::vector<std::int32_t> gather_targets;
  std::vector<std::int32_t> gathers;
};

/// The operations that fill the copies of `in` with `method` from a source of `source_size` elements (bytes when
/// `byte_source`, else int16 words).
CopyPlan plan_copies(const ConvInput& in, CopyMethod method, bool byte_source, std::size_t source_size);

/// The gathered vectors of a plan, element by element (any kernel set: the rare layouts its instructions cannot do).
void run_gathers(const CopyPlan& plan, const void* source, std::int32_t* lanes);

}  // namespace larsel::fpga::detail
