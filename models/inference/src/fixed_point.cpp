#include "larsel/models/fixed_point.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "larsel/core/json_fields.hpp"

namespace larsel::models {

namespace {

// 128-bit intermediates: a 64-bit raw shifted by up to 64 bits stays exact.
__extension__ using Int128 = __int128;

constexpr std::array<std::pair<Quantization, std::string_view>, 7> kQuantizationNames{{
    {Quantization::trn, "trn"},
    {Quantization::trn_zero, "trn_zero"},
    {Quantization::rnd, "rnd"},
    {Quantization::rnd_zero, "rnd_zero"},
    {Quantization::rnd_min_inf, "rnd_min_inf"},
    {Quantization::rnd_inf, "rnd_inf"},
    {Quantization::rnd_conv, "rnd_conv"},
}};
constexpr std::array<std::pair<Overflow, std::string_view>, 4> kOverflowNames{{
    {Overflow::wrap, "wrap"},
    {Overflow::sat, "sat"},
    {Overflow::sat_zero, "sat_zero"},
    {Overflow::sat_sym, "sat_sym"},
}};

// How the fields are spelled where a format comes from, for error messages.
struct FieldNames {
  std::string_view width;
  std::string_view integer_bits;
  std::string_view quantization;
  std::string_view overflow;
};
constexpr FieldNames kStructFields{"width", "integer_bits", "quantization", "overflow"};
constexpr std::string_view kWidthKey = "width";
constexpr std::string_view kIntegerKey = "integer";
constexpr std::string_view kRoundingKey = "rounding";
constexpr std::string_view kOverflowKey = "overflow";
constexpr std::string_view kSignedKey = "signed";
constexpr FieldNames kJsonFields{kWidthKey, kIntegerKey, kRoundingKey, kOverflowKey};

[[noreturn]] void bad_field(std::string_view field, const std::string& why) { core::bad_json_field("fixed-point format", field, why); }

void check_format(const FixedPointFormat& format, const FieldNames& names) {
  if (format.width < 1 || format.width > kMaxFixedPointWidth) {
    bad_field(names.width, "must be in [1, " + std::to_string(kMaxFixedPointWidth) + "], got " +
                               std::to_string(format.width));
  }
  // |F| <= 64 (see the header); width is in range, so this cannot overflow.
  const int low = format.width - kMaxFixedPointFractionalBits;
  const int high = format.width + kMaxFixedPointFractionalBits;
  if (format.integer_bits < low || format.integer_bits > high) {
    bad_field(names.integer_bits, "must be in [" + std::to_string(low) + ", " + std::to_string(high) +
                                      "] for width " + std::to_string(format.width) + " (|width - integer| <= " +
                                      std::to_string(kMaxFixedPointFractionalBits) + "), got " +
                                      std::to_string(format.integer_bits));
  }
  const auto q = static_cast<unsigned>(format.quantization);
  if (q >= kQuantizationNames.size()) bad_field(names.quantization, "is not a known quantization mode");
  const auto o = static_cast<unsigned>(format.overflow);
  if (o >= kOverflowNames.size()) bad_field(names.overflow, "is not a known overflow mode");
}

std::string upper_ap_name(std::string_view name) {
  std::string result = "AP_";
  for (const char c : name) result += static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return result;
}

// §2.4 step 1: r * 2^-from_f aligned onto the grid 2^-to_f, rounded with q.
Int128 align(std::int64_t r, int from_f, int to_f, Quantization q) {
  const std::int64_t left = std::int64_t{to_f} - from_f;
  if (left >= 0) {
    // Exact. Beyond 64 bits only the sign and "overflowed, low 32 bits zero"
    // matter, and a shift of 64 already gives both (|v| >= 2^64 unless r = 0).
    return static_cast<Int128>(r) * (Int128{1} << std::min<std::int64_t>(left, 64));
  }
  // Dividing by d = 2^s: for s >= 65, |r| <= 2^63 <= d / 4, so fl is 0 or -1,
  // there is no tie and gt = (r < 0) whatever s is: s is capped there.
  const int s = static_cast<int>(std::min<std::int64_t>(-left, 65));
  const Int128 d = Int128{1} << s;
  const Int128 fl = static_cast<Int128>(r) >> s;  // arithmetic shift = floor (C++20)
  const Int128 rem = static_cast<Int128>(r) - fl * d;
  const bool tie = 2 * rem == d;
  const bool gt = 2 * rem > d;
  const bool neg = r < 0;
  switch (q) {
    case Quantization::trn: return fl;
    case Quantization::trn_zero: return fl + (neg && rem != 0);
    case Quantization::rnd: return fl + (gt || tie);
    case Quantization::rnd_zero: return fl + (gt || (tie && neg));
    case Quantization::rnd_min_inf: return fl + gt;
    case Quantization::rnd_inf: return fl + (gt || (tie && !neg));
    case Quantization::rnd_conv: return fl + (gt || (tie && (fl & 1) != 0));
  }
  return fl;  // unreachable: formats are validated
}

// §2.4 step 2: overflow handling of the aligned value v.
std::int64_t handle_overflow(Int128 v, const FixedPointFormat& format) {
  const std::int64_t min = format.min_raw();
  const std::int64_t max = format.max_raw();
  const bool symmetric = format.overflow == Overflow::sat_sym && format.is_signed;
  if (v >= min && v <= max && !(symmetric && v == min)) return static_cast<std::int64_t>(v);
  switch (format.overflow) {
    case Overflow::wrap: {
      const std::uint64_t modulus = std::uint64_t{1} << format.width;
      const std::uint64_t bits = static_cast<std::uint64_t>(v) & (modulus - 1);  // v mod 2^W
      const bool negative = format.is_signed && bits >= modulus / 2;
      return negative ? static_cast<std::int64_t>(bits) - static_cast<std::int64_t>(modulus)
                      : static_cast<std::int64_t>(bits);
    }
    case Overflow::sat: return v < min ? min : max;
    case Overflow::sat_zero: return 0;
    case Overflow::sat_sym: return v <= min ? (format.is_signed ? -max : 0) : max;
  }
  return 0;  // unreachable: formats are validated
}

std::int64_t convert(std::int64_t r, int from_f, const FixedPointFormat& format) {
  return handle_overflow(align(r, from_f, format.fractional_bits(), format.quantization), format);
}

// floor(z) for a finite double, branch-free: GCC 12 does not vectorise
// std::floor under the default -ftrapping-math. Adding and subtracting ±2^52
// rounds |z| < 2^52 to an integer (default round-to-nearest); a larger |z| is
// already an integer.
inline double exact_floor(double z) {
  const double big = 0x1p52;
  const double shift = std::copysign(big, z);
  const double rounded = (z + shift) - shift;
  const double fl = rounded > z ? rounded - 1.0 : rounded;
  return std::fabs(z) < big ? fl : z;
}

// The batch conversion for one (Q, O) pair: §2.4 in double arithmetic, where
// every step is exact (see quantize(span)). Branch-free, so it vectorises.
template <Quantization Q, Overflow O, typename In>
void quantize_batch(std::span<const In> values, std::span<float> out, const FixedPointFormat& format) {
  const double scale = std::ldexp(1.0, format.fractional_bits());
  const double inverse = std::ldexp(1.0, -format.fractional_bits());
  const auto min = static_cast<double>(format.min_raw());
  const auto max = static_cast<double>(format.max_raw());
  // The lowest raw value the conversion leaves alone: sat_sym excludes min (§2.4).
  const double lowest = (O == Overflow::sat_sym && format.is_signed) ? min + 1 : min;
  const double modulus = std::ldexp(1.0, format.width);
  const double inverse_modulus = std::ldexp(1.0, -format.width);
  const double half_modulus = format.is_signed ? modulus / 2 : modulus;
  const double huge = 0x1p100;  // beyond it every verdict is that of ±inf (see quantize(span))
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double scaled = static_cast<double>(values[i]) * scale;
    const double y = scaled < -huge ? -huge : (scaled > huge ? huge : scaled);
    const double fl = exact_floor(y);
    const double frac = y - fl;
    [[maybe_unused]] const bool tie = frac == 0.5;
    [[maybe_unused]] const bool gt = frac > 0.5;
    [[maybe_unused]] const bool neg = fl < 0;  // same as y < 0
    bool up = false;
    if constexpr (Q == Quantization::trn_zero) up = neg & (frac != 0);
    if constexpr (Q == Quantization::rnd) up = gt | tie;
    if constexpr (Q == Quantization::rnd_zero) up = gt | (tie & neg);
    if constexpr (Q == Quantization::rnd_min_inf) up = gt;
    if constexpr (Q == Quantization::rnd_inf) up = gt | (tie & !neg);
    if constexpr (Q == Quantization::rnd_conv) up = gt | (tie & (exact_floor(fl * 0.5) * 2 != fl));
    const double v = fl + (up ? 1.0 : 0.0);  // + 0.0 also turns -0 into +0, as from_raw(0) is +0
    double raw = v < lowest ? lowest : (v > max ? max : v);
    if constexpr (O == Overflow::sat_zero) raw = raw == v ? v : 0.0;
    if constexpr (O == Overflow::wrap) {
      const double low_bits = v - modulus * exact_floor(v * inverse_modulus);  // v mod 2^W, exact
      raw = low_bits >= half_modulus ? low_bits - modulus : low_bits;
    }
    out[i] = static_cast<float>(raw * inverse);
  }
}

template <Quantization Q, typename In>
void quantize_batch_for(std::span<const In> values, std::span<float> out, const FixedPointFormat& format) {
  switch (format.overflow) {
    case Overflow::wrap: return quantize_batch<Q, Overflow::wrap>(values, out, format);
    case Overflow::sat: return quantize_batch<Q, Overflow::sat>(values, out, format);
    case Overflow::sat_zero: return quantize_batch<Q, Overflow::sat_zero>(values, out, format);
    case Overflow::sat_sym: return quantize_batch<Q, Overflow::sat_sym>(values, out, format);
  }
}

template <typename In>
void quantize_into(std::span<const In> values, std::span<float> out, const FixedPointFormat& format) {
  format.validate();
  if (out.size() != values.size()) {
    throw std::invalid_argument(fmt::format("fixed-point quantize: {} outputs for {} inputs", out.size(), values.size()));
  }
  if (std::any_of(values.begin(), values.end(), [](In v) { return std::isnan(v); })) {
    throw std::invalid_argument("fixed-point quantize: NaN has no fixed-point value");
  }
  switch (format.quantization) {
    case Quantization::trn: return quantize_batch_for<Quantization::trn>(values, out, format);
    case Quantization::trn_zero: return quantize_batch_for<Quantization::trn_zero>(values, out, format);
    case Quantization::rnd: return quantize_batch_for<Quantization::rnd>(values, out, format);
    case Quantization::rnd_zero: return quantize_batch_for<Quantization::rnd_zero>(values, out, format);
    case Quantization::rnd_min_inf: return quantize_batch_for<Quantization::rnd_min_inf>(values, out, format);
    case Quantization::rnd_inf: return quantize_batch_for<Quantization::rnd_inf>(values, out, format);
    case Quantization::rnd_conv: return quantize_batch_for<Quantization::rnd_conv>(values, out, format);
  }
}

// ---- HLS spelling parser ----

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

[[noreturn]] void bad_spelling(std::string_view hls_type, const std::string& why) {
  throw std::invalid_argument("fixed-point type \"" + std::string(hls_type) + "\": " + why);
}

int parse_int(std::string_view hls_type, std::string_view token, std::string_view what) {
  int value = 0;
  const auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (token.empty() || error != std::errc{} || end != token.data() + token.size()) {
    bad_spelling(hls_type, std::string(what) + " must be an integer, got \"" + std::string(token) + "\"");
  }
  return value;
}

template <typename Mode, std::size_t N>
Mode parse_mode(std::string_view hls_type, std::string_view token,
                const std::array<std::pair<Mode, std::string_view>, N>& names, std::string_view what) {
  std::string allowed;
  for (const auto& [mode, name] : names) {
    const std::string spelled = upper_ap_name(name);
    if (token == spelled) return mode;
    allowed += (allowed.empty() ? "" : ", ") + spelled;
  }
  bad_spelling(hls_type, std::string(what) + " must be one of " + allowed + ", got \"" + std::string(token) + "\"");
}

std::vector<std::string_view> split_arguments(std::string_view arguments) {
  std::vector<std::string_view> tokens;
  std::size_t start = 0;
  while (true) {
    const auto comma = arguments.find(',', start);
    tokens.push_back(trim(arguments.substr(start, comma == std::string_view::npos ? comma : comma - start)));
    if (comma == std::string_view::npos) return tokens;
    start = comma + 1;
  }
}

// ---- JSON readers ----

int read_int(const nlohmann::json& value, std::string_view key) { return core::json_int(value, "fixed-point format", key); }

template <typename Mode, std::size_t N>
Mode read_mode(const nlohmann::json& value, std::string_view key,
               const std::array<std::pair<Mode, std::string_view>, N>& names) {
  std::string allowed;
  for (const auto& [mode, name] : names) {
    if (value.is_string() && value.get<std::string>() == name) return mode;
    allowed += (allowed.empty() ? "\"" : ", \"") + std::string(name) + "\"";
  }
  bad_field(key, "must be one of " + allowed + ", got " + core::shown(value));
}

}  // namespace

