#pragma once
// LArSel's stand-in for the Vitis HLS arbitrary-precision types, used for C
// simulation when the Xilinx headers are not on the include path (the kernel
// sources include <ap_fixed.h>; Vitis resolves that to its own header). It
// implements the subset the generated kernels use with the semantics of
// shared/reference/hls-and-fpga.md §2: W-bit raw storage, conversion with the
// target's quantization and overflow modes (§2.4), exact widened results for
// + - * (§2.5), compound assignment converting into the left-hand type.
// Limits: W <= 120 (raw values in __int128), no AP_WRAP_SM, no N > 0, no division.
#include <cmath>
#include <cstdint>

enum ap_q_mode { AP_RND, AP_RND_ZERO, AP_RND_MIN_INF, AP_RND_INF, AP_RND_CONV, AP_TRN, AP_TRN_ZERO };
enum ap_o_mode { AP_SAT, AP_SAT_ZERO, AP_SAT_SYM, AP_WRAP, AP_WRAP_SM };

namespace ap_detail {

__extension__ typedef __int128 int128;  // __extension__: GCC/Clang builtin, quiet under -Wpedantic
__extension__ typedef unsigned __int128 uint128;

constexpr int kMaxWidth = 120;

/// floor(r / 2^shift) and the remainder, for shift >= 1.
constexpr int128 floor_shift(int128 r, int shift) { return shift >= 127 ? (r < 0 ? -1 : 0) : (r >> shift); }

/// §2.4 step 1: r * 2^-from_f aligned to `to_f` fractional bits with mode Q.
/// Returns false in `fits` when the aligned value does not fit 126 bits.
template <ap_q_mode Q>
constexpr int128 align(int128 r, int from_f, int to_f, bool& fits) {
  fits = true;
  if (from_f <= to_f) {
    const int up = to_f - from_f;
    if (r == 0) return 0;
    if (up >= 126 || (r > 0 ? r : -r) > (int128(1) << (126 - up))) {
      fits = false;
      return r < 0 ? -1 : 1;  // only the sign matters for saturation; wrap handles this case itself
    }
    return r * (int128(1) << up);
  }
  const int down = from_f - to_f;
  const int128 fl = floor_shift(r, down);
  if (down >= 126) {  // |r| < 2^126 <= d: the remainder is r - fl * d, compared with d / 2
    const bool neg = r < 0;
    const bool nonzero = r != 0;
    if constexpr (Q == AP_TRN) return fl;
    if constexpr (Q == AP_TRN_ZERO) return fl + (neg && nonzero ? 1 : 0);
    return 0;  // every RND mode: |r| < d / 2 (r is below 2^126, d at least 2^126) rounds to 0
  }
  const int128 d = int128(1) << down;
  const int128 rem = r - fl * d;
  const bool tie = 2 * rem == d, gt = 2 * rem > d, neg = r < 0;
  switch (Q) {
    case AP_TRN: return fl;
    case AP_TRN_ZERO: return fl + ((neg && rem != 0) ? 1 : 0);
    case AP_RND: return fl + ((gt || tie) ? 1 : 0);
    case AP_RND_ZERO: return fl + ((gt || (tie && neg)) ? 1 : 0);
    case AP_RND_MIN_INF: return fl + (gt ? 1 : 0);
    case AP_RND_INF: return fl + ((gt || (tie && !neg)) ? 1 : 0);
    case AP_RND_CONV: return fl + ((gt || (tie && (fl & 1) != 0)) ? 1 : 0);
  }
  return fl;
}

/// The low W bits of r * 2^up (up >= 0), as a signed or unsigned W-bit value.
constexpr int128 wrap_shifted(int128 r, int up, int W, bool S) {
  const uint128 bits = up >= 128 ? 0 : (uint128(r) << up);
  const uint128 mask = (uint128(1) << W) - 1;
  const uint128 low = bits & mask;
  if (S && (low >> (W - 1)) != 0) return int128(low) - (int128(1) << W);
  return int128(low);
}

/// §2.4: the raw value of r * 2^-from_f converted into <W, I, S, Q, O>.
template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O>
constexpr int128 convert(int128 r, int from_f) {
  static_assert(W >= 1 && W <= kMaxWidth, "LArSel ap_fixed: width must be in [1, 120]");
  static_assert(O != AP_WRAP_SM, "LArSel ap_fixed: AP_WRAP_SM is not supported (hls4ml never emits it)");
  constexpr int F = W - I;
  const int128 min = S ? -(int128(1) << (W - 1)) : 0;
  const int128 max = S ? (int128(1) << (W - 1)) - 1 : (int128(1) << W) - 1;
  bool fits = true;
  const int128 v = align<Q>(r, from_f, F, fits);
  if (O == AP_WRAP) {
    if (fits) return wrap_shifted(v, 0, W, S);
    return wrap_shifted(r, F - from_f, W, S);  // only reached when aligning upwards, which is exact
  }
  const bool overflow = !fits || v < min || v > max || (O == AP_SAT_SYM && S && v == min);
  if (!overflow) return v;
  if (O == AP_SAT_ZERO) return 0;
  if (O == AP_SAT_SYM) return v <= min ? (S ? -max : 0) : max;
  return v < min ? min : max;  // AP_SAT
}

/// An exact double as r * 2^-f with |r| < 2^53.
struct DoubleParts {
  int128 raw;
  int fractional_bits;
};
inline DoubleParts split_double(double x) {
  if (x == 0 || !std::isfinite(x)) return {0, 0};
  int exponent = 0;
  const double mantissa = std::frexp(x, &exponent);  // x = mantissa * 2^exponent, 0.5 <= |mantissa| < 1
  return {static_cast<int128>(std::ldexp(mantissa, 53)), 53 - exponent};
}

constexpr int max_int(int a, int b) { return a > b ? a : b; }

}  // namespace ap_detail
