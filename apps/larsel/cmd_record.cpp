// larsel record --connect ENDPOINT --out DIR: subscribes to the frame.selected and run.info topics of
// `larsel run` (docs/streaming.md) and records every valid frame to HDF5 (docs/recording.md),
// counting malformed messages and gaps in the publisher's message counter.
#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "commands.hpp"
#include "larsel/core/errors.hpp"
#include "larsel/pipeline/selected_frame_writer.hpp"
#include "larsel/pipeline/wire_format.hpp"
#include "signal_stop.hpp"

namespace larsel::app {
namespace {

namespace wire = pipeline::wire;
using Clock = std::chrono::steady_clock;
using Milliseconds = std::chrono::milliseconds;

constexpr Milliseconds kPollInterval{100};    // signals and --seconds are noticed this promptly
constexpr Milliseconds kQuietToStop{300};     // once stopping: quiet this long = what was published has arrived
constexpr Milliseconds kMaxDrain{3000};       // ... but a stream that never pauses does not hold the exit
constexpr Milliseconds kFlushInterval{1000};  // the open file is made durable this often
constexpr std::size_t kMessagesPerWake = 256;  // then the stop conditions are checked again
constexpr std::size_t kFramePixels = wire::kWires * wire::kTicks;
constexpr std::size_t kShownTopicChars = 40;

struct RecordOptions {
  std::string endpoint;
  pipeline::RecordingConfig recording;
  std::uint64_t run = 0;
  bool run_given = false;  // --run overrides the run number of run.info
  std::uint64_t frames = 0;
  double seconds = 0;
  int rcvhwm = 10'000;
  bool json = false;
};

struct RecordCounters {
  std::uint64_t frames_recorded = 0;
  std::uint64_t frames_missed = 0;       // gaps in frame.selected's message counter
  std::uint64_t messages_malformed = 0;
  std::uint64_t run_info_received = 0;
  std::uint64_t counter_restarts = 0;    // the message counter went backwards: a new publisher
};

/// Each kind of malformed message is logged once, then only counted.
enum class Malformed : std::size_t { topic, part_count, frame_header, payload_size, run_info, kinds };

/// poll() and recv() are interrupted by the signals that stop the recorder: not an error.
bool interrupted(const zmq::error_t& e) { return e.num() == EINTR; }

std::string_view text_of(const zmq::message_t& message) { return {static_cast<const char*>(message.data()), message.size()}; }

class Recorder {
 public:
  explicit Recorder(const RecordOptions& o)
      : options_(o), writer_(o.recording, initial_run_info(o)), socket_(context_, zmq::socket_type::sub), aligned_adc_(kFramePixels) {
    socket_.set(zmq::sockopt::rcvhwm, o.rcvhwm);  // before connect: the HWM is fixed when the pipe is created
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::maxmsgsize, wire::kMaxSubscriberPartBytes);  // a larger part disconnects the peer
    socket_.set(zmq::sockopt::subscribe, wire::kTopicSelected);
    socket_.set(zmq::sockopt::subscribe, wire::kTopicRunInfo);
    try {
      socket_.connect(o.endpoint);
    } catch (const zmq::error_t& e) {
      throw core::ConfigError(fmt::format("--connect '{}': {}", o.endpoint, e.what()));
    }
    spdlog::info("recording {} from {} into {}", wire::kTopicSelected, o.endpoint, o.recording.directory.string());
  }

  /// Records until `stop`, --seconds or --frames; after the first two, goes on until the socket is quiet.
  void run(const std::atomic<bool>& stop) {
    const auto start = Clock::now();
    std::optional<Clock::time_point> stopping_since;
    auto last_message = start;
    auto last_flush = start;
    while (!frame_limit_reached()) {
      const auto now = Clock::now();
      if (now - last_flush >= kFlushInterval) {
        writer_.flush();  // frames older than this survive a crash of the recorder
        last_flush = now;
      }
      const bool time_up = options_.seconds > 0 && now - start >= std::chrono::duration<double>(options_.seconds);
      if (!stopping_since && (stop.load() || time_up)) {
        stopping_since = now;
        spdlog::info("stopping: recording what arrives until the socket is quiet for {} ms", kQuietToStop.count());
      }
      auto wait = kPollInterval;
      if (stopping_since) {
        const auto quiet_for = std::chrono::duration_cast<Milliseconds>(now - std::max(last_message, *stopping_since));
        if (quiet_for >= kQuietToStop || now - *stopping_since >= kMaxDrain) break;
        wait = std::min(wait, kQuietToStop - quiet_for);
      }
      if (wait_for_message(wait) && receive_messages() > 0) last_message = Clock::now();
    }
  }

