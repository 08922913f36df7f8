#pragma once
// ap_int / ap_uint: integers of W bits whose assignment always wraps (§2.5),
// built on the fixed-point base with no fractional bits (see ap_common.h).
// ap_uint wider than ap_detail::kMaxWidth (e.g. ap_uint<512>, an AXI bus word)
// is a plain bit container: construction from an unsigned integer and range()
// access of up to 64 bits, all a kernel does with a memory word.
#include <cstdint>
#include <stdexcept>
#include <type_traits>

#include "ap_fixed.h"

template <int W>
struct ap_int : ap_fixed_base<W, W, true, AP_TRN, AP_WRAP> {
  using ap_fixed_base<W, W, true, AP_TRN, AP_WRAP>::ap_fixed_base;
  constexpr ap_int() = default;
  template <int W2, int I2, bool S2, ap_q_mode Q2, ap_o_mode O2>
  constexpr ap_int(const ap_fixed_base<W2, I2, S2, Q2, O2>& x) : ap_fixed_base<W, W, true, AP_TRN, AP_WRAP>(x) {}  // NOLINT
};

/// W > kMaxWidth bits in little-endian 64-bit words (so an array of them has the memory layout of the bus).
template <int W>
struct ap_wide_uint {
  static constexpr int width = W;
  static constexpr int words = (W + 63) / 64;
  std::uint64_t word[words] = {};

  constexpr ap_wide_uint() = default;
  constexpr ap_wide_uint(unsigned long long x) { word[0] = x; }  // NOLINT: implicit, as in Vitis

  /// Bits [hi : lo], at most 64 of them, read as an unsigned integer or assigned from one.
  struct range_ref {
    ap_wide_uint* target;
    int hi, lo;
    [[nodiscard]] std::uint64_t get() const {
      std::uint64_t bits = 0;
      for (int b = hi; b >= lo; --b) bits = (bits << 1) | ((target->word[b / 64] >> (b % 64)) & 1u);
      return bits;
    }
    template <typename T>
    range_ref& operator=(T value) {
      const std::uint64_t bits = static_cast<std::uint64_t>(value);
      for (int b = lo; b <= hi; ++b) {
        const std::uint64_t mask = std::uint64_t{1} << (b % 64);
        target->word[b / 64] = ((bits >> (b - lo)) & 1u) ? (target->word[b / 64] | mask) : (target->word[b / 64] & ~mask);
      }
      return *this;
    }
    operator unsigned long long() const { return get(); }  // NOLINT
  };
  range_ref range(int hi, int lo) {
    check(hi, lo);
    return {this, hi, lo};
  }
  [[nodiscard]] unsigned long long range(int hi, int lo) const {
    check(hi, lo);
    return range_ref{const_cast<ap_wide_uint*>(this), hi, lo}.get();
  }

 private:
  static void check(int hi, int lo) {
    if (lo < 0 || hi >= W || hi < lo || hi - lo >= 64) throw std::out_of_range("ap_uint: range() outside the word or wider than 64 bits");
  }
};

template <int W>
using ap_uint_base = std::conditional_t<(W <= ap_detail::kMaxWidth), ap_fixed_base<W, W, false, AP_TRN, AP_WRAP>, ap_wide_uint<W>>;

template <int W>
struct ap_uint : ap_uint_base<W> {
  using base_type = ap_uint_base<W>;
  using base_type::base_type;
  constexpr ap_uint() = default;
  template <int W2, int I2, bool S2, ap_q_mode Q2, ap_o_mode O2>
  constexpr ap_uint(const ap_fixed_base<W2, I2, S2, Q2, O2>& x) : base_type(x) {}  // NOLINT
};
