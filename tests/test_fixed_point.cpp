// Fixed-point quantizers: hand-computed ap_fixed results for every
// quantization and overflow mode (hls-and-fpga.md §2.2-2.4, expected values
// worked out by hand in units of the LSB), an independent long-double oracle
// on random values, the raw requantization and the batch path against the
// scalar one, the straight-through gradient mask, and the format spellings.
#include <catch2/catch.hpp>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <utility>
#include <vector>

#include "larsel/models/fixed_point.hpp"

using namespace larsel::models;
using Q = Quantization;
using O = Overflow;

namespace {

constexpr std::array kModesQ{Q::trn, Q::trn_zero, Q::rnd, Q::rnd_zero, Q::rnd_min_inf, Q::rnd_inf, Q::rnd_conv};
constexpr std::array kModesO{O::wrap, O::sat, O::sat_zero, O::sat_sym};

FixedPointFormat fixed(int width, int integer_bits, Q q = Q::trn, O o = O::wrap) {
  return {width, integer_bits, true, q, o};
}
FixedPointFormat ufixed(int width, int integer_bits, Q q = Q::trn, O o = O::wrap) {
  return {width, integer_bits, false, q, o};
}

/// The value the format stores for x (double path) after checking that the
/// scalar and batch float paths give the same value (every hand-made input
/// below has the same verdicts as its nearest float, and every expected value
/// is a float).
double stored(double x, const FixedPointFormat& format) {
  const double value = from_raw(to_raw(x, format), format);
  CHECK(static_cast<double>(quantize(static_cast<float>(x), format)) == value);
  std::array<float, 1> batch{static_cast<float>(x)};
  quantize(batch, format);
  CHECK(static_cast<double>(batch[0]) == value);
  return value;
}

/// Independent oracle: §2.2/§2.3 read literally as "floor / toward zero /
/// nearest with a tie rule", then "keep the low W bits / clamp / zero", in
/// long double (64-bit significand), given the exact value * 2^F.
long double oracle_round(long double scaled, Q q) {
  const long double fl = std::floor(scaled);
  const long double frac = scaled - fl;  // exact when it matters (|scaled| >= 0.25 or scaled >= 0)
  if (q == Q::trn) return fl;
  if (q == Q::trn_zero) return std::trunc(scaled);
  if (frac < 0.5L) return fl;
  if (frac > 0.5L) return fl + 1;
  switch (q) {  // a tie
    case Q::rnd: return fl + 1;                                // toward +inf
    case Q::rnd_zero: return scaled < 0 ? fl + 1 : fl;         // toward 0
    case Q::rnd_min_inf: return fl;                            // toward -inf
    case Q::rnd_inf: return scaled < 0 ? fl : fl + 1;          // away from 0
    default: return std::fmod(fl, 2.0L) == 0 ? fl : fl + 1;    // rnd_conv: to even
  }
}

std::int64_t oracle_raw(long double scaled, const FixedPointFormat& f) {
  const long double v = oracle_round(scaled, f.quantization);
  const long double modulus = std::ldexp(1.0L, f.width);
  const long double low = f.is_signed ? -modulus / 2 : 0;
  const long double high = f.is_signed ? modulus / 2 - 1 : modulus - 1;
  const long double sym_low = (f.overflow == O::sat_sym && f.is_signed) ? -high : low;
  if (v >= sym_low && v <= high) return static_cast<std::int64_t>(v);
  switch (f.overflow) {
    case O::wrap: {
      long double bits = std::fmod(v, modulus);
      if (bits < 0) bits += modulus;
      if (f.is_signed && bits >= modulus / 2) bits -= modulus;
      return static_cast<std::int64_t>(bits);
    }
    case O::sat: return static_cast<std::int64_t>(v < low ? low : high);
    case O::sat_zero: return 0;
    case O::sat_sym: return static_cast<std::int64_t>(v < sym_low ? sym_low : high);
  }
  return 0;
}

/// Any width, F from -6 to width + 6 (negative integer_bits and I > W included).
FixedPointFormat random_format(std::mt19937_64& rng, Q q, O o) {
  const int width = std::uniform_int_distribution<int>(1, kMaxFixedPointWidth)(rng);
  const int integer_bits = std::uniform_int_distribution<int>(-6, width + 6)(rng);
  return {width, integer_bits, std::bernoulli_distribution(0.7)(rng), q, o};
}

}  // namespace

