// larsel listen ENDPOINT [--topic T]... : subscribes to the ZeroMQ stream of `larsel run`
// (docs/streaming.md), validates and prints every message, and counts per topic what arrived,
// what was malformed and what the publisher dropped (gaps in the per-topic `message` counter).
#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "commands.hpp"
#include "larsel/core/errors.hpp"
#include "larsel/pipeline/wire_format.hpp"
#include "signal_stop.hpp"

namespace larsel::app {
namespace {

namespace wire = pipeline::wire;
using Clock = std::chrono::steady_clock;
using Parts = std::vector<zmq::message_t>;

// Short enough that --seconds, --idle-seconds and signals are noticed promptly.
constexpr int kReceiveTimeoutMs = 100;
constexpr std::size_t kMetricsFieldsShown = 8;
constexpr std::size_t kTruncatedJsonChars = 160;
constexpr std::size_t kTopicCharsLogged = 40;
static_assert(std::endian::native == std::endian::little, "DecisionRecord payloads are copied as little-endian structs");

struct ListenOptions {
  std::string endpoint;
  std::vector<std::string> topics;  // prefix filters; empty: everything
  std::uint64_t count = 0;
  double seconds = 0, idle_seconds = 0;
  unsigned delay_ms = 0;
  int rcvhwm = 1000;
  bool quiet = false, json = false;
};

/// The message counts of one topic. `message` counters restart at 0 with the publisher.
struct TopicCounters {
  std::uint64_t received = 0;   // every message of the topic, malformed ones included
  std::uint64_t missed = 0;     // gaps in the message counter
  std::uint64_t malformed = 0;
  std::uint64_t restarts = 0;   // the counter went backwards: a new publisher
  std::optional<std::uint64_t> expected;  // the next counter; unset until the first message

  void count_message_counter(std::uint64_t message) {
    if (expected && message >= *expected) missed += message - *expected;
    if (expected && message < *expected) ++restarts;
    expected = message + 1;
  }
};

enum TopicIndex : std::size_t { kSelected, kDecision, kMetrics, kRunInfo, kTopicCount };
constexpr std::array<std::string_view, kTopicCount> kTopicNames{wire::kTopicSelected, wire::kTopicDecision, wire::kTopicMetrics,
                                                                wire::kTopicRunInfo};
constexpr std::array<std::size_t, kTopicCount> kExpectedParts{3, 3, 2, 2};

std::optional<std::size_t> topic_index(std::string_view topic) {
  const auto it = std::find(kTopicNames.begin(), kTopicNames.end(), topic);
  if (it == kTopicNames.end()) return std::nullopt;
  return static_cast<std::size_t>(it - kTopicNames.begin());
}

std::string_view as_text(const zmq::message_t& part) { return {static_cast<const char*>(part.data()), part.size()}; }

std::uint16_t max_adc(const zmq::message_t& payload) {
  const auto* bytes = static_cast<const unsigned char*>(payload.data());
  std::uint16_t highest = 0;
  for (std::size_t i = 0; i + 1 < payload.size(); i += 2) {
    highest = std::max(highest, static_cast<std::uint16_t>(bytes[i] | (bytes[i + 1] << 8)));
  }
  return highest;
}

nlohmann::json parse_json_object(std::string_view text, std::string_view topic) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw std::runtime_error(fmt::format("{} header is not a JSON object", topic));
  return j;
}

/// The `message` counter of a JSON header, or nullopt if it has none (run.info has none yet).
std::optional<std::uint64_t> message_counter(const nlohmann::json& header) {
  const auto it = header.find("message");
  if (it == header.end() || !it->is_number_unsigned()) return std::nullopt;
  return it->get<std::uint64_t>();
}

/// "key=value" for the first few scalar top-level fields of a metrics snapshot, else the JSON truncated.
std::string metrics_one_liner(const nlohmann::json& snapshot) {
  std::string line;
  std::size_t shown = 0;
  for (const auto& [key, value] : snapshot.items()) {
    if (key == "format" || key == "message" || value.is_structured()) continue;
    if (shown++ == kMetricsFieldsShown) {
      line += " ...";
      break;
    }
    line += fmt::format("{}{}={}", line.empty() ? "" : " ", key, value.dump());
  }
  if (!line.empty()) return line;
  const std::string text = snapshot.dump();
  return text.size() <= kTruncatedJsonChars ? text : text.substr(0, kTruncatedJsonChars) + "...";
}

std::string truth_text(const wire::FrameHeader& h) {
  if ((h.flags & wire::flag::truth_known) == 0) return "";
  const bool signal = (h.flags & wire::flag::truth_signal) != 0;
  if (!signal) return " truth background";
  return fmt::format(" truth signal (visible {:.1f} MeV, nu {:.1f} MeV)", h.truth_visible_energy_mev, h.truth_nu_energy_mev);
}

/// Validates, counts and prints the messages of one subscription.
class Listener {
 public:
  explicit Listener(const ListenOptions& options) : quiet_(options.quiet), out_(options.json ? stderr : stdout) {}