// ---- FixedPointFormat ----

void FixedPointFormat::validate() const { check_format(*this, kStructFields); }

double FixedPointFormat::lsb() const noexcept { return std::ldexp(1.0, -fractional_bits()); }

std::int64_t FixedPointFormat::min_raw() const noexcept {
  return is_signed ? -(std::int64_t{1} << (width - 1)) : 0;
}

std::int64_t FixedPointFormat::max_raw() const noexcept {
  return is_signed ? (std::int64_t{1} << (width - 1)) - 1 : (std::int64_t{1} << width) - 1;
}

double FixedPointFormat::min_value() const noexcept {
  return std::ldexp(static_cast<double>(min_raw()), -fractional_bits());
}

double FixedPointFormat::max_value() const noexcept {
  return std::ldexp(static_cast<double>(max_raw()), -fractional_bits());
}

std::string FixedPointFormat::to_string() const {
  return std::string(is_signed ? "ap_fixed<" : "ap_ufixed<") + std::to_string(width) + "," +
         std::to_string(integer_bits) + "," + upper_ap_name(models::to_string(quantization)) + "," +
         upper_ap_name(models::to_string(overflow)) + ">";
}

std::string_view to_string(Quantization quantization) noexcept {
  for (const auto& [mode, name] : kQuantizationNames) {
    if (mode == quantization) return name;
  }
  return "unknown";
}