TEST_CASE("fixed-point format properties", "[fixed_point]") {
  const auto f = fixed(6, 3);  // F = 3: raw -32..31 -> -4 .. 3.875
  CHECK(f.fractional_bits() == 3);
  CHECK(f.lsb() == 0.125);
  CHECK(f.min_raw() == -32);
  CHECK(f.max_raw() == 31);
  CHECK(f.min_value() == -4.0);
  CHECK(f.max_value() == 3.875);
  const auto u = ufixed(6, 3);  // raw 0..63 -> 0 .. 7.875
  CHECK(u.min_value() == 0.0);
  CHECK(u.max_value() == 7.875);
  const auto wide = ufixed(32, 0);  // raw 0 .. 2^32 - 1, F = 32
  CHECK(wide.max_raw() == 4294967295LL);
  CHECK(wide.max_value() == 1.0 - std::ldexp(1.0, -32));
  CHECK(fixed(32, 32).min_raw() == -2147483648LL);
  CHECK(fixed(4, -2).lsb() == 1.0 / 64);  // F = 6
  CHECK(fixed(4, 6).lsb() == 4.0);        // F = -2
  CHECK(from_raw(-32, f) == -4.0);
  CHECK_THROWS_AS(from_raw(32, f), std::invalid_argument);  // beyond max_raw
  CHECK_THROWS_AS(from_raw(-1, u), std::invalid_argument);
}

TEST_CASE("fixed-point quantization modes on ties and non-ties of ap_fixed<6,3>", "[fixed_point]") {
  // LSB 0.125; columns trn, trn_zero, rnd, rnd_zero, rnd_min_inf, rnd_inf, rnd_conv.
  struct Row {
    double input;
    std::array<double, 7> expected;
  };
  const Row rows[] = {
      // +1.5 LSB, a tie; floor 1 (odd): trn/zero-ward/min_inf 1, rnd/inf 2, conv 2 (even).
      {0.1875, {0.125, 0.125, 0.25, 0.125, 0.125, 0.25, 0.25}},
      // -1.5 LSB, a tie; floor -2 (even): trn -2, trn_zero -1, rnd (+inf) -1, rnd_zero -1,
      // min_inf -2, inf (away) -2, conv -2.
      {-0.1875, {-0.25, -0.125, -0.125, -0.125, -0.25, -0.25, -0.25}},
      // +0.5 LSB, a tie; floor 0 (even): only rnd and rnd_inf go up to 1.
      {0.0625, {0.0, 0.0, 0.125, 0.0, 0.0, 0.125, 0.0}},
      // -0.5 LSB, a tie; floor -1 (odd): trn -1, trn_zero 0, rnd 0, rnd_zero 0,
      // min_inf -1, inf -1, conv 0 (even).
      {-0.0625, {-0.125, 0.0, 0.0, 0.0, -0.125, -0.125, 0.0}},
      // +10.4 LSB: trn and trn_zero 10, every rnd mode the nearest, 10.
      {1.3, {1.25, 1.25, 1.25, 1.25, 1.25, 1.25, 1.25}},
      // -10.4 LSB: trn -11, trn_zero -10, nearest -10.
      {-1.3, {-1.375, -1.25, -1.25, -1.25, -1.25, -1.25, -1.25}},
      // +10.8 LSB: trn and trn_zero 10, nearest 11.
      {1.35, {1.25, 1.25, 1.375, 1.375, 1.375, 1.375, 1.375}},
      // -10.8 LSB: trn -11, trn_zero -10, nearest -11.
      {-1.35, {-1.375, -1.25, -1.375, -1.375, -1.375, -1.375, -1.375}},
      // -2 LSB exactly, on the grid: no mode moves it.
      {-0.25, {-0.25, -0.25, -0.25, -0.25, -0.25, -0.25, -0.25}},
  };
  for (const Row& row : rows) {
    for (std::size_t m = 0; m < kModesQ.size(); ++m) {
      INFO("input " << row.input << " mode " << to_string(kModesQ[m]));
      const auto format = fixed(6, 3, kModesQ[m], O::sat);
      CHECK(stored(row.input, format) == row.expected[m]);
      CHECK(to_raw(row.input, format) == static_cast<std::int64_t>(row.expected[m] * 8));
    }
  }
}

