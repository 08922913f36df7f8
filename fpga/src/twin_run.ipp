// The twin's packed path per frame, written once for every kernel set over its
// `Simd` (twin_simd_*.ipp) and the multiply-adds (twin_mac.ipp): it reads like
// the network it runs, convolution by convolution (lay the input out, multiply-
// add filter blocks, pool and convert in registers), then the dense layers. A
// kernel-body fragment: included by twin_kernels.cpp inside its per-set
// namespace and ISA region; it includes nothing itself.
//
// Rows that differ from an empty frame: a frame's image is mostly zero (the
// preprocessing suppresses the noise; a frame holds a few short tracks and
// blips), and wherever a convolution's receptive field is all zero, its
// layout and outputs are those of the empty frame, which the twin ran once
// (twin_plan.hpp, ConvBuffers). Per convolution, the input rows that differ
// give the copy operations that must run and the output rows (and vectors)
// that must be computed; the rest are skipped, and what the last frame changed
// there is put back. The arithmetic of every computed output is unchanged, so
// the result is the same bits; only the work is less.

/// The int16 input of stage s (past its front slack).
inline std::int16_t* input_of(PackedBuffers& b, std::size_t stage) { return b.inputs[stage].data() + PackedPlan::kFront; }
inline const std::int16_t* empty_input_of(const PackedBuffers& b, std::size_t stage) { return b.empty_inputs[stage].data() + PackedPlan::kFront; }

/// The image's rows with a non-zero pixel (in any channel).
inline void image_rows(std::span<const std::uint8_t> image, models::Shape shape, RowSet& active) {
  const auto width = static_cast<std::size_t>(shape.width), plane = width * static_cast<std::size_t>(shape.height);
  active.clear();
  for (std::size_t r = 0; r < active.size(); ++r) {
    std::uint64_t any = 0;
    for (std::size_t c = 0; c < static_cast<std::size_t>(shape.channels); ++c) {
      const std::uint8_t* row = image.data() + c * plane + r * width;
      std::size_t x = 0;
      for (; x + 8 <= width; x += 8) {
        std::uint64_t word;
        std::memcpy(&word, row + x, sizeof word);
        any |= word;
      }
      for (; x < width; ++x) any |= row[x];
    }
    if (any != 0) active.set(r);
  }
}

/// From the convolution's input rows that differ from the empty frame: the copy rows that must run, and the
/// output rows and vectors of outputs that differ. Output row y reads input rows ph y - pad .. + window: with
/// the zero padding's rows put on top, the rows dilated by the window and taken every ph-th.
inline void propagate_rows(const PackedConv& c, ConvBuffers& cb) {
  const ConvInput& in = c.input;
  cb.input_active.dilate_down(c.copies.row_span, cb.copy_rows);
  cb.input_active.shift_up(static_cast<std::size_t>(in.pad_top), cb.padded);
  cb.padded.dilate_down(in.pool_height + in.kernel_height - 2, cb.dilated);
  cb.dilated.take_every(static_cast<std::size_t>(in.pool_height), cb.output_active);
  const auto width = static_cast<std::size_t>(c.pooled_width), lanes = static_cast<std::size_t>(Simd::kLanes);
  if (lanes % width == 0) {  // a vector holds whole rows
    cb.output_active.dilate_down(static_cast<int>(lanes / width) - 1, cb.output_dilated);
    cb.output_dilated.take_every(lanes / width, cb.vector_active);
  } else if (width % lanes == 0) {  // a row fills whole vectors
    cb.output_active.repeat_each(width / lanes, cb.vector_active);
  } else {
    const std::size_t count = static_cast<std::size_t>(c.pooled_height) * width;
    for (std::size_t v = 0; v < c.vectors; ++v) {
      const std::size_t first = v * lanes / width, last = (std::min(count, (v + 1) * lanes) - 1) / width;
      cb.vector_active.assign(v, cb.output_active.any(static_cast<std::ptrdiff_t>(first), static_cast<std::ptrdiff_t>(last)));
    }
  }
}

