// larsel listen against an in-test XPUB publisher: per-topic counts, gaps, malformed messages,
// topic filtering and drop counting for a slow subscriber.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "larsel/pipeline/wire_format.hpp"
#include "support.hpp"

namespace {

namespace wire = larsel::pipeline::wire;
using namespace std::chrono_literals;

/// An XPUB socket on a free loopback port, as `larsel run` binds it.
class TestPublisher {
 public:
  explicit TestPublisher(int sndhwm = 1000, std::optional<int> sndbuf = std::nullopt) {
    socket_.set(zmq::sockopt::sndhwm, sndhwm);  // before bind: fixed when a subscriber's pipe is created
    if (sndbuf) socket_.set(zmq::sockopt::sndbuf, *sndbuf);
    socket_.set(zmq::sockopt::linger, 0);
    endpoint_ = "tcp://127.0.0.1:" + std::to_string(larsel::test::free_tcp_port());
    socket_.bind(endpoint_);
  }

  [[nodiscard]] const std::string& endpoint() const { return endpoint_; }

  /// The subscription a connecting SUB sends (0x01 + prefix): after it, nothing is lost to the slow joiner.
  std::string wait_for_subscription(std::chrono::milliseconds timeout) {
    socket_.set(zmq::sockopt::rcvtimeo, static_cast<int>(timeout.count()));
    zmq::message_t message;
    if (!socket_.recv(message) || message.size() == 0 || message.data<char>()[0] != 1) return "";
    return std::string(message.data<char>() + 1, message.size() - 1);
  }

  void send(std::string_view topic, const std::string& header, std::optional<std::string> payload = std::nullopt) {
    socket_.send(zmq::buffer(topic), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(header), payload ? zmq::send_flags::sndmore : zmq::send_flags::none);
    if (payload) socket_.send(zmq::buffer(*payload), zmq::send_flags::none);
  }