TEST_CASE("fixed-point quantization modes match the reference table for ap_fixed<4,3>", "[fixed_point]") {
  // hls-and-fpga.md §2.2: LSB 0.5, every input an exact tie.
  const double inputs[] = {1.25, -1.25, 1.75, -1.75, 0.75, -0.75};
  const std::array<std::array<double, 6>, 7> expected{{
      {1.0, -1.5, 1.5, -2.0, 0.5, -1.0},  // AP_TRN
      {1.0, -1.0, 1.5, -1.5, 0.5, -0.5},  // AP_TRN_ZERO
      {1.5, -1.0, 2.0, -1.5, 1.0, -0.5},  // AP_RND
      {1.0, -1.0, 1.5, -1.5, 0.5, -0.5},  // AP_RND_ZERO
      {1.0, -1.5, 1.5, -2.0, 0.5, -1.0},  // AP_RND_MIN_INF
      {1.5, -1.5, 2.0, -2.0, 1.0, -1.0},  // AP_RND_INF
      {1.0, -1.0, 2.0, -2.0, 1.0, -1.0},  // AP_RND_CONV
  }};
  for (std::size_t m = 0; m < kModesQ.size(); ++m) {
    for (std::size_t i = 0; i < 6; ++i) {
      INFO("input " << inputs[i] << " mode " << to_string(kModesQ[m]));
      CHECK(stored(inputs[i], fixed(4, 3, kModesQ[m], O::sat)) == expected[m][i]);
    }
  }
}

TEST_CASE("fixed-point overflow modes", "[fixed_point]") {
  // ap_fixed<6,3,AP_TRN,O>: raw -32..31, LSB 0.125, range -4 .. 3.875. Scaled
  // inputs: 31, 32, 42.4 -> 42, -32, -31.2 -> -32, -33.6 -> -34, 72, -72.
  const double inputs[] = {3.875, 4.0, 5.3, -4.0, -3.9, -4.2, 9.0, -9.0};
  const std::array<std::array<double, 8>, 4> expected{{
      // wrap mod 64, signed: 32 -> -32, 42 -> -22, -34 -> 30, 72 -> 8, -72 -> -8.
      {3.875, -4.0, -2.75, -4.0, -4.0, 3.75, 1.0, -1.0},
      {3.875, 3.875, 3.875, -4.0, -4.0, -4.0, 3.875, -4.0},  // sat: clamp
      {3.875, 0.0, 0.0, -4.0, -4.0, 0.0, 0.0, 0.0},          // sat_zero: min itself is no overflow
      // sat_sym: [-max, max]; min (-32) itself becomes -31.
      {3.875, 3.875, 3.875, -3.875, -3.875, -3.875, 3.875, -3.875},
  }};
  for (std::size_t m = 0; m < kModesO.size(); ++m) {
    for (std::size_t i = 0; i < 8; ++i) {
      INFO("input " << inputs[i] << " mode " << to_string(kModesO[m]));
      CHECK(stored(inputs[i], fixed(6, 3, Q::trn, kModesO[m])) == expected[m][i]);
    }
  }
  // The reference's table (§2.3), ap_fixed<5,4,AP_TRN,O>, range -8 .. 7.5.
  const double inputs5[] = {8.0, 9.0, -8.0, -8.5, 17.0, -17.0};
  const std::array<std::array<double, 6>, 4> expected5{{
      {-8.0, -7.0, -8.0, 7.5, 1.0, -1.0},
      {7.5, 7.5, -8.0, -8.0, 7.5, -8.0},
      {0.0, 0.0, -8.0, 0.0, 0.0, 0.0},
      {7.5, 7.5, -7.5, -7.5, 7.5, -7.5},
  }};
  for (std::size_t m = 0; m < kModesO.size(); ++m) {
    for (std::size_t i = 0; i < 6; ++i) {
      INFO("input " << inputs5[i] << " mode " << to_string(kModesO[m]));
      CHECK(stored(inputs5[i], fixed(5, 4, Q::trn, kModesO[m])) == expected5[m][i]);
    }
  }
}