  /// Writes what is buffered, closes and renames the open file.
  void close() { writer_.close(); }

  [[nodiscard]] nlohmann::ordered_json report() const {
    nlohmann::ordered_json j;
    j["frames_recorded"] = counters_.frames_recorded;
    j["frames_missed"] = counters_.frames_missed;
    j["messages_malformed"] = counters_.messages_malformed;
    j["run_info_received"] = counters_.run_info_received;
    j["counter_restarts"] = counters_.counter_restarts;
    j["bytes"] = writer_.stats().bytes_closed;
    j["files"] = nlohmann::json::array();
    for (const auto& path : writer_.files()) j["files"].push_back(path.string());
    return j;
  }

 private:
  static wire::RunInfo initial_run_info(const RecordOptions& o) {
    wire::RunInfo run;  // until run.info arrives
    run.run = o.run;
    run.software_version = std::string("larsel ") + LARSEL_VERSION;
    return run;
  }

  [[nodiscard]] bool frame_limit_reached() const { return options_.frames > 0 && counters_.frames_recorded >= options_.frames; }

  bool wait_for_message(Milliseconds timeout) {
    std::array<zmq::pollitem_t, 1> items{{{socket_.handle(), 0, ZMQ_POLLIN, 0}}};
    try {
      return zmq::poll(items.data(), items.size(), timeout) > 0;
    } catch (const zmq::error_t& e) {
      if (!interrupted(e)) throw;
      return false;
    }
  }

  /// Handles the messages waiting (at most kMessagesPerWake); returns how many.
  std::size_t receive_messages() {
    std::size_t received = 0;
    while (received < kMessagesPerWake && !frame_limit_reached() && receive_message()) {
      handle_message();
      ++received;
    }
    return received;
  }

  /// Receives one whole multipart message into parts_ (parts beyond their capacity are counted and
  /// dropped). False when none is waiting.
  bool receive_message() {
    part_count_ = 0;
    bool more = true;
    while (more) {
      zmq::message_t& part = part_count_ < parts_.size() ? parts_[part_count_] : extra_part_;
      // The parts after the first are already here (multipart messages arrive whole): no wait.
      const auto flags = part_count_ == 0 ? zmq::recv_flags::dontwait : zmq::recv_flags::none;
      try {
        if (!socket_.recv(part, flags)) return false;
      } catch (const zmq::error_t& e) {
        if (!interrupted(e)) throw;
        if (part_count_ == 0) return false;
        continue;
      }
      ++part_count_;
      more = part.more();
    }
    return true;
  }

  void handle_message() {
    const std::string_view topic = text_of(parts_[0]);
    if (topic == wire::kTopicSelected) handle_frame();
    else if (topic == wire::kTopicRunInfo) handle_run_info();
    else malformed(Malformed::topic, fmt::format("unexpected topic '{}'", topic.substr(0, kShownTopicChars)));
  }

  void handle_frame() {
    if (part_count_ != 3) return malformed(Malformed::part_count, fmt::format("a frame.selected message has {} parts, expected 3", part_count_));
    wire::FrameHeader header;
    try {
      header = wire::parse_frame_header(text_of(parts_[1]));
    } catch (const std::runtime_error& e) {
      return malformed(Malformed::frame_header, e.what());
    }
    count_message_counter(header.message);  // a frame with a bad payload is malformed, not missed
    if (parts_[2].size() != wire::kFramePayloadBytes) {
      return malformed(Malformed::payload_size, fmt::format("frame.selected message {}: payload of {} bytes, expected {}", header.message,
                                                            parts_[2].size(), wire::kFramePayloadBytes));
    }
    writer_.append(header, adc_of(parts_[2]));
    ++counters_.frames_recorded;
  }

  void handle_run_info() {
    if (part_count_ != 2) return malformed(Malformed::part_count, fmt::format("a run.info message has {} parts, expected 2", part_count_));
    wire::RunInfo info;
    try {
      info = wire::parse_run_info(text_of(parts_[1]));
    } catch (const std::runtime_error& e) {
      return malformed(Malformed::run_info, e.what());
    }
    if (options_.run_given) info.run = options_.run;
    if (counters_.run_info_received++ == 0) spdlog::info("run {}: model {} (threshold {})", info.run, info.model_file, info.threshold);
    writer_.set_run_info(info);
  }

