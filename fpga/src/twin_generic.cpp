// The twin's generic path (twin_generic.hpp).
#include "twin_generic.hpp"

#include <algorithm>
#include <type_traits>

#include "twin_requantize.hpp"

namespace larsel::fpga::detail {

GenericTwin::GenericTwin(const std::vector<TwinLayer>& layers, models::Shape input) {
  std::size_t largest = input.size(), largest_padded = 0;
  for (const TwinLayer& t : layers) {
    largest = std::max(largest, t.output.size());
    if (t.kind != TwinLayer::Kind::conv2d) continue;
    const std::size_t padded_width = static_cast<std::size_t>(t.output.width + t.window_width - 1);
    const std::size_t padded = static_cast<std::size_t>(t.input.channels) *
                               static_cast<std::size_t>(t.output.height + t.window_height - 1) * padded_width;
    // Slack: sums run over whole 64-byte blocks, and the last row's taps read past the plane (see convolve).
    largest_padded = std::max(largest_padded, padded + static_cast<std::size_t>(t.window_width) + 16);
    largest = std::max(largest, static_cast<std::size_t>(t.output.height) * padded_width + 16);
  }
  buffer_a_.resize(largest), buffer_b_.resize(largest), padded_.resize(largest_padded);
  sums32_.resize(largest), sums64_.resize(largest), converted_.resize(largest);
}

// Sums are computed on the padded grid (rows of padded_width, the last kernel_width - 1 columns
// unused), so each tap is one contiguous multiply-add over the whole plane: long loops that
// vectorise, instead of rows of 8 or 16. The buffer has kernel_width of slack for the last row.
void GenericTwin::convolve(const TwinLayer& t, const std::int32_t* in, std::int32_t* out) {
  const int padded_height = t.output.height + t.window_height - 1, padded_width = t.output.width + t.window_width - 1;
  const std::size_t padded_plane = static_cast<std::size_t>(padded_height * padded_width);
  std::fill(padded_.begin(), padded_.end(), 0);
  for (int c = 0; c < t.input.channels; ++c) {
    for (int y = 0; y < t.input.height; ++y) {
      const std::int32_t* row = in + (c * t.input.height + y) * t.input.width;
      std::copy(row, row + t.input.width, padded_.data() + c * padded_plane + static_cast<std::size_t>((y + t.pad_top) * padded_width + t.pad_left));
    }
  }
  const std::size_t plane = static_cast<std::size_t>(t.output.height * padded_width);
  const Conversion conversion{t.accumulator_fraction, 0, t.output_format, t.relu_after};  // sums include the bias
  const auto run = [&](auto* sums) {
    using Acc = std::remove_pointer_t<decltype(sums)>;
    for (std::size_t f = 0; f < t.taps.size(); ++f) {
      std::fill(sums, sums + plane, static_cast<Acc>(t.bias[f]));
      for (const TwinLayer::Tap& tap : t.taps[f]) {
        const std::int32_t* __restrict source = padded_.data() + tap.offset;
        Acc* __restrict s = sums;
        const auto w = static_cast<Acc>(tap.weight);
        for (std::size_t k = 0; k < plane; ++k) s[k] += w * static_cast<Acc>(source[k]);
      }
      requantize<Acc>(sums, plane, 0, conversion, converted_.data());
      for (int y = 0; y < t.output.height; ++y) {
        const std::int32_t* row = converted_.data() + static_cast<std::size_t>(y * padded_width);
        std::copy(row, row + t.output.width, out + (static_cast<int>(f) * t.output.height + y) * t.output.width);
      }
    }
  };
  if (t.wide_accumulator) run(sums64_.data());
  else run(sums32_.data());
}

void GenericTwin::dense(const TwinLayer& t, const std::int32_t* in, std::int32_t* out) {
  for (std::size_t u = 0; u < t.taps.size(); ++u) {
    std::int64_t sum = t.bias[u];
    for (const TwinLayer::Tap& tap : t.taps[u]) sum += tap.weight * in[tap.input];
    sums64_[u] = sum;
  }
  const Conversion conversion{t.accumulator_fraction, 0, t.output_format, t.relu_after};  // sums include the bias
  requantize<std::int64_t>(sums64_.data(), t.taps.size(), 0, conversion, out);
}

std::int64_t GenericTwin::raw_logit(const std::vector<TwinLayer>& layers, std::span<const std::uint8_t> image) {
  std::int32_t* current = buffer_a_.data();
  std::int32_t* next = buffer_b_.data();
  std::copy(image.begin(), image.end(), current);  // pixel = raw value at the input format
  for (const TwinLayer& t : layers) {
    switch (t.kind) {
      case TwinLayer::Kind::conv2d: convolve(t, current, next); break;
      case TwinLayer::Kind::dense: dense(t, current, next); break;
      case TwinLayer::Kind::relu: {
        std::int32_t* values = current;
        const std::size_t n = t.output.size();
        for (std::size_t k = 0; k < n; ++k) values[k] = std::max(values[k], 0);
        continue;
      }
      case TwinLayer::Kind::maxpool: max_pool(t, current, next); break;
      case TwinLayer::Kind::flatten: continue;  // NCHW order unchanged
    }
    std::swap(current, next);
  }
  return current[0];
}

}  // namespace larsel::fpga::detail