TEST_CASE("fixed-point rounding can overflow", "[fixed_point]") {
  // §2.3: 1.9 into ap_fixed<4,2,AP_RND>: 7.6 LSB rounds to 8 > max 7.
  CHECK(stored(1.9, fixed(4, 2, Q::rnd, O::wrap)) == -2.0);
  CHECK(stored(1.9, fixed(4, 2, Q::rnd, O::sat)) == 1.75);
  // 3.95 into ap_fixed<6,3,AP_RND>: 31.6 LSB rounds to 32 > 31.
  CHECK(stored(3.95, fixed(6, 3, Q::rnd, O::wrap)) == -4.0);
  CHECK(stored(3.95, fixed(6, 3, Q::rnd, O::sat)) == 3.875);
  CHECK(stored(3.95, fixed(6, 3, Q::rnd, O::sat_zero)) == 0.0);
  CHECK(stored(3.95, fixed(6, 3, Q::trn, O::sat_zero)) == 3.875);  // floor 31 fits
  // -3.95: -31.6 LSB rounds to -32 = min, which sat_sym turns into -31.
  CHECK(stored(-3.95, fixed(6, 3, Q::rnd, O::sat_sym)) == -3.875);
  CHECK(stored(-3.95, fixed(6, 3, Q::rnd, O::sat)) == -4.0);
}

TEST_CASE("fixed-point ap_ufixed with negative and large inputs", "[fixed_point]") {
  // §2.3: ap_ufixed<4,4> (0..15): 19 -> 15 (sat) or 3 (wrap); -3 -> 0 (sat) or 13 (wrap).
  CHECK(stored(19, ufixed(4, 4, Q::trn, O::sat)) == 15.0);
  CHECK(stored(19, ufixed(4, 4, Q::trn, O::wrap)) == 3.0);
  CHECK(stored(-3, ufixed(4, 4, Q::trn, O::sat)) == 0.0);
  CHECK(stored(-3, ufixed(4, 4, Q::trn, O::wrap)) == 13.0);
  CHECK(stored(19, ufixed(4, 4, Q::trn, O::sat_zero)) == 0.0);
  CHECK(stored(-3, ufixed(4, 4, Q::trn, O::sat_zero)) == 0.0);
  CHECK(stored(19, ufixed(4, 4, Q::trn, O::sat_sym)) == 15.0);  // unsigned sat_sym = sat
  CHECK(stored(-3, ufixed(4, 4, Q::trn, O::sat_sym)) == 0.0);
  // ap_ufixed<6,3> (raw 0..63, LSB 0.125): -0.0625 is -0.5 LSB.
  CHECK(stored(-0.0625, ufixed(6, 3, Q::trn, O::wrap)) == 7.875);  // floor -1 wraps to 63
  CHECK(stored(-0.0625, ufixed(6, 3, Q::trn, O::sat)) == 0.0);
  CHECK(stored(-0.0625, ufixed(6, 3, Q::rnd, O::wrap)) == 0.0);          // tie up to 0: no overflow
  CHECK(stored(-0.0625, ufixed(6, 3, Q::rnd_min_inf, O::wrap)) == 7.875);  // tie down to -1
  CHECK(stored(-0.01, ufixed(6, 3, Q::trn_zero, O::wrap)) == 0.0);
  CHECK(stored(8.0, ufixed(6, 3, Q::trn, O::wrap)) == 0.0);  // 64 mod 64
  CHECK(stored(8.0, ufixed(6, 3, Q::trn, O::sat)) == 7.875);
}