/// The empty frame's lanes back into the targets of the copy operations starting at input row `row`.
inline void restore_copies(const CopyPlan& copies, std::size_t row, std::int32_t* lanes, const std::int32_t* empty_lanes) {
  const auto restore = [&](std::int32_t target) { Simd::store(lanes + target, Simd::load(empty_lanes + target)); };
  for (std::uint32_t i = copies.single_rows[row]; i < copies.single_rows[row + 1]; ++i) restore(copies.singles[i].target);
  for (std::uint32_t i = copies.double_rows[row]; i < copies.double_rows[row + 1]; ++i) restore(copies.doubles[i].target);
  for (std::uint32_t i = copies.group_rows[row]; i < copies.group_rows[row + 1]; ++i) {
    const ShuffleGroup& g = copies.shuffle_groups[i];
    for (std::int32_t t = g.first; t < g.end; ++t) restore(copies.shuffle_targets[static_cast<std::size_t>(t)].target);
  }
}

/// The empty frame's outputs back into vector `vector` of every filter's plane of `conv`'s output.
inline void restore_outputs(const PackedConv& conv, std::size_t vector, std::int16_t* outputs, const std::int16_t* empty_outputs) {
  const StorePlan& stores = conv.stores;
  for (std::size_t f = 0; f < static_cast<std::size_t>(conv.filters); ++f) {
    const std::size_t plane = f * conv.output.plane();
    for (std::uint32_t k = stores.first[vector]; k < stores.first[vector + 1]; ++k) {
      const LaneStore& s = stores.stores[k];  // one run of lanes
      const std::ptrdiff_t at = static_cast<std::ptrdiff_t>(plane) + s.offset + std::countr_zero(s.mask);
      const int n = std::popcount(s.mask);
      for (int i = 0; i < n; ++i) outputs[at + i] = empty_outputs[at + i];
    }
  }
}

/// Lays the convolution's input out: the copy rows that must run, and the empty frame's lanes back where the
/// last frame's ran and this one's do not.
inline void lay_out(const PackedConv& c, ConvBuffers& cb, const void* source, bool all_rows) {
  if (!all_rows) {
    cb.rows_copied.for_each_not_in(cb.copy_rows, [&](std::size_t r) {
      restore_copies(c.copies, r, cb.lanes.data(), cb.empty_lanes.data());
    });
    cb.rows_copied = cb.copy_rows;
  }
  Simd::run_copies(c.copies, source, cb.lanes.data(), cb.copy_rows, all_rows);
  run_gathers(c.copies, source, cb.lanes.data());
}

/// One filter's sums (at the products' fraction, pooled or per phase) into its pooled, converted int16 outputs
/// (one channel plane), by the generic conversion (the fast one is done in mac_block).
inline void finish(const PackedConv& c, std::int64_t bias, std::int32_t* sums, std::int16_t* plane) {
  const std::size_t pooled = static_cast<std::size_t>(c.pooled_height) * static_cast<std::size_t>(c.pooled_width);
  const auto convert = [&](std::size_t n) {
    if (c.narrow) requantize<std::int32_t>(sums, n, bias, c.conversion, sums);
    else requantize<std::int64_t>(sums, n, bias, c.conversion, sums);
  };
  if (!c.convert_first) {  // pooled already, in registers
    convert(pooled);
  } else {  // not monotone: convert every phase (lanes past `pooled` hold sums of in-range values too), then pool
    const std::size_t stride = Simd::kLanes * c.vectors;
    convert(static_cast<std::size_t>(c.phases) * stride);
    for (std::size_t i = 0; i < pooled; ++i) {
      for (int q = 1; q < c.phases; ++q) sums[i] = std::max(sums[i], sums[static_cast<std::size_t>(q) * stride + i]);
    }
  }
  store_values(sums, pooled, c.output, plane);
}

/// The filter blocks' multiply-adds, pooling and conversion into `out`: only the vectors that differ from the
/// empty frame when `skip` (the vector conversion; the generic one converts whole planes), every one otherwise.
inline void multiply_add_blocks(const PackedConv& c, const TwinLayer& t, const ConvBuffers& cb, bool skip, PackedBuffers& b, std::int16_t* out) {
  MacOutput to;
  to.sums = b.sums.data(), to.sums_stride = static_cast<std::size_t>(c.phases) * Simd::kLanes * c.vectors;
  if (c.fast.enabled) to.fast = &c.fast, to.stores = &c.stores;
  if (skip) to.vector_active = &cb.vector_active;
  for (const FilterBlock& block : c.blocks) {
    for (std::size_t i = 0; i < block.filters.size(); ++i) {
      const auto f = static_cast<std::size_t>(block.filters[i]);
      to.bias[i] = c.fast.folded(t.bias[f]), to.planes[i] = out + f * c.output.plane();
    }
    const TapSpan taps{c.taps.data(), block.groups.data(), block.groups.data() + block.groups.size()};
    mac_plane(cb.lanes.data(), c.input.quads, c.input.row_weights(), static_cast<int>(block.filters.size()), taps, c.phases,
              !c.convert_first, c.vectors, to);
    if (c.fast.enabled) continue;
    for (std::size_t i = 0; i < block.filters.size(); ++i) {
      finish(c, t.bias[static_cast<std::size_t>(block.filters[i])], to.sums + i * to.sums_stride, to.planes[i]);
    }
  }
}