std::string_view to_string(Overflow overflow) noexcept {
  for (const auto& [mode, name] : kOverflowNames) {
    if (mode == overflow) return name;
  }
  return "unknown";
}

FixedPointFormat parse_fixed_point_format(std::string_view hls_type) {
  const std::string_view text = trim(hls_type);
  FixedPointFormat format;
  std::string_view rest;
  if (text.starts_with("ap_fixed")) {
    rest = trim(text.substr(8));
  } else if (text.starts_with("ap_ufixed")) {
    format.is_signed = false;
    rest = trim(text.substr(9));
  } else {
    bad_spelling(hls_type, "must start with ap_fixed or ap_ufixed");
  }
  if (!rest.starts_with('<') || !rest.ends_with('>')) bad_spelling(hls_type, "expected <W,I[,Q[,O[,N]]]>");
  const auto tokens = split_arguments(rest.substr(1, rest.size() - 2));
  if (tokens.size() < 2 || tokens.size() > 5) bad_spelling(hls_type, "expected 2 to 5 template arguments");
  format.width = parse_int(hls_type, tokens[0], "W");
  format.integer_bits = parse_int(hls_type, tokens[1], "I");
  if (tokens.size() > 2) format.quantization = parse_mode(hls_type, tokens[2], kQuantizationNames, "Q");
  if (tokens.size() > 3) {
    if (tokens[3] == "AP_WRAP_SM") bad_spelling(hls_type, "AP_WRAP_SM is not supported");
    format.overflow = parse_mode(hls_type, tokens[3], kOverflowNames, "O");
  }
  if (tokens.size() > 4 && parse_int(hls_type, tokens[4], "N") != 0) {
    bad_spelling(hls_type, "saturation bits N > 0 are not supported");
  }
  try {
    format.validate();
  } catch (const std::invalid_argument& error) {
    bad_spelling(hls_type, error.what());
  }
  return format;
}

