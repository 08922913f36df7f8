#pragma once
// Fixed-point quantizers with the semantics of Vitis HLS ap_fixed<W,I,Q,O> /
// ap_ufixed<W,I,Q,O> (hls-and-fpga.md §2). A value is stored as a W-bit
// two's-complement (or unsigned) raw integer V and means V * 2^-F, F = W - I.
// Converting a value into a format first quantizes it to the format's grid
// (mode Q), then handles overflow (mode O), exactly as assigning a double, or a
// wider ap_fixed, to an ap_fixed does (the conversion rule of §2.4). The float
// training path (quantize) and the integer inference path (requantize_raw)
// share that rule, so they agree bit for bit.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace larsel::models {

/// Quantization (rounding) modes, §2.2. "Ties" are values exactly half an LSB
/// between two grid points; non-ties go to the nearest point in every rnd mode.
enum class Quantization {
  trn,          // AP_TRN: floor (toward -inf), the ap_fixed default
  trn_zero,     // AP_TRN_ZERO: toward 0
  rnd,          // AP_RND: nearest, ties toward +inf
  rnd_zero,     // AP_RND_ZERO: nearest, ties toward 0
  rnd_min_inf,  // AP_RND_MIN_INF: nearest, ties toward -inf
  rnd_inf,      // AP_RND_INF: nearest, ties away from 0
  rnd_conv,     // AP_RND_CONV: nearest, ties to even
};

/// Overflow modes, §2.3 (AP_WRAP_SM and N > 0 saturation bits are not
/// supported: hls4ml never emits them).
enum class Overflow {
  wrap,      // AP_WRAP: keep the low W bits (two's complement), the ap_fixed default
  sat,       // AP_SAT: clamp to [min, max]
  sat_zero,  // AP_SAT_ZERO: 0 on overflow
  sat_sym,   // AP_SAT_SYM: clamp to [-max, max] when signed; min itself becomes -max
};

/// Limits of a format. W <= 32 keeps every raw value and every intermediate in
/// 64-bit integers; |F| <= 64 keeps every representable value a normal float.
inline constexpr int kMaxFixedPointWidth = 32;
inline constexpr int kMaxFixedPointFractionalBits = 64;

/// ap_fixed<width, integer_bits, quantization, overflow> (is_signed) or
/// ap_ufixed<...> (!is_signed). integer_bits counts the sign bit and may be
/// negative or larger than width, as in ap_fixed: ap_ufixed<1,-1> holds 0 or 0.25.
/// The defaults are hls4ml's ap_fixed<16,6> (AP_TRN, AP_WRAP).
struct FixedPointFormat {
  int width = 16;
  int integer_bits = 6;
  bool is_signed = true;
  Quantization quantization = Quantization::trn;
  Overflow overflow = Overflow::wrap;

  /// Throws std::invalid_argument naming the field: width outside
  /// [1, kMaxFixedPointWidth], integer_bits giving |fractional_bits()| >
  /// kMaxFixedPointFractionalBits, or an enum value that is not a known mode.
  void validate() const;

  /// F = W - I: the raw integer is value * 2^F.
  [[nodiscard]] int fractional_bits() const noexcept { return width - integer_bits; }
  /// The grid step, 2^-F.
  [[nodiscard]] double lsb() const noexcept;
  /// Raw range of the type: [-2^(W-1), 2^(W-1) - 1] signed, [0, 2^W - 1] unsigned.
  [[nodiscard]] std::int64_t min_raw() const noexcept;
  [[nodiscard]] std::int64_t max_raw() const noexcept;
  /// min_raw() * lsb() and max_raw() * lsb(). Note that a signed sat_sym
  /// conversion never produces min_value(): it saturates to -max_value().
  [[nodiscard]] double min_value() const noexcept;
  [[nodiscard]] double max_value() const noexcept;

  /// The HLS type spelling with all four parameters, e.g.
  /// "ap_fixed<8,3,AP_RND_CONV,AP_SAT>" or "ap_ufixed<8,8,AP_TRN,AP_WRAP>".
  [[nodiscard]] std::string to_string() const;