  void count_message_counter(std::uint64_t message) {
    if (expected_message_ && message > *expected_message_) {
      const std::uint64_t missed = message - *expected_message_;
      counters_.frames_missed += missed;
      writer_.add_frames_missed(missed);
    } else if (expected_message_ && message < *expected_message_) {
      ++counters_.counter_restarts;
      spdlog::info("frame.selected message counter went back from {} to {}: a new publisher", *expected_message_ - 1, message);
    } else if (!expected_message_ && message > 0) {
      spdlog::info("first frame.selected message is number {}: the earlier ones were sent before this recorder joined", message);
    }
    expected_message_ = message + 1;
  }

  /// The payload as ADC values (little-endian uint16, like this host), copied only if misaligned.
  std::span<const std::uint16_t> adc_of(const zmq::message_t& payload) {
    const void* data = payload.data();
    if (reinterpret_cast<std::uintptr_t>(data) % alignof(std::uint16_t) == 0) {
      return {static_cast<const std::uint16_t*>(data), kFramePixels};
    }
    std::memcpy(aligned_adc_.data(), data, wire::kFramePayloadBytes);
    return aligned_adc_;
  }

  void malformed(Malformed kind, const std::string& what) {
    ++counters_.messages_malformed;
    bool& logged = malformed_logged_[static_cast<std::size_t>(kind)];
    if (!logged) spdlog::warn("malformed message (further ones of this kind are only counted): {}", what);
    logged = true;
  }

  const RecordOptions& options_;
  pipeline::SelectedFrameWriter writer_;  // first: an unusable directory fails before connecting
  zmq::context_t context_;
  zmq::socket_t socket_;
  std::array<zmq::message_t, 3> parts_;
  zmq::message_t extra_part_;
  std::size_t part_count_ = 0;
  std::optional<std::uint64_t> expected_message_;
  std::array<bool, static_cast<std::size_t>(Malformed::kinds)> malformed_logged_{};
  std::vector<std::uint16_t> aligned_adc_;
  RecordCounters counters_;
};

void print_report(const nlohmann::ordered_json& report) {
  for (const auto& [name, value] : report.items()) {
    if (name == "files") continue;
    fmt::print("{:<20} {}\n", name, value.dump());
  }
  fmt::print("{:<20} {}\n", "files", report["files"].size());
  for (const auto& path : report["files"]) fmt::print("{:<20} {}\n", "file", path.get<std::string>());
}

int run_record(const RecordOptions& o) {
  std::atomic<bool> stop{false};
  SignalStop on_signal(stop);  // before connecting: a publisher that sees us may signal at once
  Recorder recorder(o);
  recorder.run(stop);
  recorder.close();
  const auto report = recorder.report();
  if (o.json) fmt::print("{}\n", report.dump(2));
  else print_report(report);
  return 0;
}

}  // namespace

void add_record_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("record", "Record the frames selected by `larsel run` from its ZeroMQ stream to HDF5 files");
  auto o = std::make_shared<RecordOptions>();
  cmd->add_option("--connect", o->endpoint, "ZeroMQ endpoint of the publisher, e.g. tcp://127.0.0.1:5556")->required();
  cmd->add_option("--out", o->recording.directory, "Directory of the HDF5 files (created if needed)")->required();
  // Signed ranges: "-1" is refused instead of wrapping to 2^64 - 1.
  auto* run = cmd->add_option("--run", o->run, "Run number of the files (default: from run.info, else 0)")
                  ->check(CLI::Range(std::int64_t{0}, std::int64_t{999'999}));
  cmd->add_option("--max-file-mb", o->recording.max_file_mb, "Start a new file once one holds this many MB (0: never)")
      ->check(CLI::Range(0.0, 1e7))->capture_default_str();
  cmd->add_option("--max-file-seconds", o->recording.max_file_seconds, "Start a new file once one is this old (0: never)")
      ->check(CLI::Range(0.0, 1e7))->capture_default_str();
  cmd->add_option("--compression", o->recording.compression_level, "Deflate level 0-9 (0: no compression)")->check(CLI::Range(0, 9))->capture_default_str();
  cmd->add_option("--frames", o->frames, "Stop after recording this many frames")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1'000'000'000'000}));
  cmd->add_option("--seconds", o->seconds, "Stop after this many seconds, then record until the socket is quiet")->check(CLI::Range(1e-3, 1e7));
  cmd->add_option("--rcvhwm", o->rcvhwm, "Messages the socket queues before the publisher drops (0: no limit)")
      ->check(CLI::Range(0, 10'000'000))->capture_default_str();
  cmd->add_flag("--json", o->json, "Print the summary as JSON");
  cmd->callback([&action, o, run] {
    o->run_given = run->count() > 0;
    action = [o] { return run_record(*o); };
  });
}

}  // namespace larsel::app