nlohmann::json to_json(const FixedPointFormat& format) {
  return {{kWidthKey, format.width},
          {kIntegerKey, format.integer_bits},
          {kRoundingKey, to_string(format.quantization)},
          {kOverflowKey, to_string(format.overflow)},
          {kSignedKey, format.is_signed}};
}

FixedPointFormat fixed_point_format_from_json(const nlohmann::json& json) {
  if (!json.is_object()) throw std::invalid_argument("fixed-point format: expected an object, got " + core::shown(json));
  FixedPointFormat format;
  for (const auto& [key, value] : json.items()) {
    if (key == kWidthKey) {
      format.width = read_int(value, kWidthKey);
    } else if (key == kIntegerKey) {
      format.integer_bits = read_int(value, kIntegerKey);
    } else if (key == kRoundingKey) {
      format.quantization = read_mode(value, kRoundingKey, kQuantizationNames);
    } else if (key == kOverflowKey) {
      format.overflow = read_mode(value, kOverflowKey, kOverflowNames);
    } else if (key == kSignedKey) {
      if (!value.is_boolean()) bad_field(kSignedKey, "must be true or false, got " + core::shown(value));
      format.is_signed = value.get<bool>();
    } else {
      bad_field(key, "is not a known key");
    }
  }
  check_format(format, kJsonFields);
  return format;
}

