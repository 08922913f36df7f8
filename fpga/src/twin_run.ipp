// The twin's packed path per frame, written once for every kernel set over its
// `Simd` (twin_simd_*.ipp) and the multiply-adds (twin_mac.ipp): it reads like
// the network it runs, convolution by convolution (lay the input out, multiply-
// add filter blocks, pool and convert in registers), then the dense layers. A
// kernel-body fragment: included by twin_kernels.cpp inside its per-set
// namespace and ISA region; it includes nothing itself.

/// The int16 input of stage s (past its front slack).
inline std::int16_t* input_of(PackedBuffers& b, std::size_t stage) { return b.inputs[stage].data() + PackedPlan::kFront; }

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

/// Convolution `conv`: its input laid out from `source`, its outputs into the next stage's input.
inline void run_conv(const PackedPlan& plan, std::size_t conv, const TwinLayer& t, const void* source, PackedBuffers& b) {
  const PackedConv& c = plan.convs[conv];
  std::int32_t* lanes = b.lanes.data();  // shared: the copies rewrite every vector the layer reads
  Simd::run_copies(c.copies, source, lanes);
  run_gathers(c.copies, source, lanes);
  std::int16_t* out = input_of(b, conv + 1);
  MacOutput to;
  to.sums = b.sums.data(), to.sums_stride = static_cast<std::size_t>(c.phases) * Simd::kLanes * c.vectors;
  if (c.fast.enabled) to.fast = &c.fast, to.stores = &c.stores;
  for (const FilterBlock& block : c.blocks) {
    for (std::size_t i = 0; i < block.filters.size(); ++i) {
      const auto f = static_cast<std::size_t>(block.filters[i]);
      to.bias[i] = c.fast.folded(t.bias[f]), to.planes[i] = out + f * c.output.plane();
    }
    const TapSpan taps{c.taps.data(), block.groups.data(), block.groups.data() + block.groups.size()};
    mac_plane(lanes, c.input.quads, c.input.row_weights(), static_cast<int>(block.filters.size()), taps, c.phases, !c.convert_first,
              c.vectors, to);
    if (c.fast.enabled) continue;
    for (std::size_t i = 0; i < block.filters.size(); ++i) {
      finish(c, t.bias[static_cast<std::size_t>(block.filters[i])], to.sums + i * to.sums_stride, to.planes[i]);
    }
  }
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
  for (std::size_t c = 0; c < plan.convs.size(); ++c) {
    run_conv(plan, c, layers[plan.convs[c].layer], source, b);
    source = input_of(b, c + 1);
  }
  std::int64_t logit = 0;
  for (std::size_t d = 0; d < plan.denses.size(); ++d) logit = run_dense(plan, d, layers[plan.denses[d].layer], b);
  return logit;
}