 private:
  zmq::context_t context_{1};
  zmq::socket_t socket_{context_, zmq::socket_type::xpub};
  std::string endpoint_;
};

std::string frame_header(std::uint64_t message, std::uint8_t flags = 0) {
  wire::FrameHeader h;
  h.message = message, h.run = 7, h.face = 3, h.timestamp = 1000 + 2048 * message, h.sequence = message, h.score = 2.5, h.threshold = 1.5;
  h.flags = flags, h.truth_visible_energy_mev = 120.f, h.truth_nu_energy_mev = 900.f;
  return wire::to_json(h);
}

std::string frame_payload(std::uint16_t peak) {
  std::string payload(wire::kFramePayloadBytes, '\0');
  std::memcpy(payload.data() + 2 * 1000, &peak, sizeof(peak));
  return payload;
}

std::string decision_payload(const std::vector<std::uint8_t>& decisions) {
  std::string payload(decisions.size() * sizeof(wire::DecisionRecord), '\0');
  for (std::size_t i = 0; i < decisions.size(); ++i) {
    wire::DecisionRecord record;
    record.timestamp = 5000 + 2048 * i, record.sequence = i, record.score = 0.5f, record.face = 1, record.decision = decisions[i];
    std::memcpy(payload.data() + i * sizeof(record), &record, sizeof(record));
  }
  return payload;
}

void send_decisions(TestPublisher& publisher, std::uint64_t message, const std::vector<std::uint8_t>& decisions) {
  const wire::DecisionBatchHeader header{message, 7, static_cast<std::uint32_t>(decisions.size())};
  publisher.send(wire::kTopicDecision, wire::to_json(header), decision_payload(decisions));
}

std::string metrics_json(std::uint64_t message) {
  return nlohmann::json{{"format", wire::kMetricsFormat}, {"message", message}, {"frames_in", 100 * message}}.dump();
}

std::string run_info_json() {
  wire::RunInfo info;
  info.run = 7, info.model_hash = "0123456789abcdef", info.threshold = 1.5, info.software_version = "test";
  return wire::to_json(info);
}

/// Runs the listener (exits after 1 s of silence), calls `publish(listener)` once it subscribed, returns its JSON summary.
template <typename Publish>
nlohmann::json listen(TestPublisher& publisher, std::vector<std::string> extra_args, const std::string& expected_subscription, Publish publish,
                      std::string* log = nullptr) {
  std::vector<std::string> args{"listen", publisher.endpoint(), "--json", "--idle-seconds", "1"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  larsel::test::BackgroundLarsel listener(args);
  REQUIRE(listener.started());
  REQUIRE(publisher.wait_for_subscription(8s) == expected_subscription);
  publish(listener);
  const larsel::test::ProcessResult result = listener.wait(20s);
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  if (log != nullptr) *log = result.err;
  return nlohmann::json::parse(result.out);
}

void check_topic(const nlohmann::json& summary, const char* topic, int received, int missed, int malformed, int restarts) {
  INFO(topic << ": " << summary["topics"][topic].dump());
  CHECK(summary["topics"][topic]["received"] == received);
  CHECK(summary["topics"][topic]["missed"] == missed);
  CHECK(summary["topics"][topic]["malformed"] == malformed);
  CHECK(summary["topics"][topic]["restarts"] == restarts);
}

}  // namespace

TEST_CASE("listen counts messages, gaps, restarts and malformed messages per topic", "[listen]") {
  TestPublisher publisher;
  const nlohmann::json summary = listen(publisher, {"--quiet"}, "", [&](auto&) {
    publisher.send(wire::kTopicRunInfo, run_info_json());
    for (const std::uint64_t message : {0, 1, 2, 4, 5}) {  // 3 is "dropped"
      publisher.send(wire::kTopicSelected, frame_header(message, wire::flag::truth_known | wire::flag::truth_signal), frame_payload(1234));
    }
    publisher.send(wire::kTopicSelected, frame_header(6), std::string(100, '\0'));  // good header, short payload
    send_decisions(publisher, 0, {1, 0, 0, 2});
    send_decisions(publisher, 1, {});
    send_decisions(publisher, 2, {1, 1, 0, 0, 0, 0, 0, 2});
    publisher.send(wire::kTopicDecision, "{not json", std::string(32, '\0'));
    for (const std::uint64_t message : {0, 1, 0, 1}) publisher.send(wire::kTopicMetrics, metrics_json(message));  // a publisher restart
    publisher.send("hello", "{}");
  });
  CHECK(summary["stopped_by"] == "idle");
  CHECK(summary["messages"] == 16);
  CHECK(summary["unknown_topic"] == 1);
  check_topic(summary, "frame.selected", 6, 1, 1, 0);
  check_topic(summary, "frame.decision", 4, 0, 1, 0);
  check_topic(summary, "metrics", 4, 0, 0, 1);
  check_topic(summary, "run.info", 1, 0, 0, 0);
  CHECK(summary["decisions"]["records"] == 12);
  CHECK(summary["decisions"]["selected"] == 3);
  CHECK(summary["decisions"]["prescaled"] == 2);
}

TEST_CASE("listen --topic receives only the topics it subscribed to", "[listen]") {
  TestPublisher publisher;
  std::string log;
  const nlohmann::json summary = listen(
      publisher, {"--topic", "frame.decision"}, "frame.decision",
      [&](auto&) {
        publisher.send(wire::kTopicRunInfo, run_info_json());
        publisher.send(wire::kTopicSelected, frame_header(0), frame_payload(1234));
        send_decisions(publisher, 0, {1, 0});
        publisher.send(wire::kTopicMetrics, metrics_json(0));
        send_decisions(publisher, 1, {0});
      },
      &log);
  CHECK(summary["messages"] == 2);
  check_topic(summary, "frame.decision", 2, 0, 0, 0);
  check_topic(summary, "frame.selected", 0, 0, 0, 0);
  check_topic(summary, "metrics", 0, 0, 0, 0);
  check_topic(summary, "run.info", 0, 0, 0, 0);
  CHECK(summary["decisions"]["records"] == 3);
  CHECK(log.find("frame.decision #1 run 7: 1 records, 0 selected") != std::string::npos);  // message lines go to stderr with --json
}

TEST_CASE("listen prints a line per message", "[listen]") {
  TestPublisher publisher;
  std::string log;
  listen(
      publisher, {}, "",
      [&](auto&) {
        publisher.send(wire::kTopicSelected, frame_header(0, wire::flag::truth_known), frame_payload(1234));
        publisher.send(wire::kTopicRunInfo, run_info_json());
      },
      &log);
  CHECK(log.find("frame.selected #0 run 7 face 3 ts 1000 seq 0 score 2.500 selected truth background payload 61440 B max ADC 1234") !=
        std::string::npos);
  CHECK(log.find("run.info run 7 model 0123456789ab threshold 1.5") != std::string::npos);
}

/// The `message` counter of the last frame.decision line a listener printed.
std::optional<std::uint64_t> last_decision_printed(const std::string& log) {
  const std::string marker = "frame.decision #";
  const std::size_t at = log.rfind(marker);
  if (at == std::string::npos) return std::nullopt;
  return std::stoull(log.substr(at + marker.size()));
}

// PUB drops silently for a subscriber whose pipe is full: only the gaps in `message` tell.
TEST_CASE("a slow listener counts the messages the publisher dropped", "[listen]") {
  constexpr std::uint64_t kBurst = 2000;
  const std::vector<std::uint8_t> decisions(32, 0);  // 1 KiB per message: the TCP buffers hold only ~100 of them
  TestPublisher publisher(10, 16 * 1024);
  std::uint64_t sent = 0;
  const nlohmann::json summary = listen(publisher, {"--delay-ms", "20", "--rcvhwm", "10"}, "", [&](const larsel::test::BackgroundLarsel& listener) {
    for (; sent < kBurst; ++sent) send_decisions(publisher, sent, decisions);
    // Drops at the end of a stream leave no gap. So trickle on (the listener keeps up with one per 50 ms) until the
    // listener prints a message from after the burst: it has then drained its queues and misses nothing more.
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    while (std::chrono::steady_clock::now() < deadline) {
      send_decisions(publisher, sent++, decisions);
      std::this_thread::sleep_for(50ms);
      if (last_decision_printed(listener.err()).value_or(0) >= kBurst) break;
    }
  });
  const nlohmann::json& counts = summary["topics"]["frame.decision"];
  INFO(counts.dump() << ", " << sent << " sent");
  CHECK(counts["missed"].get<std::uint64_t>() > 0);
  CHECK(counts["received"].get<std::uint64_t>() + counts["missed"].get<std::uint64_t>() == sent);
  CHECK(counts["malformed"] == 0);
  CHECK(summary["decisions"]["records"] == counts["received"].get<std::uint64_t>() * decisions.size());
}
