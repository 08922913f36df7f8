// LArSel's C-simulation ap_fixed / ap_int / hls::stream (fpga/hls_compat):
// the worked examples of hls-and-fpga.md §2.2-2.5 by hand, and conversions
// against the independent integer reference of larsel::models (requantize_raw,
// to_raw) for every rounding and overflow mode.
#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <type_traits>

#include <ap_fixed.h>
#include <ap_int.h>
#include <hls_stream.h>

#include "larsel/models/fixed_point.hpp"

namespace m = larsel::models;

namespace {

/// The six exact ties of §2.2 into ap_fixed<4,3,Q,AP_SAT>.
template <ap_q_mode Q>
std::vector<double> ties() {
  std::vector<double> out;
  for (double x : {1.25, -1.25, 1.75, -1.75, 0.75, -0.75}) out.push_back(ap_fixed<4, 3, Q, AP_SAT>(x).to_double());
  return out;
}

/// §2.3: 8, 9, -8, -8.5, 17, -17 into ap_fixed<5,4,AP_TRN,O>.
template <ap_o_mode O>
std::vector<double> overflows() {
  std::vector<double> out;
  for (double x : {8.0, 9.0, -8.0, -8.5, 17.0, -17.0}) out.push_back(ap_fixed<5, 4, AP_TRN, O>(x).to_double());
  return out;
}

m::Quantization quantization_of(ap_q_mode q) {
  switch (q) {
    case AP_RND: return m::Quantization::rnd;
    case AP_RND_ZERO: return m::Quantization::rnd_zero;
    case AP_RND_MIN_INF: return m::Quantization::rnd_min_inf;
    case AP_RND_INF: return m::Quantization::rnd_inf;
    case AP_RND_CONV: return m::Quantization::rnd_conv;
    case AP_TRN: return m::Quantization::trn;
    default: return m::Quantization::trn_zero;
  }
}

m::Overflow overflow_of(ap_o_mode o) {
  switch (o) {
    case AP_SAT: return m::Overflow::sat;
    case AP_SAT_ZERO: return m::Overflow::sat_zero;
    case AP_SAT_SYM: return m::Overflow::sat_sym;
    default: return m::Overflow::wrap;
  }
}

/// Random fixed->fixed and double->fixed conversions into Target against models::requantize_raw / to_raw.
template <typename Target>
void check_against_reference(std::mt19937_64& rng) {
  const m::FixedPointFormat format{Target::width, Target::iwidth, Target::is_signed,
                                   quantization_of(Target::quantization), overflow_of(Target::overflow)};
  INFO(format.to_string());
  std::uniform_int_distribution<long long> raw40(-(1LL << 39), (1LL << 39) - 1);
  std::uniform_real_distribution<double> real(-300.0, 300.0);
  std::size_t mismatches = 0;
  for (int i = 0; i < 20000; ++i) {
    ap_fixed<40, 20> source;
    source.V = raw40(rng) >> (i % 30);  // small and large magnitudes, many exact ties
    const Target converted(source);
    if (static_cast<long long>(converted.V) != m::requantize_raw(static_cast<long long>(source.V), 20, format)) ++mismatches;
    const double x = real(rng) / static_cast<double>(1 << (i % 12));
    if (static_cast<long long>(Target(x).V) != m::to_raw(x, format)) ++mismatches;
  }
  CHECK(mismatches == 0);
}

}  // namespace

TEST_CASE("ap_fixed quantization modes give the worked ties of the reference", "[hls_types]") {
  CHECK(ties<AP_TRN>() == std::vector<double>{1.0, -1.5, 1.5, -2.0, 0.5, -1.0});
  CHECK(ties<AP_TRN_ZERO>() == std::vector<double>{1.0, -1.0, 1.5, -1.5, 0.5, -0.5});
  CHECK(ties<AP_RND>() == std::vector<double>{1.5, -1.0, 2.0, -1.5, 1.0, -0.5});
  CHECK(ties<AP_RND_ZERO>() == std::vector<double>{1.0, -1.0, 1.5, -1.5, 0.5, -0.5});
  CHECK(ties<AP_RND_MIN_INF>() == std::vector<double>{1.0, -1.5, 1.5, -2.0, 0.5, -1.0});
  CHECK(ties<AP_RND_INF>() == std::vector<double>{1.5, -1.5, 2.0, -2.0, 1.0, -1.0});
  CHECK(ties<AP_RND_CONV>() == std::vector<double>{1.0, -1.0, 2.0, -2.0, 1.0, -1.0});
}

