#pragma once
// Readout emulator: WIBEth streams of N faces, preloaded from a WaveformSource,
// looped with timestamps rewritten from the wall clock, paced, sent over UDP,
// with optional fault injection (drop, reorder, duplicate, corrupt) whose
// every injection is logged so tests can predict the receiver's counters.
#include <atomic>
#include <fstream>
#include <functional>
#include <memory>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "larsel/daq/channel_map.hpp"
#include "larsel/daq/sim/truth.hpp"
#include "larsel/daq/waveform_source.hpp"

namespace larsel::daq {

struct FaultConfig {
  double drop = 0;       // datagram not sent
  double reorder = 0;    // datagram sent after the same stream's next one
  double duplicate = 0;  // datagram sent twice in a row
  double corrupt = 0;    // datagram damaged so that validation must reject it
};

/// Injected faults, plus send_error: a datagram the kernel refused (not injected, but logged alike).
enum class FaultKind : std::uint8_t { drop, reorder, duplicate, corrupt, send_error };
const char* fault_name(FaultKind kind) noexcept;

struct InjectedFault {
  std::uint64_t period;  // frame period index (0 = first sent)
  std::uint32_t stream;  // index into Emulator::streams()
  FaultKind kind;
};

/// Signal injection in bursts: every `every_s` seconds of data time, for
/// `length_s`, signal periods come at `rate_hz` instead of the steady rate.
struct BurstConfig {
  double every_s = 0;
  double length_s = 0;
  double rate_hz = 0;
};

struct EmulatorConfig {
  std::string target = "127.0.0.1:50000";
  unsigned faces = 1;
  double speed = 1.0;          // fraction of the real 30,517.6 frames/s per stream
  bool max_rate = false;       // no pacing at all
  std::uint64_t periods = 0;   // frame periods to send; 0 = until stopped or `seconds`
  double seconds = 0;          // 0 = no time limit
  unsigned pool_periods = 32;  // preloaded periods per face, looped
  FaultConfig faults;
  std::uint64_t seed = 1;
  std::optional<std::uint64_t> first_timestamp;  // default: wall clock in 62.5 MHz ticks
  std::size_t socket_buffer_bytes = 16u << 20;
  double signal_rate_hz = 0;          // signal periods per second of data time, per face (physics source)
  BurstConfig burst;
  unsigned signal_pool_periods = 16;  // preloaded signal periods, used in turn
  std::string truth_file;             // JSON lines: one per injected signal period, keyed by timestamp
};

struct EmulatorStats {
  std::uint64_t periods_sent = 0;
  std::uint64_t datagrams_sent = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t send_errors = 0;
  std::uint64_t dropped = 0, reordered = 0, duplicated = 0, corrupted = 0;
  std::uint64_t first_timestamp = 0;
  std::uint64_t rate_limiter_resets = 0;
  double rate_limiter_lost_seconds = 0;  // stalls beyond 10 ms, not caught up by design
  std::uint64_t signal_periods = 0;  // face-periods sent with a signal interaction
  double seconds = 0;          // the whole run, including the final flush
  double paced_seconds = 0;    // from the first send to the end of the last paced period
};

class Emulator {
 public:
  /// Validates the configuration and preloads the frame pool. Throws core::ConfigError.
  Emulator(const EmulatorConfig& config, const ChannelMap& map, WaveformSource& source);
  ~Emulator();
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  /// Send until the configured periods or seconds are done or `stop` is set.
  void run(const std::atomic<bool>& stop);

  [[nodiscard]] const EmulatorStats& stats() const noexcept { return stats_; }
  /// Every fault, up to kMaxFaultLog entries (64 MB); see fault_log_complete().
  [[nodiscard]] const std::vector<InjectedFault>& fault_log() const noexcept { return fault_log_; }
  [[nodiscard]] bool fault_log_complete() const noexcept { return fault_log_complete_; }
  static constexpr std::size_t kMaxFaultLog = std::size_t{1} << 22;
  [[nodiscard]] const std::vector<StreamKey>& streams() const noexcept { return streams_; }

 private:
  struct Impl;
  void preload(const ChannelMap& map, WaveformSource& source);
  void send_period(std::uint64_t period);
  void choose_pool_entries(std::uint64_t period);
  [[nodiscard]] double signal_rate_at(std::uint64_t period) const noexcept;
  void write_truth(std::uint64_t period, std::uint64_t timestamp, std::size_t face_index, const sim::FrameTruth& truth);
  void flush_batch(std::uint64_t period);
  void log_fault(const InjectedFault& fault);
  EmulatorConfig config_;
  std::vector<StreamKey> streams_;            // faces x 20, face-major
  std::vector<std::byte> pool_;               // pool_periods x streams x 7200
  std::vector<std::byte> signal_pool_;        // signal_pool_periods x streams x 7200
  std::vector<sim::FrameTruth> signal_truth_; // signal_pool_periods x faces
  std::vector<std::byte*> face_base_;         // per face: the entry sent this period (no allocation per period)
  std::vector<std::int64_t> face_signal_;     // per face: signal entry sent this period, or -1
  std::uint64_t next_signal_ = 0;
  std::mt19937_64 injection_rng_;
  std::unique_ptr<std::ofstream> truth_out_;
  fmt::memory_buffer truth_line_;
  std::vector<std::uint32_t> face_ids_;       // the channel map's face id of each emulated face
  std::vector<InjectedFault> fault_log_;
  bool fault_log_complete_ = true;
  EmulatorStats stats_;
  std::mt19937_64 rng_;
  std::unique_ptr<Impl> impl_;  // socket and batch buffers (keeps Asio out of this header)
};

/// The WIBEth datagrams of `periods` frame periods of face `face` of `map` (period-major, then stream by stream
/// in the face's layout, 7200 bytes each), their waveforms from generate(period, waveforms); timestamps and
/// seq_id zero (wibeth::rewrite_time sets them as a datagram is sent). What the emulator preloads, for a
/// benchmark that feeds a frame builder from memory.
std::vector<std::byte> encode_face_periods(const ChannelMap& map, std::uint32_t face, unsigned periods,
                                           const std::function<void(unsigned period, FaceWaveforms&)>& generate);

}  // namespace larsel::daq