  void handle(const Parts& parts) {
    ++total_;
    const std::optional<std::size_t> index = parts.empty() ? std::nullopt : topic_index(as_text(parts[0]));
    if (!index) {
      ++unknown_topic_;
      const std::string_view topic = parts.empty() ? "" : as_text(parts[0]).substr(0, kTopicCharsLogged);
      spdlog::warn("message with unknown topic '{}' ({} parts) ignored", topic, parts.size());
      return;
    }
    TopicCounters& counters = topics_[*index];
    ++counters.received;
    try {
      if (parts.size() != kExpectedParts[*index]) {
        throw std::runtime_error(fmt::format("{} parts, expected {}", parts.size(), kExpectedParts[*index]));
      }
      dispatch(*index, parts, counters);
    } catch (const std::exception& e) {
      ++counters.malformed;
      spdlog::warn("malformed {} message: {}", kTopicNames[*index], e.what());
    }
  }

  [[nodiscard]] std::uint64_t total() const { return total_; }
  [[nodiscard]] nlohmann::ordered_json summary() const;
  void print_summary(std::string_view endpoint, double elapsed_s, std::string_view stopped_by) const;

 private:
  void dispatch(std::size_t index, const Parts& parts, TopicCounters& counters) {
    switch (index) {
      case kSelected: return on_selected(parts, counters);
      case kDecision: return on_decision(parts, counters);
      case kMetrics: return on_metrics(parts, counters);
      default: return on_run_info(parts, counters);
    }
  }
  void on_selected(const Parts& parts, TopicCounters& counters) const;
  void on_decision(const Parts& parts, TopicCounters& counters);
  void on_metrics(const Parts& parts, TopicCounters& counters) const;
  void on_run_info(const Parts& parts, TopicCounters& counters) const;

  template <typename... Args>
  void print(fmt::format_string<Args...> format, Args&&... args) const {
    if (!quiet_) fmt::print(out_, "{}\n", fmt::format(format, std::forward<Args>(args)...));
  }

