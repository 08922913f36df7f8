#pragma once
// The twin's per-layer output conversion and max pooling. The conversion is
// hls-and-fpga.md §2.4 on integers (as models::requantize_raw), instantiated
// per (quantization, overflow) pair so that each loop is branch-free and
// vectorises; the mode is chosen once per layer, not per value. It runs in
// int32 lanes when the accumulator and the format fit them (twice the lanes of
// int64, and no 64-bit multiplies), else in int64.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "twin_layers.hpp"

namespace larsel::fpga::detail {

using models::Overflow;
using models::Quantization;

/// How a layer's sums become its outputs: total = sum * 2^sum_shift + bias, a raw value with
/// `from_fraction` fractional bits, converted into `format`, then max(0, .) with `relu`.
struct Conversion {
  int from_fraction = 0;
  int sum_shift = 0;
  models::FixedPointFormat format;
  bool relu = false;
};

/// Raw value r with `shift` (> 0) more fractional bits than the target, aligned with mode Q. No
/// intermediate exceeds |r|, so T = int32 is exact for any int32 r.
template <Quantization Q, typename T>
inline T align_down(T r, int shift) {
  const T fl = r >> shift;  // floor
  if constexpr (Q == Quantization::trn) return fl;
  // floor(r / d + 1/2) = floor + the bit below the kept ones: ties up, without the overflow of r + half.
  if constexpr (Q == Quantization::rnd) return fl + ((r >> (shift - 1)) & 1);
  const T rem = r & ((T{1} << shift) - 1);  // r - fl * d, in [0, d)
  const T half = T{1} << (shift - 1);
  const bool tie = rem == half, gt = rem > half, neg = r < 0;
  bool up = false;
  if constexpr (Q == Quantization::trn_zero) up = neg && rem != 0;
  if constexpr (Q == Quantization::rnd_zero) up = gt || (tie && neg);
  if constexpr (Q == Quantization::rnd_min_inf) up = gt;
  if constexpr (Q == Quantization::rnd_inf) up = gt || (tie && !neg);
  if constexpr (Q == Quantization::rnd_conv) up = gt || (tie && (fl & 1) != 0);
  return fl + (up ? 1 : 0);
}

/// v (already on the target's grid) into the target's range [min, max] by mode O.
template <Overflow O, typename T>
inline T handle_overflow(T v, T min, T max, int width, bool is_signed) {
  using U = std::make_unsigned_t<T>;
  constexpr int bits = std::numeric_limits<U>::digits;
  if constexpr (O == Overflow::wrap) {
    if (width >= bits) return v;
    // Keep the low `width` bits: sign-extended when signed (that is ((v - min) mod 2^W) + min), masked when not.
    const int unused = bits - width;
    const U low = static_cast<U>(static_cast<U>(v) << unused);
    return is_signed ? static_cast<T>(low) >> unused : static_cast<T>(low >> unused);
  } else {
    const T lowest = (O == Overflow::sat_sym && is_signed) ? min + 1 : min;
    const bool over = v < lowest || v > max;
    T saturated = v < lowest ? lowest : max;
    if constexpr (O == Overflow::sat_zero) saturated = 0;  // sat_zero: lowest is min, only true overflow
    return over ? saturated : v;
  }
}

template <Quantization Q, Overflow O, typename T, typename In, typename Out>
void requantize_as(const In* sums, std::size_t n, T bias, const Conversion& c, int shift, Out* out) {
  const models::FixedPointFormat& f = c.format;
  const T min = static_cast<T>(f.min_raw()), max = static_cast<T>(f.max_raw());
  const int width = f.width;
  const bool is_signed = f.is_signed;
  const T floor_value = c.relu ? T{0} : std::numeric_limits<T>::min();
  const T scale = T{1} << c.sum_shift;  // a multiply, not a shift: sums may be negative
  for (std::size_t i = 0; i < n; ++i) {
    const T total = static_cast<T>(sums[i]) * scale + bias;
    out[i] = static_cast<Out>(std::max(floor_value, handle_overflow<O>(align_down<Q>(total, shift), min, max, width, is_signed)));
  }
}

template <Quantization Q, typename T, typename In, typename Out>
void requantize_q(const In* sums, std::size_t n, T bias, const Conversion& c, int shift, Out* out) {
  switch (c.format.overflow) {
    case Overflow::wrap: return requantize_as<Q, Overflow::wrap>(sums, n, bias, c, shift, out);
    case Overflow::sat: return requantize_as<Q, Overflow::sat>(sums, n, bias, c, shift, out);
    case Overflow::sat_zero: return requantize_as<Q, Overflow::sat_zero>(sums, n, bias, c, shift, out);
    case Overflow::sat_sym: return requantize_as<Q, Overflow::sat_sym>(sums, n, bias, c, shift, out);
  }
}

/// out[i] = (sums[i] * 2^c.sum_shift + bias) converted as `c` says, computed in T. The caller picks
/// T = int32 only when every total fits it (a narrow accumulator); T = int32 falls back to int64
/// where the format's range or the shift does not fit 32 bits. In-place (out == sums) is allowed.
template <typename T, typename In, typename Out>
void requantize(const In* sums, std::size_t n, std::int64_t bias, const Conversion& c, Out* out) {
  const int shift = c.from_fraction - c.format.fractional_bits();
  if constexpr (std::is_same_v<T, std::int32_t>) {
    const bool fits = shift > 0 && shift < 31 && c.sum_shift < 31 && c.format.min_raw() >= std::numeric_limits<T>::min() &&
                      c.format.max_raw() <= std::numeric_limits<T>::max();
    if (!fits) return requantize<std::int64_t>(sums, n, bias, c, out);
  }
  if (shift <= 0) {
    // More target fractional bits than the accumulator has: exact, but may overflow; rare, so scalar and exact.
    const T floor_value = c.relu ? T{0} : std::numeric_limits<T>::min();
    for (std::size_t i = 0; i < n; ++i) {
      const std::int64_t total = static_cast<std::int64_t>(sums[i]) * (std::int64_t{1} << c.sum_shift) + bias;
      out[i] = static_cast<Out>(std::max<std::int64_t>(floor_value, models::requantize_raw(total, c.from_fraction, c.format)));
    }
    return;
  }
  const auto b = static_cast<T>(bias);
  switch (c.format.quantization) {
    case Quantization::trn: return requantize_q<Quantization::trn>(sums, n, b, c, shift, out);
    case Quantization::trn_zero: return requantize_q<Quantization::trn_zero>(sums, n, b, c, shift, out);
    case Quantization::rnd: return requantize_q<Quantization::rnd>(sums, n, b, c, shift, out);
    case Quantization::rnd_zero: return requantize_q<Quantization::rnd_zero>(sums, n, b, c, shift, out);
    case Quantization::rnd_min_inf: return requantize_q<Quantization::rnd_min_inf>(sums, n, b, c, shift, out);
    case Quantization::rnd_inf: return requantize_q<Quantization::rnd_inf>(sums, n, b, c, shift, out);
    case Quantization::rnd_conv: return requantize_q<Quantization::rnd_conv>(sums, n, b, c, shift, out);
  }
}

/// Max pooling of one plane (in_width columns) with a window_height x window_width window and the same stride.
template <typename V>
void pool_plane(const V* in, int in_width, int out_height, int out_width, int window_height, int window_width, V* out) {
  if (window_height == 2 && window_width == 2) {  // the common case, unrolled
    for (int y = 0; y < out_height; ++y) {
      const V* top = in + static_cast<std::ptrdiff_t>(2 * y) * in_width;
      const V* bottom = top + in_width;
      V* row = out + static_cast<std::ptrdiff_t>(y) * out_width;
      for (int x = 0; x < out_width; ++x) {
        row[x] = std::max(std::max(top[2 * x], top[2 * x + 1]), std::max(bottom[2 * x], bottom[2 * x + 1]));
      }
    }
    return;
  }
  for (int y = 0; y < out_height; ++y) {
    for (int x = 0; x < out_width; ++x) {
      const V* window = in + static_cast<std::ptrdiff_t>(y * window_height) * in_width + x * window_width;
      V best = window[0];
      for (int dy = 0; dy < window_height; ++dy) {
        for (int dx = 0; dx < window_width; ++dx) best = std::max(best, window[dy * in_width + dx]);
      }
      out[static_cast<std::ptrdiff_t>(y) * out_width + x] = best;
    }
  }
}

inline void max_pool(const TwinLayer& t, const std::int32_t* in, std::int32_t* out) {
  const std::size_t in_plane = static_cast<std::size_t>(t.input.height) * static_cast<std::size_t>(t.input.width);
  const std::size_t out_plane = static_cast<std::size_t>(t.output.height) * static_cast<std::size_t>(t.output.width);
  for (int c = 0; c < t.output.channels; ++c) {
    pool_plane(in + static_cast<std::size_t>(c) * in_plane, t.input.width, t.output.height, t.output.width, t.window_height,
               t.window_width, out + static_cast<std::size_t>(c) * out_plane);
  }
}

}  // namespace larsel::fpga::detail