TEST_CASE("fixed-point negative and large integer_bits", "[fixed_point]") {
  // ap_fixed<4,-2>: F = 6, LSB 1/64, raw -8..7 -> -0.125 .. 0.109375.
  CHECK(stored(0.05, fixed(4, -2, Q::trn)) == 3.0 / 64);   // 3.2 LSB
  CHECK(stored(0.06, fixed(4, -2, Q::rnd)) == 4.0 / 64);   // 3.84 LSB
  CHECK(stored(0.2, fixed(4, -2, Q::trn, O::sat)) == 7.0 / 64);    // 12.8 -> 12 > 7
  CHECK(stored(0.2, fixed(4, -2, Q::trn, O::wrap)) == -4.0 / 64);  // 12 - 16
  CHECK(stored(-0.2, fixed(4, -2, Q::trn, O::sat)) == -8.0 / 64);  // -12.8 -> -13 < -8
  CHECK(stored(-0.2, fixed(4, -2, Q::trn, O::wrap)) == 3.0 / 64);  // -13 + 16
  // ap_ufixed<1,-1> holds 0 or 0.25 (§2.1): F = 2, raw 0..1.
  CHECK(stored(0.3, ufixed(1, -1)) == 0.25);                      // 1.2 LSB
  CHECK(stored(0.6, ufixed(1, -1, Q::trn, O::sat)) == 0.25);      // 2.4 -> 2 > 1
  CHECK(stored(0.6, ufixed(1, -1, Q::trn, O::wrap)) == 0.0);      // 2 mod 2
  CHECK(stored(0.125, ufixed(1, -1, Q::rnd)) == 0.25);            // tie 0.5 up
  CHECK(stored(0.125, ufixed(1, -1, Q::rnd_conv)) == 0.0);        // tie to even 0
  CHECK(stored(0.1, ufixed(1, -1, Q::rnd)) == 0.0);               // 0.4 LSB
  // ap_fixed<4,6>: F = -2, LSB 4, raw -8..7 -> -32 .. 28.
  CHECK(stored(10, fixed(4, 6, Q::trn)) == 8.0);        // 2.5 LSB
  CHECK(stored(10, fixed(4, 6, Q::rnd)) == 12.0);
  CHECK(stored(10, fixed(4, 6, Q::rnd_conv)) == 8.0);   // 2 is even
  CHECK(stored(-10, fixed(4, 6, Q::trn)) == -12.0);     // -2.5 -> -3
  CHECK(stored(-10, fixed(4, 6, Q::trn_zero)) == -8.0);
  CHECK(stored(-10, fixed(4, 6, Q::rnd_conv)) == -8.0);  // -2 is even
  CHECK(stored(-10, fixed(4, 6, Q::rnd_inf)) == -12.0);
  CHECK(stored(30, fixed(4, 6, Q::trn, O::sat)) == 28.0);  // 7.5 -> 7
  CHECK(stored(30, fixed(4, 6, Q::rnd, O::sat)) == 28.0);  // 7.5 -> 8 > 7
  CHECK(stored(30, fixed(4, 6, Q::rnd, O::wrap)) == -32.0);  // 8 - 16
}

TEST_CASE("fixed-point requantize_raw hand cases", "[fixed_point]") {
  // An accumulator with F = 10 cast to ap_fixed<6,3> (F = 3): divide by 2^7.
  // 1600 / 128 = 12.5, a tie; -1600 / 128 = -12.5 (floor -13).
  const std::int64_t up[] = {12, 12, 13, 12, 12, 13, 12};       // trn .. rnd_conv (12 even)
  const std::int64_t down[] = {-13, -12, -12, -12, -13, -13, -12};  // rnd_conv: -12 even
  for (std::size_t m = 0; m < kModesQ.size(); ++m) {
    INFO("mode " << to_string(kModesQ[m]));
    CHECK(requantize_raw(1600, 10, fixed(6, 3, kModesQ[m])) == up[m]);
    CHECK(requantize_raw(-1600, 10, fixed(6, 3, kModesQ[m])) == down[m]);
    CHECK(requantize_raw(1601, 10, fixed(6, 3, kModesQ[m])) == (m < 2 ? 12 : 13));  // 12.508
  }
  CHECK(requantize_raw(5, 1, fixed(6, 3)) == 20);          // 2.5 -> 20 LSB, exact
  CHECK(requantize_raw(3, -4, fixed(16, 8)) == 12288);     // 48 * 2^8
  CHECK(requantize_raw(40000, 10, fixed(6, 3, Q::trn, O::sat)) == 31);   // 312.5 LSB
  CHECK(requantize_raw(40000, 10, fixed(6, 3, Q::trn, O::wrap)) == -8);  // 312 mod 64 = 56 -> -8
  // INT64_MIN * 2^-64 = -0.5: into F = 0 it is a tie between -1 and 0.
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  CHECK(requantize_raw(kMin, 64, fixed(4, 4, Q::rnd)) == 0);
  CHECK(requantize_raw(kMin, 64, fixed(4, 4, Q::rnd_inf)) == -1);
  CHECK(requantize_raw(kMin, 64, fixed(4, 4, Q::rnd_conv)) == 0);
  CHECK(requantize_raw(kMin, 64, fixed(4, 0)) == -8);  // exactly min of ap_fixed<4,0>
  CHECK(requantize_raw(kMin, 67, fixed(4, 2, Q::trn)) == -1);  // -0.0625 = -0.25 LSB
  CHECK(requantize_raw(kMin, 67, fixed(4, 2, Q::rnd)) == 0);
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  CHECK(requantize_raw(kMax, 0, fixed(8, 8, Q::trn, O::sat)) == 127);
  CHECK(requantize_raw(kMax, 0, fixed(8, 8, Q::trn, O::wrap)) == -1);  // low 8 bits all ones
  CHECK(requantize_raw(1, -100, fixed(8, 8, Q::trn, O::sat)) == 127);  // 2^100
  CHECK(requantize_raw(1, -100, fixed(8, 8, Q::trn, O::wrap)) == 0);
  CHECK(requantize_raw(-1, 1000, fixed(8, 8, Q::trn)) == -1);       // a tiny negative floors to -1
  CHECK(requantize_raw(-1, 1000, fixed(8, 8, Q::trn_zero)) == 0);
  CHECK(requantize_raw(-1, 1000, fixed(8, 8, Q::rnd_min_inf)) == 0);  // not a tie
}