  bool quiet_;
  std::FILE* out_;  // message lines: stderr with --json, so stdout holds only the summary
  std::array<TopicCounters, kTopicCount> topics_{};
  std::uint64_t total_ = 0, unknown_topic_ = 0;
  std::uint64_t decision_records_ = 0, decisions_selected_ = 0, decisions_prescaled_ = 0;
};

// The counter is taken before the payload is checked: a message with a good header but a bad
// payload still arrived, so it must not show up as a gap.
void Listener::on_selected(const Parts& parts, TopicCounters& counters) const {
  const wire::FrameHeader h = wire::parse_frame_header(as_text(parts[1]));
  counters.count_message_counter(h.message);
  if (parts[2].size() != wire::kFramePayloadBytes) {
    throw std::runtime_error(fmt::format("payload of {} bytes, expected {}", parts[2].size(), wire::kFramePayloadBytes));
  }
  print("frame.selected #{} run {} face {} ts {} seq {} score {:.3f} {}{} payload {} B max ADC {}", h.message, h.run, h.face,
        h.timestamp, h.sequence, h.score, wire::decision_name(h.decision), truth_text(h), parts[2].size(), max_adc(parts[2]));
}

void Listener::on_decision(const Parts& parts, TopicCounters& counters) {
  const wire::DecisionBatchHeader h = wire::parse_decision_header(as_text(parts[1]));
  counters.count_message_counter(h.message);
  const std::size_t expected_bytes = std::size_t{h.count} * sizeof(wire::DecisionRecord);
  if (parts[2].size() != expected_bytes) {
    throw std::runtime_error(fmt::format("payload of {} bytes, expected {} ({} records)", parts[2].size(), expected_bytes, h.count));
  }
  std::vector<wire::DecisionRecord> records(h.count);
  if (h.count > 0) std::memcpy(records.data(), parts[2].data(), expected_bytes);
  const auto selected = static_cast<std::uint64_t>(std::count_if(records.begin(), records.end(), [](const wire::DecisionRecord& r) {
    return r.decision == static_cast<std::uint8_t>(wire::Decision::selected);
  }));
  const auto prescaled = static_cast<std::uint64_t>(std::count_if(records.begin(), records.end(), [](const wire::DecisionRecord& r) {
    return r.decision == static_cast<std::uint8_t>(wire::Decision::prescaled);
  }));
  decision_records_ += h.count, decisions_selected_ += selected, decisions_prescaled_ += prescaled;
  if (records.empty()) {
    print("frame.decision #{} run {}: 0 records", h.message, h.run);
    return;
  }
  print("frame.decision #{} run {}: {} records, {} selected, {} prescaled, ts {}..{}", h.message, h.run, h.count, selected, prescaled,
        records.front().timestamp, records.back().timestamp);
}

void Listener::on_metrics(const Parts& parts, TopicCounters& counters) const {
  const nlohmann::json snapshot = parse_json_object(as_text(parts[1]), wire::kTopicMetrics);
  const auto format = snapshot.find("format");
  if (format == snapshot.end() || *format != wire::kMetricsFormat) {
    throw std::runtime_error(fmt::format("metrics: format is not '{}'", wire::kMetricsFormat));
  }
  const std::optional<std::uint64_t> message = message_counter(snapshot);
  if (!message) throw std::runtime_error("metrics: no unsigned integer field 'message'");
  counters.count_message_counter(*message);
  print("metrics #{} {}", *message, metrics_one_liner(snapshot));
}

void Listener::on_run_info(const Parts& parts, TopicCounters& counters) const {
  const wire::RunInfo info = wire::parse_run_info(as_text(parts[1]));
  const std::optional<std::uint64_t> message = message_counter(parse_json_object(as_text(parts[1]), wire::kTopicRunInfo));
  if (message) counters.count_message_counter(*message);
  print("run.info{} run {} model {} threshold {:.4g} prescale {}{}", message ? fmt::format(" #{}", *message) : "", info.run,
        info.model_hash.substr(0, 12), info.threshold, info.prescale, info.software_version.empty() ? "" : " software " + info.software_version);
}

nlohmann::ordered_json Listener::summary() const {
  nlohmann::ordered_json topics;
  for (std::size_t i = 0; i < kTopicCount; ++i) {
    const TopicCounters& c = topics_[i];
    topics[std::string(kTopicNames[i])] = {{"received", c.received}, {"missed", c.missed}, {"malformed", c.malformed}, {"restarts", c.restarts}};
  }
  nlohmann::ordered_json j;
  j["messages"] = total_;
  j["unknown_topic"] = unknown_topic_;
  j["topics"] = topics;
  j["decisions"] = {{"records", decision_records_}, {"selected", decisions_selected_}, {"prescaled", decisions_prescaled_}};
  return j;
}

void Listener::print_summary(std::string_view endpoint, double elapsed_s, std::string_view stopped_by) const {
  fmt::print("{}: {} messages in {:.1f} s (stopped: {})\n", endpoint, total_, elapsed_s, stopped_by);
  fmt::print("  {:<16} {:>10} {:>10} {:>10} {:>10}\n", "topic", "received", "missed", "malformed", "restarts");
  for (std::size_t i = 0; i < kTopicCount; ++i) {
    const TopicCounters& c = topics_[i];
    fmt::print("  {:<16} {:>10} {:>10} {:>10} {:>10}\n", kTopicNames[i], c.received, c.missed, c.malformed, c.restarts);
  }
  if (unknown_topic_ > 0) fmt::print("  {} messages with an unknown topic\n", unknown_topic_);
  fmt::print("  decisions: {} records, {} selected, {} prescaled\n", decision_records_, decisions_selected_, decisions_prescaled_);
}

zmq::socket_t connect_subscriber(zmq::context_t& context, const ListenOptions& o) {
  zmq::socket_t socket(context, zmq::socket_type::sub);
  socket.set(zmq::sockopt::rcvhwm, o.rcvhwm);  // before connect: the HWM is fixed when the pipe is created
  socket.set(zmq::sockopt::rcvtimeo, kReceiveTimeoutMs);
  socket.set(zmq::sockopt::maxmsgsize, pipeline::wire::kMaxSubscriberPartBytes);  // a larger part disconnects the peer
  socket.set(zmq::sockopt::linger, 0);
  if (o.topics.empty()) socket.set(zmq::sockopt::subscribe, "");
  for (const std::string& topic : o.topics) socket.set(zmq::sockopt::subscribe, topic);
  try {
    socket.connect(o.endpoint);
  } catch (const zmq::error_t& e) {
    throw core::ConfigError(fmt::format("cannot connect to '{}': {}", o.endpoint, e.what()));
  }
  return socket;
}

/// One multipart message, or nothing after the receive timeout or a signal.
std::optional<Parts> receive(zmq::socket_t& socket) {
  Parts parts;
  try {
    if (!zmq::recv_multipart(socket, std::back_inserter(parts))) return std::nullopt;
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return std::nullopt;  // the caller checks the stop flag
    throw;
  }
  return parts;
}

/// The deliberate slowness of --delay-ms, cut short by a signal.
void consumer_delay(unsigned delay_ms, const std::atomic<bool>& stop) {
  const auto until = Clock::now() + std::chrono::milliseconds(delay_ms);
  while (!stop.load() && Clock::now() < until) {
    std::this_thread::sleep_for(std::min<Clock::duration>(until - Clock::now(), std::chrono::milliseconds(kReceiveTimeoutMs)));
  }
}

/// Receives until a stop condition; returns its name.
std::string listen_loop(zmq::socket_t& socket, Listener& listener, const ListenOptions& o, const std::atomic<bool>& stop) {
  const auto start = Clock::now();
  std::optional<Clock::time_point> last_message;
  const auto elapsed = [](Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); };
  while (true) {
    if (stop.load()) return "signal";
    if (o.seconds > 0 && elapsed(start) >= o.seconds) return "seconds";
    if (o.idle_seconds > 0 && last_message && elapsed(*last_message) >= o.idle_seconds) return "idle";
    const std::optional<Parts> parts = receive(socket);
    if (!parts) continue;
    last_message = Clock::now();
    listener.handle(*parts);
    if (o.count > 0 && listener.total() >= o.count) return "count";
    if (o.delay_ms > 0) consumer_delay(o.delay_ms, stop);
  }
}