// ---- Conversions ----

std::int64_t to_raw(double value, const FixedPointFormat& format) {
  format.validate();
  if (std::isnan(value)) throw std::invalid_argument("fixed-point conversion: NaN has no fixed-point value");
  if (value == 0) return convert(0, 0, format);
  // ap_fixed reads ±inf as ±2^1024 (exponent field all ones); any power of two
  // far above 2^(W + |F|) gives the same verdicts.
  if (std::isinf(value)) return convert(value < 0 ? -1 : 1, -2000, format);
  // value = m * 2^e with 0.5 <= |m| < 1, so value = r * 2^-(53 - e) with r a 53-bit integer.
  int exponent = 0;
  const double mantissa = std::frexp(value, &exponent);
  const auto r = static_cast<std::int64_t>(std::ldexp(mantissa, 53));
  return convert(r, 53 - exponent, format);
}

double from_raw(std::int64_t raw, const FixedPointFormat& format) {
  format.validate();
  if (raw < format.min_raw() || raw > format.max_raw()) {
    throw std::invalid_argument("fixed-point raw value " + std::to_string(raw) + " is outside " + format.to_string());
  }
  return std::ldexp(static_cast<double>(raw), -format.fractional_bits());
}

std::int64_t requantize_raw(std::int64_t raw, int from_fractional_bits, const FixedPointFormat& to) {
  to.validate();
  return convert(raw, from_fractional_bits, to);
}

float quantize(float value, const FixedPointFormat& format) {
  return static_cast<float>(from_raw(to_raw(value, format), format));
}

// Why the double arithmetic of quantize_batch is exact and equals to_raw():
// - y = x * 2^F is exact: a float times 2^F with |F| <= 64 stays far inside
//   the double range. Clamping to ±2^100 changes no verdict: such y are
//   multiples of 2^77 (24 significant bits), so they overflow every format and
//   wrap to 0, as ±inf does in to_raw().
// - floor, y - floor(y) and fl + 1 are exact (when |y| >= 2^24, y is an integer
//   and nothing is added), so fl, tie, gt and neg are those of §2.4.
// - The wrap is exact: v * 2^-W and floor are exact, and v - 2^W * k is an
//   integer in [0, 2^W), representable, so IEEE subtraction returns it exactly.
// - The result raw * 2^-F is the double from_raw() returns, rounded to float
//   the same way.
void quantize(std::span<float> values, const FixedPointFormat& format) {
  quantize_into<float>(values, values, format);
}

void quantize(std::span<const double> values, std::span<float> out, const FixedPointFormat& format) {
  quantize_into<double>(values, out, format);
}

void straight_through(std::span<const float> inputs, std::span<float> gradients, const FixedPointFormat& format) {
  format.validate();
  if (inputs.size() != gradients.size()) {
    throw std::invalid_argument("straight_through: " + std::to_string(inputs.size()) + " inputs but " +
                                std::to_string(gradients.size()) + " gradients");
  }
  if (format.overflow == Overflow::wrap) return;  // the gradient passes everywhere
  const double max = format.max_value();
  const double min = (format.overflow == Overflow::sat_sym && format.is_signed) ? -max : format.min_value();
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const auto x = static_cast<double>(inputs[i]);
    const bool inside = x >= min && x <= max;  // false for NaN
    gradients[i] = inside ? gradients[i] : 0.0f;
  }
}

}  // namespace larsel::models
