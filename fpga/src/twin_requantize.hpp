#pragma once
// The twin's per-layer output conversion and max pooling. The conversion is
// hls-and-fpga.md §2.4 on integers (as models::requantize_raw), instantiated
// per (quantization, overflow) pair so that each loop is branch-free and
// vectorises; the mode is chosen once per layer, not per value.
#include <algorithm>
#include <cstdint>

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
void requantize_as(const Acc* sums, std::size_t n, int shift, const models::FixedPointFormat& f, std::int32_t* out) {
  const std::int64_t min = f.min_raw(), max = f.max_raw();
  if (shift > 0) {
    for (std::size_t i = 0; i < n; ++i) out[i] = handle_overflow<O>(align_down<Q>(sums[i], shift), min, max, f.width, f.is_signed);
  } else {
    // More target fractional bits than the accumulator has: exact, but may overflow; rare, so scalar and exact.
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::int32_t>(models::requantize_raw(sums[i], shift + f.fractional_bits(), f));
  }
}

template <Quantization Q, typename Acc>
void requantize_q(const Acc* sums, std::size_t n, int shift, const models::FixedPointFormat& f, std::int32_t* out) {
  switch (f.overflow) {
    case Overflow::wrap: return requantize_as<Q, Overflow::wrap>(sums, n, shift, f, out);
    case Overflow::sat: return requantize_as<Q, Overflow::sat>(sums, n, shift, f, out);
    case Overflow::sat_zero: return requantize_as<Q, Overflow::sat_zero>(sums, n, shift, f, out);
    case Overflow::sat_sym: return requantize_as<Q, Overflow::sat_sym>(sums, n, shift, f, out);
  }
}

/// out[i] = sums[i] (raw with `from_fraction` fractional bits) converted into `f`.
template <typename Acc>
void requantize(const Acc* sums, std::size_t n, int from_fraction, const models::FixedPointFormat& f, std::int32_t* out) {
  const int shift = from_fraction - f.fractional_bits();
  switch (f.quantization) {
    case Quantization::trn: return requantize_q<Quantization::trn>(sums, n, shift, f, out);
    case Quantization::trn_zero: return requantize_q<Quantization::trn_zero>(sums, n, shift, f, out);
    case Quantization::rnd: return requantize_q<Quantization::rnd>(sums, n, shift, f, out);
    case Quantization::rnd_zero: return requantize_q<Quantization::rnd_zero>(sums, n, shift, f, out);
    case Quantization::rnd_min_inf: return requantize_q<Quantization::rnd_min_inf>(sums, n, shift, f, out);
    case Quantization::rnd_inf: return requantize_q<Quantization::rnd_inf>(sums, n, shift, f, out);
    case Quantization::rnd_conv: return requantize_q<Quantization::rnd_conv>(sums, n, shift, f, out);
  }
}

inline void max_pool(const TwinLayer& t, const std::int32_t* in, std::int32_t* out) {
  const models::Shape& i = t.input;
  const models::Shape& o = t.output;
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