int run_listen(const ListenOptions& o) {
  std::atomic<bool> stop{false};
  const SignalStop signal_stop(stop);
  zmq::context_t context(1);
  zmq::socket_t socket = connect_subscriber(context, o);
  spdlog::info("listening on {} ({})", o.endpoint, o.topics.empty() ? "all topics" : fmt::format("topics {}", fmt::join(o.topics, ", ")));
  Listener listener(o);
  const auto start = Clock::now();
  const std::string stopped_by = listen_loop(socket, listener, o, stop);
  const double elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  if (!o.json) {
    listener.print_summary(o.endpoint, elapsed_s, stopped_by);
    return 0;
  }
  nlohmann::ordered_json report;
  report["endpoint"] = o.endpoint;
  report["topic_filters"] = o.topics;
  report["elapsed_seconds"] = std::round(elapsed_s * 1000.0) / 1000.0;
  report["stopped_by"] = stopped_by;
  report.update(listener.summary());
  fmt::print("{}\n", report.dump(2));
  return 0;
}

}  // namespace

void add_listen_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("listen", "Subscribe to the ZeroMQ stream of `larsel run`, print and validate its messages, count drops");
  auto o = std::make_shared<ListenOptions>();
  cmd->add_option("endpoint", o->endpoint, "Publisher endpoint, e.g. tcp://127.0.0.1:5556")->required();
  cmd->add_option("--topic", o->topics, "Topic prefix to subscribe to (repeatable; default: all)")->allow_extra_args(false);
  // Signed ranges: "-1" is refused instead of wrapping to 2^64 - 1.
  cmd->add_option("--count", o->count, "Stop after this many messages (0: no limit)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1'000'000'000'000}))->capture_default_str();
  cmd->add_option("--seconds", o->seconds, "Stop after this many seconds (0: no limit)")->check(CLI::Range(0.0, 1e7))->capture_default_str();
  cmd->add_option("--idle-seconds", o->idle_seconds, "Stop after this long without a message, once one arrived (0: never)")
      ->check(CLI::Range(0.0, 1e7))
      ->capture_default_str();
  cmd->add_option("--delay-ms", o->delay_ms, "Sleep after each message (a deliberately slow consumer)")
      ->check(CLI::Range(0, 3'600'000))->capture_default_str();
  cmd->add_option("--rcvhwm", o->rcvhwm, "Receive high-water mark in messages (0: unlimited)")->check(CLI::Range(0, 10'000'000))->capture_default_str();
  cmd->add_flag("--quiet", o->quiet, "No line per message, only the summary");
  cmd->add_flag("--json", o->json, "Print the summary as one JSON object on stdout (message lines go to stderr)");
  cmd->callback([&action, o] { action = [o] { return run_listen(*o); }; });
}

}  // namespace larsel::app
