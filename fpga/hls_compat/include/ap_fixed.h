#pragma once
// ap_fixed / ap_ufixed (and the base of ap_int / ap_uint): see ap_common.h.
#include "ap_common.h"

template <int W, int I, bool S, ap_q_mode Q = AP_TRN, ap_o_mode O = AP_WRAP>
struct ap_fixed_base {
  static constexpr int width = W;
  static constexpr int iwidth = I;
  static constexpr int fractional_bits = W - I;
  static constexpr bool is_signed = S;
  static constexpr ap_q_mode quantization = Q;
  static constexpr ap_o_mode overflow = O;
  using int128 = ap_detail::int128;

  int128 V = 0;  // the raw W-bit value: value = V * 2^-(W - I)

  constexpr ap_fixed_base() = default;
  /// From any fixed-point value: converted with this type's Q and O.
  template <int W2, int I2, bool S2, ap_q_mode Q2, ap_o_mode O2>
  constexpr ap_fixed_base(const ap_fixed_base<W2, I2, S2, Q2, O2>& x)  // NOLINT: implicit, as in Vitis
      : V(ap_detail::convert<W, I, S, Q, O>(x.V, W2 - I2)) {}
  constexpr ap_fixed_base(int x) : V(ap_detail::convert<W, I, S, Q, O>(x, 0)) {}            // NOLINT
  constexpr ap_fixed_base(unsigned x) : V(ap_detail::convert<W, I, S, Q, O>(x, 0)) {}       // NOLINT
  constexpr ap_fixed_base(long x) : V(ap_detail::convert<W, I, S, Q, O>(x, 0)) {}           // NOLINT
  constexpr ap_fixed_base(long long x) : V(ap_detail::convert<W, I, S, Q, O>(x, 0)) {}      // NOLINT
  constexpr ap_fixed_base(unsigned long x) : V(ap_detail::convert<W, I, S, Q, O>(x, 0)) {}  // NOLINT
  constexpr ap_fixed_base(bool x) : V(ap_detail::convert<W, I, S, Q, O>(x ? 1 : 0, 0)) {}   // NOLINT
  ap_fixed_base(double x) {  // NOLINT: exact double, then this type's Q and O
    const ap_detail::DoubleParts p = ap_detail::split_double(x);
    V = ap_detail::convert<W, I, S, Q, O>(p.raw, p.fractional_bits);
  }
  ap_fixed_base(float x) : ap_fixed_base(static_cast<double>(x)) {}  // NOLINT

  /// The raw bits as an integer (x.range() = raw loads weights exported as raw mantissas).
  struct range_ref {
    ap_fixed_base* target;
    int hi, lo;
    template <typename T>
    range_ref& operator=(T bits) {
      const int n = hi - lo + 1;
      const ap_detail::uint128 mask = ((ap_detail::uint128(1) << n) - 1) << lo;
      const ap_detail::uint128 raw = (ap_detail::uint128(target->V) & ~mask) | ((ap_detail::uint128(bits) << lo) & mask);
      target->V = ap_detail::wrap_shifted(int128(raw), 0, W, S);
      return *this;
    }
    [[nodiscard]] long long to_int64() const {
      const int n = hi - lo + 1;
      return static_cast<long long>((ap_detail::uint128(target->V) >> lo) & ((ap_detail::uint128(1) << n) - 1));
    }
    operator long long() const { return to_int64(); }  // NOLINT
  };
  range_ref range(int hi, int lo) { return {this, hi, lo}; }
  range_ref range() { return {this, W - 1, 0}; }
  [[nodiscard]] long long range(int hi, int lo) const { return range_ref{const_cast<ap_fixed_base*>(this), hi, lo}.to_int64(); }
  [[nodiscard]] long long range() const { return range(W - 1, 0); }

  /// Bit i of the raw value; assignable (hls4ml sets the sign bit to build a max-pool pad).
  struct bit_ref {
    ap_fixed_base* target;
    int index;
    bit_ref& operator=(bool bit) {
      target->range(index, index) = bit ? 1 : 0;
      return *this;
    }
    operator bool() const { return ((ap_detail::uint128(target->V) >> index) & 1) != 0; }  // NOLINT
  };
  bit_ref operator[](int i) { return {this, i}; }
  bool operator[](int i) const { return ((ap_detail::uint128(V) >> i) & 1) != 0; }