/// Convolution `conv`: its input laid out from `source`, its outputs into the next stage's input, and which of
/// the next convolution's input rows differ from the empty frame.
inline void run_conv(const PackedPlan& plan, std::size_t conv, const TwinLayer& t, const void* source, PackedBuffers& b) {
  const PackedConv& c = plan.convs[conv];
  ConvBuffers& cb = b.convs[conv];
  propagate_rows(c, cb);
  lay_out(c, cb, source, b.all_rows);
  const bool skip = !b.all_rows && c.fast.enabled && !c.convert_first;
  std::int16_t* out = input_of(b, conv + 1);
  multiply_add_blocks(c, t, cb, skip, b, out);
  if (skip) {  // skipped vectors hold the empty frame's outputs: put those back where the last frame computed
    cb.vectors_computed.for_each_not_in(cb.vector_active, [&](std::size_t v) { restore_outputs(c, v, out, empty_input_of(b, conv + 1)); });
    cb.vectors_computed = cb.vector_active;
  }
  if (conv + 1 < plan.convs.size()) b.convs[conv + 1].input_active = cb.output_active;
}

/// A dense layer: its converted outputs into the next dense layer's input, or (the last) the logit.
inline std::int64_t run_dense(const PackedPlan& plan, std::size_t dense, const TwinLayer& t, PackedBuffers& b) {
  const PackedDense& d = plan.denses[dense];
  const std::size_t stage = plan.convs.size() + dense;
  Simd::dense_sums(input_of(b, stage), d.weights.data(), d.stride, d.units, d.chunk_steps, b.dense_sums.data());
  // The totals (sum * 2^sum_shift + bias, at most 62 bits), then one conversion call for all units.
  for (int u = 0; u < d.units; ++u) {
    const auto k = static_cast<std::size_t>(u);
    b.dense_sums[k] = b.dense_sums[k] * (std::int64_t{1} << d.conversion.sum_shift) + t.bias[k];
  }
  Conversion totals = d.conversion;
  totals.sum_shift = 0;
  requantize<std::int64_t>(b.dense_sums.data(), static_cast<std::size_t>(d.units), 0, totals, b.dense_outputs.data());
  if (dense + 1 == plan.denses.size()) return b.dense_outputs[0];
  std::int16_t* next = input_of(b, stage + 1);
  for (int u = 0; u < d.units; ++u) next[u] = static_cast<std::int16_t>(b.dense_outputs[static_cast<std::size_t>(u)]);
  return 0;
}

/// The raw logit of one image: the convolutions, then the dense layers.
inline std::int64_t run_packed(const PackedPlan& plan, const std::vector<TwinLayer>& layers, PackedBuffers& b,
                               std::span<const std::uint8_t> image) {
  const void* source = image.data();
  if (plan.convs.empty() || plan.image_as_words) {
    std::copy(image.begin(), image.end(), input_of(b, 0));  // pixel = raw value, as int16
    source = input_of(b, 0);
  }
  if (!plan.convs.empty()) {
    RowSet& rows = b.convs.front().input_active;
    if (b.all_rows) rows.fill();
    else image_rows(image, plan.image, rows);
  }
  for (std::size_t c = 0; c < plan.convs.size(); ++c) {
    run_conv(plan, c, layers[plan.convs[c].layer], source, b);
    source = input_of(b, c + 1);
  }
  std::int64_t logit = 0;
  for (std::size_t d = 0; d < plan.denses.size(); ++d) logit = run_dense(plan, d, layers[plan.denses[d].layer], b);
  return logit;
}