TEST_CASE("fixed-point requantize_raw and to_raw agree with an oracle for every mode", "[fixed_point]") {
  std::mt19937_64 rng(20240611);
  for (const Q q : kModesQ) {
    for (const O o : kModesO) {
      for (int trial = 0; trial < 1500; ++trial) {
        const FixedPointFormat out = random_format(rng, q, o);
        // A wider accumulator-like source: up to 40-bit raws (exact as doubles).
        const int from_bits = std::uniform_int_distribution<int>(-8, 40)(rng);
        const int source_width = std::uniform_int_distribution<int>(1, 40)(rng);
        const std::int64_t limit = std::int64_t{1} << (source_width - 1);
        const std::int64_t raw = std::uniform_int_distribution<std::int64_t>(-limit, limit - 1)(rng);
        const double value = std::ldexp(static_cast<double>(raw), -from_bits);
        const std::int64_t expected =
            oracle_raw(std::ldexp(static_cast<long double>(raw), out.fractional_bits() - from_bits), out);
        INFO(out.to_string() << " raw " << raw << " from F " << from_bits);
        REQUIRE(requantize_raw(raw, from_bits, out) == expected);
        REQUIRE(to_raw(value, out) == expected);
        if (source_width <= 24) {  // the source value is a float: the training path agrees too
          const float q_value = quantize(static_cast<float>(value), out);
          REQUIRE(q_value == static_cast<float>(from_raw(expected, out)));
        }
        // Any 64-bit raw, against the oracle alone.
        const std::int64_t wide = static_cast<std::int64_t>(rng());
        const int wide_bits = std::uniform_int_distribution<int>(-4, 90)(rng);
        REQUIRE(requantize_raw(wide, wide_bits, out) ==
                oracle_raw(std::ldexp(static_cast<long double>(wide), out.fractional_bits() - wide_bits), out));
      }
    }
  }
}

TEST_CASE("fixed-point batch quantize matches the scalar path bit for bit", "[fixed_point]") {
  std::mt19937_64 rng(7);
  std::vector<float> values;
  const float specials[] = {0.0f, -0.0f, std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::max(),
                            std::numeric_limits<float>::lowest(), std::numeric_limits<float>::denorm_min(),
                            -std::numeric_limits<float>::denorm_min(), 1e-30f, -1e-30f, 4294967296.0f};
  for (const Q q : kModesQ) {
    for (const O o : kModesO) {
      for (int trial = 0; trial < 40; ++trial) {
        const FixedPointFormat format = random_format(rng, q, o);
        values.assign(std::begin(specials), std::end(specials));
        const double lsb = format.lsb();
        for (int i = 0; i < 200; ++i) {
          // Exact ties and grid points near the range, and values of any magnitude.
          const auto k = std::uniform_int_distribution<std::int64_t>(-(1LL << 34), 1LL << 34)(rng);
          values.push_back(static_cast<float>(static_cast<double>(k) * 0.5 * lsb));
          const float magnitude = std::ldexp(1.0f, std::uniform_int_distribution<int>(-100, 100)(rng));
          values.push_back(std::uniform_real_distribution<float>(-2.0f, 2.0f)(rng) * magnitude);
        }
        std::vector<float> batch = values;
        quantize(batch, format);
        for (std::size_t i = 0; i < values.size(); ++i) {
          INFO(format.to_string() << " input " << values[i]);
          REQUIRE(std::bit_cast<std::uint32_t>(batch[i]) == std::bit_cast<std::uint32_t>(quantize(values[i], format)));
        }
      }
    }
  }
}

