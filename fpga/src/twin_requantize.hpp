#pragma once
// The twin's per-layer output conversion and max pooling. The conversion is
// hls-and-fpga.md §2.4 on integers (as models::requantize_raw), instantiated
// per (quantization, overflow) pair so that each loop is branch-free and
// vectorises; the mode is chosen once per layer, not per value.
#include <algorithm>
#include <cstdint>
#include <limits>

#include "larsel/fpga/twin.hpp"

namespace larsel::fpga::detail {

using models::Overflow;
using models::Quantization;

/// Raw value r with `shift` more fractional bits than the target, aligned with mode Q (shift > 0).
template <Quantization Q>
inline std::int64_t align_down(std::int64_t r, int shift) {
  const std::int64_t fl = r >> shift;
  const std::int64_t rem = r - fl * (std::int64_t{1} << shift);
  const std::int64_t half = std::int64_t{1} << (shift - 1);
  const bool tie = rem == half, gt = rem > half, neg = r < 0;
  bool up = false;
  if constexpr (Q == Quantization::rnd) return (r + half) >> shift;  // floor(r / d + 1/2): ties up
  if constexpr (Q == Quantization::trn) return fl;
  if constexpr (Q == Quantization::trn_zero) up = neg && rem != 0;
  if constexpr (Q == Quantization::rnd) up = gt || tie;
  if constexpr (Q == Quantization::rnd_zero) up = gt || (tie && neg);
  if constexpr (Q == Quantization::rnd_min_inf) up = gt;
  if constexpr (Q == Quantization::rnd_inf) up = gt || (tie && !neg);
  if constexpr (Q == Quantization::rnd_conv) up = gt || (tie && (fl & 1) != 0);
  return fl + (up ? 1 : 0);
}

template <Overflow O>
inline std::int32_t handle_overflow(std::int64_t v, std::int64_t min, std::int64_t max, int width, bool is_signed) {
  if constexpr (O == Overflow::wrap) {
    const std::int64_t modulus_mask = (std::int64_t{1} << width) - 1;
    return static_cast<std::int32_t>(((v - min) & modulus_mask) + min);  // two's-complement wrap into [min, max]
  } else {
    const std::int64_t lowest = (O == Overflow::sat_sym && is_signed) ? min + 1 : min;
    const bool over = v < lowest || v > max;
    std::int64_t saturated = v < lowest ? lowest : max;
    if constexpr (O == Overflow::sat_zero) saturated = v < min || v > max ? 0 : v;  // sat_zero: only true overflow
    return static_cast<std::int32_t>(over ? saturated : v);
  }
}

template <Quantization Q, Overflow O, typename Acc>
void requantize_as(const Acc* sums, std::size_t n, int shift, const models::FixedPointFormat& f, bool relu, std::int32_t* out) {
  const std::int64_t min = f.min_raw(), max = f.max_raw();
  const int width = f.width;
  const bool is_signed = f.is_signed;
  const std::int32_t floor_value = relu ? 0 : std::numeric_limits<std::int32_t>::min();
  if (shift > 0) {
    for (std::size_t i = 0; i < n; ++i) {
      out[i] = std::max(floor_value, handle_overflow<O>(align_down<Q>(sums[i], shift), min, max, width, is_signed));
    }
  } else {
    // More target fractional bits than the accumulator has: exact, but may overflow; rare, so scalar and exact.
    for (std::size_t i = 0; i < n; ++i) {
      out[i] = std::max(floor_value, static_cast<std::int32_t>(models::requantize_raw(sums[i], shift + f.fractional_bits(), f)));
    }
  }
}

template <Quantization Q, typename Acc>
void requantize_q(const Acc* sums, std::size_t n, int shift, const models::FixedPointFormat& f, bool relu, std::int32_t* out) {
  switch (f.overflow) {
    case Overflow::wrap: return requantize_as<Q, Overflow::wrap>(sums, n, shift, f, relu, out);
    case Overflow::sat: return requantize_as<Q, Overflow::sat>(sums, n, shift, f, relu, out);
    case Overflow::sat_zero: return requantize_as<Q, Overflow::sat_zero>(sums, n, shift, f, relu, out);
    case Overflow::sat_sym: return requantize_as<Q, Overflow::sat_sym>(sums, n, shift, f, relu, out);
  }
}

/// out[i] = sums[i] (raw with `from_fraction` fractional bits) converted into `f`, then max(0, .) with `relu`.
template <typename Acc>
void requantize(const Acc* sums, std::size_t n, int from_fraction, const models::FixedPointFormat& f, bool relu, std::int32_t* out) {
  const int shift = from_fraction - f.fractional_bits();
  switch (f.quantization) {
    case Quantization::trn: return requantize_q<Quantization::trn>(sums, n, shift, f, relu, out);
    case Quantization::trn_zero: return requantize_q<Quantization::trn_zero>(sums, n, shift, f, relu, out);
    case Quantization::rnd: return requantize_q<Quantization::rnd>(sums, n, shift, f, relu, out);
    case Quantization::rnd_zero: return requantize_q<Quantization::rnd_zero>(sums, n, shift, f, relu, out);
    case Quantization::rnd_min_inf: return requantize_q<Quantization::rnd_min_inf>(sums, n, shift, f, relu, out);
    case Quantization::rnd_inf: return requantize_q<Quantization::rnd_inf>(sums, n, shift, f, relu, out);
    case Quantization::rnd_conv: return requantize_q<Quantization::rnd_conv>(sums, n, shift, f, relu, out);
  }
}

inline void max_pool(const TwinLayer& t, const std::int32_t* in, std::int32_t* out) {
  const models::Shape& i = t.input;
  const models::Shape& o = t.output;
  if (t.window_height == 2 && t.window_width == 2) {  // the common case, unrolled
    for (int c = 0; c < o.channels; ++c) {
      for (int y = 0; y < o.height; ++y) {
        const std::int32_t* top = in + (c * i.height + 2 * y) * i.width;
        const std::int32_t* bottom = top + i.width;
        std::int32_t* row = out + (c * o.height + y) * o.width;
        for (int x = 0; x < o.width; ++x) {
          row[x] = std::max(std::max(top[2 * x], top[2 * x + 1]), std::max(bottom[2 * x], bottom[2 * x + 1]));
        }
      }
    }
    return;
  }
  for (int c = 0; c < o.channels; ++c) {
    for (int y = 0; y < o.height; ++y) {
      for (int x = 0; x < o.width; ++x) {
        const std::int32_t* window = in + (c * i.height + y * t.window_height) * i.width + x * t.window_width;
        std::int32_t best = window[0];
        for (int dy = 0; dy < t.window_height; ++dy) {
          for (int dx = 0; dx < t.window_width; ++dx) best = std::max(best, window[dy * i.width + dx]);
        }
        out[(c * o.height + y) * o.width + x] = best;
      }
    }
  }
}

}  // namespace larsel::fpga::detail