TEST_CASE("ap_fixed overflow modes give the worked cases of the reference", "[hls_types]") {
  CHECK(overflows<AP_WRAP>() == std::vector<double>{-8.0, -7.0, -8.0, 7.5, 1.0, -1.0});
  CHECK(overflows<AP_SAT>() == std::vector<double>{7.5, 7.5, -8.0, -8.0, 7.5, -8.0});
  CHECK(overflows<AP_SAT_ZERO>() == std::vector<double>{0, 0, -8.0, 0, 0, 0});
  CHECK(overflows<AP_SAT_SYM>() == std::vector<double>{7.5, 7.5, -7.5, -7.5, 7.5, -7.5});
  CHECK(ap_ufixed<4, 4, AP_TRN, AP_SAT>(19).to_double() == 15);
  CHECK(ap_ufixed<4, 4>(19).to_double() == 3);
  CHECK(ap_ufixed<4, 4, AP_TRN, AP_SAT>(-3).to_double() == 0);
  CHECK(ap_ufixed<4, 4>(-3).to_double() == 13);
  CHECK(ap_fixed<4, 2, AP_RND, AP_WRAP>(1.9).to_double() == -2.0);  // rounding can overflow
  CHECK(ap_fixed<4, 2, AP_RND, AP_SAT>(1.9).to_double() == 1.75);
  CHECK(ap_ufixed<1, -1>(0.25).to_double() == 0.25);  // integer bits may be negative
}

TEST_CASE("ap_fixed operators have the exact widened result types", "[hls_types]") {
  const ap_fixed<8, 3> a = 2.375;
  const ap_fixed<6, 2> b = -1.25;
  using product = decltype(a * b);
  using sum = decltype(a + b);
  STATIC_REQUIRE(product::width == 14);
  STATIC_REQUIRE(product::iwidth == 5);
  STATIC_REQUIRE(sum::width == 9);
  STATIC_REQUIRE(sum::iwidth == 4);
  STATIC_REQUIRE(decltype(a * 3)::width == 40);
  STATIC_REQUIRE(decltype(a * 3)::iwidth == 35);
  STATIC_REQUIRE(decltype(-a)::width == 9);
  STATIC_REQUIRE(decltype(ap_ufixed<8, 4>(1) - ap_ufixed<8, 4>(2))::is_signed);
  CHECK((a * b).to_double() == 2.375 * -1.25);
  CHECK((a + b).to_double() == 2.375 - 1.25);
  CHECK((a - b).to_double() == 2.375 + 1.25);
  CHECK((a * 3).to_double() == 7.125);
  CHECK(a > b);
  CHECK(a == ap_fixed<16, 6>(2.375));
  CHECK(b < 0);
  CHECK(a > 0.5);  // a double compare through operator double, as in Vitis
  ap_fixed<8, 3, AP_TRN, AP_SAT> accumulator = 0;
  for (int i = 0; i < 5; ++i) accumulator += a;  // converted into the LHS type at every step: saturates at 3.96875
  CHECK(accumulator.to_double() == 3.96875);
  ap_fixed<8, 3> wrapping = 0;
  for (int i = 0; i < 2; ++i) wrapping += a;  // 4.75 wraps in <8,3>
  CHECK(wrapping.to_double() == 4.75 - 8);
}