  [[nodiscard]] double to_double() const { return std::ldexp(static_cast<double>(V), -fractional_bits); }
  [[nodiscard]] float to_float() const { return static_cast<float>(to_double()); }
  /// Toward zero, as (int) on an ap_fixed.
  [[nodiscard]] int to_int() const {
    if (fractional_bits <= 0) return static_cast<int>(V * (int128(1) << (-fractional_bits)));
    const int128 magnitude = (V < 0 ? -V : V) >> fractional_bits;
    return static_cast<int>(V < 0 ? -magnitude : magnitude);
  }
  operator double() const { return to_double(); }  // NOLINT: implicit, as in Vitis

  /// Shifts by a runtime count keep the type: bits fall off, no Q or O.
  ap_fixed_base operator<<(int n) const {
    ap_fixed_base r;
    r.V = ap_detail::wrap_shifted(V, n, W, S);
    return r;
  }
  ap_fixed_base operator>>(int n) const {
    ap_fixed_base r;
    r.V = ap_detail::floor_shift(V, n);
    return r;
  }
};

namespace ap_detail {

/// The exact result types of §2.5 (modes AP_TRN / AP_WRAP).
template <int W1, int I1, bool S1, int W2, int I2, bool S2>
struct result_types {
  static constexpr int F1 = W1 - I1, F2 = W2 - I2;
  static constexpr int sum_i = max_int(I1 + (S2 && !S1 ? 1 : 0), I2 + (S1 && !S2 ? 1 : 0)) + 1;
  static constexpr int sum_f = max_int(F1, F2);
  using sum = ap_fixed_base<sum_i + sum_f, sum_i, S1 || S2>;
  using difference = ap_fixed_base<sum_i + sum_f, sum_i, true>;
  using product = ap_fixed_base<W1 + W2, I1 + I2, S1 || S2>;
};

/// a's raw value aligned (exactly) to f fractional bits.
template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O>
constexpr int128 raw_at(const ap_fixed_base<W, I, S, Q, O>& a, int f) {
  return a.V * (int128(1) << (f - (W - I)));
}

template <typename T>
struct as_fixed;  // C integers as <32,32> (signed or not), bool as unsigned <1,1>
template <> struct as_fixed<int> { using type = ap_fixed_base<32, 32, true>; };
template <> struct as_fixed<unsigned> { using type = ap_fixed_base<32, 32, false>; };
template <> struct as_fixed<long> { using type = ap_fixed_base<64, 64, true>; };
template <> struct as_fixed<long long> { using type = ap_fixed_base<64, 64, true>; };
template <> struct as_fixed<unsigned long> { using type = ap_fixed_base<64, 64, false>; };
template <> struct as_fixed<bool> { using type = ap_fixed_base<1, 1, false>; };

}  // namespace ap_detail

#define LARSEL_AP_BINARY(OP, KIND, EXPR)                                                                            \
  template <int W1, int I1, bool S1, ap_q_mode Q1, ap_o_mode O1, int W2, int I2, bool S2, ap_q_mode Q2, ap_o_mode O2> \
  constexpr auto operator OP(const ap_fixed_base<W1, I1, S1, Q1, O1>& a, const ap_fixed_base<W2, I2, S2, Q2, O2>& b) { \
    using R = typename ap_detail::result_types<W1, I1, S1, W2, I2, S2>::KIND;                                      \
    R r;                                                                                                            \
    r.V = EXPR;                                                                                                     \
    return r;                                                                                                       \
  }                                                                                                                 \
  template <int W1, int I1, bool S1, ap_q_mode Q1, ap_o_mode O1, typename T,                                        \
            typename = typename ap_detail::as_fixed<T>::type>                                                       \
  constexpr auto operator OP(const ap_fixed_base<W1, I1, S1, Q1, O1>& a, T b) {                                     \
    return a OP typename ap_detail::as_fixed<T>::type(b);                                                          \
  }                                                                                                                 \
  template <int W1, int I1, bool S1, ap_q_mode Q1, ap_o_mode O1, typename T,                                        \
            typename = typename ap_detail::as_fixed<T>::type>                                                       \
  constexpr auto operator OP(T a, const ap_fixed_base<W1, I1, S1, Q1, O1>& b) {                                     \
    return typename ap_detail::as_fixed<T>::type(a) OP b;                                                          \
  }

