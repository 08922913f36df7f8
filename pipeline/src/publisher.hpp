#pragma once
// The ZeroMQ side of the selector thread (ZeroMQ sockets are not thread-safe:
// only that thread touches them). An XPUB socket publishes every topic (XPUB
// behaves as PUB and also reports subscriptions, so the run can wait for its
// subscribers); an optional PUSH socket deals frame.selected to load-balanced
// consumers. Sends never block: PUB drops for a subscriber past its high-water
// mark (the subscriber sees a gap in `message`); PUSH at its HWM drops here, counted.
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "larsel/pipeline/config.hpp"
#include "larsel/pipeline/wire_format.hpp"
#include "pipeline_metrics.hpp"

namespace larsel::pipeline {

class Publisher {
 public:
  /// Binds the configured endpoints; throws std::runtime_error "zmq.publish: cannot bind 'X': reason".
  Publisher(const ZmqConfig& config, std::uint64_t run, OutputMetrics& metrics);
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  /// The bound XPUB endpoint with its real port ("" when publishing is off).
  [[nodiscard]] const std::string& publish_endpoint() const noexcept { return publish_endpoint_; }
  [[nodiscard]] const std::string& push_endpoint() const noexcept { return push_endpoint_; }

  /// Waits until `count` subscriptions arrived or `timeout` passed; returns the number seen.
  std::uint64_t wait_for_subscribers(std::uint64_t count, std::chrono::duration<double> timeout, const std::atomic<bool>& stop);
  /// Reads pending (un)subscription messages (cheap when none).
  void poll_subscriptions();

  /// `header.message` is set here.
  void publish_selected(wire::FrameHeader& header, std::span<const std::uint16_t> adc);
  void add_decision(const wire::DecisionRecord& record, SteadyClock::time_point now);
  /// Sends the pending decisions if the batch is full or `decision_flush_s` old (or `force`).
  void flush_decisions(SteadyClock::time_point now, bool force);
  /// `body` gains "format" and "message".
  void publish_metrics(nlohmann::ordered_json body);
  void publish_run_info(const wire::RunInfo& info);

 private:
  bool send_multipart(zmq::socket_t& socket, std::string_view topic, std::string_view header, std::span<const std::byte> payload);

  ZmqConfig config_;
  std::uint64_t run_;
  OutputMetrics& metrics_;
  zmq::context_t context_{1};
  std::unique_ptr<zmq::socket_t> xpub_, push_;
  std::string publish_endpoint_, push_endpoint_;
  std::uint64_t selected_messages_ = 0, decision_messages_ = 0, metrics_messages_ = 0;
  std::vector<wire::DecisionRecord> decisions_;  // capacity decision_batch, reserved once
  SteadyClock::time_point first_pending_decision_;
};

}  // namespace larsel::pipeline
