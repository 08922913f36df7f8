#pragma once
// Configuration of the denoise + downsize stage, read from YAML (unknown keys
// and out-of-range values are ConfigErrors naming the key) and written back in
// full as the output data set's `preprocess_config` attribute. docs/preprocess.md
// explains each step and how the defaults were chosen from the quality report.
#include <cstdint>
#include <string>
#include <vector>

namespace larsel::preprocess {

enum class PedestalMethod {
  frugal,        // DUNE's frugal streaming median per channel, carried across frames
  frame_median,  // median of each wire's 64 samples, frame by frame (no history)
};

struct PedestalConfig {
  PedestalMethod method = PedestalMethod::frugal;
  /// Frugal: net count of samples above (below) the pedestal that moves it by
  /// +1 (-1) ADC. DUNE-DAQ's default `frugal_streaming_accumulator_limit` is 10.
  unsigned accumulator_limit = 10;  // 1-255 (the update divides by a reciprocal multiply, exact in that range)
};

struct CoherentConfig {
  bool enabled = true;
  /// Consecutive wires sharing one coherent-noise median: 24 = the collection
  /// wires of one WIBEth stream (one FEMB half), where ProtoDUNE's coherent noise lives.
  unsigned group_wires = 24;
};

struct FirConfig {
  bool enabled = false;
  /// Integer low-pass taps, centred on the sample (zero beyond the frame's
  /// edges). Default: the 16 non-zero taps of the firmware TPG emulator
  /// (fmartinezlopez/fast_hit_emu data/fir_coeffs.dat), sum 128.
  std::vector<int> taps = {2, 4, 6, 7, 9, 11, 12, 13, 13, 12, 11, 9, 7, 6, 4, 2};
  unsigned shift = 7;  // output = (sum of tap x sample) >> shift, i.e. / 128: unit gain
};

struct ThresholdConfig {
  double sigmas = 4.0;  // keep samples above this many noise sigmas of their channel
  int min_adc = 5;      // floor of every channel's threshold (dead or stuck channels have no noise)
  /// The noise estimate of a channel follows each frame's estimate with weight
  /// 2^-noise_update_shift (3: a time constant of 8 frames, 262 us).
  unsigned noise_update_shift = 3;
  /// A sample survives only in a run of at least this many consecutive ticks
  /// over threshold (1 = no requirement). Runs cut by the frame edge count as long.
  unsigned min_ticks_over = 1;
};

enum class PoolMode { max, sum };

struct DownsizeConfig {
  unsigned wires = 4;  // wires per output row (480 / wires rows)
  unsigned ticks = 4;  // ticks per output column (64 / ticks columns)
  PoolMode mode = PoolMode::max;
  /// CNN input = min(255, pooled ADC >> shift): unsigned 8 bit.
  unsigned shift = 2;
};

struct PreprocessConfig {
  PedestalConfig pedestal;
  CoherentConfig coherent;
  FirConfig fir;
  ThresholdConfig threshold;
  DownsizeConfig downsize;

  [[nodiscard]] std::size_t output_rows() const noexcept;     // 480 / downsize.wires
  [[nodiscard]] std::size_t output_columns() const noexcept;  // 64 / downsize.ticks
  [[nodiscard]] std::size_t output_pixels() const noexcept { return output_rows() * output_columns(); }
};

/// Parse YAML text (an empty document gives the defaults). Throws
/// core::ConfigError naming `source` and the offending key.
PreprocessConfig parse_preprocess_config(const std::string& yaml_text, const std::string& source);
/// Every key with its value, as YAML that parse_preprocess_config reads back.
std::string to_yaml(const PreprocessConfig& config);

/// The configuration a model was trained with (its file's preprocess_config text), checked to make the
/// rows x columns images its network takes. Throws core::ConfigError (a bad key) or std::runtime_error
/// (another image size) naming `model` (its file).
PreprocessConfig parse_model_preprocess_config(const std::string& yaml_text, const std::string& model, std::size_t rows,
                                               std::size_t columns);

}  // namespace larsel::preprocess
