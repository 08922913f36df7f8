#pragma once
// The twin's packed path: a plan made once per model and kernel set (which
// layers, the taps as packed weight lanes, the input layouts and how to fill
// them), laid out for that set's vector width, registers and instructions
// (KernelTraits, twin_kernel.hpp), and the buffers one twin runs it with. The
// plan exists only for models whose arithmetic it does exactly
// (make_packed_plan says when); the twin runs its generic path otherwise.
//
// Per frame (twin_run.ipp, compiled per kernel set): the image (or the
// previous layer's int16 activations) is laid out for each convolution
// (twin_copies.hpp); the multiply-adds (twin_mac.ipp) give int32 sums for
// blocks of filters, max-pooled in registers; the output conversion
// (twin_convert.hpp) writes int16 activations by channel (rows in row blocks
// when the next convolution pools pairs of rows), which are the next layer's
// source, or the first dense layer's NCHW input. Dense layers multiply-add
// int16 pairs too.
#include <cstdint>
#include <memory>
#include <vector>

#include "twin_convert.hpp"
#include "twin_copies.hpp"
#include "twin_kernel.hpp"
#include "twin_layers.hpp"
#include "twin_requantize.hpp"
#include "twin_rows.hpp"

namespace larsel::fpga::detail {

/// Filters per multiply-add block: 1, 2 or 4 (the cost model never gains from more).
inline constexpr int kMaxBlockFilters = 4;

/// Consecutive lane-taps of a filter block where the same filters have a non-zero weight: bit f of `filters` for
/// the block's filter f. Its lane-taps are [first, end) of the layer's flat taps (PackedConv::taps).
struct TapGroup {
  std::uint32_t filters = 0;
  std::uint32_t first = 0, end = 0;  // in std::int32_t elements
};

/// F filters (1, 2 or 4) whose lane-taps run together, sharing each activation load (twin_mac.ipp): the union of
/// their lane-taps, each with the F weights.
struct FilterBlock {
  std::vector<int> filters;                 // the layer's filter indices
  std::size_t lane_taps = 0;                // the union of its filters' lane-taps
  std::size_t filter_taps = 0;              // the sum over its filters of their lane-taps (multiply-adds run)
  std::vector<TapGroup> groups;             // its lane-taps by the filters they have, in PackedConv::taps
};

struct PackedConv {
  std::size_t layer = 0;  // in the twin's layers
  ConvInput input;
  CopyPlan copies;                          // fills `input` from the image (first layer) or the int16 activations
  int filters = 0;                          // output channels
  int pooled_height = 0, pooled_width = 0;  // the output after the pooling (if any)
  int phases = 1;                           // pool_height * pool_width
  std::size_t vectors = 0;                  // pooled positions / lanes, rounded up
  // Per lane-tap, block after block and group after group: the F packed weights (F x R with row weights), then
  // the P / R offsets (in lanes) where output position 0 of each column phase reads. twin_mac.ipp says more.
  std::vector<std::int32_t> taps;
  std::vector<FilterBlock> blocks;
  // Max pooling commutes with a non-decreasing conversion (every rounding, sat, sat_sym, ReLU), so the pool is
  // taken first, in registers, and a quarter of the sums are converted; wrap and sat_zero are not monotone.
  bool convert_first = false;
  bool narrow = false;  // every total fits int32: the conversion runs in int32 lanes
  Conversion conversion;
  FastConversion fast;      // the vector conversion, when it applies
  ActivationLayout output;  // how the int16 outputs are stored (row blocks for the next convolution)
  StorePlan stores;         // the epilogue's stores into `output`
};

struct PackedDense {
  std::size_t layer = 0;
  int inputs = 0, units = 0;
  int rows = 0, stride = 0;           // units rounded up to 8, inputs rounded up to 32
  std::vector<std::int16_t> weights;  // rows x stride, zero padded
  int chunk_steps = 1;                // 32-input steps whose int32 lane sums cannot overflow
  Conversion conversion;
};

/// Convolutions (each with its pooling) then dense layers, the last one giving the logit.
struct PackedPlan {
  KernelTraits traits;  // of the kernel set it is laid out for
  models::Shape image;
  bool image_as_words = false;  // the first convolution's copies read the image widened to int16 (stage 0's input)
  std::vector<PackedConv> convs;
  std::vector<PackedDense> denses;
  /// Int16 elements of stage s's input (convolutions, then dense layers); 0 for a first convolution that reads
  /// the image's bytes. The buffers have kFront elements of slack before, kBack after (make_packed_buffers).
  std::vector<std::size_t> input_sizes;
  static constexpr std::size_t kFront = 16;  // the epilogue's row stores may start lanes - 1 left of a row
  static constexpr std::size_t kBack = 64;   // the copies' source windows may start at any element
};

/// What the packed path keeps per convolution between frames. The twin runs an empty frame once (all zero:
/// PackedBuffers::all_rows) and remembers its layouts and outputs; after that, a frame's rows whose receptive
/// field is all zero (most of them: a frame holds a few short tracks) are known to give the empty frame's
/// values: their copies and multiply-adds are skipped, and what the last frame changed there is put back.
struct ConvBuffers {
  AlignedVector<std::int32_t> lanes;        // its input laid out for the multiply-adds
  AlignedVector<std::int32_t> empty_lanes;  // the same for the empty frame
  RowSet rows_copied;       // input rows whose copy operations ran last frame
  RowSet vectors_computed;  // vectors of outputs computed last frame (the others hold the empty frame's)
  // This frame's: input rows that differ, copy rows that run (r: its operations read rows r .. r + row_span),
  // output rows and vectors of outputs that differ; the others are scratch.
  RowSet input_active, copy_rows, output_active, vector_active;
  RowSet padded, dilated, output_dilated;
};

/// The packed path's working memory, sized once (its zero padding is written once, never per frame).
struct PackedBuffers {
  std::vector<ConvBuffers> convs;
  std::vector<AlignedVector<std::int16_t>> inputs;        // per convolution, then dense layer: its int16 input
  std::vector<AlignedVector<std::int16_t>> empty_inputs;  // the same for the empty frame
  AlignedVector<std::int32_t> sums;                       // one filter block's sums (the generic conversion's input)
  std::vector<std::int64_t> dense_sums, dense_outputs;
  bool all_rows = true;  // compute every row (the empty frame's run), not only those that differ from it
};

/// The plan for these layers (image: the model's input shape) laid out for `traits`, or null when the packed
/// arithmetic would not be exact or the layer sequence is not (conv [pool])... dense...: the generic path runs then.
std::shared_ptr<const PackedPlan> make_packed_plan(const std::vector<TwinLayer>& layers, models::Shape image, const KernelTraits& traits);

/// Sizes and zeroes the buffers of `plan` (once: the zero padding is never written again). Run an empty frame
/// next, then remember_empty_frame.
void make_packed_buffers(const PackedPlan& plan, PackedBuffers& buffers);

/// After the run of an all-zero image with all_rows set: its layouts and outputs are the empty frame's.
void remember_empty_frame(const PackedPlan& plan, PackedBuffers& buffers);



}  // namespace larsel::fpga::detail