TEST_CASE("fixed-point infinities saturate or wrap to zero and NaN is refused", "[fixed_point]") {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  // ap_fixed<8,3>: raw -128..127. ap_fixed reads inf as 2^1024: low bits all zero.
  CHECK(to_raw(kInf, fixed(8, 3, Q::trn, O::sat)) == 127);
  CHECK(to_raw(-kInf, fixed(8, 3, Q::trn, O::sat)) == -128);
  CHECK(to_raw(-kInf, fixed(8, 3, Q::trn, O::sat_sym)) == -127);
  CHECK(to_raw(kInf, fixed(8, 3, Q::rnd, O::sat_zero)) == 0);
  CHECK(to_raw(kInf, fixed(8, 3, Q::trn, O::wrap)) == 0);
  CHECK(to_raw(-kInf, ufixed(8, 3, Q::trn, O::sat)) == 0);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(to_raw(nan, fixed(8, 3)), Catch::Contains("NaN"));
  CHECK_THROWS_AS(quantize(static_cast<float>(nan), fixed(8, 3)), std::invalid_argument);
  std::vector<float> values{1.0f, static_cast<float>(nan)};
  CHECK_THROWS_AS(quantize(values, fixed(8, 3)), std::invalid_argument);
  CHECK(values[0] == 1.0f);  // left unchanged
}

TEST_CASE("fixed-point straight-through gradients", "[fixed_point]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // ap_fixed<6,3>: range -4 .. 3.875 (sat_sym: -3.875 .. 3.875).
  const std::vector<float> inputs{-5.0f, -4.0f, -3.9f, 0.0f, 3.875f, 3.9f, 4.5f, nan};
  const auto run = [&](const FixedPointFormat& format) {
    std::vector<float> gradients{1, 2, 3, 4, 5, 6, 7, 8};
    straight_through(inputs, gradients, format);
    return gradients;
  };
  // sat and sat_zero: the gradient passes in [min, max], is zero outside.
  CHECK(run(fixed(6, 3, Q::rnd, O::sat)) == std::vector<float>{0, 2, 3, 4, 5, 0, 0, 0});
  CHECK(run(fixed(6, 3, Q::trn, O::sat_zero)) == std::vector<float>{0, 2, 3, 4, 5, 0, 0, 0});
  // sat_sym: -4 and -3.9 are below -max.
  CHECK(run(fixed(6, 3, Q::rnd, O::sat_sym)) == std::vector<float>{0, 0, 0, 4, 5, 0, 0, 0});
  // wrap: passes everywhere.
  CHECK(run(fixed(6, 3, Q::rnd, O::wrap)) == std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8});
  // ap_ufixed<6,3,AP_TRN,AP_SAT>: 0 .. 7.875, negatives are outside.
  CHECK(run(ufixed(6, 3, Q::trn, O::sat)) == std::vector<float>{0, 0, 0, 4, 5, 6, 7, 0});
  std::vector<float> short_gradients(3);
  CHECK_THROWS_AS(straight_through(inputs, short_gradients, fixed(6, 3)), std::invalid_argument);
}

TEST_CASE("fixed-point HLS spelling round trip", "[fixed_point]") {
  CHECK(fixed(8, 3, Q::rnd_conv, O::sat).to_string() == "ap_fixed<8,3,AP_RND_CONV,AP_SAT>");
  CHECK(ufixed(1, -1).to_string() == "ap_ufixed<1,-1,AP_TRN,AP_WRAP>");
  CHECK(FixedPointFormat{}.to_string() == "ap_fixed<16,6,AP_TRN,AP_WRAP>");
  CHECK(fixed(12, 4, Q::rnd_min_inf, O::sat_sym).to_string() == "ap_fixed<12,4,AP_RND_MIN_INF,AP_SAT_SYM>");
  CHECK(ufixed(10, 12, Q::trn_zero, O::sat_zero).to_string() == "ap_ufixed<10,12,AP_TRN_ZERO,AP_SAT_ZERO>");
  for (const Q q : kModesQ) {
    for (const O o : kModesO) {
      for (const bool is_signed : {true, false}) {
        const FixedPointFormat format{7, -3, is_signed, q, o};
        CHECK(parse_fixed_point_format(format.to_string()) == format);
      }
    }
  }
  CHECK(parse_fixed_point_format("ap_fixed<16,6>") == FixedPointFormat{});
  CHECK(parse_fixed_point_format("ap_ufixed<8,0,AP_RND>") == ufixed(8, 0, Q::rnd));
  CHECK(parse_fixed_point_format(" ap_fixed< 8 , 3 , AP_RND_CONV , AP_SAT , 0 > ") ==
        fixed(8, 3, Q::rnd_conv, O::sat));
  CHECK_THROWS_WITH(parse_fixed_point_format("ap_int<8>"), Catch::Contains("ap_fixed or ap_ufixed"));
  CHECK_THROWS_WITH(parse_fixed_point_format("ap_fixed<8>"), Catch::Contains("2 to 5"));
  CHECK_THROWS_WITH(parse_fixed_point_format("ap_fixed<8,3"), Catch::Contains("<W,I"));
  CHECK_THROWS_WITH(parse_fixed_point_format("ap_fixed<8,x>"), Catch::Contains("I must be an integer"));
  CHECK_THROWS_WITH(parse_fixed_point_format("ap_fixed<8,3,AP_ROUND>"), Catch::Contains("AP_RND_CONV"));
  CHECK_THROWS_WITH(parse_fixed_point_format("ap_fixed<8,3,AP_TRN,AP_WRAP_SM>"), Catch::Contains("AP_WRAP_SM"));
  CHECK_THROWS_WITH(parse_fixed_point_format("ap_fixed<8,3,AP_TRN,AP_SAT,1>"), Catch::Contains("N > 0"));
  CHECK_THROWS_WITH(parse_fixed_point_format("ap_fixed<40,3>"), Catch::Contains("'width'"));
}