LARSEL_AP_BINARY(+, sum, ap_detail::raw_at(a, R::fractional_bits) + ap_detail::raw_at(b, R::fractional_bits))
LARSEL_AP_BINARY(-, difference, ap_detail::raw_at(a, R::fractional_bits) - ap_detail::raw_at(b, R::fractional_bits))
LARSEL_AP_BINARY(*, product, a.V * b.V)
#undef LARSEL_AP_BINARY

#define LARSEL_AP_COMPARE(OP)                                                                                       \
  template <int W1, int I1, bool S1, ap_q_mode Q1, ap_o_mode O1, int W2, int I2, bool S2, ap_q_mode Q2, ap_o_mode O2> \
  constexpr bool operator OP(const ap_fixed_base<W1, I1, S1, Q1, O1>& a, const ap_fixed_base<W2, I2, S2, Q2, O2>& b) { \
    constexpr int f = ap_detail::max_int(W1 - I1, W2 - I2);                                                        \
    return ap_detail::raw_at(a, f) OP ap_detail::raw_at(b, f);                                                     \
  }                                                                                                                 \
  template <int W1, int I1, bool S1, ap_q_mode Q1, ap_o_mode O1, typename T,                                        \
            typename = typename ap_detail::as_fixed<T>::type>                                                       \
  constexpr bool operator OP(const ap_fixed_base<W1, I1, S1, Q1, O1>& a, T b) {                                     \
    return a OP typename ap_detail::as_fixed<T>::type(b);                                                          \
  }

LARSEL_AP_COMPARE(==)
LARSEL_AP_COMPARE(!=)
LARSEL_AP_COMPARE(<)
LARSEL_AP_COMPARE(<=)
LARSEL_AP_COMPARE(>)
LARSEL_AP_COMPARE(>=)
#undef LARSEL_AP_COMPARE

/// -a: <W + 1, I + 1>, signed.
template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O>
constexpr ap_fixed_base<W + 1, I + 1, true> operator-(const ap_fixed_base<W, I, S, Q, O>& a) {
  ap_fixed_base<W + 1, I + 1, true> r;
  r.V = -a.V;
  return r;
}

/// Compound assignment: the exact result, converted into the left-hand type with its Q and O.
#define LARSEL_AP_COMPOUND(OP)                                                                          \
  template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O, typename T>                                 \
  ap_fixed_base<W, I, S, Q, O>& operator OP##=(ap_fixed_base<W, I, S, Q, O>& a, const T& b) {           \
    a = ap_fixed_base<W, I, S, Q, O>(a OP b);                                                           \
    return a;                                                                                           \
  }
LARSEL_AP_COMPOUND(+)
LARSEL_AP_COMPOUND(-)
LARSEL_AP_COMPOUND(*)
#undef LARSEL_AP_COMPOUND

template <int W, int I, ap_q_mode Q = AP_TRN, ap_o_mode O = AP_WRAP, int N = 0>
struct ap_fixed : ap_fixed_base<W, I, true, Q, O> {
  static_assert(N == 0, "LArSel ap_fixed: saturation bits N > 0 are not supported");
  using ap_fixed_base<W, I, true, Q, O>::ap_fixed_base;
  constexpr ap_fixed() = default;
  template <int W2, int I2, bool S2, ap_q_mode Q2, ap_o_mode O2>
  constexpr ap_fixed(const ap_fixed_base<W2, I2, S2, Q2, O2>& x) : ap_fixed_base<W, I, true, Q, O>(x) {}  // NOLINT
};

template <int W, int I, ap_q_mode Q = AP_TRN, ap_o_mode O = AP_WRAP, int N = 0>
struct ap_ufixed : ap_fixed_base<W, I, false, Q, O> {
  static_assert(N == 0, "LArSel ap_ufixed: saturation bits N > 0 are not supported");
  using ap_fixed_base<W, I, false, Q, O>::ap_fixed_base;
  constexpr ap_ufixed() = default;
  template <int W2, int I2, bool S2, ap_q_mode Q2, ap_o_mode O2>
  constexpr ap_ufixed(const ap_fixed_base<W2, I2, S2, Q2, O2>& x) : ap_fixed_base<W, I, false, Q, O>(x) {}  // NOLINT
};

#include "ap_int.h"
