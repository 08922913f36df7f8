#pragma once
// ap_int / ap_uint: integers of W bits whose assignment always wraps (§2.5),
// built on the fixed-point base with no fractional bits (see ap_common.h).
#include "ap_fixed.h"

template <int W>
struct ap_int : ap_fixed_base<W, W, true, AP_TRN, AP_WRAP> {
  using ap_fixed_base<W, W, true, AP_TRN, AP_WRAP>::ap_fixed_base;
  constexpr ap_int() = default;
  template <int W2, int I2, bool S2, ap_q_mode Q2, ap_o_mode O2>
  constexpr ap_int(const ap_fixed_base<W2, I2, S2, Q2, O2>& x) : ap_fixed_base<W, W, true, AP_TRN, AP_WRAP>(x) {}  // NOLINT
};

template <int W>
struct ap_uint : ap_fixed_base<W, W, false, AP_TRN, AP_WRAP> {
  using ap_fixed_base<W, W, false, AP_TRN, AP_WRAP>::ap_fixed_base;
  constexpr ap_uint() = default;
  template <int W2, int I2, bool S2, ap_q_mode Q2, ap_o_mode O2>
  constexpr ap_uint(const ap_fixed_base<W2, I2, S2, Q2, O2>& x) : ap_fixed_base<W, W, false, AP_TRN, AP_WRAP>(x) {}  // NOLINT
};