  bool operator==(const FixedPointFormat&) const = default;
};

/// The config spellings: "trn" ... "rnd_conv"; "wrap", "sat", "sat_zero", "sat_sym".
std::string_view to_string(Quantization quantization) noexcept;
std::string_view to_string(Overflow overflow) noexcept;

/// Parses an HLS spelling: "ap_fixed<W,I>", "ap_fixed<W,I,Q>", "ap_fixed<W,I,Q,O>"
/// or "ap_fixed<W,I,Q,O,0>" (likewise ap_ufixed; spaces allowed between tokens),
/// with Q/O the AP_* names; missing modes are AP_TRN / AP_WRAP as in HLS.
/// Throws std::invalid_argument saying what is wrong (and validate()'s errors).
FixedPointFormat parse_fixed_point_format(std::string_view hls_type);

/// {"width": 8, "integer": 3, "rounding": "rnd_conv", "overflow": "sat", "signed": true}.
nlohmann::json to_json(const FixedPointFormat& format);
/// Missing keys keep the FixedPointFormat defaults. Throws std::invalid_argument
/// naming the key for an unknown key, a wrong type or a value out of range.
FixedPointFormat fixed_point_format_from_json(const nlohmann::json& json);

/// The raw integer that `format` stores when assigned `value` (§2.4: quantize
/// the exact double to the grid with Q, then handle overflow with O). ±inf act
/// like ap_fixed's 2^1024: they saturate (sat, sat_sym), give 0 (sat_zero) or
/// wrap to 0 (wrap). Throws std::invalid_argument for NaN or a bad format.
std::int64_t to_raw(double value, const FixedPointFormat& format);

/// raw * 2^-F, exact. Throws std::invalid_argument if raw is outside
/// [min_raw(), max_raw()] or the format is bad.
double from_raw(std::int64_t raw, const FixedPointFormat& format);

/// Converts a raw value with `from_fractional_bits` fractional bits (e.g. a
/// wide accumulator, any 64-bit raw) into `to`, with to's quantization and
/// overflow: what an HLS kernel does when it assigns a wide accumulator to a
/// narrower ap_fixed. Equals to_raw(raw * 2^-from_fractional_bits, to) exactly.
std::int64_t requantize_raw(std::int64_t raw, int from_fractional_bits, const FixedPointFormat& to);

/// from_raw(to_raw(value)) rounded to float: exact (no float rounding) when
/// width <= 24, since every raw value then fits a float's 24-bit significand;
/// for wider formats the result is the float nearest the fixed-point value.
float quantize(float value, const FixedPointFormat& format);

/// In-place quantize() of every value, bit-identical to the scalar version but
/// with branch-free double arithmetic the compiler vectorises. Throws
/// std::invalid_argument (leaving `values` unchanged) if any value is NaN.
void quantize(std::span<float> values, const FixedPointFormat& format);

/// out[i] = the fixed-point value of values[i] as a float: the conversion of
/// an exact double (e.g. a wide accumulator summed without rounding) into
/// `format`, so out[i] * 2^F is to_raw(values[i], format). Throws
/// std::invalid_argument for NaN or out.size() != values.size().
void quantize(std::span<const double> values, std::span<float> out, const FixedPointFormat& format);

/// Straight-through-estimator backward of quantize() for quantization-aware
/// training (compression.md §1.3): rounding has derivative 1. Under the sat
/// modes the gradient is zeroed where the input lies outside the range the
/// conversion can produce ([min_value(), max_value()]; [-max_value(), max_value()]
/// for a signed sat_sym), i.e. where the forward pass saturated: PQuant's
/// 1[x inside the range] clip mask (clipping before rounding, §1.2, which equals
/// ap_fixed's round-then-saturate). Under wrap the gradient passes everywhere
/// (QKeras style; PQuant applies the wrap only at inference). NaN inputs zero
/// their gradient under the sat modes. `gradients` is updated in place and must
/// have inputs.size() values (else std::invalid_argument).
void straight_through(std::span<const float> inputs, std::span<float> gradients, const FixedPointFormat& format);

}  // namespace larsel::models