TEST_CASE("fixed-point JSON round trip and errors naming the field", "[fixed_point]") {
  const auto format = fixed(8, 3, Q::rnd_conv, O::sat);
  const auto json =
      nlohmann::json::parse(R"({"width":8,"integer":3,"rounding":"rnd_conv","overflow":"sat","signed":true})");
  CHECK(to_json(format) == json);
  CHECK(fixed_point_format_from_json(json) == format);
  for (const Q q : kModesQ) {
    for (const O o : kModesO) {
      const FixedPointFormat f{5, 9, false, q, o};
      CHECK(fixed_point_format_from_json(to_json(f)) == f);
    }
  }
  CHECK(fixed_point_format_from_json(nlohmann::json::object()) == FixedPointFormat{});  // defaults
  const std::pair<const char*, const char*> bad[] = {
      {R"({"width":"8"})", "'width'"},         {R"({"width":0})", "'width'"},
      {R"({"width":8,"integer":100})", "'integer'"}, {R"({"integer":1.5})", "'integer'"},
      {R"({"rounding":"nearest"})", "'rounding'"},   {R"({"overflow":"clip"})", "'overflow'"},
      {R"({"signed":1})", "'signed'"},         {R"({"bits":8})", "'bits'"},
  };
  for (const auto& [text, field] : bad) {
    INFO(text);
    CHECK_THROWS_WITH(fixed_point_format_from_json(nlohmann::json::parse(text)), Catch::Contains(field));
  }
  CHECK_THROWS_AS(fixed_point_format_from_json(nlohmann::json::array()), std::invalid_argument);
}

TEST_CASE("fixed-point bad formats throw naming the field", "[fixed_point]") {
  CHECK_NOTHROW(fixed(1, 1).validate());
  CHECK_NOTHROW(fixed(32, 32 - 64).validate());  // F = 64
  CHECK_NOTHROW(fixed(32, 32 + 64).validate());  // F = -64
  CHECK_THROWS_WITH(fixed(0, 0).validate(), Catch::Contains("'width'"));
  CHECK_THROWS_WITH(fixed(33, 6).validate(), Catch::Contains("'width'"));
  CHECK_THROWS_WITH(fixed(8, 8 - 65).validate(), Catch::Contains("'integer_bits'"));
  CHECK_THROWS_WITH(fixed(8, 8 + 65).validate(), Catch::Contains("'integer_bits'"));
  CHECK_THROWS_WITH(fixed(8, 3, static_cast<Q>(99)).validate(), Catch::Contains("'quantization'"));
  CHECK_THROWS_WITH(fixed(8, 3, Q::trn, static_cast<O>(7)).validate(), Catch::Contains("'overflow'"));
  // Every entry point checks its format.
  CHECK_THROWS_AS(to_raw(1.0, fixed(0, 0)), std::invalid_argument);
  CHECK_THROWS_AS(quantize(1.0f, fixed(40, 3)), std::invalid_argument);
  CHECK_THROWS_AS(requantize_raw(1, 0, fixed(8, 100)), std::invalid_argument);
  std::vector<float> values{1.0f};
  CHECK_THROWS_AS(quantize(values, fixed(0, 0)), std::invalid_argument);
  CHECK_THROWS_AS(straight_through(values, values, fixed(0, 0)), std::invalid_argument);
}