TEST_CASE("ap_fixed conversions to int, shifts, bits and raw ranges", "[hls_types]") {
  CHECK(ap_fixed<8, 5>(-7.5).to_int() == -7);
  CHECK(ap_fixed<8, 5>(7.5).to_int() == 7);
  CHECK((ap_fixed<6, 3>(3.25) << 1).to_double() == -1.5);  // bits fall off, no Q or O
  CHECK((ap_fixed<6, 3>(-3.375) >> 1).to_double() == -1.75);  // raw -27 >> 1: the low bit falls off (floor)
  ap_fixed<8, 3> w;
  w.range() = 0xB4;  // the raw mantissa 0b10110100 = -76 -> -76 / 32
  CHECK(w.to_double() == -76.0 / 32);
  CHECK(w.range() == 0xB4);
  CHECK(w.range(7, 4) == 0xB);
  ap_fixed<8, 3> pad = 0;
  pad[7] = 1;  // hls4ml's most negative value for max-pool padding
  CHECK(pad.to_double() == -4.0);
  CHECK(pad[7]);
  CHECK_FALSE(pad[0]);
  ap_int<8> j = 127 + ap_int<8>(1);  // assignment always wraps
  CHECK(j.to_int() == -128);
  ap_uint<4> u = 17;
  CHECK(u.to_int() == 1);
  CHECK((ap_int<8>(100) * ap_int<8>(100)).to_int() == 10000);  // ap_int<16> product, exact
}

TEST_CASE("ap_fixed conversions equal the independent integer reference for every mode", "[hls_types]") {
  std::mt19937_64 rng(42);
  check_against_reference<ap_fixed<8, 3, AP_RND_CONV, AP_SAT>>(rng);
  check_against_reference<ap_fixed<6, 1, AP_RND_INF, AP_SAT_SYM>>(rng);
  check_against_reference<ap_ufixed<8, 4, AP_RND, AP_SAT>>(rng);
  check_against_reference<ap_fixed<16, 6>>(rng);
  check_against_reference<ap_fixed<10, -2, AP_TRN_ZERO, AP_SAT_ZERO>>(rng);
  check_against_reference<ap_fixed<12, 14, AP_RND_ZERO, AP_WRAP>>(rng);
  check_against_reference<ap_fixed<5, 2, AP_RND_MIN_INF, AP_SAT>>(rng);
  check_against_reference<ap_ufixed<6, 6, AP_TRN, AP_WRAP>>(rng);
  check_against_reference<ap_fixed<24, 12, AP_RND, AP_SAT_SYM>>(rng);
}

TEST_CASE("hls::stream is a FIFO and names itself when read empty", "[hls_types]") {
  hls::stream<ap_fixed<16, 6>> s("conv1_out");
  for (int i = 0; i < 4; ++i) s.write(ap_fixed<16, 6>(i * 0.5));
  CHECK(s.size() == 4);
  ap_fixed<16, 6> x;
  s >> x;
  CHECK(x.to_double() == 0.0);
  CHECK(s.read().to_double() == 0.5);
  CHECK(s.read().to_double() == 1.0);
  CHECK(s.read().to_double() == 1.5);
  CHECK(s.empty());
  CHECK_THROWS_WITH(s.read(), Catch::Contains("conv1_out") && Catch::Contains("empty"));
}

TEST_CASE("ap_uint<512>: a bus word with the memory layout of its bytes and range access", "[hls_types]") {
  static_assert(sizeof(ap_uint<512>) == 64);
  ap_uint<512> word = 0;
  for (int b = 0; b < 64; ++b) word.range(8 * b + 7, 8 * b) = 3 * b + 1;
  unsigned char bytes[64];
  std::memcpy(bytes, &word, sizeof bytes);
  for (int b = 0; b < 64; ++b) CHECK(bytes[b] == 3 * b + 1);
  CHECK(word.range(15, 8) == 4u);
  CHECK(word.range(71, 60) == ((word.range(71, 64) << 4) | (word.range(63, 60))));
  ap_ufixed<8, 4> pixel;
  pixel.range() = word.range(511, 504);
  CHECK(pixel.to_double() == (3 * 63 + 1) / 16.0);
  CHECK_THROWS_AS(word.range(512, 505), std::out_of_range);
}
